"""run_gold end to end on a Silver Parquet written to a temporary lake, and the job's command line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import NamedTuple

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from gold_helpers import SILVER_SCHEMA, silver_frame, utc
from pyspark.sql import functions as F

import gold_job
from conftest import REPO, another_run_makes_and_locks, raise_java_exhaustion

pytestmark = pytest.mark.spark

ROXBURY_POTHOLE = {
    "department": "PWDx",
    "subject": "Public Works Department",
    "reason": "Highway Maintenance",
    "type": "Pothole",
    "source": "Citizens Connect App",
    "neighborhood": "Roxbury",
    "latitude": 42.3250,
    "longitude": -71.0850,
}


def write_silver(spark, silver_path: Path, rows: list[dict]) -> None:
    """Write Silver rows where the Silver job puts them (service_requests/open_year=/open_month=), replacing any."""
    shutil.rmtree(silver_path / "service_requests", ignore_errors=True)
    (
        silver_frame(spark, rows)
        .write.mode("overwrite")
        .partitionBy("open_year", "open_month")
        .parquet(str(silver_path / "service_requests"))
    )


def three_years_of_requests() -> list[dict]:
    """Eight requests over 2022-2024, open and closed, one with no department or coordinates."""
    closed = {"is_closed": True, "on_time": True, "hours_to_close": 24.0}
    return [
        {
            **ROXBURY_POTHOLE,
            **closed,
            "opened_at": utc("2022-05-02T14:00"),
            "closed_at": utc("2022-05-03T14:00"),
        },
        {
            **ROXBURY_POTHOLE,
            **closed,
            "opened_at": utc("2023-05-02T14:00"),
            "closed_at": utc("2023-05-03T14:00"),
        },
        {**ROXBURY_POTHOLE, "opened_at": utc("2023-06-02T14:00"), "is_closed": False},
        {
            **ROXBURY_POTHOLE,
            **closed,
            "opened_at": utc("2024-01-02T14:00"),
            "closed_at": utc("2024-01-03T14:00"),
        },
        {**ROXBURY_POTHOLE, "opened_at": utc("2024-01-09T14:00"), "is_closed": False},
        {**ROXBURY_POTHOLE, "opened_at": utc("2024-02-09T14:00"), "is_closed": False, "type": "Sign"},
        {"opened_at": utc("2024-02-10T14:00"), "is_closed": False},
        {"opened_at": utc("2024-03-10T14:00"), "is_closed": True, "closed_at": utc("2024-03-12T14:00")},
    ]


class Published(NamedTuple):
    """Gold published over three years of Silver: the two folders, the rows run_gold returned, and the session's
    shuffle setting after the run (7 before it)."""

    silver_path: Path
    gold_path: Path
    rows: dict[str, int]
    shuffle_after: str


@pytest.fixture(scope="module")
def published_gold(spark, tmp_path_factory: pytest.TempPathFactory) -> Published:
    """One run of the job's command line (main, which calls run_gold) over three years of Silver into an empty Gold,
    with the session's shuffle setting at 7: the Gold the tests below start from. Read it; to run Gold again, copy it
    first (copy_published)."""
    root = tmp_path_factory.mktemp("published_gold")
    silver_path, gold_path = root / "silver", root / "gold"
    write_silver(spark, silver_path, three_years_of_requests())
    returned, run_gold = [], gold_job.run_gold

    def run_gold_kept(*args, **kwargs) -> dict:
        returned.append(run_gold(*args, **kwargs))
        return returned[-1]

    before = spark.conf.get(gold_job.SHUFFLE_PARTITIONS)
    spark.conf.set(gold_job.SHUFFLE_PARTITIONS, "7")
    try:
        with pytest.MonkeyPatch.context() as patched:
            patched.setattr(gold_job, "run_gold", run_gold_kept)
            assert gold_job.main(["--silver_path", str(silver_path), "--gold_path", str(gold_path)]) == 0
        shuffle_after = spark.conf.get(gold_job.SHUFFLE_PARTITIONS)
    finally:
        spark.conf.set(gold_job.SHUFFLE_PARTITIONS, before)
    (rows,) = returned
    return Published(silver_path, gold_path, rows, shuffle_after)


def copy_published(published: Published, tmp_path: Path) -> tuple[Path, Path]:
    """This test's copy of the published Silver and Gold (file times kept), to change and run Gold on."""
    silver_path, gold_path = tmp_path / "silver", tmp_path / "gold"
    shutil.copytree(published.silver_path, silver_path)
    shutil.copytree(published.gold_path, gold_path)
    return silver_path, gold_path


def test_run_gold_writes_the_five_tables_and_a_run_summary(spark, published_gold):
    silver_path, gold_path, rows = published_gold.silver_path, published_gold.gold_path, published_gold.rows

    assert list(rows) == list(gold_job.GOLD_TABLES)
    for table, count in rows.items():
        assert spark.read.parquet(str(gold_path / table)).count() == count, table
        assert list((gold_path / table).rglob("*.snappy.parquet")), table
    # 2022: May; 2023: May and June; 2024: Pothole Jan (two requests), Sign Feb, Unknown Feb, Unknown Mar.
    assert rows["monthly_requests"] == 1 + 2 + 4
    assert sorted(p.name for p in (gold_path / "monthly_requests").iterdir() if p.is_dir()) == [
        "year=2022",
        "year=2023",
        "year=2024",
    ]
    monthly = spark.read.parquet(str(gold_path / "monthly_requests"))
    assert monthly.agg(F.sum("requests_opened")).first()[0] == 8
    assert dict(monthly.dtypes)["year"] == "int"
    assert dict(monthly.dtypes)["month"] == "date"

    summary = json.loads((gold_path / "_runs" / "latest.json").read_text())
    assert {table: info["rows"] for table, info in summary["tables"].items()} == rows
    assert summary["inputs"]["silver_rows"] == 8
    checks = summary["checks"]["passed"]
    assert len(checks) == len(gold_job.GOLD_CHECKS)
    assert checks[0] == {
        "table": "monthly_requests",
        "check": "requests_opened = Silver's rows, per year",
        "groups": 3,
        "gold": 8,
        "silver": 8,
    }
    # 4 closed, 3 of them with a duration (not the Unknown one of March 2024); 6 with coordinates
    figures = {
        (check["table"], check["check"].split()[0]): (check["gold"], check["silver"]) for check in checks
    }
    assert figures[("resolution_times", "closed_cases")] == (4, 4)
    assert figures[("neighborhood_scorecard", "closed_with_duration")] == (3, 3)
    assert figures[("geo_grid", "requests")] == (6, 6)
    # at its last week (4 March 2024) the backlog holds the 4 cases still open and the one opened on 10 March and
    # closed on the 12th, after the last opening week
    assert figures[("open_backlog", "open_at_end")] == (5, 4)
    assert summary["inputs"]["silver_path"] == str(silver_path)
    assert (gold_path / "_runs" / f"{summary['run_id']}.json").read_text() == (
        gold_path / "_runs" / "latest.json"
    ).read_text()
    assert sorted(p.name for p in gold_path.iterdir()) == sorted([*gold_job.GOLD_TABLES, "_runs"])


