"""Gold's values against a second implementation of its rules: bench/gold.py's DuckDB SQL over the same Silver.

Gold's checks before publishing and the other tests reconcile counts; here every row of every table must agree
between the two engines, key by key and value by value, on three Silvers: the real samples (the session's
``gold_lake``), hand-made edge cases, and generated cases. Gold is the published job's output (``run_gold``), the
DuckDB tables are ``duckdb_gold``'s, both read back from their Parquet.
"""

from __future__ import annotations

import importlib
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import NamedTuple

import duckdb
import pytest
from gold_helpers import random_silver, silver_frame, utc
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

import gold_job

pytestmark = pytest.mark.spark

gold_bench = importlib.import_module("gold")  # bench/gold.py

# Each table's grain: both engines must write one row per key, and the same keys.
TABLE_KEYS = {
    "monthly_requests": ("month", "year", *gold_job.GROUP_KEYS),
    "resolution_times": ("year", "department", "type"),
    "neighborhood_scorecard": ("year", "neighborhood"),
    "open_backlog": ("week_start", "department"),
    "geo_grid": ("year", "type", "cell_lat", "cell_lon"),
}
PERCENTILES = ("p50_hours", "p90_hours")
# Sums and means of hours add doubles in whatever order each engine's aggregation takes them: they differ by rounding,
# ~1e-16 relative per value added, so 1e-9 is far above that and far below a real difference (one hour more in a sum
# of 10,000 cases of a day each is 4e-6). Rates and shares are a ratio of two counts, correctly rounded in both
# engines, so they agree exactly; they are compared with the same tolerance.
RELATIVE_TOLERANCE = 1e-9

PWD = {"department": "PWDx", "subject": "Public Works Department", "reason": "Highway Maintenance"}


def closed(opened: str, hours: float, on_time: bool | None = True) -> dict:
    """A case opened at ``opened`` (UTC) and closed ``hours`` later, with Silver's duration and flag."""
    opened_at = utc(opened)
    return {
        "opened_at": opened_at,
        "closed_at": opened_at + timedelta(hours=hours),
        "is_closed": True,
        "on_time": on_time,
        "hours_to_close": hours,
    }


