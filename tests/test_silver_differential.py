"""Silver's values against a second implementation of its core: bench/silver.py's DuckDB SQL over the same Bronze.

The rule tests check each rule on a few rows, and the samples' tests check totals and chosen values; here every case
both engines write must agree, column by column, on three Bronzes: the real samples (read by the session's
``gold_lake`` Silver), hand-made edge rows of the three eras, and the benchmark's generated Bronze at its smallest. Silver is ``run_silver``'s table, DuckDB's is the
bench's SQL run on the same files, both read back from their Parquet in one DuckDB connection.

What the DuckDB SQL leaves out by design is left out of the comparison (docs/silver.md, "Benchmark"):
- the time basis: DuckDB reads each era with its default (legacy 29 wall clock, legacy 30 shifted back, NEW SYSTEM
  wall clock) where Silver decides per file from evidence; so the test first asserts that Silver decided the era
  default for every file read, and only then compares the stamps;
- malformed records: DuckDB skips them where Silver quarantines them, so neither table holds them;
- the bounding box: DuckDB nulls the City Hall placeholder only, so the coordinates are compared where Silver's
  ``location_quality`` is ``ok`` or ``city_hall_placeholder``;
- precinct, street name, location quality, NEW SYSTEM subject and reason in the legacy wording (reasons.csv and
  departments.csv's legacy_subject), source system, dataset and the report: not computed by DuckDB;
- ingested_at: DuckDB takes the ``ingest_date`` folder; no file here has a manifest nor was landed on its folder's
  day, so Silver takes the folder's date too (asserted from its report).
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
from collections import Counter
from pathlib import Path
from typing import NamedTuple

import duckdb
import pytest

import silver_job
from silver_helpers import LEGACY29_HEADER, NEW_SYSTEM_HEADER, csv_text, land, legacy29_row, new_system_row
from synthetic_bronze import LEGACY30, LEGACY30_RENAMES, MIN_ROWS, write_synthetic_bronze

pytestmark = pytest.mark.spark

silver_bench = importlib.import_module("silver")  # bench/silver.py

ERA_DEFAULT = {"legacy29": "wall_clock", "legacy30": "shifted_back", "new_system": "wall_clock"}
# Silver's column -> DuckDB's, for the columns both compute (DuckDB keeps the canonical raw names it read).
SAME_VALUE = {
    "opened_at": "opened_at",
    "target_at": "target_at",
    "closed_at": "closed_at",
    "is_closed": "is_closed",
    "status_detail": "status_raw",
    "on_time": "on_time",
    "hours_to_close": "hours_to_close",
    "department": "department",
    "department_raw": "department_raw",
    "type": "type",
    "queue": "queue",
    "case_title": "case_title",
    "source": "source",
    "source_raw": "source_raw",
    "neighborhood": "neighborhood",
    "neighborhood_raw": "neighborhood_raw",
    "zipcode": "zipcode",
    "ward": "ward",
    "closure_reason": "closure_reason",
    "source_era": "era",
    "ingested_at": "ingested_at",
    "open_year": "open_year",
    "open_month": "open_month",
}
LEGACY_ONLY = {"subject": "subject", "reason": "reason"}  # NEW SYSTEM's legacy wording is Silver's alone
COORDINATES = {"latitude": "latitude", "longitude": "longitude"}
USABLE_OR_PLACEHOLDER = ("ok", "city_hall_placeholder")
# Hours to close: DuckDB divides the exact difference in microseconds; Spark subtracts the two instants cast to
# seconds as doubles, each rounded to half of 2**-22 s at today's epoch, so its hours can be off by 7e-11 (0.24 us).
# 1e-9 hours (3.6 us) is far above that and far below a real difference (a millisecond is 2.8e-7 hours).
HOURS_TOLERANCE = 1e-9


def legacy30_row(case_id: str, open_dt: str, closed_dt: str = "", **values: str) -> list[str]:
    """One 30-column record of the re-issue (stamps shifted back by the UTC offset, as the 2015 sample writes them)."""
    legacy = dict(zip(LEGACY29_HEADER, legacy29_row(case_id, open_dt, closed_dt), strict=True))
    row = dict.fromkeys(LEGACY30, "")
    row.update({LEGACY30_RENAMES.get(name, name): value for name, value in legacy.items()}, **values)
    return [row[name] for name in LEGACY30]


def written_as(row: list[str], **stamps: str) -> list[str]:
    """A NEW SYSTEM record with its stamps written otherwise than ``new_system_row`` writes them."""
    return [stamps.get(name, value) for name, value in zip(NEW_SYSTEM_HEADER, row, strict=True)]


# Edge rows, one Bronze of the three eras. Boston is UTC-5 in winter, UTC-4 in summer; in 2024 the clocks went forward
# at 02:00 on Sunday 10 March (07:00 UTC) and back at 02:00 EDT on Sunday 3 November (06:00 UTC), so 01:00-01:59 that
# morning is lived twice.
LEGACY_2011 = [
    # blanks written as a single space (closure_reason, queue), the zip of a pandas round trip, "Ward 7"
    legacy29_row("101000000001", "2011-07-01 09:00:00", "2011-07-01 10:30:00", queue=" ", ward="Ward 7",
                 location_zipcode="2135.0", precinct="0306"),
    # the City Hall placeholder, ward "07", a zip+4, precinct without its leading zero
    legacy29_row("101000000002", "2011-07-02 09:00:00", "2011-07-03 09:00:00", ward="07",
                 location_zipcode="02135-1234", precinct="306", latitude="42.3594", longitude="-71.0587"),
    # outside Boston; unknown department, channel and neighbourhood pass through; ward "7"; not a zip
    legacy29_row("101000000003", "2011-07-03 09:00:00", ward="7", location_zipcode="213", department="ZZZZ",
                 subject="Nobody's Department", source="Carrier Pigeon", neighborhood="Atlantis",
                 latitude="41.5000", longitude="-70.1000"),
    # an intake code: the subject names the department; OVERDUE in lower case; a status the mapping does not know
    legacy29_row("101000000004", "2011-07-04 09:00:00", "2011-07-04 11:00:00", department="INFO",
                 subject="Animal Control", ontime="overdue", case_status="Pending"),
    # a close written before its opening, both stamps real: rejected by both
    legacy29_row("101000000005", "2011-07-05 09:00:00", "2011-07-05 08:00:00"),
    # no case id: rejected by both
    legacy29_row(" ", "2011-07-06 09:00:00"),
    # an unparsable target: rejected (rule 8)
    legacy29_row("101000000007", "2011-07-07 09:00:00", target_dt="soon"),
    # an opening with a non-zero offset: unparsable (rule 2)
    legacy29_row("101000000008", "2011-07-08 09:00:00-05:00"),
    # the duplicated case, changed in the next ingest (below): the later ingest wins
    legacy29_row("101000000009", "2011-07-09 09:00:00", case_status="Open"),
]  # fmt: skip
LEGACY_2011_NEXT_DAY = [
    legacy29_row("101000000009", "2011-07-09 09:00:00", "2011-07-10 12:00:00"),
    # a case whose next record is rejected: the good record of the day before stays (rule 9 ranks good records)
    legacy29_row("101000000004", "2011-07-04 09:00:00", "yesterday"),
]
LEGACY_2024 = [
    # the fall-back night: opened 01:50 EDT, closed 01:10 EST twenty minutes later, written first (kept, rule 8)
    legacy29_row("101005000001", "2024-11-03 01:50:00", "2024-11-03 01:10:00"),
    # an opening in the repeated hour, read in its first pass (EDT); closed the same night
    legacy29_row("101005000002", "2024-11-03 01:30:00", "2024-11-03 03:00:00"),
    # the spring gap: 02:30 does not exist, read as 03:30 EDT; the close written 03:10 then reads 20 minutes earlier
    # (kept, no hours_to_close, rule 7)
    legacy29_row("101005000003", "2024-03-10 02:30:00", "2024-03-10 03:10:00"),
    # the duplicated case across eras: the NEW SYSTEM file is a later path on the same ingest day
    legacy29_row("101005000004", "2024-06-01 12:00:00"),
]
# written with a BOM and CRLF line ends, as some exports are
LEGACY_2022 = [
    # a case twice in one file: the later row wins
    legacy29_row("101004000001", "2022-01-19 10:00:00", case_status="Open"),
    # an unquoted field padded with a tab (the reader trims it), a quoted newline in a closure text
    legacy29_row("101004000002", "2022-01-19 11:00:00", "2022-01-19 11:42:16", ward="\t7 ",
                 closure_reason="Case Closed. Closed date : Wed Jan 19 11:42:16 EST 2022\nCase Resolved"),
    legacy29_row("101004000001", "2022-01-19 10:00:00", "2022-01-19 12:00:00"),
]  # fmt: skip
LEGACY_2015 = [
    # shifted back by the UTC offset: written 11:06:33, the wall clock is 15:06:33 EDT, 19:06:33 UTC
    legacy30_row("101001000001", "2015-07-30 11:06:33", "2015-07-30 12:41:05", ward="Ward 7",
                 location_zipcode="2135.0", precinct="306"),
    # blanks as a single space, latitude without longitude
    legacy30_row("101001000002", "2015-12-30 03:30:00", on_time=" ", ward=" ", location_zipcode=" ",
                 longitude=" "),
    # the DST nights as the re-issue writes them (its written values repeat, and skip, the same hours)
    legacy30_row("101001000003", "2024-11-03 01:30:00", "2024-11-03 01:10:00"),
    legacy30_row("101001000004", "2024-03-10 02:30:00", "2024-03-10 03:10:00"),
]  # fmt: skip
NEW_SYSTEM_DAY_1 = [
    # +00 with 3 and 0 fractional digits; precinct within the ward
    new_system_row("BCS-00000001", "2025-08-01 06:35:06.539", "2025-08-01 08:00:09", ward="7", precinct="01"),
    # unknown department, channel and neighbourhood; the duplicated case (changed on day 2)
    new_system_row("BCS-00000002", "2025-09-01 12:00:00.5", assigned_department="Office of Sundries",
                   report_source="Carrier Pigeon", neighborhood="Atlantis", case_status="In progress"),
    # the same legacy case id as the 2024 file
    new_system_row("101005000004", "2025-09-02 12:00:00", case_status="Error"),
    # the fall-back night in NEW SYSTEM (wall clock behind a false +00)
    new_system_row("BCS-00000003", "2025-11-02 01:20:00", "2025-11-02 01:05:00"),
    # the other zero-offset labels, dropped as +00 is; another offset makes the stamp unparsable (rejected)
    written_as(new_system_row("BCS-00000004", "2025-10-01", "2025-10-01"), open_date="2025-10-01T12:00:00Z",
               close_date="2025-10-01 13:00:00 UTC", target_close_date="2025-10-04 12:00:00+00:00"),
    new_system_row("BCS-00000005", "2025-10-02 12:00:00", target_close_date="2025-10-05 12:00:00-04"),
]  # fmt: skip
NEW_SYSTEM_DAY_2 = [
    new_system_row("BCS-00000002", "2025-09-01 12:00:00.5", "2025-09-03 15:58:24.123456",
                   assigned_department="Office of Sundries", report_source="Carrier Pigeon",
                   neighborhood="Atlantis", case_status="Closed", closure_reason="Resolved"),
]  # fmt: skip


def land_edges(bronze: Path) -> None:
    """The edge rows as Bronze, two ingest days (before today, without manifests: ingested_at is the folder's date)."""
    land(
        bronze,
        "legacy_2011",
        "2026-01-10",
        "311_service_requests_2011.csv",
        csv_text(LEGACY29_HEADER, LEGACY_2011) + "101000000010,2011-07-10 09:00:00\n",
    )  # a short row: malformed
    land(
        bronze,
        "legacy_2011",
        "2026-01-11",
        "311_service_requests_2011.csv",
        csv_text(LEGACY29_HEADER, LEGACY_2011_NEXT_DAY),
    )
    land(
        bronze,
        "legacy_2022",
        "2026-01-10",
        "311_service_requests_2022.csv",
        "\ufeff" + csv_text(LEGACY29_HEADER, LEGACY_2022, newline="\r\n"),
    )
    land(
        bronze, "legacy_2015", "2026-01-10", "311_service_requests_2015.csv", csv_text(LEGACY30, LEGACY_2015)
    )
    land(
        bronze,
        "legacy_2024",
        "2026-01-10",
        "311_service_requests_2024.csv",
        csv_text(LEGACY29_HEADER, LEGACY_2024),
    )
    land(bronze, "new_system", "2026-01-10", "new_system.csv", csv_text(NEW_SYSTEM_HEADER, NEW_SYSTEM_DAY_1))
    land(
        bronze, "legacy_2026", "2026-01-11", "311_service_requests_2026.csv", csv_text(LEGACY30, [])
    )  # no rows yet
    # the next day's export writes its columns in another order (NEW SYSTEM: any order)
    reordered = list(reversed(NEW_SYSTEM_HEADER))
    by_name = [dict(zip(NEW_SYSTEM_HEADER, row, strict=True)) for row in NEW_SYSTEM_DAY_2]
    land(bronze, "new_system", "2026-01-11", "new_system.csv",
         csv_text(reordered, [[row[name] for name in reordered] for row in by_name]))  # fmt: skip


class BothSilvers(NamedTuple):
    """One Bronze's Silver from each engine, the quality report of Silver's run, and the connection reading them."""

    silver: Path
    duckdb_silver: Path
    report: dict
    con: duckdb.DuckDBPyConnection


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    """One DuckDB connection for the module, in a time zone other than UTC: the SQL must not depend on it."""
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'America/Los_Angeles'")
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def edge_lake(spark, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The edge rows' Bronze and the Silver the job builds from it."""
    lake = tmp_path_factory.mktemp("silver_differential")
    land_edges(lake / "bronze" / "boston311")
    silver_job.run_silver(spark, str(lake / "bronze" / "boston311"), str(lake / "silver" / "boston311"))
    return lake


@pytest.fixture(scope="module")
def generated_lake(spark, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The benchmark's generated Bronze at its smallest (six datasets of the three eras, a second ingest of changed
    cases, ~0.5 % bad records) and the Silver the job builds from it. Without its manifest and with file times on no
    folder's date, so that Silver too takes each file's ingest time from its ingest_date folder."""
    lake = tmp_path_factory.mktemp("silver_differential_generated")
    bronze = lake / "bronze" / "boston311"
    write_synthetic_bronze(str(bronze), MIN_ROWS)
    shutil.rmtree(bronze / silver_job.BRONZE_MANIFESTS_FOLDER)
    for path in bronze.glob("dataset=*/ingest_date=*/*"):
        os.utime(path, (0, 0))
    silver_job.run_silver(spark, str(bronze), str(lake / "silver" / "boston311"))
    return lake


LAKES = {"samples": "gold_lake", "edge rows": "edge_lake", "generated": "generated_lake"}


@pytest.fixture(scope="module", params=LAKES)
def both_silvers(request, con, tmp_path_factory: pytest.TempPathFactory) -> BothSilvers:
    """Silver by the job and by bench/silver.py's DuckDB SQL from the same Bronze files."""
    lake = request.getfixturevalue(LAKES[request.param])
    bronze = lake / "bronze" / "boston311"
    files = sorted(str(path) for path in bronze.glob("dataset=*/ingest_date=*/*") if path.stat().st_size)
    target = tmp_path_factory.mktemp("duckdb_silver") / "service_requests"
    con.execute(silver_bench.duckdb_silver_sql(silver_bench.header_groups(files), target))
    report = json.loads((lake / "silver" / "boston311" / "_quality" / "latest.json").read_text())
    return BothSilvers(lake / "silver" / "boston311" / silver_job.TABLE_FOLDER, target, report, con)


def rows_by_case(con: duckdb.DuckDBPyConnection, table: Path) -> dict[str, dict]:
    """A table's rows read from its Parquet files, by case id, stamps as naive UTC (Spark writes instants, the SQL
    naive UTC); one row per case."""
    files = f"read_parquet('{table}/**/*.parquet', hive_partitioning = true)"
    types = con.execute(f"DESCRIBE SELECT * FROM {files}").fetchall()
    columns = ", ".join(
        f"timezone('UTC', {name}) AS {name}" if kind == "TIMESTAMP WITH TIME ZONE" else name
        for name, kind, *_ in types
    )
    cursor = con.execute(f"SELECT {columns} FROM {files}")
    names = [column[0] for column in cursor.description]
    rows = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
    by_case = {row["case_id"]: row for row in rows}
    assert len(by_case) == len(rows), f"{table}: more than one row for a case"
    return by_case


def values_agree(silver_value: object, duckdb_value: object) -> bool:
    """Keys, text, flags and stamps exactly; doubles within HOURS_TOLERANCE (coordinates are parsed alike: exact)."""
    if isinstance(silver_value, float) and isinstance(duckdb_value, float):
        return silver_value == pytest.approx(duckdb_value, rel=0, abs=HOURS_TOLERANCE)
    return silver_value == duckdb_value


def test_silver_read_every_file_as_duckdb_does(both_silvers: BothSilvers) -> None:
    # DuckDB reads each era with its default basis and the ingest_date folder's day: the stamps and ingest times are
    # comparable only where Silver decided the same
    files = both_silvers.report["files"]
    assert files
    decided = {entry["source_file"]: (entry["era"], entry["time_basis"]["reading"]) for entry in files}
    assert decided == {name: (era, ERA_DEFAULT[era]) for name, (era, _) in decided.items()}
    assert {entry["ingested_at_from"] for entry in files} == {"ingest_date"}


def test_silver_and_the_duckdb_sql_agree_case_by_case(both_silvers: BothSilvers) -> None:
    silver = rows_by_case(both_silvers.con, both_silvers.silver)
    duck = rows_by_case(both_silvers.con, both_silvers.duckdb_silver)
    assert silver
    only_silver, only_duckdb = sorted(silver.keys() - duck.keys()), sorted(duck.keys() - silver.keys())
    assert not only_silver and not only_duckdb, (
        f"cases only Silver writes {only_silver[:5]}, only DuckDB writes {only_duckdb[:5]}"
    )
    differences = []
    for case_id, silver_row in silver.items():
        duckdb_row = duck[case_id]
        compared = dict(SAME_VALUE)
        if silver_row["source_era"] != "new_system":
            compared |= LEGACY_ONLY
        if silver_row["location_quality"] in USABLE_OR_PLACEHOLDER:
            compared |= COORDINATES
        for column, duckdb_column in compared.items():
            if not values_agree(silver_row[column], duckdb_row[duckdb_column]):
                differences.append((case_id, column, silver_row[column], duckdb_row[duckdb_column]))
        # the file that won the dedupe: Silver names it from dataset= on, DuckDB by its whole path
        if not duckdb_row["filename"].endswith("/" + silver_row["source_file"]):
            differences.append((case_id, "source_file", silver_row["source_file"], duckdb_row["filename"]))
    by_column = Counter(column for _, column, _, _ in differences)
    examples = [next(d for d in differences if d[1] == column) for column in by_column]
    assert not differences, (
        f"{len(differences)} values differ, by column {dict(by_column)}; one of each (case, column, Silver, "
        f"DuckDB): {examples}"
    )


def test_the_edge_rows_give_the_cases_they_were_written_for(edge_lake: Path, con) -> None:
    # the comparison is only as good as the rows it sees: each edge must reach Silver as meant, not be rejected
    silver = rows_by_case(con, edge_lake / "silver" / "boston311" / silver_job.TABLE_FOLDER)
    assert sorted(silver) == [
        "101000000001", "101000000002", "101000000003", "101000000004", "101000000009", "101001000001",
        "101001000002", "101001000003", "101001000004", "101004000001", "101004000002", "101005000001", "101005000002", "101005000003", "101005000004", "BCS-00000001",
        "BCS-00000002", "BCS-00000003", "BCS-00000004",
    ]  # fmt: skip
    later_won = ("101000000009", "BCS-00000002", "101004000001")  # the later ingest, or row of a file
    assert all(silver[case]["is_closed"] for case in later_won)
    assert silver["101005000004"]["source_era"] == "new_system"
    assert silver["101000000004"]["source_file"].startswith("dataset=legacy_2011/ingest_date=2026-01-10/")
    assert silver["101005000001"]["hours_to_close"] == pytest.approx(1 / 3)
    assert silver["101005000003"]["hours_to_close"] is None
    assert silver["BCS-00000004"]["hours_to_close"] == 1.0
    wards = {
        silver[case]["ward"] for case in ("101000000001", "101000000002", "101000000003", "101004000002")
    }
    assert wards == {"07"}
    assert [silver[case]["zipcode"] for case in ("101000000001", "101000000003")] == ["02135", None]
    assert [silver[case]["location_quality"] for case in ("101000000002", "101000000003")] == [
        "city_hall_placeholder",
        "outside_boston",
    ]