def test_a_rerun_replaces_each_table_whole(spark, published_gold, tmp_path):
    silver_path, gold_path = copy_published(published_gold, tmp_path)

    write_silver(spark, silver_path, [r for r in three_years_of_requests() if r["opened_at"].year == 2024])
    rows = gold_job.run_gold(spark, str(silver_path), str(gold_path))

    # the 2022 and 2023 partitions of the first run are gone, not merged with the new ones
    assert sorted(p.name for p in (gold_path / "monthly_requests").iterdir() if p.is_dir()) == ["year=2024"]
    assert rows["monthly_requests"] == 4
    assert (
        spark.read.parquet(str(gold_path / "monthly_requests")).agg(F.sum("requests_opened")).first()[0] == 5
    )
    assert (
        spark.read.parquet(str(gold_path / "neighborhood_scorecard")).select("year").distinct().count() == 1
    )


def test_a_run_gives_the_shuffle_setting_back(published_gold):
    assert published_gold.shuffle_after == "7"  # the run began with 7 (published_gold)


def test_a_failed_run_leaves_the_previous_tables_untouched(spark, published_gold, tmp_path, monkeypatch):
    silver_path, gold_path = copy_published(published_gold, tmp_path)
    before = sorted(str(p.relative_to(gold_path)) for p in gold_path.rglob("*") if "_runs" not in p.parts)

    def broken_backlog(base):
        raise RuntimeError("simulated failure while building open_backlog")

    monkeypatch.setitem(gold_job.GOLD_BUILDERS, "open_backlog", broken_backlog)
    write_silver(spark, silver_path, three_years_of_requests()[:2])
    with pytest.raises(RuntimeError, match="simulated failure"):
        gold_job.run_gold(spark, str(silver_path), str(gold_path))

    after = sorted(str(p.relative_to(gold_path)) for p in gold_path.rglob("*") if "_runs" not in p.parts)
    assert after == before  # same files, and no staging folder left behind
    assert (
        spark.read.parquet(str(gold_path / "monthly_requests")).agg(F.sum("requests_opened")).first()[0] == 8
    )


def gold_bytes(gold_path: Path) -> dict[str, bytes]:
    """Every file under a Gold folder (tables, run summaries, staging), by its path relative to the folder."""
    return {
        str(p.relative_to(gold_path)): p.read_bytes() for p in sorted(gold_path.rglob("*")) if p.is_file()
    }


def rows_of_year(year: int, builder):
    """A table builder gone wrong: its rows of one year written twice (a join that matched twice)."""

    def doubled(base):
        table = builder(base)
        return table.unionByName(table.filter(F.col("year") == year))

    return doubled


def without(condition: str, builder):
    """A table builder gone wrong: the rows that meet a SQL condition lost (a filter or a join that dropped them)."""

    def lost(base):
        return builder(base).filter(f"NOT ({condition})")

    return lost


# Each tampered table fails the first check it breaks; three_years_of_requests has 1, 2 and 5 cases in 2022-2024.
TAMPERED = {
    "monthly_requests": (
        without("month = DATE'2024-03-01'", gold_job.monthly_requests),
        "its requests_opened for 2024 add up to 4, but Silver's count of cases opened in 2024 is 5",
    ),
    "resolution_times": (
        rows_of_year(2022, gold_job.resolution_times),
        "its closed_cases for 2022 add up to 2, but Silver's count of closed cases opened in 2022 is 1",
    ),
    "neighborhood_scorecard": (
        rows_of_year(2023, gold_job.neighborhood_scorecard),
        "its requests for 2023 add up to 4, but Silver's count of cases opened in 2023 is 2",
    ),
    "open_backlog": (  # the Unknown department's first week (2 May 2022) lost; 97 weeks to 4 March 2024
        without("department = 'Unknown' AND week_start = DATE'2022-05-02'", gold_job.open_backlog),
        "its weeks for Unknown number 96, but Silver's first to last opening week span 97",
    ),
    "geo_grid": (
        without("type = 'Sign'", gold_job.geo_grid),
        "its requests for 2024 add up to 2, but Silver's count of cases opened in 2024 with coordinates is 3",
    ),
}


def with_open_over_1y(expression: str):
    """An open_backlog builder gone wrong: the Unknown department's last week (4 March 2024) gets open_over_1y from a
    SQL expression (a filter or a sign gone wrong)."""

    def aged(base):
        table = gold_job.open_backlog(base)
        is_tampered = (F.col("department") == "Unknown") & (F.col("week_start") == F.lit(date(2024, 3, 4)))
        return table.withColumn(
            "open_over_1y",
            F.when(is_tampered, F.expr(expression)).otherwise(F.col("open_over_1y")).cast("long"),
        )

    return aged


@pytest.mark.parametrize("expression", ["-1", "open_cases + 1"], ids=["negative", "above-open"])
def test_a_backlog_week_with_a_negative_or_impossible_open_over_1y_is_not_published(
    spark, tmp_path, monkeypatch, expression
):
    silver_path, gold_path = tmp_path / "silver", tmp_path / "gold"
    write_silver(spark, silver_path, three_years_of_requests())
    monkeypatch.setitem(gold_job.GOLD_BUILDERS, "open_backlog", with_open_over_1y(expression))

    with pytest.raises(gold_job.GoldCheckError) as error_info:
        gold_job.run_gold(spark, str(silver_path), str(gold_path))

    assert str(error_info.value) == (
        "Gold's check of open_backlog failed, so nothing was published: its weeks for Unknown with a negative count "
        "or more open_over_1y than open_cases number 1, where there should be 0."
    )


def test_every_checked_table_has_a_tampered_builder():
    # a table added to GOLD_CHECKS is shown to stop the publish when it disagrees (docs/gold.md, "Adding a Gold table")
    untested = sorted({check.table for check in gold_job.GOLD_CHECKS} - set(TAMPERED))
    assert not untested, (
        f"add a builder gone wrong and the failure it gives to TAMPERED for {', '.join(untested)}"
    )


@pytest.mark.parametrize("table", list(TAMPERED))
def test_a_table_that_disagrees_with_silver_is_not_published(
    spark, published_gold, tmp_path, monkeypatch, capsys, table
):
    silver_path, gold_path = copy_published(published_gold, tmp_path)
    before = gold_bytes(gold_path)
    builder, failure = TAMPERED[table]

    monkeypatch.setitem(gold_job.GOLD_BUILDERS, table, builder)
    code = gold_job.main(["--silver_path", str(silver_path), "--gold_path", str(gold_path)])

    assert code == 1
    assert capsys.readouterr().err.strip().splitlines() == [
        f"Gold's check of {table} failed, so nothing was published: {failure}."
    ]
    assert (
        gold_bytes(gold_path) == before
    )  # every table and run summary as it was, and no staging folder left


def silver_group(
    year: int, department: str, rows: int, still_open: int, first_week: str, last_week: str
) -> dict:
    """One silver_counts row: no case closed with a duration or with coordinates, none judged on time or late."""
    return {
        "year": year,
        "department": department,
        "rows": rows,
        "closed": rows - still_open,
        "still_open": still_open,
        "closed_on_time": 0,
        "closed_late": 0,
        "closed_with_duration": 0,
        "located": 0,
        "first_week": date.fromisoformat(first_week),
        "last_week": date.fromisoformat(last_week),
    }


