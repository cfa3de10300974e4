"""Silver's incremental behaviour: only new Bronze objects are read, only touched partitions rewritten."""

from __future__ import annotations

from pathlib import Path

import pytest

import silver_job
from silver_helpers import land_legacy29, legacy29_row, silver_rows, write_manifest

pytestmark = pytest.mark.spark

FIRST = "dataset=legacy_2022/ingest_date=2026-11-20/311_service_requests_2022.csv"
SECOND = "dataset=legacy_2022/ingest_date=2026-11-25/311_service_requests_2022.csv"


def partition_files(silver: Path, year: int, month: int) -> set[str]:
    """Names of the Parquet files in one Silver partition (empty when the partition does not exist)."""
    folder = silver / "service_requests" / f"open_year={year}" / f"open_month={month}"
    return {p.name for p in folder.glob("*.parquet")}


def test_incremental_runs(spark, tmp_path: Path):
    bronze, silver = tmp_path / "bronze" / "boston311", tmp_path / "silver" / "boston311"
    first = [
        legacy29_row("101004000001", "2022-01-10 09:00:00"),
        legacy29_row("101004000002", "2022-02-10 09:00:00"),
        legacy29_row("101004000003", "2022-03-10 09:00:00", "2022-03-11 10:00:00"),
    ]
    land_legacy29(bronze, "legacy_2022", "2026-11-20", first)
    write_manifest(bronze, "20261120T060000Z", {FIRST: "2026-11-20T06:00:00Z"})
    report = silver_job.run_silver(spark, str(bronze), str(silver))
    assert report["totals"]["rows_written"] == 3
    january_files = partition_files(silver, 2022, 1)

    # nothing new: the job answers from the state file alone, without a Spark job
    spark.sparkContext.setJobGroup("silver-nothing-new", "second run with nothing new")
    try:
        again = silver_job.run_silver(spark, str(bronze), str(silver))
        jobs = spark.sparkContext.statusTracker().getJobIdsForGroup("silver-nothing-new")
    finally:
        spark.sparkContext.setLocalProperty("spark.jobGroup.id", None)
    assert again["status"] == "nothing_new"
    assert list(jobs) == []

    # a new ingest: case 2 changed (closed, and its open date corrected into March), case 4 is new
    changed = [
        legacy29_row("101004000002", "2022-03-01 09:00:00", "2022-03-02 09:00:00"),
        legacy29_row("101004000004", "2022-04-01 09:00:00"),
    ]
    land_legacy29(bronze, "legacy_2022", "2026-11-25", changed)
    write_manifest(bronze, "20261125T060000Z", {SECOND: "2026-11-25T06:00:00Z"})
    third = silver_job.run_silver(spark, str(bronze), str(silver))

    assert [f["source_file"] for f in third["files"]] == [SECOND]  # the first file is not read again
    assert third["totals"] == {
        "rows_read": 2,
        "rows_written": 2,
        "rows_quarantined": 0,
        "duplicates_removed": 0,
    }
    rows = silver_rows(spark, silver)
    assert sorted(rows) == ["101004000001", "101004000002", "101004000003", "101004000004"]
    assert (rows["101004000002"]["open_month"], rows["101004000002"]["is_closed"]) == (3, True)
    assert rows["101004000002"]["source_file"] == SECOND
    assert rows["101004000003"]["source_file"] == FIRST
    assert partition_files(silver, 2022, 2) == set()  # the moved case does not survive in its old partition
    assert partition_files(silver, 2022, 1) == january_files  # untouched partition: not rewritten
    assert third["partitions_written"] == [
        "open_year=2022/open_month=2",
        "open_year=2022/open_month=3",
        "open_year=2022/open_month=4",
    ]
    assert not (silver / "_staging").exists() or not any((silver / "_staging").iterdir())