# Boston is UTC-5 in winter (EST) and UTC-4 in summer (EDT); in 2024 the clocks went forward at 07:00 UTC on Sunday
# 10 March and back at 06:00 UTC on Sunday 3 November.
EDGE_CASES = [
    # 04:30 UTC on 1 January 2025 is 23:30 on 31 December 2024 in Boston: year 2024, December, the week of Monday
    # 30 December 2024; 05:30 UTC is 00:30 on 1 January, 2025. The 2025 case is the year's only one (share 1.0).
    {**PWD, **closed("2025-01-01T04:30", 2.0), "type": "Pothole", "neighborhood": "Dorchester"},
    {**PWD, "opened_at": utc("2025-01-01T05:30"), "type": "Pothole", "neighborhood": "Dorchester"},
    # the spring-forward night: 06:30 UTC is 01:30 EST, 07:30 UTC 03:30 EDT, both Sunday 10 March (week of 4 March);
    # 03:30 UTC on Monday 11 March is Sunday 23:30 EDT (week of 4 March), 04:30 UTC Monday 00:30 (week of 11 March)
    {**PWD, **closed("2024-03-10T06:30", 24.0), "type": "Pothole", "neighborhood": "Roxbury"},
    {**PWD, **closed("2024-03-10T07:30", 1.5, on_time=False), "type": "Pothole", "neighborhood": "Roxbury"},
    {**PWD, **closed("2024-03-11T03:30", 3.0), "type": "Sign", "neighborhood": "Roxbury"},
    {**PWD, **closed("2024-03-11T04:30", 3.0), "type": "Sign", "neighborhood": "Roxbury"},
    # the fall-back night: 05:30 and 06:30 UTC are both 01:30 in Boston (EDT, then EST), Sunday 3 November; 04:30 UTC
    # on Monday 4 November is Sunday 23:30 EST (week of 28 October), 05:30 UTC Monday 00:30 (week of 4 November)
    {**PWD, **closed("2024-11-03T05:30", 10.0), "type": "Sign", "neighborhood": "Roxbury"},
    {**PWD, **closed("2024-11-03T06:30", 10.0), "type": "Sign", "neighborhood": "Roxbury"},
    {**PWD, "opened_at": utc("2024-11-04T04:30"), "is_closed": False, "type": "Pothole", "neighborhood": "Roxbury"},
    {**PWD, **closed("2024-11-04T05:30", 30.0, on_time=None), "type": "Pothole", "neighborhood": "Roxbury"},
    # 03:30 UTC on 1 April is 23:30 on 31 March in Boston (EDT): March; 04:30 UTC is 00:30 on 1 April: April (UTC
    # would put both in April, a fixed UTC-5 both in March)
    {**PWD, **closed("2024-04-01T03:30", 4.0), "type": "Sign", "neighborhood": "Roxbury"},
    {**PWD, **closed("2024-04-01T04:30", 4.0), "type": "Sign", "neighborhood": "Jamaica Plain"},
    # open cases: one with a stale duration, one whose is_closed is unknown but has a close time (both still open)
    {**PWD, "opened_at": utc("2024-05-01T12:00"), "is_closed": False, "hours_to_close": 500.0, "type": "Pothole",
     "neighborhood": "Roxbury"},
    {**PWD, "opened_at": utc("2024-05-02T12:00"), "closed_at": utc("2024-05-03T12:00"), "is_closed": None,
     "hours_to_close": 24.0, "on_time": True, "type": "Sign", "neighborhood": "Roxbury"},
    # closed without a close time or a duration, flagged on time (NEW SYSTEM's void Error cases), and late
    {**PWD, "opened_at": utc("2024-05-04T12:00"), "is_closed": True, "on_time": True, "type": "Pothole",
     "neighborhood": "Roxbury"},
    {**PWD, "opened_at": utc("2024-05-05T12:00"), "is_closed": True, "on_time": False, "type": "pothole",
     "neighborhood": "Roxbury"},
    # stamped closed before it opened (a data glitch): closes in the week it opened
    {**PWD, "opened_at": utc("2024-05-06T12:00"), "closed_at": utc("2024-04-20T12:00"), "is_closed": True,
     "on_time": True, "type": "pothole", "neighborhood": "Roxbury"},
    # (Roxbury 2024 is a tie of 6 cases each between Pothole and Sign; pothole, lower case, has 2.)
    # null, blank and 'Unknown' keys are one group; a key with spaces around it is the key; a non-breaking space is
    # not a space (Silver trims spaces only): a key of its own
    {"opened_at": utc("2024-06-01T12:00"), "department": None, "type": None, "neighborhood": None},
    {**closed("2024-06-02T12:00", 5.0), "department": " ", "type": "", "neighborhood": "Unknown",
     "source": "  "},
    {**closed("2024-06-03T12:00", 7.0), "department": "Unknown", "type": "Unknown", "neighborhood": "  ",
     "subject": "\u00a0", "source": " Constituent Call "},
    {**closed("2024-06-04T12:00", 9.0, on_time=False), "department": " PWDx ", "type": "Sign ",
     "neighborhood": "Back Bay\u00a0", **{key: PWD[key] for key in ("subject", "reason")}},
    # a department with one case (opened in the first week, so its backlog runs the whole calendar at 1)
    {"opened_at": utc("2023-01-04T15:00"), "department": "Boston Water & Sewer Commission", "type": "Leak",
     "neighborhood": "Charlestown", "latitude": 42.3782, "longitude": -71.0602},
    # aged backlog: opened in the week of 2 January 2023; one closed in the week it turns a year old (never aged),
    # one the week after (aged for one week), one never
    {**PWD, **closed("2023-01-05T15:00", 24.0 * 363), "type": "Pothole", "neighborhood": "Charlestown"},
    {**PWD, **closed("2023-01-06T15:00", 24.0 * 369), "type": "Pothole", "neighborhood": "Charlestown"},
    {**PWD, "opened_at": utc("2023-01-06T16:00"), "is_closed": False, "type": "Sign", "neighborhood": "Charlestown"},
    # Mission Hill 2023: a tie of one case each between types a collation would order otherwise: byte order (both
    # engines') puts upper case before lower case and 'Zoning' before 'Éclairage'
    {**closed("2023-02-01T12:00", 1.0), "department": "ISD", "type": "Éclairage", "neighborhood": "Mission Hill"},
    {**closed("2023-02-02T12:00", 1.0), "department": "ISD", "type": "zoning", "neighborhood": "Mission Hill"},
    {**closed("2023-02-03T12:00", 1.0), "department": "ISD", "type": "Zoning", "neighborhood": "Mission Hill"},
    # coordinates: a point on a cell's corner (floating point picks the cell: the engines must pick the same), one
    # missing half of the pair, one with none
    {**PWD, **closed("2024-07-01T12:00", 2.0), "type": "Sign", "neighborhood": "Back Bay",
     "latitude": 18_830 * gold_job.GRID_LAT_STEP, "longitude": -23_341 * gold_job.GRID_LON_STEP},
    {**PWD, **closed("2024-07-01T12:00", 2.0), "type": "Sign", "neighborhood": "Back Bay", "latitude": 42.3501,
     "longitude": -71.0810},
    {**PWD, **closed("2024-07-02T12:00", 2.0), "type": "Sign", "neighborhood": "Back Bay", "latitude": 42.3501,
     "longitude": None},
    {**PWD, **closed("2024-07-03T12:00", 2.0), "type": "Sign", "neighborhood": "Back Bay", "latitude": None,
     "longitude": None},
]  # fmt: skip
# Percentile edges: even counts (the median of 1, 2, 3, 4 is 2), ties, and one group of 20,001 closed cases, where
# Spark's percentile_approx may be off by n / 10,000 = 2 ranks.
PERCENTILE_CASES = [
    {"department": "BTDT", "type": "Signal", "neighborhood": "Fenway", **closed("2024-08-01T12:00", hours)}
    for hours in (1.0, 2.0, 3.0, 4.0, 4.0, 4.0, 8.0, 8.0)
]