def staged_agreeing_with(counts: list[dict]) -> dict[str, dict]:
    """The per-year tables' staged figures as every per-year check of GOLD_CHECKS expects them of Silver's counts
    (each figure equal to Silver's): taken from the checks, so a table added to them needs nothing here."""
    totals = gold_job.totals_by(counts, "year")
    staged: dict[str, dict] = {}
    for check in gold_job.GOLD_CHECKS:
        if check.per == "year":
            table = staged.setdefault(check.table, {})
            for year, silver in totals.items():
                table.setdefault(year, {})[check.figure] = silver[check.silver_figure]
    return staged


def pwdx_staged() -> tuple[dict, dict]:
    """The staged figures of PWDx's 3 cases opened in the weeks of 1 to 15 January 2024 (3 weeks), 2 still open: the
    per-year tables' and open_backlog's (without its department key)."""
    staged = staged_agreeing_with([silver_group(2024, "PWDx", 3, 2, "2024-01-01", "2024-01-15")])
    return staged, {"weeks": 3, "peak_open": 3, "open_at_end": 2, "impossible_weeks": 0}


def test_the_agreeing_figures_cover_every_checked_table():
    # what the reconcile tests below start from: every table a check reads, each check passing
    staged, backlog = pwdx_staged()
    assert {*staged, "open_backlog"} == {check.table for check in gold_job.GOLD_CHECKS}
    assert staged["monthly_requests"] == {
        2024: {
            "requests_opened": 3,
            "requests_closed": 1,
            "still_open": 2,
            "closed_on_time": 0,
            "closed_late": 0,
            "closed_with_duration": 0,
        }
    }
    counts = [silver_group(2024, "PWDx", 3, 2, "2024-01-01", "2024-01-15")]
    checks = gold_job.reconcile(counts, {**staged, "open_backlog": {"PWDx": backlog}})
    assert len(checks) == len(gold_job.GOLD_CHECKS)


@pytest.mark.parametrize(
    ("monthly", "failure"),
    [
        ({}, "its requests_opened for 2024 add up to 0, but Silver's count of cases opened in 2024 is 3"),
        (
            {**pwdx_staged()[0]["monthly_requests"], None: {"requests_opened": 1}},
            "its requests_opened for an unknown year add up to 1, but Silver's count of cases opened in an unknown "
            "year is 0",
        ),
    ],
    ids=["a-year-lost-whole", "a-year-silver-has-not"],
)
def test_a_year_only_one_side_has_fails_its_check(monthly, failure):
    counts = [silver_group(2024, "PWDx", 3, 2, "2024-01-01", "2024-01-15")]
    staged, backlog = pwdx_staged()

    with pytest.raises(gold_job.GoldCheckError) as error_info:
        gold_job.reconcile(counts, {**staged, "monthly_requests": monthly, "open_backlog": {"PWDx": backlog}})

    assert (
        str(error_info.value)
        == f"Gold's check of monthly_requests failed, so nothing was published: {failure}."
    )


def test_a_case_without_an_opening_week_is_not_asked_of_the_backlog():
    # one more case of PWDx, still open, with no opening date: the per-year tables count it under an unknown year,
    # open_backlog has no week to count it in, so its open_at_end (2) is not held to 3 still open
    no_week = silver_group(2024, "PWDx", 1, 1, "2024-01-01", "2024-01-01")
    no_week.update(year=None, first_week=None, last_week=None)
    counts = [silver_group(2024, "PWDx", 3, 2, "2024-01-01", "2024-01-15"), no_week]
    backlog = pwdx_staged()[1]
    staged = staged_agreeing_with(counts)  # the per-year tables count it under an unknown year
    assert staged["monthly_requests"][None]["requests_opened"] == 1

    checks = gold_job.reconcile(counts, {**staged, "open_backlog": {"PWDx": backlog}})

    opened = next(check for check in checks if check["check"].startswith("requests_opened"))
    assert (opened["groups"], opened["gold"], opened["silver"]) == (2, 4, 4)


@pytest.mark.parametrize(
    ("wrong", "failure"),
    [
        (
            {"peak_open": 4},
            "its open_cases for PWDx reach 4, above 3, Silver's count of all the cases of PWDx",
        ),
        (
            {"open_at_end": 1},
            "its open_cases for PWDx in the last week are 1, below 2, Silver's count of the cases of PWDx still open",
        ),
        (
            {"impossible_weeks": 1},
            "its weeks for PWDx with a negative count or more open_over_1y than open_cases number 1, where there "
            "should be 0",
        ),
    ],
    ids=["more-open-than-cases", "fewer-open-than-still-open", "negative-or-aged-above-open"],
)
def test_the_backlog_is_bounded_by_the_departments_cases(wrong, failure):
    counts = [silver_group(2024, "PWDx", 3, 2, "2024-01-01", "2024-01-15")]
    staged, backlog = pwdx_staged()
    checks = gold_job.reconcile(counts, {**staged, "open_backlog": {"PWDx": backlog}})
    assert len(checks) == len(gold_job.GOLD_CHECKS)

    with pytest.raises(gold_job.GoldCheckError) as error_info:
        gold_job.reconcile(counts, {**staged, "open_backlog": {"PWDx": {**backlog, **wrong}}})

    assert (
        str(error_info.value) == f"Gold's check of open_backlog failed, so nothing was published: {failure}."
    )


def table_files(gold_path: Path, table: str) -> list[str]:
    """The files of one published Gold table, relative to the Gold folder."""
    return sorted(str(p.relative_to(gold_path)) for p in (gold_path / table).rglob("*"))


def fail_to_move(monkeypatch, *sources: str) -> None:
    """Make gold_job.move_path fail for these sources inside the run's staging folder ("resolution_times": the
    staged table; "_replaced/resolution_times": the previous one, moved aside). A staged table leaves one of its
    Parquet files at the target first, as a failed S3 rename (copy file by file, then delete) can."""
    real_move = gold_job.move_path

    def move_path(spark, source: str, target: str) -> None:
        _, staging, in_run = source.partition(f"/{gold_job.STAGING_FOLDER}/")
        source_in_run = in_run.split("/", 1)[-1]
        if staging and source_in_run in sources:
            if source_in_run in gold_job.GOLD_TABLES:
                part = next(Path(source).rglob("*.parquet"))  # a partitioned table's lies in a year's folder
                reached = Path(target) / part.relative_to(source)
                reached.parent.mkdir(parents=True)
                shutil.copy(part, reached)
            raise OSError(f"simulated S3 failure moving {source_in_run}")
        real_move(spark, source, target)

    monkeypatch.setattr(gold_job, "move_path", move_path)


def published_then_silver_shrinks(
    spark, published: Published, tmp_path: Path
) -> tuple[Path, Path, dict[str, list[str]]]:
    """Gold published over three years of Silver (this test's copy of published_gold), then Silver rewritten with two
    of them: the Silver and Gold paths and each live table's files before the next run."""
    silver_path, gold_path = copy_published(published, tmp_path)
    before = {table: table_files(gold_path, table) for table in gold_job.GOLD_TABLES}
    write_silver(spark, silver_path, three_years_of_requests()[:2])
    return silver_path, gold_path, before