def test_an_older_ingest_read_late_does_not_replace_a_newer_row(spark, tmp_path: Path):
    bronze, silver = tmp_path / "bronze" / "boston311", tmp_path / "silver" / "boston311"
    newer = [legacy29_row("101004000009", "2022-05-01 09:00:00", "2022-05-02 09:00:00")]
    land_legacy29(bronze, "legacy_2022", "2026-11-25", newer)
    silver_job.run_silver(spark, str(bronze), str(silver))
    older = [legacy29_row("101004000009", "2022-05-01 09:00:00")]
    land_legacy29(bronze, "legacy_2022", "2026-11-20", older)
    report = silver_job.run_silver(spark, str(bronze), str(silver))
    assert (
        report["totals"]["duplicates_removed"] == 1
    )  # without a manifest, ingested_at comes from ingest_date
    assert silver_rows(spark, silver)["101004000009"]["is_closed"] is True


def test_duplicates_in_one_file_do_not_drop_rows_of_another_file_in_the_same_run(spark, tmp_path: Path):
    # The first pass marks losers by row position and the second pass drops them: positions must be unique across
    # files (Spark's own id restarts at 0 in every file of a union, so row 0 of each file would collide).
    bronze, silver = tmp_path / "bronze" / "boston311", tmp_path / "silver" / "boston311"
    land_legacy29(bronze, "legacy_2021", "2026-11-20", [legacy29_row("101003000001", "2021-06-01 09:00:00")])
    repeated = [
        legacy29_row("101004000001", "2022-06-01 09:00:00"),  # row 0: loses to the later row of the same case
        legacy29_row("101004000001", "2022-06-01 09:00:00", "2022-06-02 09:00:00"),
    ]
    land_legacy29(bronze, "legacy_2022", "2026-11-20", repeated)
    report = silver_job.run_silver(spark, str(bronze), str(silver))
    assert report["totals"] == {
        "rows_read": 3,
        "rows_written": 2,
        "rows_quarantined": 0,
        "duplicates_removed": 1,
    }
    rows = silver_rows(spark, silver)
    assert sorted(rows) == ["101003000001", "101004000001"]
    assert rows["101004000001"]["is_closed"] is True


def test_a_publish_that_fails_half_way_keeps_every_row(spark, tmp_path: Path, monkeypatch):
    bronze, silver = tmp_path / "bronze" / "boston311", tmp_path / "silver" / "boston311"
    first = [
        legacy29_row("101004000001", "2022-01-10 09:00:00"),
        legacy29_row("101004000002", "2022-02-10 09:00:00"),
    ]
    land_legacy29(bronze, "legacy_2022", "2026-11-20", first)
    silver_job.run_silver(spark, str(bronze), str(silver))
    changed = [
        legacy29_row("101004000001", "2022-01-10 09:00:00", "2022-01-11 09:00:00"),
        legacy29_row("101004000002", "2022-02-10 09:00:00", "2022-02-11 09:00:00"),
    ]
    land_legacy29(bronze, "legacy_2022", "2026-11-25", changed)

    real_rename = silver_job.LakeFiles.rename

    def rename(self, source: str, target: str) -> None:
        staged_february = "_staging" in source and "service_requests/open_year=2022/open_month=2" in source
        if staged_february:
            raise OSError("simulated S3 failure")
        real_rename(self, source, target)

    monkeypatch.setattr(silver_job.LakeFiles, "rename", rename)
    with pytest.raises(silver_job.PublishError, match="Publishing stopped at open_year=2022/open_month=2"):
        silver_job.run_silver(spark, str(bronze), str(silver))

    staging = next((silver / "_staging").iterdir())  # kept for the operator
    assert list((staging / "service_requests" / "open_year=2022" / "open_month=2").glob("*.parquet"))
    rows = silver_rows(spark, silver)
    assert sorted(rows) == ["101004000001", "101004000002"]  # February was put back as it was: no row lost
    assert (rows["101004000001"]["is_closed"], rows["101004000002"]["is_closed"]) == (True, False)
    monkeypatch.undo()
    report = silver_job.run_silver(spark, str(bronze), str(silver))  # no state was written: the run is redone
    assert report["totals"]["rows_written"] == 2
    rows = silver_rows(spark, silver)
    assert sorted(rows) == ["101004000001", "101004000002"]
    assert all(row["is_closed"] for row in rows.values())