def edge_silver(spark: SparkSession) -> DataFrame:
    """The hand-made edge cases and the large group (hours 1 to 20,001 in a shuffled order)."""
    large_group = (
        silver_frame(spark, [{"department": "BTDT", "type": "Parking", "neighborhood": "Allston / Brighton",
                              **closed("2024-09-02T12:00", 1.0)}])
        .crossJoin(spark.range(1, 20_002))
        .withColumn("hours_to_close", ((F.col("id") * 7919) % 20_001 + 1).cast("double"))
        .drop("id")
    )  # fmt: skip
    return silver_frame(spark, EDGE_CASES + PERCENTILE_CASES).unionByName(large_group)


def generated_silver(spark: SparkSession) -> DataFrame:
    """1,500 generated cases over 120 weeks (a third open, aged ones, many ties), spread over a few dozen grid cells,
    one in eleven without coordinates."""
    number = F.col("case_id").cast("int")
    located = number % 11 > 0
    return random_silver(spark, cases=1500, seed=5, weeks=120).withColumns(
        {
            "latitude": F.when(located, 42.30 + (number % 23) * 0.0009),
            "longitude": F.when(located, -71.10 - (number % 19) * 0.0013),
        }
    )


class BothGolds(NamedTuple):
    """One Silver's Gold from each engine, and a DuckDB connection holding that Silver as the SQL reads it."""

    spark_gold: Path
    duckdb_gold: Path
    con: duckdb.DuckDBPyConnection


@pytest.fixture(scope="module", params=["samples", "edge cases", "generated"])
def both_golds(request, spark, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BothGolds]:
    """Gold built by the job and by bench/gold.py's DuckDB SQL from the same Silver Parquet."""
    if request.param == "samples":
        lake = request.getfixturevalue("gold_lake")
    else:
        lake = tmp_path_factory.mktemp("differential")
        silver = edge_silver(spark) if request.param == "edge cases" else generated_silver(spark)
        silver.write.parquet(str(lake / "silver" / "boston311" / gold_job.SILVER_TABLE))
        gold_job.run_gold(spark, str(lake / "silver" / "boston311"), str(lake / "gold" / "boston311"))
    duck_gold = tmp_path_factory.mktemp("duckdb_gold")
    con = duckdb.connect()
    gold_bench.duckdb_gold(lake / "silver" / "boston311" / gold_job.SILVER_TABLE, duck_gold, con)
    yield BothGolds(lake / "gold" / "boston311", duck_gold, con)
    con.close()


def rows_by_key(con: duckdb.DuckDBPyConnection, files: str, table: str) -> dict[tuple, dict]:
    """A table's rows read from its Parquet files, by their key; one row per key."""
    cursor = con.execute(f"SELECT * FROM read_parquet('{files}', hive_partitioning = true)")
    names = [column[0] for column in cursor.description]
    rows = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
    by_key = {tuple(row[key] for key in TABLE_KEYS[table]): row for row in rows}
    assert len(by_key) == len(rows), f"{files}: more than one row for a key"
    return by_key