def test_a_publish_that_fails_half_way_puts_the_table_back(
    spark, published_gold, tmp_path, monkeypatch, capsys
):
    silver_path, gold_path, before = published_then_silver_shrinks(spark, published_gold, tmp_path)

    fail_to_move(monkeypatch, "resolution_times")
    code = gold_job.main(["--silver_path", str(silver_path), "--gold_path", str(gold_path)])

    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert err == [
        "Publishing Gold stopped at resolution_times (simulated S3 failure moving resolution_times): "
        "monthly_requests is already new, resolution_times and the tables after it are unchanged; "
        "rerun Gold to rebuild every table."
    ]
    monthly = spark.read.parquet(str(gold_path / "monthly_requests"))
    assert monthly.agg(F.sum("requests_opened")).first()[0] == 2  # swapped in before the failure
    for table in gold_job.GOLD_TABLES[1:]:
        assert table_files(gold_path, table) == before[table], table  # as it was: no partial copy left
    resolution = spark.read.parquet(str(gold_path / "resolution_times"))
    assert resolution.agg(F.sum("closed_cases")).first()[0] == 4  # the previous run's rows, readable
    assert not (gold_path / "_staging").exists()  # nothing of the old tables was left in it

    monkeypatch.undo()
    gold_job.run_gold(spark, str(silver_path), str(gold_path))
    resolution = spark.read.parquet(str(gold_path / "resolution_times"))
    assert resolution.agg(F.sum("closed_cases")).first()[0] == 2
    assert sorted(p.name for p in gold_path.iterdir()) == sorted([*gold_job.GOLD_TABLES, "_runs"])


def test_a_table_that_cannot_be_put_back_is_kept_in_staging(spark, published_gold, tmp_path, monkeypatch):
    silver_path, gold_path = copy_published(published_gold, tmp_path)
    write_silver(spark, silver_path, three_years_of_requests()[:2])

    fail_to_move(monkeypatch, "resolution_times", "_replaced/resolution_times")
    with pytest.raises(gold_job.GoldPublishError) as error_info:
        gold_job.run_gold(spark, str(silver_path), str(gold_path))

    (kept,) = (gold_path / "_staging").glob("*/_replaced/resolution_times")
    assert spark.read.parquet(str(kept)).agg(F.sum("closed_cases")).first()[0] == 4  # the old rows, kept
    message = str(error_info.value)
    assert message.endswith(
        f"the previous resolution_times could not be put back: what is left of it is kept in {kept}; "
        "rerun Gold to rebuild every table from Silver."
    )
    assert (kept.parent.parent / gold_job.KEPT_NOTE).read_text() == message + "\n"
    monkeypatch.undo()
    gold_job.run_gold(spark, str(silver_path), str(gold_path))
    resolution = spark.read.parquet(str(gold_path / "resolution_times"))
    assert resolution.agg(F.sum("closed_cases")).first()[0] == 2
    # The complete rerun replaced the table the kept folder held, so it deleted the folder.
    assert sorted(p.name for p in gold_path.iterdir()) == sorted([*gold_job.GOLD_TABLES, "_runs"])


def test_a_first_publish_that_fails_at_the_first_table_leaves_no_part_of_it(
    spark, tmp_path, monkeypatch, capsys
):
    silver_path, gold_path = tmp_path / "silver", tmp_path / "gold"
    write_silver(spark, silver_path, three_years_of_requests())

    fail_to_move(monkeypatch, "monthly_requests")  # one year's file reaches the live folder first
    code = gold_job.main(["--silver_path", str(silver_path), "--gold_path", str(gold_path)])

    assert code == 1
    assert capsys.readouterr().err.strip().splitlines() == [
        "Publishing Gold stopped at monthly_requests (simulated S3 failure moving monthly_requests): "
        "no table is new yet, monthly_requests and the tables after it are unchanged; rerun Gold to rebuild every "
        "table."
    ]
    assert list(gold_path.rglob("*.parquet")) == []  # the part that reached the live folder is gone


def test_a_live_table_that_cannot_be_moved_aside_stays_as_it_was(
    spark, published_gold, tmp_path, monkeypatch, capsys
):
    silver_path, gold_path, before = published_then_silver_shrinks(spark, published_gold, tmp_path)
    real_move = gold_job.move_path

    def move_path(spark, source: str, target: str) -> None:
        if source == f"{gold_path}/resolution_times":
            raise OSError("simulated refusal to move the live table")
        real_move(spark, source, target)

    monkeypatch.setattr(gold_job, "move_path", move_path)
    code = gold_job.main(["--silver_path", str(silver_path), "--gold_path", str(gold_path)])

    assert code == 1
    assert capsys.readouterr().err.strip() == (
        "Publishing Gold stopped at resolution_times (simulated refusal to move the live table): monthly_requests is "
        "already new, resolution_times and the tables after it are unchanged; rerun Gold to rebuild every table."
    )
    for table in gold_job.GOLD_TABLES[1:]:
        assert table_files(gold_path, table) == before[table], (
            table
        )  # not deleted as a half-new table would be
    assert not (gold_path / "_staging").exists()


def test_a_staging_note_that_cannot_be_written_is_logged_and_the_run_publishes(
    spark, tmp_path, monkeypatch, caplog
):
    silver_path, gold_path = tmp_path / "silver", tmp_path / "gold"
    write_silver(spark, silver_path, three_years_of_requests())

    real_write_text = gold_job.write_text

    def write_text(spark, uri: str, text: str) -> None:
        if uri.endswith(f"/{gold_job.KEPT_NOTE}"):
            raise OSError("simulated refusal to write")
        real_write_text(spark, uri, text)

    monkeypatch.setattr(gold_job, "write_text", write_text)
    gold_job.run_gold(spark, str(silver_path), str(gold_path))

    assert sorted(p.name for p in gold_path.iterdir()) == sorted([*gold_job.GOLD_TABLES, "_runs"])
    [record] = [r for r in caplog.records if r.levelname == "ERROR"]
    assert record.getMessage().startswith("Gold: could not mark ")
    assert "(simulated refusal to write): the next complete Gold run deletes it" in record.getMessage()


