"""Silver's incremental behaviour: only new Bronze objects are read, only touched partitions rewritten."""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pyspark.sql import functions as F

import silver_job
from ingestao_bronze import MANIFEST_FORMAT_VERSION
from silver_helpers import land_legacy29, legacy29_row, silver_rows, utc_rows, write_manifest

pytestmark = pytest.mark.spark

FIRST = "dataset=legacy_2022/ingest_date=2026-11-20/311_service_requests_2022.csv"
SECOND = "dataset=legacy_2022/ingest_date=2026-11-25/311_service_requests_2022.csv"


def partition_files(silver: Path, year: int, month: int) -> set[str]:
    """Names of the Parquet files in one Silver partition (empty when the partition does not exist)."""
    folder = silver / "service_requests" / f"open_year={year}" / f"open_month={month}"
    return {p.name for p in folder.glob("*.parquet")}


def write_state_without(silver: Path, field: str) -> None:
    """The state file as a version that did not record ``field`` wrote it (Hadoop's checksum of it removed)."""
    state = silver / "_state" / "processed.json"
    objects = json.loads(state.read_text())["objects"]
    for record in objects.values():
        del record[field]
    state.write_text(json.dumps({"objects": objects}))
    (silver / "_state" / ".processed.json.crc").unlink()


# Lakes several tests start from, each built by one run for the module: a test runs Silver again on its own copy.
def copy_of(lake: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A copy of a shared lake under ``tmp_path`` (file times kept, which the state file compares), for one test to
    change: its Bronze and Silver paths."""
    shutil.copytree(lake, tmp_path, symlinks=True, dirs_exist_ok=True)
    return tmp_path / "bronze" / "boston311", tmp_path / "silver" / "boston311"


def case_1_read(spark, lake: Path, ingest_date: str, announced: str | None = None) -> dict:
    """Case 1 (opened 2022-01-10 09:00) landed on ``ingest_date``, with a manifest announcing it at 06:00 as the
    object ``announced`` when given, and read by one run into an empty Silver: that run's report."""
    bronze, silver = lake / "bronze" / "boston311", lake / "silver" / "boston311"
    land_legacy29(bronze, "legacy_2022", ingest_date, [legacy29_row("101004000001", "2022-01-10 09:00:00")])
    if announced:
        day = ingest_date.replace("-", "")
        write_manifest(bronze, f"{day}T060000Z", {announced: f"{ingest_date}T06:00:00Z"})
    return silver_job.run_silver(spark, str(bronze), str(silver))


@pytest.fixture(scope="module")
def first_read(spark, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """Case 1 in FIRST, announced by its manifest, read: the lake and that run's report."""
    lake = tmp_path_factory.mktemp("first_read")
    return lake, case_1_read(spark, lake, "2026-11-20", FIRST)


@pytest.fixture(scope="module")
def first_read_unannounced(spark, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Case 1 in FIRST, no manifest (its ingest time from its folder), read: the lake."""
    lake = tmp_path_factory.mktemp("first_read_unannounced")
    case_1_read(spark, lake, "2026-11-20")
    return lake


@pytest.fixture(scope="module")
def second_read(spark, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Case 1 in SECOND, announced by its manifest, read: the lake."""
    lake = tmp_path_factory.mktemp("second_read")
    case_1_read(spark, lake, "2026-11-25", SECOND)
    return lake


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
    assert not (silver / "_staging").exists()  # not even an empty folder


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

    fail_moves(
        monkeypatch,
        lambda source: "_staging" in source and "service_requests/open_year=2022/open_month=2" in source,
        OSError("simulated S3 failure"),
    )
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
    assert not staging.exists()  # the redo deleted what the failed run kept (it had nothing the redo needs)


# A lake whose February is two Parquet files, and a third ingest that changes January and adds to February: the
# publish of that third run is what the tests below make fail, part-way through in several places.
FEBRUARY = "service_requests/open_year=2022/open_month=2"


@pytest.fixture(scope="module")
def two_february_files(spark, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lake after two runs (February = the second run's case 3 + the first run's surviving case 2), with a third
    ingest landed but not run: case 1 closed (January), case 4 new (February). Built once; each test changes its
    own copy (lake_with_two_february_files)."""
    lake = tmp_path_factory.mktemp("two_february_files")
    bronze, silver = lake / "bronze" / "boston311", lake / "silver" / "boston311"
    first = [
        legacy29_row("101004000001", "2022-01-10 09:00:00"),
        legacy29_row("101004000002", "2022-02-10 09:00:00"),
        legacy29_row("101004000003", "2022-02-11 09:00:00"),
    ]
    land_legacy29(bronze, "legacy_2022", "2026-11-20", first)
    silver_job.run_silver(spark, str(bronze), str(silver))
    second = [legacy29_row("101004000003", "2022-02-11 09:00:00", "2022-02-12 09:00:00")]
    land_legacy29(bronze, "legacy_2022", "2026-11-22", second)
    silver_job.run_silver(spark, str(bronze), str(silver))
    assert len(partition_files(silver, 2022, 2)) == 2
    third = [
        legacy29_row("101004000001", "2022-01-10 09:00:00", "2022-01-11 09:00:00"),
        legacy29_row("101004000004", "2022-02-20 09:00:00"),
    ]
    land_legacy29(bronze, "legacy_2022", "2026-11-25", third)
    return lake


def lake_with_two_february_files(two_february_files: Path, tmp_path: Path) -> tuple[Path, Path]:
    """This test's copy of the two_february_files lake: its Bronze and Silver."""
    return copy_of(two_february_files, tmp_path)


def closed_by_case(spark, silver: Path) -> dict[str, bool]:
    """case_id -> is_closed of the Silver table."""
    return {case: row["is_closed"] for case, row in silver_rows(spark, silver).items()}


# after the failed third run: January is published (case 1 closed), February is the second run's
AFTER_FAILURE = {"101004000001": True, "101004000002": False, "101004000003": True}
AFTER_REDO = {**AFTER_FAILURE, "101004000004": False}


def move_part_way(monkeypatch, is_stopped_move) -> None:
    """LakeFiles.rename moves the first file of a folder ``is_stopped_move`` picks, then fails: an S3 folder move
    (a copy and a delete per object) that stops part-way. Moves of single files work."""
    real_rename = silver_job.LakeFiles.rename

    def rename(self, source: str, target: str) -> None:
        if Path(source).is_dir() and is_stopped_move(source):
            first = sorted(Path(source).glob("*.parquet"))[0]
            real_rename(self, str(first), f"{target}/{first.name}")
            raise OSError("simulated S3 failure half-way through a folder move")
        real_rename(self, source, target)

    monkeypatch.setattr(silver_job.LakeFiles, "rename", rename)


def fail_moves(monkeypatch, is_failed_move, error: BaseException) -> None:
    """LakeFiles.rename raises ``error`` for the moves ``is_failed_move`` picks (before moving anything)."""
    real_rename = silver_job.LakeFiles.rename

    def rename(self, source: str, target: str) -> None:
        if is_failed_move(source):
            raise error
        real_rename(self, source, target)

    monkeypatch.setattr(silver_job.LakeFiles, "rename", rename)


def is_live_february(source: str) -> bool:
    return source.endswith(FEBRUARY) and "_staging" not in source


def is_staged_february(source: str) -> bool:
    return source.endswith(FEBRUARY) and "_staging" in source


@pytest.mark.parametrize(
    "stopping_move",
    [
        pytest.param(is_live_february, id="moving the live month aside"),
        pytest.param(is_staged_february, id="moving the staged month in"),
    ],
)
def test_a_move_that_stops_part_way_puts_the_month_back(
    spark, two_february_files: Path, tmp_path: Path, monkeypatch, stopping_move
):
    bronze, silver = lake_with_two_february_files(two_february_files, tmp_path)
    february = partition_files(silver, 2022, 2)
    move_part_way(monkeypatch, stopping_move)
    with pytest.raises(silver_job.PublishError, match="open_month=2 .*this one is back as it was"):
        silver_job.run_silver(spark, str(bronze), str(silver))
    assert partition_files(silver, 2022, 2) == february  # both old files, none of the staged month
    assert closed_by_case(spark, silver) == AFTER_FAILURE
    monkeypatch.undo()
    silver_job.run_silver(spark, str(bronze), str(silver))
    assert closed_by_case(spark, silver) == AFTER_REDO


def test_an_interrupt_between_the_two_moves_puts_the_month_back(
    spark, two_february_files: Path, tmp_path: Path, monkeypatch
):
    bronze, silver = lake_with_two_february_files(two_february_files, tmp_path)
    february = partition_files(silver, 2022, 2)
    # February's live folder has just been moved aside when the move in is interrupted
    fail_moves(monkeypatch, is_staged_february, KeyboardInterrupt())
    try:
        silver_job.run_silver(spark, str(bronze), str(silver))
    except KeyboardInterrupt:
        pytest.fail(
            "the interrupt escaped the publish: the staging folder, with February's rows, was deleted"
        )
    except silver_job.PublishError as error:
        assert "open_month=2 (KeyboardInterrupt): earlier months are published, this one is back" in str(
            error
        )
    assert partition_files(silver, 2022, 2) == february
    assert closed_by_case(spark, silver) == AFTER_FAILURE
    assert list((silver / "_staging").iterdir())  # kept


def test_a_failed_put_back_keeps_the_old_month_and_the_next_run_puts_it_back(
    spark, two_february_files: Path, tmp_path: Path, monkeypatch
):
    bronze, silver = lake_with_two_february_files(two_february_files, tmp_path)
    february = partition_files(silver, 2022, 2)
    # the move in fails, and so does the way back, each with a Java-style message of several lines
    fail_moves(
        monkeypatch,
        lambda source: is_staged_february(source) or "/retired/" in source,
        OSError(
            "simulated S3 outage\n\tat org.apache.hadoop.fs.s3a.S3AFileSystem.rename(S3AFileSystem.java:1)"
        ),
    )
    with pytest.raises(silver_job.PublishError, match="putting the month back failed") as stopped:
        silver_job.run_silver(spark, str(bronze), str(silver))
    assert "\n" not in str(stopped.value)  # one sentence: each error's first line only
    assert "(simulated S3 outage) and putting the month back failed (simulated S3 outage)" in str(
        stopped.value
    )
    staging = next((silver / "_staging").iterdir())
    retired = staging / "retired" / "open_year=2022" / "open_month=2"
    assert f"kept in {retired}" in str(stopped.value)
    assert {p.name for p in retired.glob("*.parquet")} == february  # the only copy of February, kept
    monkeypatch.undo()
    # puts February back first, then redoes the run
    report = silver_job.run_silver(spark, str(bronze), str(silver))
    assert report["status"] == "ok"
    assert closed_by_case(spark, silver) == AFTER_REDO
    assert not staging.exists()


def test_a_run_that_died_while_publishing_is_put_back_by_the_next_run(
    spark, two_february_files: Path, tmp_path: Path, monkeypatch
):
    # The run dies (a Glue timeout) while February is half moved aside: nothing in the process puts it back.
    bronze, silver = lake_with_two_february_files(two_february_files, tmp_path)
    move_part_way(monkeypatch, is_live_february)
    monkeypatch.setattr(silver_job, "_put_back", lambda *args: None)
    with pytest.raises(silver_job.PublishError):
        silver_job.run_silver(spark, str(bronze), str(silver))
    assert len(partition_files(silver, 2022, 2)) == 1  # the other file is under _staging/<run>/retired/
    monkeypatch.undo()
    # The redo must not rebuild February's surviving rows from that one file: it puts the month back first.
    silver_job.run_silver(spark, str(bronze), str(silver))
    assert closed_by_case(spark, silver) == AFTER_REDO


def test_a_table_holding_a_case_twice_is_repaired_by_the_next_change(
    spark, first_read_unannounced: Path, tmp_path: Path
):
    # A publish that stopped while a case moved months can leave it in both; the next record of the case must
    # still count once (conservation) and leave one row.
    bronze, silver = copy_of(first_read_unannounced, tmp_path)
    january = silver / "service_requests" / "open_year=2022" / "open_month=1"
    shutil.copytree(january, silver / "service_requests" / "open_year=2022" / "open_month=2")
    assert spark.read.parquet(str(silver / "service_requests")).count() == 2
    changed = [legacy29_row("101004000001", "2022-01-10 09:00:00", "2022-01-11 09:00:00")]
    land_legacy29(bronze, "legacy_2022", "2026-11-25", changed)
    report = silver_job.run_silver(spark, str(bronze), str(silver))
    assert report["totals"] == {
        "rows_read": 1,
        "rows_written": 1,
        "rows_quarantined": 0,
        "duplicates_removed": 0,
    }
    table = utc_rows(spark.read.parquet(str(silver / "service_requests")))
    assert [(row["case_id"], row["open_month"], row["is_closed"]) for row in table] == [
        ("101004000001", 1, True)
    ]


def test_without_a_manifest_the_later_landing_of_a_day_wins(spark, tmp_path: Path):
    # The Bronze ingest names a second landing of the same day <stem>.<run_id>.csv, which sorts BEFORE <stem>.csv;
    # without manifests the objects' upload times say which is newer.
    bronze, silver = tmp_path / "bronze" / "boston311", tmp_path / "silver" / "boston311"
    earlier = land_legacy29(
        bronze, "legacy_2022", "2026-11-25", [legacy29_row("101004000001", "2022-01-10 09:00:00")]
    )
    later = land_legacy29(
        bronze,
        "legacy_2022",
        "2026-11-25",
        [legacy29_row("101004000001", "2022-01-10 09:00:00", "2022-01-11 09:00:00")],
        name="311_service_requests_2022.20261125T120000Z.csv",
    )
    for landed, hour in ((earlier, 10), (later, 12)):
        uploaded = datetime(2026, 11, 25, hour, tzinfo=UTC).timestamp()
        os.utime(landed, (uploaded, uploaded))
    report = silver_job.run_silver(spark, str(bronze), str(silver))
    assert {
        f["source_file"].rsplit("/", 1)[-1]: (f["ingested_at"], f["ingested_at_from"])
        for f in report["files"]
    } == {
        "311_service_requests_2022.csv": ("2026-11-25T10:00:00.000Z", "object_modified"),
        "311_service_requests_2022.20261125T120000Z.csv": ("2026-11-25T12:00:00.000Z", "object_modified"),
    }
    row = silver_rows(spark, silver)["101004000001"]
    assert (row["is_closed"], row["source_file"]) == (
        True,
        f"dataset=legacy_2022/ingest_date=2026-11-25/{later.name}",
    )


def test_an_object_changed_in_place_is_read_again(spark, first_read_unannounced: Path, tmp_path: Path):
    # The state file knows an object by size AND modification time: a change of either one means it is new again.
    bronze, silver = copy_of(first_read_unannounced, tmp_path)
    landed = bronze / FIRST
    state = silver / "_state" / "processed.json"

    def reland(row: list[str], same_modified: bool) -> bool:
        """Land the object again with one row; True when its size stayed the same."""
        modified = json.loads(state.read_text())["objects"][FIRST]["modified"]  # ms
        size = landed.stat().st_size
        land_legacy29(bronze, "legacy_2022", "2026-11-20", [row])
        stamp = modified * 10**6 if same_modified else (modified + 60_000) * 10**6
        os.utime(landed, ns=(stamp, stamp))
        return landed.stat().st_size == size

    # the same size, a later modification time (the ward 03 -> 04)
    assert reland(legacy29_row("101004000001", "2022-01-10 09:00:00", ward="04"), same_modified=False)
    report = silver_job.run_silver(spark, str(bronze), str(silver))
    assert [f["source_file"] for f in report["files"]] == [FIRST]
    assert silver_rows(spark, silver)["101004000001"]["ward"] == "04"

    # another size, the same modification time (a copy that kept the time stamp)
    assert not reland(legacy29_row("101004000001", "2022-01-10 09:00:00", ward="Ward 5"), same_modified=True)
    report = silver_job.run_silver(spark, str(bronze), str(silver))
    assert [f["source_file"] for f in report["files"]] == [FIRST]
    assert silver_rows(spark, silver)["101004000001"]["ward"] == "05"


def test_the_latest_manifest_naming_an_object_gives_its_ingest_time(spark, tmp_path: Path):
    bronze = tmp_path / "bronze" / "boston311"
    # the object landed again; the first manifest as written before manifests had a format_version, the second since
    write_manifest(bronze, "20261120T060000Z", {FIRST: "2026-11-20T06:00:00Z"})
    write_manifest(bronze, "20261125T060000Z", {FIRST: "2026-11-25T06:00:00Z"}, MANIFEST_FORMAT_VERSION)
    failed = {"resources": [{"status": "failed", "key": f"bronze/boston311/{FIRST}", "ingested_at": "2026-11-26T06:00:00Z"}]}  # fmt: skip
    (bronze / "_manifests" / "20261126T060000Z.json").write_text(json.dumps(failed), encoding="utf-8")
    times = silver_job.manifest_ingest_times(silver_job.LakeFiles(spark), str(bronze))
    assert times == {FIRST: "2026-11-25T06:00:00Z"}  # later manifests win; a failed landing says nothing


@pytest.mark.parametrize("version", [MANIFEST_FORMAT_VERSION + 1, "1"])
def test_a_bronze_manifest_of_a_format_silver_does_not_read_stops_the_run_before_it_writes(
    spark, tmp_path: Path, version
):
    # a Bronze script newer than the Glue job uploaded beside it (Bronze runs from a laptop, the job is uploaded on
    # its own): a newer manifest may have lost, renamed or retyped a field, so Silver stops rather than guess
    bronze, silver = tmp_path / "bronze" / "boston311", tmp_path / "silver" / "boston311"
    land_legacy29(bronze, "legacy_2022", "2026-11-20", [legacy29_row("101004000001", "2022-01-10 09:00:00")])
    write_manifest(bronze, "20261120T060000Z", {FIRST: "2026-11-20T06:00:00Z"}, version)
    manifest = bronze / "_manifests" / "20261120T060000Z.json"
    with pytest.raises(silver_job.SilverError) as refused:
        silver_job.run_silver(spark, str(bronze), str(silver))
    assert str(refused.value) == (
        f"The Bronze manifest {manifest} is format_version {version!r}, which this Silver job does not read (it reads "
        f"up to {MANIFEST_FORMAT_VERSION}): run Silver from the same commit as the Bronze ingest (on Glue, upload "
        "glue/silver_job.py again: docs/infra.md)."
    )
    assert not (silver / "service_requests").exists() and not (silver / "_state" / "processed.json").exists()


def test_a_run_opens_only_the_bronze_manifests_no_earlier_run_read(
    spark, first_read: tuple[Path, dict], tmp_path: Path, monkeypatch
):
    # The ingest writes a manifest every day: opening them all in every run made each run, one with nothing new too,
    # slower by the day (365 manifests: 22 s to find nothing new on a local disk).
    bronze, silver = copy_of(first_read[0], tmp_path)
    opened = []
    read_text = silver_job.LakeFiles.read_text
    monkeypatch.setattr(
        silver_job.LakeFiles, "read_text", lambda files, path: opened.append(path) or read_text(files, path)
    )
    assert silver_job.run_silver(spark, str(bronze), str(silver))["status"] == "nothing_new"
    write_manifest(bronze, "20261121T060000Z", {})  # a day the portal changed nothing
    assert silver_job.run_silver(spark, str(bronze), str(silver))["status"] == "nothing_new"
    land_legacy29(bronze, "legacy_2022", "2026-11-25", [legacy29_row("101004000001", "2022-01-10 10:00:00")])
    write_manifest(bronze, "20261125T060000Z", {SECOND: "2026-11-25T06:00:00Z"})
    report = silver_job.run_silver(spark, str(bronze), str(silver))
    assert [(f["source_file"], f["ingested_at"], f["ingested_at_from"]) for f in report["files"]] == [
        (SECOND, "2026-11-25T06:00:00Z", "manifest")
    ]
    assert silver_job.run_silver(spark, str(bronze), str(silver))["status"] == "nothing_new"
    manifests_opened = [path.rsplit("/", 1)[-1] for path in opened if "/_manifests/" in path]
    assert manifests_opened == ["20261121T060000Z.json", "20261125T060000Z.json"]


def test_the_manifest_index_gives_the_times_a_reading_of_every_manifest_gives(spark, tmp_path: Path):
    bronze, silver = tmp_path / "bronze" / "boston311", tmp_path / "silver" / "boston311"
    files = silver_job.LakeFiles(spark)
    index = silver_job.read_manifest_index(files, str(silver))
    write_manifest(bronze, "20261125T060000Z", {FIRST: "2026-11-25T06:00:00Z"})
    assert silver_job.manifest_ingest_times(files, str(bronze), index) == {FIRST: "2026-11-25T06:00:00Z"}
    # written after the index read the later one (the next ingest writes a stopped run's manifest): the later wins
    write_manifest(bronze, "20261120T060000Z", {FIRST: "2026-11-20T06:00:00Z"})
    assert silver_job.manifest_ingest_times(files, str(bronze), index) == {FIRST: "2026-11-25T06:00:00Z"}
    silver_job.write_manifest_index(files, str(silver), index)
    # a manifest the index read is gone (Bronze restored from a copy): the index starts over from what is there
    (bronze / "_manifests" / "20261125T060000Z.json").unlink()
    index = silver_job.read_manifest_index(files, str(silver))
    assert silver_job.manifest_ingest_times(files, str(bronze), index) == {FIRST: "2026-11-20T06:00:00Z"}
    # a damaged index is only a cache of Bronze's facts: rebuilt
    (silver / "_state" / "bronze_manifests.json").write_text("{not json")
    (silver / "_state" / ".bronze_manifests.json.crc").unlink()
    index = silver_job.read_manifest_index(files, str(silver))
    assert silver_job.manifest_ingest_times(files, str(bronze), index) == {FIRST: "2026-11-20T06:00:00Z"}
    assert index["changed"]


def test_the_manifest_index_keeps_where_bronze_found_a_file_not_utf8(spark, tmp_path: Path):
    bronze, silver = tmp_path / "bronze" / "boston311", tmp_path / "silver" / "boston311"
    files = silver_job.LakeFiles(spark)
    index = silver_job.read_manifest_index(files, str(silver))
    times = {FIRST: "2026-11-20T06:00:00Z", SECOND: "2026-11-25T06:00:00Z"}
    write_manifest(
        bronze, "20261125T060000Z", times, non_utf8_at={FIRST: 1_234_567, SECOND: True},
        sizes={FIRST: 2_000_000, SECOND: 2_000_000},
    )  # fmt: skip
    silver_job.manifest_ingest_times(files, str(bronze), index)
    # anything but a whole number is no offset; the bytes it is of are kept beside it
    assert index["non_utf8"] == {FIRST: [1_234_567, 2_000_000]}
    silver_job.write_manifest_index(files, str(silver), index)
    assert silver_job.read_manifest_index(files, str(silver))["non_utf8"] == {FIRST: [1_234_567, 2_000_000]}
    # an index written before Silver read the field: the manifests it had read are read again, once
    state = silver / "_state" / "bronze_manifests.json"
    older = json.loads(state.read_text())
    del older["non_utf8"]
    state.write_text(json.dumps(older))
    (silver / "_state" / ".bronze_manifests.json.crc").unlink()
    index = silver_job.read_manifest_index(files, str(silver))
    assert (index["manifests"], index["changed"]) == ([], True)
    silver_job.manifest_ingest_times(files, str(bronze), index)
    assert index["non_utf8"] == {FIRST: [1_234_567, 2_000_000]}


def test_the_manifest_index_keeps_no_offset_outside_the_bytes_bronze_landed(spark, tmp_path: Path):
    """A manifest's offset below 0, at or past its bytes, or without them made the quality report give a file's
    non_utf8_at where its schema allows none, and the warning name an offset the file cannot have."""
    bronze = tmp_path / "bronze" / "boston311"
    index = silver_job.empty_manifest_index()
    times = {FIRST: "2026-11-20T06:00:00Z", SECOND: "2026-11-25T06:00:00Z"}
    write_manifest(
        bronze, "20261125T060000Z", times, non_utf8_at={FIRST: -1, SECOND: 10**30}, sizes={FIRST: 100}
    )
    write_manifest(
        bronze,
        "20261126T060000Z",
        {FIRST: "2026-11-26T06:00:00Z"},
        non_utf8_at={FIRST: 100},
        sizes={FIRST: 100},
    )
    write_manifest(bronze, "20261127T060000Z", {FIRST: "2026-11-27T06:00:00Z"}, non_utf8_at={FIRST: 5})
    silver_job.manifest_ingest_times(silver_job.LakeFiles(spark), str(bronze), index)
    assert index["non_utf8"] == {}


def test_a_bad_record_the_re_issued_file_carries_every_day_is_quarantined_once(spark, tmp_path: Path):
    # The current-year and NEW SYSTEM files are landed anew every day with yesterday's bad records still in them:
    # each run quarantined them again, so silver_quarantine held a bad record once more every day.
    bronze, silver = tmp_path / "bronze" / "boston311", tmp_path / "silver" / "boston311"
    good = legacy29_row("101004000001", "2022-01-10 09:00:00")
    bad = legacy29_row("101004000002", "not a date")
    land_legacy29(bronze, "legacy_2022", "2026-11-20", [good, bad])
    write_manifest(bronze, "20261120T060000Z", {FIRST: "2026-11-20T06:00:00Z"})
    assert silver_job.run_silver(spark, str(bronze), str(silver))["totals"]["rows_quarantined"] == 1
    also_bad = legacy29_row("101004000003", "2022-13-01 09:00:00")
    land_legacy29(bronze, "legacy_2022", "2026-11-25", [good, bad, also_bad])
    write_manifest(bronze, "20261125T060000Z", {SECOND: "2026-11-25T06:00:00Z"})
    report = silver_job.run_silver(spark, str(bronze), str(silver))
    assert report["totals"] == {
        "rows_read": 3,
        "rows_written": 1,
        "rows_quarantined": 1,
        "duplicates_removed": 1,
    }
    assert report["rejects_by_reason"] == {"unparsable_opened_at": 2}  # what the file holds

    def quarantined(silver: Path) -> set[tuple[str, str]]:
        return {
            (r["case_id"], r["source_file"]) for r in utc_rows(spark.read.parquet(str(silver / "quarantine")))
        }

    assert quarantined(silver) == {("101004000002", FIRST), ("101004000003", SECOND)}
    # read in one run (the first run of a lake, a re-map), the two ingests give the same quarantine
    fresh = tmp_path / "fresh" / "silver"
    report = silver_job.run_silver(spark, str(bronze), str(fresh))
    assert report["totals"] == {
        "rows_read": 5,
        "rows_written": 1,
        "rows_quarantined": 2,
        "duplicates_removed": 2,
    }
    assert quarantined(fresh) == quarantined(silver)


def test_a_lake_under_a_folder_named_with_an_underscore_is_read(spark, tmp_path: Path):
    # Only the part of a path below the Bronze path decides what is hidden (_manifests/, _state/), not the folders
    # above it; the Bronze path here is relative (to the JVM's working directory) and sits under _work/.
    bronze, silver = tmp_path / "_work" / "bronze" / "boston311", tmp_path / "_work" / "silver" / "boston311"
    land_legacy29(bronze, "legacy_2022", "2026-11-25", [legacy29_row("101004000001", "2022-01-10 09:00:00")])
    jvm_directory = spark.sparkContext._jvm.java.lang.System.getProperty("user.dir")
    report = silver_job.run_silver(spark, os.path.relpath(bronze, jvm_directory), str(silver))
    assert report["totals"]["rows_written"] == 1


def test_a_lake_under_a_folder_named_with_glob_characters_reads_its_own_files(spark, tmp_path: Path):
    """Spark's readers take [ ] as a pattern: under "lake [2]" Silver read the file of "lake 2" beside it, then failed
    on its own table ("Path does not exist")."""
    lake, beside = tmp_path / "lake [2]", tmp_path / "lake 2"
    bronze, silver = lake / "bronze" / "boston311", lake / "silver" / "boston311"
    land_legacy29(bronze, "legacy_2022", "2026-11-25", [legacy29_row("101004000001", "2022-01-10 09:00:00")])
    land_legacy29(beside / "bronze" / "boston311", "legacy_2022", "2026-11-25", [legacy29_row("999", "2022-01-10 09:00:00")])  # fmt: skip

    silver_job.run_silver(spark, str(bronze), str(silver))
    land_legacy29(bronze, "legacy_2022", "2026-11-26", [legacy29_row("101004000002", "2022-01-11 09:00:00")])
    report = silver_job.run_silver(spark, str(bronze), str(silver))  # reads its table back too

    assert report["totals"]["rows_written"] == 1
    table = spark.read.parquet(silver_job.literal(str(silver / "service_requests")))
    assert sorted(row.case_id for row in table.collect()) == ["101004000001", "101004000002"]


def test_an_object_named_as_a_copy_in_progress_waits_for_its_real_name(
    spark, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    # Spark skips a name ending ._COPYING_: read, the file gave no rows and was recorded as processed, its case lost
    # (Bronze declares the same suffix: test_duplicated_on_purpose)
    bronze, silver = tmp_path / "bronze" / "boston311", tmp_path / "silver" / "boston311"
    row = legacy29_row("101004000001", "2022-01-10 09:00:00")
    copying = land_legacy29(bronze, "legacy_2022", "2026-11-20", [row], name="x.csv._COPYING_")

    with caplog.at_level("WARNING", logger=silver_job.log.name):
        report = silver_job.run_silver(spark, str(bronze), str(silver))
    assert report["files"] == []
    assert "dataset=legacy_2022/ingest_date=2026-11-20/x.csv._COPYING_ ends in ._COPYING_" in caplog.text

    copying.rename(copying.with_name("x.csv"))
    report = silver_job.run_silver(spark, str(bronze), str(silver))
    assert report["totals"]["rows_written"] == 1


def test_a_kept_staging_folder_that_cannot_be_deleted_does_not_stop_the_run(
    spark, tmp_path: Path, monkeypatch
):
    bronze, silver = tmp_path / "bronze" / "boston311", tmp_path / "silver" / "boston311"
    land_legacy29(bronze, "legacy_2022", "2026-11-20", [legacy29_row("101004000001", "2022-01-10 09:00:00")])
    kept = silver / "_staging" / "20261120T000000000000Z"
    (kept / "service_requests").mkdir(parents=True)
    real_delete = silver_job.LakeFiles.delete

    def delete(self, path: str) -> None:
        if path.endswith(kept.name):
            raise OSError("simulated S3 AccessDenied")
        real_delete(self, path)

    monkeypatch.setattr(silver_job.LakeFiles, "delete", delete)
    report = silver_job.run_silver(spark, str(bronze), str(silver))
    assert report["status"] == "ok" and report["totals"]["rows_written"] == 1
    assert kept.exists()  # left for the next run


def test_an_override_says_it_does_not_reach_processed_objects_until_they_are_read_again(
    spark, first_read: tuple[Path, dict], tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    bronze, silver = copy_of(first_read[0], tmp_path)
    assert silver_rows(spark, silver)["101004000001"]["opened_at"] == datetime(2022, 1, 10, 14, 0)  # EST

    with caplog.at_level("WARNING", logger=silver_job.log.name):
        again = silver_job.run_silver(spark, str(bronze), str(silver), {"legacy_2022": "utc"})
    assert again["status"] == "nothing_new" and again["objects_read_with_other_overrides"] == 1
    assert (
        "1 of the 1 Bronze objects read earlier were read with other time basis overrides (none) than this run's "
        "(legacy_2022=utc): they keep the readings decided then. To keep those, give their overrides again; to read "
        f"them with this run's, delete {silver}/_state/processed.json" in caplog.text
    )

    # as the warning says: without the state file every object is read again, with the override
    (silver / "_state" / "processed.json").unlink()
    caplog.clear()
    with caplog.at_level("WARNING", logger=silver_job.log.name):
        reread = silver_job.run_silver(spark, str(bronze), str(silver), {"legacy_2022": "utc"})
    assert "time basis overrides" not in caplog.text
    assert reread["files"][0]["time_basis"]["reading"] == "utc"
    rows = silver_rows(spark, silver)
    assert list(rows) == ["101004000001"]
    assert rows["101004000001"]["opened_at"] == datetime(2022, 1, 10, 9, 0)
    state = json.loads((silver / "_state" / "processed.json").read_text())["objects"]
    assert [(o["era"], o["time_basis_override"]) for o in state.values()] == [
        ("legacy29", {"reading": "utc"})
    ]

    # the next day, with the override kept (the stack keeps it in the job's arguments): nothing to warn of, as
    # every object was read with it; an override of another dataset is none of these objects' business either
    land_legacy29(bronze, "legacy_2022", "2026-11-21", [legacy29_row("101004000002", "2022-01-11 09:00:00")])
    caplog.clear()
    with caplog.at_level("WARNING", logger=silver_job.log.name):
        next_day = silver_job.run_silver(
            spark, str(bronze), str(silver), {"legacy_2022": "utc", "new_system@2026-03": "utc"}
        )
    assert next_day["totals"]["rows_written"] == 1 and "objects_read_with_other_overrides" not in next_day
    assert "time basis overrides" not in caplog.text

    # the override taken away: the objects read with it are named
    land_legacy29(bronze, "legacy_2022", "2026-11-22", [legacy29_row("101004000003", "2022-01-12 09:00:00")])
    caplog.clear()
    with caplog.at_level("WARNING", logger=silver_job.log.name):
        without = silver_job.run_silver(spark, str(bronze), str(silver))
    assert without["objects_read_with_other_overrides"] == 2
    # both were read with legacy_2022=utc, which the sentence gives back
    assert (
        "2 of the 2 Bronze objects read earlier were read with other time basis overrides (legacy_2022=utc) than "
        "this run's (none): they keep the readings decided then. To keep those, give their overrides again;"
        in caplog.text
    )


def named_otherwise(processed: dict[str, dict], overrides: dict) -> int | None:
    """How many of the objects in a state (all read earlier, with the mappings "m" and this rules version) a run with
    these overrides names as read with other overrides (None: none, and no warning)."""
    report = {"time_basis_overrides": overrides, "mappings_fingerprint": "m", "mappings": "glue/mappings",
              "silver_rules_version": silver_job.SILVER_RULES_VERSION}  # fmt: skip
    silver_job.name_objects_read_otherwise(report, processed, set(processed), "/silver")
    return report.get("objects_read_with_other_overrides")


def test_objects_recorded_before_the_overrides_were_count_as_read_otherwise_only_under_an_override(caplog):
    # a state written before Silver recorded each object's overrides (no "era", no "time_basis_override"): a run
    # without an override says nothing of them; one with an override names them, as every such run warned before
    recorded_then = {"mappings": "m", "rules": silver_job.SILVER_RULES_VERSION}
    processed = {"dataset=new_system/ingest_date=2026-11-20/a.csv": recorded_then}

    with caplog.at_level("WARNING", logger=silver_job.log.name):
        assert named_otherwise(processed, {}) is None
        assert named_otherwise(processed, {"new_system@2026-03": "utc"}) == 1
    (message,) = [r.getMessage() for r in caplog.records]
    assert message.startswith(
        "1 of the 1 Bronze objects read earlier were read with other time basis overrides (not recorded) than this "
        "run's (new_system@2026-03=utc)"
    )
    # recorded since: compared with what this run's overrides make of the object's dataset and era
    processed["dataset=new_system/ingest_date=2026-11-20/a.csv"] = {
        **recorded_then, "era": "new_system", "time_basis_override": {"reading_from": {"2026-03": "utc"}}
    }  # fmt: skip
    assert named_otherwise(processed, {"new_system@2026-03": "utc"}) is None
    assert named_otherwise(processed, {"new_system@2026-03": "utc", "legacy30": "wall_clock"}) is None
    assert named_otherwise(processed, {"new_system@2026-04": "utc"}) == 1
    assert named_otherwise(processed, {}) == 1


def test_an_era_named_override_kept_in_place_warns_no_more_once_its_objects_were_read_with_it(
    spark, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    # the overrides recorded for an object are those of its dataset and its era: a legacy29 file read with
    # legacy29=utc and legacy29@2022-02=shifted_back is recorded so, and the next run with them kept warns of nothing
    bronze, silver = tmp_path / "bronze" / "boston311", tmp_path / "silver" / "boston311"
    overrides = {"legacy29": "utc", "legacy29@2022-02": "shifted_back"}
    land_legacy29(bronze, "legacy_2022", "2026-11-20", [legacy29_row("101004000001", "2022-01-10 09:00:00")])
    silver_job.run_silver(spark, str(bronze), str(silver), overrides)
    state = json.loads((silver / "_state" / "processed.json").read_text())["objects"]
    assert [o["time_basis_override"] for o in state.values()] == [
        {"reading": "utc", "reading_from": {"2022-02": "shifted_back"}}
    ]
    land_legacy29(bronze, "legacy_2022", "2026-11-21", [legacy29_row("101004000002", "2022-01-11 09:00:00")])
    with caplog.at_level("WARNING", logger=silver_job.log.name):
        next_day = silver_job.run_silver(spark, str(bronze), str(silver), overrides)
    assert "objects_read_with_other_overrides" not in next_day
    assert "time basis overrides" not in caplog.text


def test_objects_read_with_other_era_named_overrides_or_empty_are_told_apart(caplog):
    # an object's recorded overrides are compared with what this run's make of its dataset and its era; an empty
    # object (era "empty") has no rows for a reading to change, so no override makes it one to read again
    legacy = "dataset=legacy_2015/ingest_date=2026-11-20/a.csv"
    empty = "dataset=new_system/ingest_date=2026-11-20/b.csv"
    recorded = {"mappings": "m", "rules": silver_job.SILVER_RULES_VERSION}
    processed = {
        legacy: {**recorded, "era": "legacy30", "time_basis_override": {"reading": "utc"}},
        empty: {**recorded, "era": "empty", "time_basis_override": {}},
    }

    with caplog.at_level("WARNING", logger=silver_job.log.name):
        assert named_otherwise(processed, {"legacy30": "utc"}) is None
        assert (
            named_otherwise(
                processed, {"legacy30": "utc", "new_system": "utc", "new_system@2026-03": "wall_clock"}
            )
            is None
        )
        assert named_otherwise(processed, {"legacy30": "wall_clock"}) == 1
        assert named_otherwise(processed, {}) == 1
    # the overrides each was read with, named by its dataset as --time_basis_override takes them
    assert "overrides (legacy_2015=utc) than this run's (none)" in caplog.records[-1].getMessage()
    assert silver_job.overrides_said({"era": "new_system", "time_basis_override": {}}, "new_system") == "none"
    both = {
        "era": "new_system",
        "time_basis_override": {"reading": "utc", "reading_from": {"2026-03": "wall_clock"}},
    }
    assert silver_job.overrides_said(both, "new_system") == "new_system=utc,new_system@2026-03=wall_clock"


def test_a_silver_table_written_before_a_column_was_added_takes_new_rows(
    spark, first_read_unannounced: Path, tmp_path: Path
):
    # a lake upgraded from a Silver without neighborhood_raw: the months a run rewrites keep their existing rows,
    # read by name (the column null in them), instead of stopping on a column the old files lack
    bronze, silver = copy_of(first_read_unannounced, tmp_path)
    table, older = silver / "service_requests", tmp_path / "older"
    spark.read.parquet(str(table)).drop("neighborhood_raw").write.partitionBy(
        *silver_job.PARTITION_COLUMNS
    ).parquet(str(older))
    shutil.rmtree(table)
    shutil.move(str(older), str(table))

    land_legacy29(bronze, "legacy_2022", "2026-11-25", [legacy29_row("101004000002", "2022-01-20 09:00:00")])
    report = silver_job.run_silver(spark, str(bronze), str(silver))

    assert report["totals"]["rows_written"] == 1
    rows = silver_rows(spark, silver)
    assert sorted(rows) == ["101004000001", "101004000002"]
    assert rows["101004000001"]["neighborhood_raw"] is None  # the older row, as it was
    assert rows["101004000002"]["neighborhood_raw"] == "Boston"


def test_an_object_announced_again_by_a_later_manifest_is_read_again(
    spark, second_read: Path, tmp_path: Path
):
    # The portal reverted to this morning's bytes: Bronze does not copy them again but announces the object it
    # already holds as landed, with a later ingested_at. Its rows are the newest; reading the whole of Bronze again
    # (the re-map procedure) gives them, so the incremental run must too.
    bronze, silver = copy_of(second_read, tmp_path)  # this morning's object: case 1, open
    noon = SECOND.replace(".csv", ".20261125T120000Z.csv")
    closed = [legacy29_row("101004000001", "2022-01-10 09:00:00", "2022-01-11 09:00:00")]
    land_legacy29(bronze, "legacy_2022", "2026-11-25", closed, name=noon.rsplit("/", 1)[-1])
    write_manifest(bronze, "20261125T120000Z", {noon: "2026-11-25T12:00:00Z"})
    silver_job.run_silver(spark, str(bronze), str(silver))
    assert silver_rows(spark, silver)["101004000001"]["is_closed"] is True

    write_manifest(bronze, "20261125T180000Z", {SECOND: "2026-11-25T18:00:00Z"})  # announced, not copied
    report = silver_job.run_silver(spark, str(bronze), str(silver))
    assert [f["source_file"] for f in report["files"]] == [SECOND]
    row = silver_rows(spark, silver)["101004000001"]
    assert (row["is_closed"], row["source_file"]) == (False, SECOND)
    assert silver_job.run_silver(spark, str(bronze), str(silver))["status"] == "nothing_new"


def test_a_state_written_before_ingest_times_were_recorded_reads_nothing_again(
    spark, second_read: Path, tmp_path: Path
):
    # An upgraded lake's state has size, modified and run_id only: the objects it names are not read again.
    bronze, silver = copy_of(second_read, tmp_path)
    write_state_without(silver, "ingested_at")
    assert silver_job.run_silver(spark, str(bronze), str(silver))["status"] == "nothing_new"


def test_an_old_month_left_by_a_version_without_publishing_json_is_not_put_back_over_its_swap(
    spark, tmp_path: Path
):
    # Before publishing.json (2026-11-26), a month's old copy stayed in _staging/<run>/retired/ until the whole
    # staging folder was deleted at the end of the run, so a run that stopped after its swaps (a kill, a later
    # month's failed move) left old copies of months already swapped, and no record saying so.
    bronze, silver = tmp_path / "bronze" / "boston311", tmp_path / "silver" / "boston311"
    first = [
        legacy29_row("101004000002", "2022-02-10 09:00:00"),
        legacy29_row("101004000003", "2022-02-11 09:00:00"),
    ]
    land_legacy29(bronze, "legacy_2022", "2026-11-20", first)
    silver_job.run_silver(spark, str(bronze), str(silver))
    february = silver / "service_requests" / "open_year=2022" / "open_month=2"
    old_copy = tmp_path / "old_february"
    shutil.copytree(february, old_copy)
    land_legacy29(
        bronze,
        "legacy_2022",
        "2026-11-22",
        [legacy29_row("101004000003", "2022-02-11 09:00:00", "2022-02-12 09:00:00")],
    )
    silver_job.run_silver(spark, str(bronze), str(silver))
    left = silver / "_staging" / "20261122T060000000000Z"
    shutil.copytree(old_copy, left / "retired" / "open_year=2022" / "open_month=2")
    shutil.copytree(old_copy, left / "retired" / "open_year=2022" / "open_month=3")  # a month it left empty

    assert silver_job.run_silver(spark, str(bronze), str(silver))["status"] == "nothing_new"
    rows = utc_rows(spark.read.parquet(str(silver / "service_requests")))
    assert sorted((r["case_id"], r["is_closed"]) for r in rows) == [
        ("101004000002", False),
        ("101004000003", True),
    ]
    assert not left.exists()


def test_a_month_a_version_without_publishing_json_had_not_moved_in_yet_is_put_back(spark, tmp_path: Path):
    # Its staged month still under _staging/<run>/service_requests/: the run stopped between the two moves.
    bronze, silver = tmp_path / "bronze" / "boston311", tmp_path / "silver" / "boston311"
    land_legacy29(bronze, "legacy_2022", "2026-11-20", [legacy29_row("101004000002", "2022-02-10 09:00:00")])
    silver_job.run_silver(spark, str(bronze), str(silver))
    february = silver / "service_requests" / "open_year=2022" / "open_month=2"
    left = silver / "_staging" / "20261122T060000000000Z"
    shutil.copytree(february, left / "service_requests" / "open_year=2022" / "open_month=2")
    (left / "retired" / "open_year=2022").mkdir(parents=True)
    february.rename(left / "retired" / "open_year=2022" / "open_month=2")

    assert silver_job.run_silver(spark, str(bronze), str(silver))["status"] == "nothing_new"
    assert sorted(silver_rows(spark, silver)) == ["101004000002"]


def run_warned(
    spark, bronze: Path, silver: Path, caplog: pytest.LogCaptureFixture, **options: str
) -> tuple[dict, str]:
    """One Silver run: its report and the warnings it logged."""
    caplog.clear()
    with caplog.at_level("WARNING", logger=silver_job.log.name):
        report = silver_job.run_silver(spark, str(bronze), str(silver), **options)
    return report, caplog.text


def test_objects_read_with_other_mapping_files_are_named_until_read_again(
    spark, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    """A mapping row changed after a file was read reaches only the files read after it: every later run says so
    (not only the first), and a note edited in a mapping file, which maps nothing, does not count."""
    bronze, silver = tmp_path / "bronze" / "boston311", tmp_path / "silver" / "boston311"
    mappings = tmp_path / "mappings"
    shutil.copytree(silver_job.load_mappings(None)["folder"], mappings)
    land_legacy29(bronze, "legacy_2022", "2026-11-20", [legacy29_row("101004000001", "2022-01-10 09:00:00")])
    write_manifest(bronze, "20261120T060000Z", {FIRST: "2026-11-20T06:00:00Z"})
    first = silver_job.run_silver(spark, str(bronze), str(silver), mappings_path=str(mappings))
    assert "objects_mapped_otherwise" not in first

    statuses = mappings / "statuses.csv"
    statuses.write_text(
        statuses.read_text().replace("Closed,true,legacy and NEW SYSTEM", "Closed,true,edited note")
    )
    report, text = run_warned(spark, bronze, silver, caplog, mappings_path=str(mappings))
    assert "objects_mapped_otherwise" not in report and "mapped with other mapping files" not in text

    statuses.write_text(statuses.read_text() + "Parked,false,a new status\n")
    for _ in range(2):  # the second run too: the state still says how the object was mapped
        report, text = run_warned(spark, bronze, silver, caplog, mappings_path=str(mappings))
        assert report["status"] == "nothing_new"
        assert report["objects_mapped_otherwise"] == 1
        assert "1 of the 1 Bronze objects read earlier were mapped with other mapping files" in text
        assert f"delete {silver}/_state/processed.json" in text

    # as the warning says: without the state file the object is read again, with the files as they are now
    (silver / "_state" / "processed.json").unlink()
    silver_job.run_silver(spark, str(bronze), str(silver), mappings_path=str(mappings))
    report, text = run_warned(spark, bronze, silver, caplog, mappings_path=str(mappings))
    assert "objects_mapped_otherwise" not in report and "mapped with other mapping files" not in text


def test_objects_read_with_other_silver_rules_are_named_until_read_again(
    spark, first_read: tuple[Path, dict], tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch
):
    """A rule changed in the job's code, with SILVER_RULES_VERSION bumped, reaches only the objects read after it:
    every later run names the objects read before, until they are read again (as for the mapping files)."""
    bronze, silver = copy_of(first_read[0], tmp_path)
    first = first_read[1]  # the run that read case 1, with the rules as they are
    assert first["silver_rules_version"] == silver_job.SILVER_RULES_VERSION
    assert "objects_read_with_other_rules" not in first

    # the rule: Boston's box no longer holds the case's point (42.3634, -71.0566); the version says so
    monkeypatch.setattr(silver_job, "BOSTON_BOX", {"lat": (42.20, 42.30), "lon": (-71.20, -70.90)})
    monkeypatch.setattr(silver_job, "SILVER_RULES_VERSION", silver_job.SILVER_RULES_VERSION + 1)
    land_legacy29(bronze, "legacy_2022", "2026-11-25", [legacy29_row("101004000002", "2022-01-11 09:00:00")])
    write_manifest(bronze, "20261125T060000Z", {SECOND: "2026-11-25T06:00:00Z"})
    report, text = run_warned(spark, bronze, silver, caplog)
    assert report["status"] == "ok" and report["objects_read_with_other_rules"] == 1
    assert "1 of the 1 Bronze objects read earlier were read with other Silver rules" in text
    assert "objects_mapped_otherwise" not in report  # the mapping files are the same
    quality = {case: row["location_quality"] for case, row in silver_rows(spark, silver).items()}
    # the row read before keeps what the old rule gave
    assert quality == {"101004000001": "ok", "101004000002": "outside_boston"}

    # a run that reads nothing says it again; the object read with the new rules is not named
    report, text = run_warned(spark, bronze, silver, caplog)
    assert report["status"] == "nothing_new" and report["objects_read_with_other_rules"] == 1
    assert "1 of the 2 Bronze objects read earlier were read with other Silver rules" in text
    assert f"delete {silver}/_state/processed.json" in text

    # as the warning says: without the state file every object is read again, with the rules as they are now
    (silver / "_state" / "processed.json").unlink()
    silver_job.run_silver(spark, str(bronze), str(silver))
    report, text = run_warned(spark, bronze, silver, caplog)
    assert "objects_read_with_other_rules" not in report and "other Silver rules" not in text
    quality = {case: row["location_quality"] for case, row in silver_rows(spark, silver).items()}
    assert quality == {"101004000001": "outside_boston", "101004000002": "outside_boston"}


@pytest.mark.parametrize(
    ("field", "counted"),
    [("mappings", "objects_mapped_otherwise"), ("rules", "objects_read_with_other_rules")],
)
def test_a_state_written_before_silver_recorded_how_it_read_names_every_object(
    spark,
    first_read: tuple[Path, dict],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    field: str,
    counted: str,
):
    """A state from a version that did not record the mappings' digest, or the rules' version, cannot vouch for the
    objects it lists: they count as read otherwise."""
    bronze, silver = copy_of(first_read[0], tmp_path)
    write_state_without(silver, field)

    report, text = run_warned(spark, bronze, silver, caplog)

    assert report["status"] == "nothing_new" and report[counted] == 1
    assert {"objects_mapped_otherwise", "objects_read_with_other_rules"} & report.keys() == {counted}
    assert "or before Silver recorded which" in text


def test_a_lake_from_before_the_rules_version_is_rebuilt_as_its_warning_says(
    spark, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    """A Silver from before the rules version (2026-11-26) may have quarantined a bad record in a form the
    quarantine-once rule does not know (its raw record said neighborhood, now neighborhood_raw): the re-read that
    every other warning offers would quarantine it again, so the warning says to rebuild, which gives what this
    version builds."""
    bronze, silver = tmp_path / "bronze" / "boston311", tmp_path / "silver" / "boston311"
    good = legacy29_row("101004000001", "2022-01-10 09:00:00")
    closed_before_opened = legacy29_row("101004000002", "2022-01-12 09:00:00", "2022-01-11 09:00:00")
    land_legacy29(bronze, "legacy_2022", "2026-11-20", [good, closed_before_opened])
    write_manifest(bronze, "20261120T060000Z", {FIRST: "2026-11-20T06:00:00Z"})
    silver_job.run_silver(spark, str(bronze), str(silver))
    built_now = silver_rows(spark, silver)

    def quarantined(silver: Path) -> list[tuple[str, str, str]]:
        rows = spark.read.parquet(str(silver / "quarantine")).collect()
        return sorted((r["case_id"], r["reject_reason"], r["raw_record"]) for r in rows)

    quarantined_now = quarantined(silver)
    assert [(case, reason) for case, reason, _ in quarantined_now] == [
        ("101004000002", "closed_before_opened")
    ]

    # the lake as a version of 2026-11-26 before 17:13 left it: no rules version, the raw record's older key
    write_state_without(silver, "rules")
    (run_folder,) = (silver / "quarantine").glob("run_id=*")
    older_form = spark.read.parquet(str(run_folder)).withColumn(
        "raw_record", F.replace("raw_record", F.lit('"neighborhood_raw":'), F.lit('"neighborhood":'))
    )
    older_form.write.parquet(str(tmp_path / "older_form"))
    shutil.rmtree(run_folder)
    shutil.move(tmp_path / "older_form", run_folder)

    report, text = run_warned(spark, bronze, silver, caplog)
    assert report["status"] == "nothing_new" and report["objects_read_with_other_rules"] == 1
    assert (
        "rebuild Silver once, as a re-read could quarantine again the bad records an older Silver wrote"
        in text
    )
    assert f"mv {silver} {silver}-before-upgrade (on Glue with the job bookmark" in text
    assert "processed.json" not in text  # the re-read is not offered

    # why not the re-read: the record the older version quarantined is quarantined a second time
    re_read = tmp_path / "re_read" / "boston311"
    shutil.copytree(silver, re_read)
    (re_read / "_state" / "processed.json").unlink()
    silver_job.run_silver(spark, str(bronze), str(re_read))
    assert len(quarantined(re_read)) == 2

    # as the warning says: moved aside, Silver is built again as this version builds it, and says nothing more
    shutil.move(silver, f"{silver}-before-upgrade")
    silver_job.run_silver(spark, str(bronze), str(silver))
    assert silver_rows(spark, silver) == built_now
    assert quarantined(silver) == quarantined_now
    report, text = run_warned(spark, bronze, silver, caplog)
    assert "objects_read_with_other_rules" not in report and "other Silver rules" not in text