def closed_durations(con: duckdb.DuckDBPyConnection, table: str) -> dict[tuple, list[float]]:
    """Each group's known hours to close of its closed cases, sorted: the values its percentiles rank."""
    groups = con.execute(
        f"SELECT {', '.join(TABLE_KEYS[table])}, list(hours_to_close ORDER BY hours_to_close)"
        " FROM (SELECT *, year(opened_local)::INT AS year FROM silver)"
        " WHERE closed AND hours_to_close IS NOT NULL GROUP BY ALL"
    ).fetchall()
    return {tuple(group[:-1]): group[-1] for group in groups}


def ranks(values: list[float], value: float) -> range:
    """The ranks (1 = the smallest) value holds among the sorted values: several when tied, none when absent."""
    return range(bisect_left(values, value) + 1, bisect_right(values, value) + 1)


def percentiles_agree(values: list[float], spark_value: float | None, duckdb_value: float | None) -> bool:
    """Whether Spark's percentile is within its guarantee of DuckDB's exact one, over the group's sorted values.

    The two engines define a percentile the same way: the p-th percentile of n values is the value of rank
    ceil(p * n), never interpolated (the median of 1, 2, 3, 4 is 2). DuckDB's quantile_disc (SQL's PERCENTILE_DISC)
    returns it exactly; Spark's percentile_approx returns one of the group's values whose rank is within
    n // PERCENTILE_ACCURACY of it (docs/gold.md, "Percentile accuracy"). So the bound is in ranks, not hours: the
    same value for a group under 10,000 cases; above, a value up to that many ranks away.
    """
    if spark_value is None or duckdb_value is None:
        return spark_value is None and duckdb_value is None
    spark_ranks, exact_ranks = ranks(values, spark_value), ranks(values, duckdb_value)
    if not spark_ranks:  # not one of the group's values
        return False
    ranks_apart = max(spark_ranks.start - exact_ranks[-1], exact_ranks.start - spark_ranks[-1])
    return ranks_apart <= len(values) // gold_job.PERCENTILE_ACCURACY


def values_agree(spark_value: object, duckdb_value: object) -> bool:
    """Counts, keys, dates and types exactly; doubles within RELATIVE_TOLERANCE."""
    if isinstance(spark_value, float) and isinstance(duckdb_value, float):
        return spark_value == pytest.approx(duckdb_value, rel=RELATIVE_TOLERANCE, abs=0)
    return spark_value == duckdb_value


@pytest.mark.parametrize("table", gold_job.GOLD_TABLES)
def test_gold_and_the_duckdb_sql_agree_row_by_row(both_golds: BothGolds, table: str) -> None:
    con = both_golds.con
    spark_rows = rows_by_key(con, f"{both_golds.spark_gold}/{table}/**/*.parquet", table)
    duckdb_rows = rows_by_key(con, gold_bench.duckdb_table_files(both_golds.duckdb_gold, table), table)
    assert spark_rows, table
    only_spark = sorted(spark_rows.keys() - duckdb_rows.keys(), key=repr)
    only_duckdb = sorted(duckdb_rows.keys() - spark_rows.keys(), key=repr)
    assert not only_spark and not only_duckdb, (
        f"{table}: keys only Spark writes {only_spark[:5]}, only DuckDB writes {only_duckdb[:5]}"
    )

    durations = (
        closed_durations(con, table) if table in ("resolution_times", "neighborhood_scorecard") else {}
    )
    differences = []
    for key, spark_row in spark_rows.items():
        duckdb_row = duckdb_rows[key]
        assert spark_row.keys() == duckdb_row.keys(), (
            f"{table}: the job writes {sorted(spark_row.keys() - duckdb_row.keys())} that bench/gold.py's DUCKDB_GOLD "
            f"does not, and DUCKDB_GOLD {sorted(duckdb_row.keys() - spark_row.keys())} that the job does not: a column "
            "goes in both (docs/gold.md, 'Adding a Gold table')"
        )
        for column, spark_value in spark_row.items():
            if column in PERCENTILES:
                agree = percentiles_agree(durations.get(key, []), spark_value, duckdb_row[column])
            else:
                agree = values_agree(spark_value, duckdb_row[column])
            if not agree:
                differences.append((key, column, spark_value, duckdb_row[column]))
    assert not differences, (
        f"{table}: {len(differences)} values differ (key, column, Spark, DuckDB): {differences[:5]}"
    )