def test_only_staging_folders_left_by_earlier_runs_are_deleted(spark, tmp_path, monkeypatch, caplog):
    silver_path, gold_path = tmp_path / "silver", tmp_path / "gold"
    write_silver(spark, silver_path, three_years_of_requests())
    kept, undeletable, in_use, abandoned = (
        gold_path / "_staging" / name for name in ("kept", "undeletable", "in_use", "abandoned")
    )
    for folder in (kept, undeletable, in_use, abandoned):
        (folder / "_replaced" / "geo_grid").mkdir(parents=True)
    for folder in (kept, undeletable):
        (folder / gold_job.KEPT_NOTE).write_text("Publishing Gold stopped at geo_grid (...)\n")
    # a run that died before publishing (no note): its newest file is a day old; in_use's was written an hour
    # before the limit runs out
    day_old, recent = (
        time.time() - 24 * 3600 - 60,
        time.time() - (gold_job.ABANDONED_STAGING_HOURS - 1) * 3600,
    )
    for folder, stamp in ((abandoned, day_old), (in_use, recent)):
        (folder / "monthly_requests").mkdir()
        (folder / "monthly_requests" / "part-0.parquet").write_bytes(b"PAR1")
        for path in (folder / "monthly_requests" / "part-0.parquet", *folder.rglob("*"), folder):
            os.utime(path, (stamp, stamp))
    # a run on S3 still writing its first table: no file yet, and its folders without a time (S3 gives none: 0);
    # its name says it began a minute ago
    started = time.strftime(gold_job.RUN_ID_FORMAT, time.gmtime(time.time() - 60))
    writing = gold_path / "_staging" / f"{started}-0a1b2c3d"
    (writing / "monthly_requests" / "_temporary" / "0").mkdir(parents=True)
    for path in (*writing.rglob("*"), writing):
        os.utime(path, (0, 0))
    unreadable = gold_path / "_staging" / "unreadable"
    (unreadable / "geo_grid").mkdir(parents=True)
    real_delete, real_reason_to_delete = gold_job.delete_path, gold_job.reason_to_delete

    def delete_path(spark, uri: str) -> None:
        if uri.endswith("/undeletable"):
            raise OSError("simulated S3 AccessDenied")
        real_delete(spark, uri)

    def reason_to_delete(spark, folder, sole_writer: bool):
        if (
            folder.getName() == "unreadable"
        ):  # listed, then gone or refused: the folders after it are still cleared
            raise OSError("simulated FileNotFoundException")
        return real_reason_to_delete(spark, folder, sole_writer)

    monkeypatch.setattr(gold_job, "delete_path", delete_path)
    monkeypatch.setattr(gold_job, "reason_to_delete", reason_to_delete)
    with caplog.at_level("INFO", logger=gold_job.log.name):
        gold_job.run_gold(spark, str(silver_path), str(gold_path))

    assert not kept.exists()
    assert in_use.exists()  # no note and changed within the day: it may belong to a run still going
    assert not abandoned.exists()
    assert writing.exists()
    assert undeletable.exists()
    assert (
        f"could not delete file:{undeletable}, kept by an earlier run (simulated S3 AccessDenied)"
        in caplog.text
    )
    assert f"deleted file:{kept}, kept by an earlier run" in caplog.text
    assert unreadable.exists()
    assert f"could not look into file:{unreadable} (simulated FileNotFoundException)" in caplog.text
    assert (
        f"deleted file:{abandoned}, left by a run that stopped before publishing (unchanged for 24 hours)"
        in caplog.text
    )
    assert spark.read.parquet(str(gold_path / "monthly_requests")).count() > 0  # the run itself succeeded


def test_a_local_run_holding_the_lock_deletes_an_unmarked_staging_folder_at_once(spark, tmp_path, caplog):
    # Spark itself went down before the swaps (no note written); no other local run can be writing while this one
    # holds the lock, so the folder is deleted without waiting for it to age
    silver_path, gold_path = tmp_path / "silver", tmp_path / "gold"
    write_silver(spark, silver_path, three_years_of_requests())
    dead = gold_path / "_staging" / "20261126T000000Z-dead"
    (dead / "geo_grid").mkdir(parents=True)
    (dead / "geo_grid" / "part-0.parquet").write_bytes(b"PAR1")

    with caplog.at_level("INFO", logger=gold_job.log.name):
        code = gold_job.main(["--silver_path", str(silver_path), "--gold_path", str(gold_path)])

    assert code == 0
    assert not (gold_path / "_staging").exists()
    assert (
        f"deleted file:{dead}, left by a run that stopped before publishing: the tables are replaced now"
        in caplog.text
    )


@pytest.mark.parametrize(
    ("sole_writer", "idle_hours", "put_back"),
    [(True, 0, True), (False, 25, True), (False, 1, False)],
    ids=["local-lock-held", "unchanged-for-a-day", "maybe-a-run-between-its-moves"],
)
def test_a_table_a_dead_run_left_aside_is_put_back_before_anything_is_read(
    spark, published_gold, tmp_path, caplog, sole_writer: bool, idle_hours: float, put_back: bool
):
    # killed (SIGKILL) between the two moves of a swap, a run left geo_grid in its _replaced/ folder and none live;
    # the next run fails before publishing (no Silver), yet the table is back, unless its folder may belong to a
    # live run (no local lock, recent)
    _, gold_path = copy_published(published_gold, tmp_path)
    published = sorted(
        p.relative_to(gold_path / "geo_grid") for p in (gold_path / "geo_grid").rglob("*.parquet")
    )
    stamp = time.time() - idle_hours * 3600
    dead = gold_path / "_staging" / f"{time.strftime(gold_job.RUN_ID_FORMAT, time.gmtime(stamp))}-0dead0ff"
    (dead / "_replaced").mkdir(parents=True)
    (dead / gold_job.KEPT_NOTE).write_text("Gold run … began swapping its tables in from here.\n")
    shutil.move(gold_path / "geo_grid", dead / "_replaced" / "geo_grid")
    for path in (*dead.rglob("*"), dead):
        os.utime(path, (stamp, stamp))

    with pytest.raises(gold_job.GoldInputError):
        gold_job.run_gold(spark, str(tmp_path / "no-silver"), str(gold_path), sole_writer)

    if put_back:
        assert sorted(
            p.relative_to(gold_path / "geo_grid") for p in (gold_path / "geo_grid").rglob("*.parquet")
        ) == (published)
        assert (
            f"geo_grid was missing (a run stopped while swapping it in): put back from file:{dead}"
            in caplog.text
        )
    else:
        assert not (gold_path / "geo_grid").exists()
        assert (dead / "_replaced" / "geo_grid").exists()
    # every other table stayed where it was
    assert all((gold_path / table).exists() for table in gold_job.GOLD_TABLES if table != "geo_grid")


def test_the_staging_folder_is_marked_before_the_first_swap(spark, tmp_path, monkeypatch):
    # a run killed between two moves (SIGKILL: no finally runs) left the old table in an unmarked _replaced/
    # folder no run ever deleted; marked first, the next complete publish deletes it
    silver_path, gold_path = tmp_path / "silver", tmp_path / "gold"
    write_silver(spark, silver_path, three_years_of_requests())
    real_publish = gold_job.publish_tables
    marked = []

    def publish_tables(spark, staging: str, gold_path: str) -> None:
        marked.append(Path(staging, gold_job.KEPT_NOTE).read_text())
        real_publish(spark, staging, gold_path)

    monkeypatch.setattr(gold_job, "publish_tables", publish_tables)
    dead = gold_path / "_staging" / "20261126T000000Z-dead" / "_replaced" / "geo_grid"
    dead.mkdir(parents=True)
    (dead.parent.parent / gold_job.KEPT_NOTE).write_text("Gold run 20261126T000000Z began swapping …\n")

    gold_job.run_gold(spark, str(silver_path), str(gold_path))

    run_id = json.loads((gold_path / "_runs" / "latest.json").read_text())["run_id"]
    assert marked == [f"Gold run {run_id} began swapping its tables in from here.\n"]
    assert not (gold_path / "_staging").exists()  # the dead run's folder deleted, this run's own too


