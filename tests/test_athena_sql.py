"""The Athena SQL: DDL against the contract's Parquet schema, every view and named query run on DuckDB."""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import athena_sql
import definitions
import local_lake
import serving_helpers as helpers
from conftest import REPO
from lake import GOLD_TABLES

LOCATIONS = {
    "silver_location": "s3://my-lake/silver/boston311",
    "gold_location": "s3://my-lake/gold/boston311",
}


@pytest.fixture(scope="module")
def db(small_lake: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the tiny lake's lake.duckdb."""
    with duckdb.connect(str(small_lake / "lake.duckdb"), read_only=True) as connection:
        yield connection


def rows(db: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    """All rows of a query, doubles rounded to 6 places so hand-worked fractions compare."""
    return [
        tuple(round(v, 6) if isinstance(v, float) else v for v in row) for row in db.execute(sql).fetchall()
    ]


def test_every_gold_table_has_a_table_a_view_and_a_dataset() -> None:
    """A table added to the lake's layout and the job, but served by nothing, fails here (docs/gold.md, "Adding a
    Gold table"): its Athena table, its view, and the SPICE dataset that reads the view."""

    assert {f"gold_{table}" for table in GOLD_TABLES} <= set(athena_sql.table_names())
    assert {f"v_{table}" for table in GOLD_TABLES} == set(athena_sql.view_names())
    assert {spec.view for spec in definitions.DATASETS} == {f"v_{table}" for table in GOLD_TABLES}


def contract_section(heading: str) -> str:
    """The text under one ``## <heading>`` of docs/CONTRACTS.md, without the heading line."""
    text = (REPO / "docs" / "CONTRACTS.md").read_text(encoding="utf-8")
    return text.split(f"\n## {heading}", 1)[1].split("\n", 1)[1].split("\n## ", 1)[0]


def contract_columns(text: str) -> dict[str, str]:
    """Column name -> Hive type of a contract list such as ``a string, b/c timestamp (UTC), d, e double``: a type
    word ends the names before it; what stands in parentheses is a remark."""
    columns, names = {}, []
    for word in re.findall(r"\w+", re.sub(r"\([^)]*\)", "", text)):
        if word in helpers.HIVE_TO_ARROW:
            columns |= dict.fromkeys(names, word)
            names = []
        else:
            names.append(word)
    assert not names, f"docs/CONTRACTS.md gives no type after {', '.join(names)}"
    return columns


def test_names_match_the_contract() -> None:
    """The tables, views and named queries are the ones docs/CONTRACTS.md names ("Athena / DuckDB names")."""
    names = contract_section("Athena / DuckDB names")
    tables = re.search(r"^Tables: (.*?)\.$", names, re.M | re.S).group(1)
    assert athena_sql.table_names() == re.findall(r"`(\w+)`", re.sub(r"\([^)]*\)", "", tables))
    assert athena_sql.view_names() == sorted(re.findall(r"^- `(v_\w+)`:", names, re.M))
    queries = re.search(r"^Named queries in `[^`]*`: (.*?)\.$", names, re.M | re.S).group(1)
    assert athena_sql.named_query_names() == sorted(re.findall(r"`(\w+)`", queries))
    assert set(athena_sql.sql_names("ddl")) == {"database", *athena_sql.table_names()}


def test_the_contract_declares_the_ddl_columns() -> None:
    """docs/CONTRACTS.md against the DDL, which the tests' schemas are read from: a column added to one and not the
    other fails here (the stages' real output is held to the DDL by the Silver and Gold job tests)."""
    silver = athena_sql.SILVER_TABLE
    assert contract_columns(contract_section("Silver table `service_requests`")) == {
        **athena_sql.table_columns(silver),
        **athena_sql.partition_columns(silver),
    }
    quarantine = re.search(r"`silver_quarantine` \(([^;]*);", contract_section("Athena / DuckDB names"))
    assert contract_columns(quarantine.group(1)) == athena_sql.table_columns(athena_sql.QUARANTINE_TABLE)
    # the Gold tables are described in prose: each column the DDL declares is named in its table's item
    items = re.findall(
        r"^\d+\. `(\w+)` — (.*?)(?=^\d+\. |^Null|\Z)", contract_section("Gold tables"), re.M | re.S
    )
    assert [table for table, _ in items] == list(GOLD_TABLES)
    for table, text in items:
        declared = {
            **athena_sql.table_columns(f"gold_{table}"),
            **athena_sql.partition_columns(f"gold_{table}"),
        }
        missing = sorted(set(declared) - set(re.findall(r"\w+", text)))
        assert not missing, (
            f"docs/CONTRACTS.md's item for {table} does not name {missing}, which gold_{table}.sql declares: add them "
            "there (docs/gold.md, 'Adding a Gold table')"
        )


@pytest.mark.parametrize("table", athena_sql.TABLES)
def test_ddl_columns_match_the_parquet_the_tests_write(table: str, small_lake: Path) -> None:
    # the tests' schemas are read from the DDL: this holds the folders and partitions they write to what the local
    # query layer reads, and the Hive -> Arrow types to what pyarrow writes
    folder = Path(
        local_lake.table_directory(
            table, *map(str, (small_lake / "silver/boston311", small_lake / "gold/boston311"))
        )
    )
    written = next(folder.rglob("*.parquet"), None)
    assert written, (
        f"the small lake has no Parquet file under {folder}: give {table} a few rows in tests/serving_helpers.py "
        "(write_small_lake's dict; docs/gold.md, 'Adding a Gold table')"
    )
    parquet = pq.read_schema(written)
    declared = athena_sql.table_columns(table)
    assert list(declared) == parquet.names  # same names, same order
    assert {f.name: f.type for f in helpers.ddl_schema(table)} == {f.name: f.type for f in parquet}
    partition_dirs = {
        part.split("=")[0] for p in folder.rglob("*.parquet") for part in p.relative_to(folder).parts[:-1]
    }
    # the quarantine's run_id=<run> folders are read as plain subfolders, not declared as partitions
    runs = set(helpers.QUARANTINE_RUNS) if table == athena_sql.QUARANTINE_TABLE else set()
    assert set(athena_sql.partition_columns(table)) == partition_dirs - runs
    assert all(kind == "int" for kind in athena_sql.partition_columns(table).values())


def test_silver_ddl_uses_partition_projection_matching_the_lake_layout() -> None:
    properties = athena_sql.table_properties("silver_service_requests")
    assert properties["projection.enabled"] == "true"
    assert properties["projection.open_year.type"] == "integer"
    assert properties["projection.open_month.type"] == "integer"
    assert properties["projection.open_month.range"] == "1,12"
    first, last = map(int, properties["projection.open_year.range"].split(","))
    assert first <= 2011 and last >= dt.date.today().year
    assert properties["storage.location.template"] == (
        "s3://bucket/silver/service_requests/open_year=${open_year}/open_month=${open_month}/"
    )
    gold = athena_sql.table_properties("gold_monthly_requests")
    assert gold["storage.location.template"] == "s3://bucket/gold/monthly_requests/year=${year}/"
    assert "projection.enabled" not in athena_sql.table_properties("gold_geo_grid")


@pytest.mark.parametrize("table", athena_sql.TABLES)
def test_ddl_renders_database_and_location(table: str) -> None:
    sql = athena_sql.load_sql("ddl", table, database="analytics", **LOCATIONS)
    assert f"CREATE EXTERNAL TABLE IF NOT EXISTS analytics.{table} (" in sql
    folder = local_lake.table_directory(table, LOCATIONS["silver_location"], LOCATIONS["gold_location"])
    assert f"LOCATION '{folder}/'" in sql
    # The only ${...} left are partition projection's own keys; no comment line is sent to Athena.
    assert set(re.findall(r"\$\{(\w+)\}", sql)) <= {"open_year", "open_month", "year"}
    assert "--" not in sql and not sql.endswith(";")


def test_database_ddl_and_default_database() -> None:
    assert athena_sql.load_sql("ddl", "database").startswith("CREATE DATABASE IF NOT EXISTS boston311")
    assert athena_sql.load_sql("ddl", "database", database="b311_dev").startswith(
        "CREATE DATABASE IF NOT EXISTS b311_dev"
    )


def test_trailing_slash_of_a_location_is_not_doubled() -> None:
    sql = athena_sql.load_sql("ddl", "gold_geo_grid", silver_location="s3://b/s/", gold_location="s3://b/g/")
    assert "LOCATION 's3://b/g/geo_grid/'" in sql


def test_a_missing_placeholder_is_one_clear_error() -> None:
    with pytest.raises(
        athena_sql.SqlError,
        match=r"ddl/gold_geo_grid.sql needs a value for the placeholder \$\{gold_location\}",
    ):
        athena_sql.load_sql("ddl", "gold_geo_grid")
    with pytest.raises(athena_sql.SqlError, match="no views SQL named 'v_nothing'"):
        athena_sql.load_sql("views", "v_nothing")
    with pytest.raises(athena_sql.SqlError, match="Unknown SQL kind"):
        athena_sql.load_sql("tables", "gold_geo_grid")


@pytest.mark.parametrize(
    "params",
    [
        {"gold_location": "s3://bucket/it's/gold"},  # ends the LOCATION literal
        {"gold_location": "s3://bucket/gold\\"},  # a backslash escapes Hive's closing quote
        {"silver_location": "s3://bucket/it's/silver"},  # every location, not Gold's alone
        {"database": "boston311; DROP DATABASE x"},
        {"database": "b-311"},
    ],
)
def test_a_value_that_would_end_its_sql_literal_or_name_is_refused(params: dict[str, str]) -> None:
    values = {"silver_location": "s3://bucket/silver", "gold_location": "s3://bucket/gold", **params}
    with pytest.raises(athena_sql.SqlError, match="cannot go into SQL"):
        athena_sql.load_sql("ddl", "gold_geo_grid", **values)


@pytest.mark.parametrize("name", athena_sql.view_names())
def test_views_are_trino_create_or_replace_over_unqualified_tables(name: str) -> None:
    sql = athena_sql.load_sql("views", name)
    assert sql.startswith(f"CREATE OR REPLACE VIEW {name} AS")
    assert "boston311." not in sql and "${" not in sql
    assert athena_sql.to_duckdb(sql).startswith(f"CREATE OR REPLACE VIEW {name} AS")


VIEW_COLUMNS = {
    "v_monthly_requests": [
        ("month", "DATE"), ("year", "INTEGER"), ("department", "VARCHAR"), ("subject", "VARCHAR"),
        ("reason", "VARCHAR"), ("type", "VARCHAR"), ("source", "VARCHAR"), ("neighborhood", "VARCHAR"),
        ("requests_opened", "BIGINT"), ("requests_closed", "BIGINT"), ("closed_on_time", "BIGINT"),
        ("closed_late", "BIGINT"), ("still_open", "BIGINT"), ("sum_hours_to_close", "DOUBLE"),
        ("closed_with_duration", "BIGINT"), ("last_opened_date", "DATE"),
    ],
    "v_resolution_times": [
        ("year", "INTEGER"), ("department", "VARCHAR"), ("type", "VARCHAR"), ("closed_cases", "BIGINT"),
        ("closed_with_duration", "BIGINT"), ("p50_hours", "DOUBLE"), ("p90_hours", "DOUBLE"), ("mean_hours", "DOUBLE"),
        ("on_time_rate", "DOUBLE"),
    ],
    "v_neighborhood_scorecard": [
        ("year", "INTEGER"), ("neighborhood", "VARCHAR"), ("requests", "BIGINT"),
        ("closed_with_duration", "BIGINT"), ("p50_hours", "DOUBLE"), ("on_time_rate", "DOUBLE"),
        ("top_type", "VARCHAR"), ("share_of_city", "DOUBLE"),
    ],
    "v_open_backlog": [
        ("week_start", "DATE"), ("department", "VARCHAR"), ("open_cases", "BIGINT"), ("open_over_1y", "BIGINT"),
    ],
    "v_geo_grid": [
        ("year", "INTEGER"), ("type", "VARCHAR"), ("cell_lat", "DOUBLE"), ("cell_lon", "DOUBLE"), ("requests", "BIGINT"),
    ],
}  # fmt: skip


def test_every_table_and_view_has_its_test_fixture() -> None:
    # a new view is checked here only once its columns are written down (a Gold table's schema is its DDL's)
    assert sorted(VIEW_COLUMNS) == athena_sql.view_names(), "a new view needs its columns in VIEW_COLUMNS"


def test_test_rows_without_a_column_of_their_schema_are_named(tmp_path: Path) -> None:
    # a column added to SILVER_SCHEMA or GOLD_SCHEMAS but not to the rows the tests write is named in one sentence,
    # not a KeyError (or zip's "argument 2 is shorter") inside the fixture that builds the lake
    silver_row = {name: value for name, value in helpers.SMALL_SILVER[0].items() if name != "zipcode"}
    with pytest.raises(
        AssertionError, match=r"^the rows written to service_requests/ have no zipcode, a column"
    ):
        helpers.write_silver(tmp_path / "silver", [silver_row])
    with pytest.raises(AssertionError, match=r"^a row written to geo_grid/ has 4 values for the 5 columns"):
        helpers.write_gold(tmp_path / "gold", {"geo_grid": [helpers.SMALL_GEO[0][:4]]})
    with pytest.raises(
        AssertionError, match=r"^a row written to monthly_requests/ has 14 values for the 15 columns"
    ):
        helpers.write_gold(tmp_path / "gold", {"monthly_requests": [helpers.SMALL_MONTHLY[0][:-1]]})


@pytest.mark.parametrize("name", athena_sql.named_query_names())
def test_named_query_counts_are_bigint_in_duckdb_as_in_athena(
    name: str, db: duckdb.DuckDBPyConnection
) -> None:
    # DuckDB widens SUM(BIGINT) to HUGEINT (int128, which Arrow and pandas read as a decimal or a float); Athena
    # keeps BIGINT. The queries cast, so both engines hand out the same types.
    types = {r[0]: r[1] for r in db.execute(f"DESCRIBE {local_lake.named_query_view(name)}").fetchall()}
    assert "HUGEINT" not in types.values(), types
    counts = {
        "requests_opened",
        "closed_on_time",
        "closed_late",
        "closed_cases",
        "closed_with_duration",
        "open_cases",
        "open_over_1y",
    }
    assert {column: kind for column, kind in types.items() if column in counts} == dict.fromkeys(
        counts & set(types), "BIGINT"
    )


@pytest.mark.parametrize("view", sorted(VIEW_COLUMNS))
def test_view_columns_and_types_are_the_contract(view: str, db: duckdb.DuckDBPyConnection) -> None:
    assert [(r[0], r[1]) for r in db.execute(f"DESCRIBE {view}").fetchall()] == VIEW_COLUMNS[view]


def test_the_quarantine_reads_every_runs_folder(db: duckdb.DuckDBPyConnection) -> None:
    assert rows(db, "SELECT reject_reason, count(*) FROM silver_quarantine GROUP BY 1 ORDER BY 1") == [
        ("closed_before_opened", 1),
        ("malformed_record", 1),
        ("missing_case_id", 1),
    ]
    assert rows(db, "SELECT count(DISTINCT ingested_at) FROM silver_quarantine") == [(2,)]


def test_v_monthly_requests_carries_every_row_and_the_partition_year(db: duckdb.DuckDBPyConnection) -> None:
    assert rows(
        db, "SELECT year, sum(requests_opened), count(*) FROM v_monthly_requests GROUP BY year ORDER BY year"
    ) == [
        (2023, 7, 1),
        (2024, 40, 5),
    ]
    # Average delay of February 2024: (300 + 96 + 0) hours / (12 + 4 + 0) closed cases / 24 = 1.03125 days.
    assert rows(
        db,
        "SELECT sum(sum_hours_to_close) / sum(closed_with_duration) / 24 FROM v_monthly_requests "
        "WHERE month = DATE '2024-02-01'",
    ) == [(1.03125,)]
    # How far each month reaches: the latest opening over all its groups.
    assert rows(
        db, "SELECT month, max(last_opened_date) FROM v_monthly_requests GROUP BY month ORDER BY month"
    ) == [
        (dt.date(2023, 12, 1), dt.date(2023, 12, 31)),
        (dt.date(2024, 1, 1), dt.date(2024, 1, 31)),
        (dt.date(2024, 2, 1), dt.date(2024, 2, 29)),
    ]


def test_v_resolution_times_scorecard_backlog_and_geo_pass_gold_through(
    db: duckdb.DuckDBPyConnection,
) -> None:
    assert rows(
        db,
        "SELECT type, closed_cases, closed_with_duration, p50_hours, p90_hours, on_time_rate "
        "FROM v_resolution_times ORDER BY type",
    ) == [
        ("Missed Trash", 5, 5, 4.0, 9.0, 1.0),
        ("Parking Enforcement", 15, 14, 20.0, 48.0, 0.6),
    ]
    assert rows(
        db,
        "SELECT neighborhood, requests, closed_with_duration, p50_hours, share_of_city "
        "FROM v_neighborhood_scorecard ORDER BY 1",
    ) == [
        ("Dorchester", 30, 20, 10.0, 0.75),
        ("Roxbury", 9, 6, 5.0, 0.225),
        ("Unknown", 1, 0, None, 0.025),
    ]
    assert rows(db, "SELECT department, sum(open_cases) FROM v_open_backlog GROUP BY 1 ORDER BY 1") == [
        ("BTDT", 12),
        ("PWDx", 5),
    ]
    assert rows(db, "SELECT cell_lat, cell_lon, sum(requests) FROM v_geo_grid GROUP BY 1, 2 ORDER BY 1") == [
        (42.3125, -71.0625, 10),
        (42.35, -71.06, 14),
    ]


def test_every_view_passes_its_gold_rows_through_unchanged(db: duckdb.DuckDBPyConnection) -> None:
    # Each view is its Gold table with pinned types: every column, every value, no column standing in for another.
    def table(sql: str) -> list[tuple]:
        return sorted(rows(db, sql), key=repr)

    def expected(gold_rows: list[tuple]) -> list[tuple]:
        return sorted(
            (tuple(round(v, 6) if isinstance(v, float) else v for v in row) for row in gold_rows), key=repr
        )

    assert table("SELECT * FROM v_resolution_times") == expected(helpers.SMALL_RESOLUTION)
    assert table("SELECT * FROM v_neighborhood_scorecard") == expected(helpers.SMALL_SCORECARD)
    assert table("SELECT * FROM v_open_backlog") == expected(helpers.SMALL_BACKLOG)
    assert table("SELECT * FROM v_geo_grid") == expected(helpers.SMALL_GEO)
    # v_monthly_requests puts the partition year beside the month
    assert table("SELECT * EXCLUDE (year) FROM v_monthly_requests") == expected(helpers.SMALL_MONTHLY)
    assert table("SELECT month, year FROM v_monthly_requests") == expected(
        [(row[0], row[0].year) for row in helpers.SMALL_MONTHLY]
    )


def test_nq_on_time_rate_leaves_out_closed_cases_with_an_unknown_on_time(tmp_path: Path) -> None:
    # Closed cases without an on_time count in requests_closed but in neither closed_on_time nor closed_late.
    helpers.write_gold(
        tmp_path / "gold",
        {
            "monthly_requests": [
                # (month, department, subject, reason, type, source, neighborhood, opened, closed, on_time, late,
                #  still_open, sum_hours, with_duration, last_opened): 3 on time, 1 late, 4 closed with no on_time
                (dt.date(2024, 3, 1), "PWDx", "Public Works Department", "Sanitation", "Missed Trash",
                 "Constituent Call", "Roxbury", 10, 8, 3, 1, 2, 80.0, 8, dt.date(2024, 3, 31)),
                # closed, but none with a known on_time: NULL, not 0
                (dt.date(2024, 3, 1), "BTDT", None, None, None, None, None, 2, 2, 0, 0, 0, 4.0, 2, dt.date(2024, 3, 9)),
            ]
        },
    )  # fmt: skip
    local_lake.build_local_query_layer(
        str(tmp_path / "lake.duckdb"), str(tmp_path / "silver"), str(tmp_path / "gold")
    )
    with duckdb.connect(str(tmp_path / "lake.duckdb"), read_only=True) as connection:
        assert rows(connection, "SELECT * FROM nq_ontime_rate_by_department_month") == [
            (dt.date(2024, 3, 1), "BTDT", 0, 0, None),
            (dt.date(2024, 3, 1), "PWDx", 3, 1, 0.75),  # 3 / (3 + 1), not 3 / 8 closed
        ]


def test_nq_ontime_rate_by_department_month(db: duckdb.DuckDBPyConnection) -> None:
    # 2024-01 PWDx: (6 + 5) on time, 2 late -> 11/13; 2024-02 Unknown closed nothing -> NULL, not 0.
    assert rows(db, "SELECT * FROM nq_ontime_rate_by_department_month") == [
        (dt.date(2023, 12, 1), "PWDx", 7, 0, 1.0),
        (dt.date(2024, 1, 1), "PWDx", 11, 2, round(11 / 13, 6)),
        (dt.date(2024, 2, 1), "BTDT", 9, 6, 0.6),
        (dt.date(2024, 2, 1), "PWDx", 1, 3, 0.25),
        (dt.date(2024, 2, 1), "Unknown", 0, 0, None),
    ]


def test_nq_median_hours_to_close_by_type_over_silver(db: duckdb.DuckDBPyConnection) -> None:
    # Missed Trash closed in 1, 5, 9 h; Parking Enforcement in 2, 4, 6, 8, 100 h. The open case and the
    # closed case without a duration are not counted.
    result = rows(
        db,
        "SELECT type, closed_with_duration, median_hours, median_days, p90_hours FROM nq_median_hours_to_close_by_type",
    )
    assert [r[:4] for r in result] == [
        ("Parking Enforcement", 5, 6.0, 0.25),
        ("Missed Trash", 3, 5.0, round(5 / 24, 6)),
    ]
    assert result[0][4] == 100.0  # exact locally: quantile_disc, one of the group's values


def test_nq_median_hours_leaves_out_open_cases_even_with_hours(tmp_path: Path) -> None:
    opened = dt.datetime(2024, 3, 4, 14, 0, tzinfo=helpers.UTC)
    silver = [
        helpers._silver_case("101000000101", "Missed Trash", opened, 1.0),
        helpers._silver_case("101000000102", "Missed Trash", opened, 5.0),
        helpers._silver_case("101000000103", "Missed Trash", opened, 9.0),
        # still open, yet carrying hours (a stale value): not a resolution, so in no percentile
        helpers._silver_case("101000000104", "Missed Trash", opened, None, is_closed=False, on_time=None)
        | {"hours_to_close": 1000.0},
    ]
    helpers.write_silver(tmp_path / "silver", silver)
    local_lake.build_local_query_layer(
        str(tmp_path / "lake.duckdb"), str(tmp_path / "silver"), str(tmp_path / "gold")
    )
    with duckdb.connect(str(tmp_path / "lake.duckdb"), read_only=True) as connection:
        assert rows(
            connection,
            "SELECT type, closed_with_duration, median_hours, p90_hours FROM nq_median_hours_to_close_by_type",
        ) == [("Missed Trash", 3, 5.0, 9.0)]


def test_percentiles_are_one_of_the_groups_values_locally() -> None:
    # DuckDB's approx_quantile (t-digest) interpolates: the median of 2.35 h and 1,624.4 h came out 813 h.
    sql = athena_sql.to_duckdb(
        "SELECT approx_percentile(h, 0.5) AS p50, approx_percentile(h, 0.9) / 24 AS p90_days"
        " FROM (VALUES CAST(2.35 AS DOUBLE), CAST(1624.4 AS DOUBLE)) AS t (h)"
    )
    assert duckdb.sql(sql).fetchall() == [(2.35, 1624.4 / 24)]


def test_nq_volume_by_neighborhood_month(db: duckdb.DuckDBPyConnection) -> None:
    assert rows(db, "SELECT * FROM nq_volume_by_neighborhood_month") == [
        (dt.date(2023, 12, 1), "Dorchester", 7, 1.0),
        (dt.date(2024, 1, 1), "Dorchester", 10, round(10 / 15, 6)),
        (dt.date(2024, 1, 1), "Roxbury", 5, round(5 / 15, 6)),
        (dt.date(2024, 2, 1), "Dorchester", 20, 0.8),
        (dt.date(2024, 2, 1), "Roxbury", 4, 0.16),
        (dt.date(2024, 2, 1), "Unknown", 1, 0.04),
    ]


def test_nq_channel_mix_over_time(db: duckdb.DuckDBPyConnection) -> None:
    assert rows(db, "SELECT * FROM nq_channel_mix_over_time") == [
        (dt.date(2023, 12, 1), "Constituent Call", 7, 1.0),
        (dt.date(2024, 1, 1), "Constituent Call", 10, round(10 / 15, 6)),
        (dt.date(2024, 1, 1), "Citizens Connect App", 5, round(5 / 15, 6)),
        (dt.date(2024, 2, 1), "Citizens Connect App", 20, 0.8),
        (dt.date(2024, 2, 1), "Constituent Call", 4, 0.16),
        (dt.date(2024, 2, 1), "Self Service", 1, 0.04),
    ]


def test_nq_open_backlog_by_department(db: duckdb.DuckDBPyConnection) -> None:
    assert rows(db, "SELECT * FROM nq_open_backlog_by_department") == [
        (dt.date(2024, 1, 1), "BTDT", 5, 0, None),
        (dt.date(2024, 1, 1), "PWDx", 3, 1, None),
        (dt.date(2024, 1, 8), "BTDT", 7, 2, 2),
        (dt.date(2024, 1, 8), "PWDx", 2, 1, -1),
    ]


def test_silver_view_reads_utc_wall_clock_and_typed_partitions(db: duckdb.DuckDBPyConnection) -> None:
    db.execute("SET TimeZone = 'America/New_York'")  # the session zone must not shift the UTC stamps
    try:
        opened = rows(db, "SELECT opened_at FROM silver_service_requests WHERE case_id = '101000000001'")
    finally:  # the connection is the module's: its other tests read in the default zone
        db.execute("RESET TimeZone")
    assert opened == [(dt.datetime(2024, 1, 3, 14, 0),)]
    assert rows(
        db,
        "SELECT opened_at, open_year, open_month FROM silver_service_requests WHERE case_id = '101000000008'",
    ) == [(dt.datetime(2023, 12, 30, 9, 0), 2023, 12)]
    assert (
        dict(rows(db, "SELECT column_name, column_type FROM (DESCRIBE silver_service_requests)"))[
            "open_month"
        ]
        == "INTEGER"
    )


def test_a_missing_gold_table_gives_an_empty_view_and_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    silver, gold = helpers.write_small_lake(tmp_path)
    for part in (gold / "geo_grid").iterdir():
        part.unlink()
    summary = local_lake.build_local_query_layer(str(tmp_path / "lake.duckdb"), str(silver), str(gold))
    assert summary["tables"]["gold_geo_grid"] is None
    assert summary["tables"]["gold_monthly_requests"] == 6
    assert "gold_geo_grid: no Parquet files under" in caplog.text
    with duckdb.connect(str(tmp_path / "lake.duckdb"), read_only=True) as connection:
        assert connection.execute("SELECT count(*) FROM v_geo_grid").fetchone() == (0,)
        assert [r[1] for r in connection.execute("DESCRIBE v_geo_grid").fetchall()][2] == "DOUBLE"


def gold_swap_during_the_build(
    monkeypatch: pytest.MonkeyPatch, live: Path, aside: Path, *, moved_aside_before: bool
) -> None:
    """Play a Gold run's swap of one table (the live folder moved aside, then the new one moved in) around the
    serve stage's look at that folder (``has_parquet``): the swap is under way when it looks (``moved_aside_before``),
    or begins just after it looked, and ends at its next look."""
    has_parquet, looks = local_lake.has_parquet, []

    def look_mid_swap(folder: str) -> bool:
        if folder == str(live):
            looks.append(folder)
            if len(looks) == 1 and moved_aside_before:
                live.rename(aside)
            elif len(looks) > 1 and aside.exists():
                aside.rename(live)  # the new table moved in
        found = has_parquet(folder)
        if folder == str(live) and len(looks) == 1 and not moved_aside_before:
            live.rename(aside)  # moved aside once the folder was seen with its files
        return found

    monkeypatch.setattr(local_lake, "has_parquet", look_mid_swap)


@pytest.mark.parametrize(
    "moved_aside_before", [True, False], ids=["swap-under-way", "swap-begins-after-the-look"]
)
def test_a_gold_table_swapped_while_the_views_are_built_is_read_once_the_swap_is_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, moved_aside_before: bool
) -> None:
    """The serve stage beside a Gold run's publish (``make run`` twice, or local_lake.py by hand): a table folder is
    absent for the moment between its two moves. Seen absent, the view was made empty for good (0 rows once Gold had
    ended, until the serve stage ran again); gone after it was seen, the build failed ("No files found")."""
    silver, gold = helpers.write_small_lake(tmp_path)
    gold_swap_during_the_build(
        monkeypatch, gold / "monthly_requests", tmp_path / "aside", moved_aside_before=moved_aside_before
    )

    summary = local_lake.build_local_query_layer(str(tmp_path / "lake.duckdb"), str(silver), str(gold))

    assert summary["tables"]["gold_monthly_requests"] == len(helpers.SMALL_MONTHLY)
    with duckdb.connect(str(tmp_path / "lake.duckdb"), read_only=True) as connection:
        assert connection.execute("SELECT count(*) FROM v_monthly_requests").fetchone() == (
            len(helpers.SMALL_MONTHLY),
        )


def test_a_column_missing_from_parquet_reads_as_null(tmp_path: Path) -> None:
    gold = tmp_path / "gold"
    narrow = (
        helpers.GOLD_SCHEMAS["open_backlog"].remove(3).remove(2)
    )  # a Gold written before a column existed
    helpers.write_table([(dt.date(2024, 1, 1), "PWDx")], narrow, gold / "open_backlog")
    local_lake.build_local_query_layer(str(tmp_path / "lake.duckdb"), str(tmp_path / "silver"), str(gold))
    with duckdb.connect(str(tmp_path / "lake.duckdb"), read_only=True) as connection:
        assert connection.execute("SELECT * FROM v_open_backlog").fetchall() == [
            (dt.date(2024, 1, 1), "PWDx", None, None)
        ]
        # the missing columns keep the DDL's types, as on Athena (an untyped NULL would be an INTEGER)
        declared = [
            athena_sql.DUCKDB_TYPES[t] for t in athena_sql.table_columns("gold_open_backlog").values()
        ]
        assert [row[1] for row in connection.execute('DESCRIBE "gold_open_backlog"').fetchall()] == declared


def test_parquet_files_written_before_and_after_a_column_was_added_read_together(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    gold = tmp_path / "gold"
    schema = helpers.GOLD_SCHEMAS["open_backlog"]
    helpers.write_table([(dt.date(2024, 2, 1), "PWDx", 7, 3)], schema, gold / "open_backlog")
    narrow = schema.remove(3).remove(2)  # an older file of the same table, without the two later columns
    helpers.write_table([(dt.date(2024, 1, 1), "BTDT")], narrow, gold / "open_backlog" / "older")

    local_lake.build_local_query_layer(str(tmp_path / "lake.duckdb"), str(tmp_path / "silver"), str(gold))

    with duckdb.connect(str(tmp_path / "lake.duckdb"), read_only=True) as connection:
        rows = connection.execute('SELECT * FROM "gold_open_backlog" ORDER BY 1').fetchall()
    assert rows == [(dt.date(2024, 1, 1), "BTDT", None, None), (dt.date(2024, 2, 1), "PWDx", 7, 3)]
    # the union has every column, yet the older file's rows read two as NULL: said, as when no file has them
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert [m for m in warned if m.startswith("gold_open_backlog:")] == [
        f"gold_open_backlog: 1 of its 2 Parquet files lack {name} (written before the column was added); their "
        'rows read it as NULL (as on Athena) until Gold runs again: make run ARGS="--stages gold,serve".'
        for name in list(schema.names)[2:]
    ]


def test_a_lake_an_older_version_wrote_is_warned_with_what_fills_the_missing_columns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Before: "they read as NULL (as on Athena)" and nothing on what to run; Gold fills its columns on its next run,
    # Silver only when its Bronze objects are read again, which its own run's warning says how to do
    silver, gold = helpers.write_small_lake(tmp_path)
    shutil.rmtree(silver / "service_requests")
    schema = helpers.SILVER_SCHEMA
    helpers.write_silver(
        silver, helpers.SMALL_SILVER, schema.remove(schema.get_field_index("neighborhood_raw"))
    )
    shutil.rmtree(gold / "open_backlog")
    backlog = helpers.GOLD_SCHEMAS["open_backlog"]
    before_open_over_1y = backlog.remove(backlog.get_field_index("open_over_1y"))
    helpers.write_table(
        [row[:3] for row in helpers.SMALL_BACKLOG], before_open_over_1y, gold / "open_backlog"
    )

    local_lake.build_local_query_layer(str(tmp_path / "lake.duckdb"), str(silver), str(gold))

    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == [
        "silver_service_requests: the Parquet files lack neighborhood_raw (written by an older version); they read "
        "as NULL (as on Athena) until Silver reads their Bronze objects again, which each Silver run's warning "
        "gives the command for (docs/limits.md, 'Upgrading an existing lake').",
        "gold_open_backlog: the Parquet files lack open_over_1y (written by an older version); they read as NULL "
        f'(as on Athena) until Gold runs again: make run LAKE={tmp_path} ARGS="--stages gold,serve".',
    ]


def test_a_column_of_another_type_is_refused_naming_the_stage_to_rerun(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before: the view cast it, the build said "open_backlog: 1 rows" and exit 0, and the dashboard failed later
    helpers.write_small_lake(tmp_path)
    folder = tmp_path / "gold" / "boston311" / "open_backlog"
    shutil.rmtree(folder)
    schema = helpers.GOLD_SCHEMAS["open_backlog"]
    retyped = schema.set(schema.get_field_index("open_cases"), pa.field("open_cases", pa.string()))
    helpers.write_table([(dt.date(2024, 1, 1), "PWDx", "many", 0)], retyped, folder)

    assert local_lake.main(["--lake", str(tmp_path)]) == 2

    [line] = capsys.readouterr().err.strip().splitlines()
    assert "gold_open_backlog: the Parquet files under" in line
    assert "open_cases is VARCHAR where the DDL says bigint" in line and line.endswith("running Gold again.")
    assert not (tmp_path / "lake.duckdb").exists() and not (tmp_path / "lake.duckdb.building").exists()


def test_a_silver_column_of_another_type_names_silver_as_the_stage_to_rerun(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    helpers.write_small_lake(tmp_path)
    silver = tmp_path / "silver" / "boston311"
    shutil.rmtree(silver / "service_requests")
    schema = helpers.SILVER_SCHEMA
    retyped = schema.set(schema.get_field_index("latitude"), pa.field("latitude", pa.string()))
    helpers.write_silver(
        silver, [row | {"latitude": str(row["latitude"])} for row in helpers.SMALL_SILVER], retyped
    )

    assert local_lake.main(["--lake", str(tmp_path)]) == 2

    [line] = capsys.readouterr().err.strip().splitlines()
    assert "silver_service_requests: the Parquet files under" in line
    # Before: "rebuild them by running Silver again", which rewrites only the months of new Bronze objects
    assert "latitude is VARCHAR where the DDL says double" in line and line.endswith(
        "rebuild them by reading every Bronze object again, as a Silver run rewrites only the months of the "
        "objects it reads (docs/limits.md, 'Upgrading an existing lake')."
    )


def test_one_statement_is_transpiled_and_two_are_refused() -> None:
    assert athena_sql.to_duckdb("SELECT 1") == "SELECT 1"
    with pytest.raises(athena_sql.SqlError, match="Expected one SQL statement, got 2"):
        athena_sql.to_duckdb("SELECT 1; SELECT 2")


def test_cli_builds_the_lake_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    helpers.write_small_lake(tmp_path)
    assert local_lake.main(["--lake", str(tmp_path)]) == 0
    assert "gold_monthly_requests: 6 rows" in capsys.readouterr().out
    with duckdb.connect(str(tmp_path / "lake.duckdb"), read_only=True) as connection:
        assert connection.execute("SELECT sum(requests_opened) FROM v_monthly_requests").fetchone() == (47,)
    assert not (tmp_path / "lake.duckdb.building").exists()


def test_a_lake_in_a_folder_with_a_quote_and_brackets_is_read_whole(tmp_path: Path) -> None:
    """The folder is a SQL string literal (a quote must not end it) and a DuckDB glob ("[1]" must not be a character
    class that matches no file)."""
    root = tmp_path / "it's [1] lake"
    silver, gold = helpers.write_small_lake(root)

    summary = local_lake.build_local_query_layer(str(root / "lake.duckdb"), str(silver), str(gold))

    assert summary["tables"]["gold_monthly_requests"] == 6 and summary["tables"]["silver_quarantine"] == 3
    with duckdb.connect(str(root / "lake.duckdb"), read_only=True) as connection:
        assert connection.execute("SELECT sum(requests_opened) FROM v_monthly_requests").fetchone() == (47,)


@pytest.mark.parametrize("damage", ["parquet", "folder"])
def test_cli_a_build_that_fails_is_one_line_and_leaves_no_half_built_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: str
) -> None:
    # Before: a damaged Parquet file printed DuckDB's SQL and caret and left lake.duckdb.building behind;
    # lake.duckdb being a folder was an IsADirectoryError traceback.
    helpers.write_small_lake(tmp_path)
    if damage == "parquet":
        next((tmp_path / "gold" / "boston311" / "geo_grid").glob("*.parquet")).write_bytes(b"not parquet")
    else:
        (tmp_path / "lake.duckdb").mkdir()

    assert local_lake.main(["--lake", str(tmp_path)]) == 2

    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("Could not build the local query layer: ")
    assert ("geo_grid" if damage == "parquet" else "is a folder") in line
    assert not (tmp_path / "lake.duckdb.building").exists()


def test_a_disk_that_fills_while_duckdb_writes_its_file_leaves_the_previous_query_layer(
    tmp_path: Path,
) -> None:
    # Before: DuckDB's checkpoint on closing failed without a word, the views stayed in lake.duckdb.building.wal, and
    # the half-written file replaced the good one, its views gone ("Catalog Error: Table with name v_monthly_requests
    # does not exist!" in the dashboard; the drill of 2026-11-27 on a nearly full tmpfs). A file-size limit the build
    # runs under stands in for the full disk: the log fits in it, the database file does not.
    helpers.write_small_lake(tmp_path)
    assert local_lake.main(["--lake", str(tmp_path)]) == 0
    built = (tmp_path / "lake.duckdb").read_bytes()
    assert len(built) > 200_000

    def file_size_limit() -> None:  # in the child: its writes past 200 kB fail (Python ignores SIGXFSZ)
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))

    script = REPO / "quicksight" / "local_lake.py"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "scripts"), str(REPO / "quicksight")]))
    completed = subprocess.run(  # preexec_fn: the limit must hold for the build alone
        [sys.executable, str(script), "--lake", str(tmp_path)],
        preexec_fn=file_size_limit,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

    assert completed.returncode == 2
    assert completed.stderr.strip().splitlines()[-1] == (
        "Could not build the local query layer: FATAL Error: Failed to create checkpoint because of error: "
        f'Could not write file "{tmp_path / "lake.duckdb.building"}": File too large'
    )
    assert (tmp_path / "lake.duckdb").read_bytes() == built
    assert sorted(p.name for p in tmp_path.glob("lake.duckdb*")) == ["lake.duckdb"]


def test_a_build_stopped_by_ctrl_c_leaves_no_half_built_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    helpers.write_small_lake(tmp_path)
    building = tmp_path / "lake.duckdb.building"

    def interrupted(connection, table, silver_path, gold_path):
        assert building.exists()  # DuckDB has made it
        raise KeyboardInterrupt

    monkeypatch.setattr(local_lake, "create_table_view", interrupted)

    with pytest.raises(KeyboardInterrupt):
        local_lake.build_local_query_layer(
            str(tmp_path / "lake.duckdb"),
            str(tmp_path / "silver" / "boston311"),
            str(tmp_path / "gold" / "boston311"),
        )
    assert not building.exists() and not (tmp_path / "lake.duckdb").exists()


def test_cli_refuses_a_missing_lake_in_one_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert local_lake.main(["--lake", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert "does not exist; run the pipeline first" in err and "Traceback" not in err
    # on that lake: a bare make run would build ./lake
    assert f"(make run LAKE={tmp_path / 'nowhere'})" in err


@pytest.mark.parametrize("lake", ["ingested", "a-killed-first-gold-run"])
def test_cli_refuses_a_lake_without_tables_and_writes_nothing(
    lake: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bronze" / "boston311").mkdir(parents=True)  # ingested, nothing built yet
    if lake == "a-killed-first-gold-run":  # a table's files in its staging folder only
        helpers.write_gold(
            tmp_path / "gold" / "boston311" / "_staging" / "run", {"geo_grid": helpers.SMALL_GEO}
        )
    assert local_lake.main(["--lake", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"holds no Silver or Gold tables; run the pipeline first (make run LAKE={tmp_path})." in err
    assert not (tmp_path / "lake.duckdb").exists()


def test_the_views_skip_the_files_athena_and_spark_skip(tmp_path: Path) -> None:
    """A file whose name starts with ``_`` or ``.`` is not a table's (Hive's rule, which Athena and Spark follow): a
    copy put aside by hand read twice the rows, and macOS's ``._`` file on a USB disk failed the build."""
    silver, gold = helpers.write_small_lake(tmp_path)
    geo_part = next((gold / "geo_grid").glob("*.parquet"))
    shutil.copy(geo_part, geo_part.with_name("_backup_copy.parquet"))
    month_part = next((gold / "monthly_requests").rglob("*.parquet"))
    month_part.with_name(f"._{month_part.name}").write_bytes(b"\x00\x05\x16\x07 AppleDouble")
    shutil.copy(
        next((silver / "service_requests").rglob("*.parquet")), silver / "service_requests" / ".kept.parquet"
    )

    summary = local_lake.build_local_query_layer(str(tmp_path / "lake.duckdb"), str(silver), str(gold))

    assert summary["tables"]["gold_geo_grid"] == len(helpers.SMALL_GEO)
    assert summary["tables"]["gold_monthly_requests"] == len(helpers.SMALL_MONTHLY)
    assert summary["tables"]["silver_service_requests"] == len(helpers.SMALL_SILVER)


def test_a_build_beside_another_waits_for_it_then_builds(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Two builds at once (``make run`` twice, or local_lake.py beside the serve stage) shared the building file, and
    one or both failed ("No such file or directory: 'lake.duckdb.building'", or DuckDB's lock on it)."""
    silver, gold = helpers.write_small_lake(tmp_path)
    target = tmp_path / "lake.duckdb"
    caplog.set_level(logging.INFO, logger=local_lake.log.name)
    second = threading.Thread(
        target=local_lake.build_local_query_layer, args=(str(target), str(silver), str(gold))
    )
    with local_lake.one_build_at_a_time(tmp_path):  # the first build, under way
        second.start()
        for _ in range(600):
            if "under way: waiting for it to end" in caplog.text:
                break
            time.sleep(0.05)
        assert (
            f"Another build of the query layer in {tmp_path} is under way: waiting for it to end."
            in caplog.text
        )
        assert not target.exists() and not target.with_name("lake.duckdb.building").exists()
    second.join(timeout=120)

    assert not second.is_alive()
    with duckdb.connect(str(target), read_only=True) as connection:
        assert connection.execute("SELECT count(*) FROM v_monthly_requests").fetchone() == (
            len(helpers.SMALL_MONTHLY),
        )


def test_an_s3_lake_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="is on S3"):
        local_lake.build_local_query_layer("/tmp/x.duckdb", "s3://b/silver", "s3://b/gold")


@pytest.mark.spark
def test_the_real_gold_job_writes_what_the_ddl_declares_and_the_views_read_it(spark, tmp_path: Path) -> None:
    """Drift guard between stages: Gold from the Gold job (on the tiny Silver) against the DDL and the views."""
    import gold_job

    silver, gold = tmp_path / "silver" / "boston311", tmp_path / "gold" / "boston311"
    helpers.write_silver(silver, helpers.SMALL_SILVER)
    gold_job.run_gold(spark, str(silver), str(gold))
    for table in athena_sql.GOLD_TABLES:
        folder = gold / table.removeprefix("gold_")
        parquet = pq.read_schema(next(folder.rglob("*.parquet")))
        declared = {f.name: f.type for f in helpers.ddl_schema(table)}
        undeclared = [name for name in parquet.names if name not in declared]
        assert not undeclared, (
            f"the Gold job writes {undeclared} to {table.removeprefix('gold_')}, which "
            f"quicksight/athena/ddl/{table}.sql does not declare, so neither Athena nor a view serves it: declare it "
            "there and follow it to the view, the dataset and the contract (docs/gold.md, 'Adding a Gold table')"
        )
        assert {f.name: f.type for f in parquet} == declared, table
    local_lake.build_local_query_layer(str(tmp_path / "lake.duckdb"), str(silver), str(gold))
    with duckdb.connect(str(tmp_path / "lake.duckdb"), read_only=True) as connection:
        # Every Silver row is counted once in monthly_requests; every view and named query runs.
        assert connection.execute("SELECT sum(requests_opened) FROM v_monthly_requests").fetchone() == (10,)
        for view in [
            *athena_sql.view_names(),
            *map(local_lake.named_query_view, athena_sql.named_query_names()),
        ]:
            assert connection.execute(f"SELECT count(*) FROM {view}").fetchone()[0] > 0, view


def test_a_weighted_percentile_is_refused_locally_not_silently_unweighted() -> None:
    with pytest.raises(athena_sql.SqlError, match="weight or an accuracy"):
        athena_sql.to_duckdb("SELECT approx_percentile(h, w, 0.5) FROM t")


@pytest.mark.parametrize("template", ["select 1 where total > $5", "select '$' || name"])
def test_a_malformed_placeholder_is_one_sentence_naming_the_sql(template: str) -> None:
    # a '$' not followed by a name: string.Template's ValueError, not a KeyError
    with pytest.raises(
        athena_sql.SqlError, match=r"^views/v_x\.sql has a malformed placeholder: Invalid placeholder"
    ):
        athena_sql.render(template, {"database": "boston311"}, source="views/v_x.sql")


def test_a_parquet_column_of_another_type_is_cast_to_the_declared_one(tmp_path: Path) -> None:
    # an older Gold wrote requests as INTEGER where the DDL now says bigint: the view still gives bigint
    assert local_lake.column_expression("requests", "bigint", "BIGINT") == '"requests"'
    assert local_lake.column_expression("requests", "bigint", None) == 'CAST(NULL AS BIGINT) AS "requests"'
    expression = local_lake.column_expression("requests", "bigint", "INTEGER")
    assert expression == 'CAST("requests" AS BIGINT) AS "requests"'
    pq.write_table(pa.table({"requests": pa.array([3, None], pa.int32())}), tmp_path / "part.parquet")
    with duckdb.connect() as connection:
        read = connection.execute(f"select {expression} from read_parquet('{tmp_path / 'part.parquet'}')")
        assert read.description[0][1] == "BIGINT"
        assert read.fetchall() == [(3,), (None,)]


def test_a_log_a_killed_session_left_beside_the_query_layer_is_not_read_into_the_new_one(
    tmp_path: Path,
) -> None:
    # The docs open lake.duckdb read-write (.venv/bin/duckdb lake/lake.duckdb): a session killed after a write leaves
    # lake.duckdb.wal, and DuckDB read it into the next build's file once that was moved into place. A stale view
    # stayed where Gold's should be, with no error, or every build failed on a view the log dropped.
    helpers.write_small_lake(tmp_path)
    assert local_lake.main(["--lake", str(tmp_path)]) == 0
    killed = (
        subprocess.run(  # a session that writes, then dies before its checkpoint (os._exit: no clean close)
            [
                sys.executable,
                "-c",
                "import duckdb, os, sys\n"
                "connection = duckdb.connect(sys.argv[1])\n"
                "connection.execute(\"SET checkpoint_threshold = '1GB'\")\n"
                "connection.execute('CREATE OR REPLACE VIEW v_monthly_requests AS SELECT 1 AS stale')\n"
                "os._exit(0)\n",
                str(tmp_path / "lake.duckdb"),
            ],
            check=False,
        )
    )
    assert killed.returncode == 0 and (tmp_path / "lake.duckdb.wal").exists()

    assert local_lake.main(["--lake", str(tmp_path)]) == 0

    with duckdb.connect(str(tmp_path / "lake.duckdb"), read_only=True) as connection:
        assert connection.execute("SELECT sum(requests_opened) FROM v_monthly_requests").fetchone() == (47,)
    assert sorted(p.name for p in tmp_path.glob("lake.duckdb*")) == ["lake.duckdb"]