def test_a_run_without_silver_leaves_the_shuffle_setting_alone(spark, tmp_path):
    before = spark.conf.get(gold_job.SHUFFLE_PARTITIONS)
    spark.conf.set(gold_job.SHUFFLE_PARTITIONS, "7")
    try:
        with pytest.raises(gold_job.GoldInputError, match="No Silver table at "):
            gold_job.run_gold(spark, str(tmp_path / "nowhere"), str(tmp_path / "gold"))
        assert spark.conf.get(gold_job.SHUFFLE_PARTITIONS) == "7"
    finally:
        spark.conf.set(gold_job.SHUFFLE_PARTITIONS, before)


# --- user errors ------------------------------------------------------------------------------


def test_missing_silver_is_one_sentence_and_exit_1(tmp_path, capsys):
    code = gold_job.main(["--silver_path", str(tmp_path / "nowhere"), "--gold_path", str(tmp_path / "gold")])

    err = capsys.readouterr().err
    assert code == 1
    assert err.strip().splitlines() == [
        f"No Silver table at {tmp_path}/nowhere/service_requests: run the Silver job first or check --silver_path "
        "(a Silver run that wrote no rows makes none: its _quality/latest.json says what it read and quarantined)."
    ]
    assert not (tmp_path / "gold").exists()


def test_missing_silver_from_the_shell_prints_no_traceback(tmp_path):
    completed = subprocess.run(
        [sys.executable, str(REPO / "emr" / "gold_job.py"), "--silver_path", str(tmp_path / "nowhere"),
         "--gold_path", str(tmp_path / "gold")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip

    assert completed.returncode == 1
    assert "Traceback" not in completed.stderr
    assert completed.stderr.strip().startswith("No Silver table at ")


def test_bad_arguments_exit_2_with_one_line(capsys):
    with pytest.raises(SystemExit) as exit_info:
        gold_job.main(["--silver_path", "/somewhere"])

    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "--gold_path" in err[0]


@pytest.mark.parametrize("blank", ["silver", "gold"])
def test_a_blank_path_is_refused_not_taken_for_the_root(tmp_path, capsys, blank):
    (tmp_path / "silver" / "service_requests").mkdir(parents=True)
    paths = {"silver": str(tmp_path / "silver"), "gold": str(tmp_path / "gold"), blank: " "}

    with pytest.raises(SystemExit) as exit_info:
        gold_job.main(["--silver_path", paths["silver"], "--gold_path", paths["gold"]])

    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"gold_job.py: argument --{blank}_path: is empty (an unset variable?): give a folder or "
        "s3://bucket/prefix (see --help)."
    ]
    assert not (tmp_path / "gold").exists()


def test_a_second_run_on_the_same_local_gold_is_refused_while_the_first_runs(tmp_path, capsys):
    # Two runs publishing into one folder nested a table in itself (resolution_times/resolution_times/), both exit 0,
    # and every reader counted its rows twice.
    fcntl = pytest.importorskip("fcntl")
    (tmp_path / "silver" / "service_requests").mkdir(parents=True)
    gold = tmp_path / "gold"
    (gold / "geo_grid").mkdir(parents=True)
    first_run = os.open(gold, os.O_RDONLY)
    try:
        fcntl.flock(first_run, fcntl.LOCK_EX | fcntl.LOCK_NB)  # what the first run holds while it runs

        code = gold_job.main(["--silver_path", str(tmp_path / "silver"), "--gold_path", str(gold)])
    finally:
        os.close(first_run)

    assert code == 1
    assert capsys.readouterr().err.strip().splitlines() == [
        f"Another Gold run is writing {gold}; wait for it to end, then run Gold again."
    ]
    assert [p.name for p in gold.iterdir()] == ["geo_grid"]


def test_the_lock_of_a_gold_folder_the_run_made_goes_with_it(tmp_path):
    gold = tmp_path / "lake" / "gold"

    with gold_job.one_run_at_a_time(str(gold)) as held:
        assert held
        assert gold.is_dir()
    # a run that wrote nothing leaves no empty folder behind, nor the lake/ it made for it
    assert not (tmp_path / "lake").exists()
    (tmp_path / "lake").mkdir()
    with gold_job.one_run_at_a_time(str(gold)):
        (gold / "geo_grid").mkdir()  # the run wrote something: its folder stays, and so does lake/
    assert (gold / "geo_grid").is_dir()
    with gold_job.one_run_at_a_time("s3://bucket/gold") as held:
        assert not held  # EMR: emr/submit.py refuses a second run, there is no local folder to lock


def test_a_run_refused_the_lock_leaves_the_gold_folder_the_other_run_made_and_locked(tmp_path, monkeypatch):
    gold = tmp_path / "lake" / "gold"
    with another_run_makes_and_locks(monkeypatch, gold):
        with (
            pytest.raises(gold_job.GoldInputError, match="Another Gold run"),
            gold_job.one_run_at_a_time(str(gold)),
        ):
            pass
        assert gold.is_dir()


def test_the_lock_leaves_a_gold_folder_the_run_did_not_make(tmp_path):
    gold = tmp_path / "gold"
    gold.mkdir()  # made by the user beforehand, still empty

    with gold_job.one_run_at_a_time(str(gold)):
        pass
    assert gold.is_dir()


@pytest.mark.parametrize(
    ("java_home", "failure"),
    [
        (  # With JAVA_HOME at a Java 25, getOrCreate raised Py4JJavaError (getSubject is not supported) out of main.
            "/usr/lib/jvm/temurin-25",
            "An error occurred while calling None.org.apache.spark.api.java.JavaSparkContext",
        ),
        (  # No Java at all: PySpark's own error, not a Py4J one
            None,
            "[JAVA_GATEWAY_EXITED] Java gateway process exited before sending its port number.",
        ),
    ],
    ids=["java-25", "no-java"],
)
def test_a_spark_that_does_not_start_is_one_sentence_not_a_traceback(
    tmp_path, capsys, monkeypatch, java_home, failure
):
    from py4j.protocol import Py4JError
    from pyspark.errors import PySparkRuntimeError

    class Builder:
        def appName(self, name):  # noqa: N802 - SparkSession.builder's spelling
            return self

        def config(self, key, value):
            return self

        def getOrCreate(self):  # noqa: N802
            if java_home is None:
                raise PySparkRuntimeError(error_class="JAVA_GATEWAY_EXITED", message_parameters={})
            raise Py4JError(failure)

    monkeypatch.setattr(gold_job.SparkSession, "builder", Builder())
    monkeypatch.setattr(gold_job.SparkSession, "getActiveSession", staticmethod(lambda: None))
    if java_home is None:
        monkeypatch.delenv("JAVA_HOME", raising=False)
    else:
        monkeypatch.setenv("JAVA_HOME", java_home)
    (tmp_path / "silver" / "service_requests").mkdir(parents=True)

    code = gold_job.main(["--silver_path", str(tmp_path / "silver"), "--gold_path", str(tmp_path / "gold")])

    assert code == 1
    assert capsys.readouterr().err.strip().splitlines() == [
        f"Gold stopped: Spark did not start ({failure}); Spark 3.5 needs Java 17 "
        f"(JAVA_HOME is {java_home or 'not set'}). Nothing was written."
    ]
    assert not (tmp_path / "gold").exists()


def test_silver_folder_without_parquet_is_a_user_error(spark, tmp_path, capsys):
    (tmp_path / "silver" / "service_requests").mkdir(parents=True)

    code = gold_job.main(["--silver_path", str(tmp_path / "silver"), "--gold_path", str(tmp_path / "gold")])

    assert code == 1
    assert "holds no Parquet data" in capsys.readouterr().err
    assert not (tmp_path / "gold").exists()
    assert spark.range(1).count() == 1  # main did not stop the session it did not start


@pytest.mark.parametrize("gold", ["a_file", "a_file/gold"])
def test_a_gold_path_that_is_or_lies_under_a_file_is_refused_before_spark(tmp_path, capsys, gold):
    (tmp_path / "silver" / "service_requests").mkdir(parents=True)
    (tmp_path / "a_file").write_text("not a folder")

    code = gold_job.main(["--silver_path", str(tmp_path / "silver"), "--gold_path", str(tmp_path / gold)])

    assert code == 1
    assert capsys.readouterr().err.strip() == (
        f"--gold_path {tmp_path / gold} cannot be a folder: {tmp_path / 'a_file'} is a file."
    )
    assert (tmp_path / "a_file").read_text() == "not a folder"


@pytest.mark.parametrize(
    ("silver", "gold"),
    [
        ("{tmp}/lake/silver/boston311", "{tmp}/lake/silver/boston311/"),  # the same folder
        (
            "{tmp}/lake/silver/boston311",
            "{tmp}/lake/silver/boston311/service_requests",
        ),  # inside Silver's table
        ("{tmp}/lake/silver/boston311", "{tmp}/lake"),  # holding Silver
        ("{tmp}/lake/silver/boston311", "file://{tmp}/lake/silver/./boston311"),
        ("s3://lake/silver/boston311", "s3://lake/silver/boston311/gold"),
        ("s3://lake/silver/boston311", "s3://lake"),
        ("s3://b/lake/silver/boston311", "s3://b//lake/silver/boston311"),  # Hadoop reads // as /
    ],
)
def test_a_gold_path_overlapping_the_silver_path_is_refused_before_spark(tmp_path, capsys, silver, gold):
    """Gold's tables went into Silver's table folder (every later run failed), and a Gold run on Silver's own path
    deleted a stopped Silver run's staging folder, its moved-aside month with it: 2,990 rows lost for good."""
    (tmp_path / "lake" / "silver" / "boston311" / "service_requests").mkdir(parents=True)
    before = sorted(tmp_path.rglob("*"))
    silver, gold = silver.format(tmp=tmp_path), gold.format(tmp=tmp_path)

    assert gold_job.main(["--silver_path", silver, "--gold_path", gold]) == 1

    assert capsys.readouterr().err.strip() == (
        f"--gold_path {gold} and --silver_path {silver} overlap (one is, or lies inside, the other): Gold writes and "
        "deletes under its path, so give it a folder of its own, e.g. <lake>/gold/boston311."
    )
    assert sorted(tmp_path.rglob("*")) == before


def test_gold_beside_silver_under_a_like_name_is_no_overlap(tmp_path):
    assert gold_job.overlapping_paths_problem(f"{tmp_path}/silver", f"{tmp_path}/silver-gold") is None
    assert (
        gold_job.overlapping_paths_problem("s3://lake/silver/boston311", "s3://lake/gold/boston311") is None
    )
    assert gold_job.overlapping_paths_problem("s3://lake/silver", "s3://lake-gold/silver") is None


@pytest.mark.parametrize(
    ("folder", "copy"),
    [
        ("open_year=2022", False),
        ("open_month=1", False),
        ("open_month=12", False),
        ("open_month=01", True),
        ("open_month=1 copy", True),
        ("open_month=13", True),
        ("open_year=22", True),
        ("backup", False),  # not named like a month: Spark's own refusal of the layout names it
    ],
)
def test_a_folder_named_like_a_month_but_not_as_silver_writes_one_is_a_copy(folder, copy):
    assert bool(gold_job.SILVER_FOLDER_COPY.fullmatch(folder)) is copy


def test_a_copied_silver_month_folder_is_refused_not_counted_twice(spark, published_gold, tmp_path, capsys):
    copy = "open_month=01"
    silver_path, gold_path = copy_published(published_gold, tmp_path)
    before = sorted(p.relative_to(gold_path) for p in gold_path.rglob("*.parquet"))
    year = next((silver_path / "service_requests").glob("open_year=*"))
    month = next(year.glob("open_month=*"))
    shutil.copytree(month, year / copy)  # Spark reads it as the same month: its cases were counted twice

    assert gold_job.main(["--silver_path", str(silver_path), "--gold_path", str(gold_path)]) == 1

    assert capsys.readouterr().err.strip() == (
        f"The Silver table at {silver_path}/service_requests holds a folder {copy}, which Silver does not write "
        "(open_year=YYYY, open_month=M without a leading zero): a copy of a month would be counted twice; move it "
        "out of the table."
    )
    assert sorted(p.relative_to(gold_path) for p in gold_path.rglob("*.parquet")) == before


def test_a_parquet_file_of_another_table_in_silver_is_refused_not_published_under_no_month(
    spark, tmp_path, capsys
):
    silver_path, gold_path = tmp_path / "silver", tmp_path / "gold"
    write_silver(spark, silver_path, three_years_of_requests())
    month = next((silver_path / "service_requests").glob("open_year=*/open_month=*"))
    foreign = month / "part-99999-foreign.snappy.parquet"  # a Gold table's file, copied in by hand
    pq.write_table(pa.table({"department": ["Public Works"] * 4, "requests_opened": [1, 2, 3, 4]}), foreign)

    assert gold_job.main(["--silver_path", str(silver_path), "--gold_path", str(gold_path)]) == 1

    error = capsys.readouterr().err.strip()
    assert error.startswith(
        f"The Silver table under {silver_path} holds 4 rows without an opened_at, which Silver never writes: a file "
        "of another table or schema lies in it (file:"
    )
    assert error.endswith(
        "part-99999-foreign.snappy.parquet); move it out of the table, then run Gold again."
    )
    assert not gold_path.exists()


def test_a_lake_under_a_folder_named_with_glob_characters_is_read(spark, tmp_path):
    """Spark's readers take [ ] as a pattern: Gold said the Silver there held no Parquet data."""
    silver_path, gold_path = tmp_path / "lake [2]" / "silver", tmp_path / "lake [2]" / "gold"
    write_silver(spark, silver_path, three_years_of_requests())

    assert gold_job.main(["--silver_path", str(silver_path), "--gold_path", str(gold_path)]) == 0

    monthly = spark.read.parquet(gold_job.literal(str(gold_path / "monthly_requests")))
    assert monthly.agg(F.sum("requests_opened")).first()[0] == len(three_years_of_requests())


def test_a_damaged_silver_file_is_one_sentence_and_the_old_gold_stays(
    spark, published_gold, tmp_path, capsys
):
    silver_path, gold_path = copy_published(published_gold, tmp_path)
    before = sorted(p.relative_to(gold_path) for p in gold_path.rglob("*.parquet"))
    victim = next((silver_path / "service_requests").rglob("*.parquet"))
    victim.write_bytes(victim.read_bytes()[:100])  # cut off: no footer

    code = gold_job.main(["--silver_path", str(silver_path), "--gold_path", str(gold_path)])

    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1 and err[0].startswith("Gold stopped: Spark failed (")
    assert sorted(p.relative_to(gold_path) for p in gold_path.rglob("*.parquet")) == before


@pytest.mark.parametrize(
    ("what", "cause"),
    [
        (
            "disk",
            "(No space left on device); a disk is full, the one under {gold} or the one under Java's "
            "temporary folder (/tmp, unless JAVA_TOOL_OPTIONS=-Djava.io.tmpdir=FOLDER moves it): free space "
            "there.",
        ),
        (
            "memory",
            "(java.lang.OutOfMemoryError: Requested array size exceeds VM limit); Spark ran out of memory: give it "
            "more (a local run: SPARK_DRIVER_MEMORY, e.g. 8g; on EMR: more executor or driver memory).",
        ),
    ],
)
def test_a_full_disk_or_memory_while_staging_is_named_and_the_old_gold_stays(
    spark, published_gold, tmp_path, capsys, monkeypatch, what, cause
):
    # Before, the sentence was Spark's first line ("Job aborted due to stage failure: …" cut at 300 characters),
    # the full disk or the memory only in a "Caused by" line of Spark's log.
    silver_path, gold_path = copy_published(published_gold, tmp_path)
    before = {p.relative_to(gold_path): p.read_bytes() for p in gold_path.rglob("*") if p.is_file()}
    write_table, written = gold_job.write_table, []

    def ran_out_at_the_second_table(table, path, partition_by):
        if written:
            raise_java_exhaustion(spark, what)
        written.append(path)
        return write_table(table, path, partition_by)

    monkeypatch.setattr(gold_job, "write_table", ran_out_at_the_second_table)
    code = gold_job.main(["--silver_path", str(silver_path), "--gold_path", str(gold_path)])

    assert code == 1
    assert capsys.readouterr().err.strip().splitlines() == [
        f"Gold stopped: Spark failed {cause.format(gold=gold_path)}"
    ]
    after = {p.relative_to(gold_path): p.read_bytes() for p in gold_path.rglob("*") if p.is_file()}
    assert {p for p in after if p.parts[0] != "_staging"} == set(before)  # this run's staging: the next run's
    assert {p: after[p] for p in before} == before


def test_an_interrupted_run_keeps_the_previous_tables_and_exits_130(
    spark, published_gold, tmp_path, capsys, monkeypatch
):
    silver_path, gold_path = copy_published(published_gold, tmp_path)
    before = sorted(p.relative_to(gold_path) for p in gold_path.rglob("*.parquet"))
    monkeypatch.setattr(gold_job, "cancel_on_interrupt", lambda session: gold_job.INTERRUPTED.set())
    try:
        code = gold_job.main(["--silver_path", str(silver_path), "--gold_path", str(gold_path)])
    finally:
        gold_job.INTERRUPTED.clear()

    assert code == 130
    assert (
        capsys.readouterr().err.strip()
        == "Gold interrupted before publishing: the previous tables are in place."
    )
    assert sorted(p.relative_to(gold_path) for p in gold_path.rglob("*.parquet")) == before
    assert not (gold_path / "_staging").exists()


def test_silver_with_no_rows_is_a_user_error(spark, tmp_path):
    empty = spark.createDataFrame([], SILVER_SCHEMA)
    empty.write.parquet(str(tmp_path / "silver" / "service_requests"))

    with pytest.raises(gold_job.GoldInputError, match="has no rows"):
        gold_job.run_gold(spark, str(tmp_path / "silver"), str(tmp_path / "gold"))
    assert not (tmp_path / "gold").exists()


def test_silver_without_a_needed_column_is_a_user_error(spark, tmp_path):
    silver = silver_frame(spark, three_years_of_requests()).drop("hours_to_close")
    silver.write.parquet(str(tmp_path / "silver" / "service_requests"))

    with pytest.raises(gold_job.GoldInputError, match="lacks the columns hours_to_close"):
        gold_job.run_gold(spark, str(tmp_path / "silver"), str(tmp_path / "gold"))


def test_a_spark_job_cancelled_by_ctrl_c_is_the_interrupted_line_not_a_spark_failure(
    spark, tmp_path, monkeypatch, capsys
):
    from py4j.protocol import Py4JError

    silver_path, gold_path = tmp_path / "silver", tmp_path / "gold"
    (silver_path / "service_requests").mkdir(parents=True)

    def cancelled(spark, silver_path: str, gold_path: str, sole_writer: bool) -> dict:
        raise Py4JError("An error occurred while calling o42.count: Job 7 cancelled")

    monkeypatch.setattr(gold_job, "cancel_on_interrupt", lambda session: gold_job.INTERRUPTED.set())
    monkeypatch.setattr(gold_job, "run_gold", cancelled)
    try:
        code = gold_job.main(["--silver_path", str(silver_path), "--gold_path", str(gold_path)])
    finally:
        gold_job.INTERRUPTED.clear()

    assert code == 130
    assert capsys.readouterr().err == gold_job.GoldInterrupted.MESSAGE + "\n"


@pytest.mark.parametrize(
    ("silver_path", "gold_path", "problem"),
    [
        # a file: URI is a local path: its Silver is looked for, and its Gold's folders
        ("file://{tmp}/silver", "file://{tmp}/gold", None),
        (
            "file://{tmp}/nowhere",
            "{tmp}/gold",
            "No Silver table at {tmp}/nowhere/service_requests: run the Silver job first or check --silver_path "
            "(a Silver run that wrote no rows makes none: its _quality/latest.json says what it read and "
            "quarantined).",
        ),
        (
            "{tmp}/silver",
            "file://{tmp}/notes.txt/gold",
            "--gold_path file://{tmp}/notes.txt/gold cannot be a folder: {tmp}/notes.txt is a file.",
        ),
        # an S3 Silver is not looked for before Spark starts (nor an S3 Gold); a local Gold under a file still is
        ("s3://bucket/silver", "s3://bucket/gold", None),
        (
            "s3://bucket/silver",
            "{tmp}/notes.txt/gold",
            "--gold_path {tmp}/notes.txt/gold cannot be a folder: {tmp}/notes.txt is a file.",
        ),
    ],
)
def test_local_paths_are_checked_before_spark_starts_and_others_are_not(
    tmp_path, silver_path, gold_path, problem
):
    (tmp_path / "silver" / "service_requests").mkdir(parents=True)
    (tmp_path / "notes.txt").write_text("a file")

    found = gold_job.local_input_problem(silver_path.format(tmp=tmp_path), gold_path.format(tmp=tmp_path))

    assert found == (problem and problem.format(tmp=tmp_path))


def test_a_session_without_a_shuffle_setting_is_given_none_back(spark, tmp_path):
    # Glue's and EMR's sessions may leave spark.sql.shuffle.partitions unset: Gold sets its own, then unsets it
    silver_path, gold_path = tmp_path / "silver", tmp_path / "gold"
    write_silver(spark, silver_path, three_years_of_requests())
    before = spark.conf.get(gold_job.SHUFFLE_PARTITIONS)
    spark.conf.unset(gold_job.SHUFFLE_PARTITIONS)
    try:
        gold_job.run_gold(spark, str(silver_path), str(gold_path))
        assert spark.conf.get(gold_job.SHUFFLE_PARTITIONS, None) is None
    finally:
        spark.conf.set(gold_job.SHUFFLE_PARTITIONS, before)
