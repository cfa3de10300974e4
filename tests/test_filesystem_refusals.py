"""Silver and Gold on a Hadoop file system that refuses: a rename or delete that returns false instead of raising
(as S3A does, and any Hadoop file system for a target that exists), an S3 folder move that copies and then stops,
an existence check that raises. The real local file system is wrapped (``RefusingFileSystem``) where each job gets
it (``LakeFiles._fs``, ``gold_job.filesystem``), as tests/crash_at.py wraps it to count writes.

Each test checks the one sentence (or warning) the job promises, that nothing is lost or half-published, and that a
rerun on a healthy file system ends where a clean run ends (tests/crash_helpers.py's views of Silver and Gold).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from py4j.java_gateway import JavaObject
from py4j.protocol import Py4JJavaError

import gold_job
import silver_job
from crash_helpers import (
    GOLD,
    SILVER,
    gold_view,
    land_day_1,
    land_day_2,
    silver_view,
    stage_arguments,
    table_digest,
)

pytestmark = pytest.mark.spark

# What a refusal callback returns to let the real file system answer.
PASS = None


class RefusingFileSystem:
    """A Hadoop FileSystem whose calls ``refuse(method, paths)`` picks answer otherwise: it returns what the call
    gives instead (False: Hadoop's refusal without raising), or raises; ``PASS`` lets the real one answer. Every
    other call goes to the real FileSystem."""

    def __init__(self, fs: Any, refuse: Callable[[str, list[str]], Any]) -> None:
        self._fs, self._refuse = fs, refuse

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._fs, name)

        def call(*args: Any) -> Any:
            paths = [arg.toString() for arg in args if isinstance(arg, JavaObject)]
            answer = self._refuse(name, paths)
            return real(*args) if answer is PASS else answer

        return call


def refuse_in(
    monkeypatch: pytest.MonkeyPatch, refuse: Callable[[str, list[str]], Any], replacing: bool = False
) -> None:
    """Give Silver's LakeFiles and Gold's filesystem() the refusing file system: over the local one as the jobs get
    it (Hive's ProxyLocalFileSystem, which refuses to rename onto a file), or over Hadoop's raw local file system,
    which renames over a file in one step (``replacing``)."""
    lake_files_fs, gold_filesystem = silver_job.LakeFiles._fs, gold_job.filesystem

    def underneath(fs: Any) -> Any:
        return fs.getRawFileSystem() if replacing else fs

    def refusing_lake_files_fs(self: Any, path: str) -> tuple[RefusingFileSystem, Any]:
        fs, hadoop_path = lake_files_fs(self, path)
        return RefusingFileSystem(underneath(fs), refuse), hadoop_path

    def refusing_gold_filesystem(spark: Any, uri: str) -> RefusingFileSystem:
        return RefusingFileSystem(underneath(gold_filesystem(spark, uri)), refuse)

    monkeypatch.setattr(silver_job.LakeFiles, "_fs", refusing_lake_files_fs)
    monkeypatch.setattr(gold_job, "filesystem", refusing_gold_filesystem)


def java_error(spark: Any, text: str) -> Py4JJavaError:
    """The Py4JJavaError a Java IOException with this text gives in Python."""
    return Py4JJavaError(
        "An error occurred while calling a FileSystem method.\n", spark._jvm.java.io.IOException(text)
    )


def copy_lake(prepared: Path, tmp_path: Path) -> Path:
    """A copy of a prepared lake, for one test to change."""
    lake = tmp_path / "lake"
    shutil.copytree(prepared, lake, symlinks=True)
    return lake


def state_objects(lake: Path) -> dict:
    """Silver's state file, read."""
    return json.loads((lake / SILVER / "_state" / "processed.json").read_text())["objects"]


def month_files(lake: Path, month: str) -> dict[str, bytes]:
    """A Silver month's Parquet files and their bytes (``open_year=2022/open_month=1``)."""
    folder = lake / SILVER / "service_requests" / month
    return {path.name: path.read_bytes() for path in sorted(folder.glob("*.parquet"))}


def month_rows(lake: Path, month: str) -> tuple[int, str]:
    """A Silver month's row count and digest."""
    return table_digest(f"{lake / SILVER}/service_requests/{month}/*.parquet", hive=False)


# ---------------------------------------------------------------------------------------------- Silver
JANUARY = "open_year=2022/open_month=1"  # day 1's month, which day 2's run swaps


@pytest.fixture(scope="module")
def silver_lake(spark, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Day 1 read into Silver, day 2 landed in Bronze and not read yet (tests/crash_helpers.py's scenario)."""
    lake = tmp_path_factory.mktemp("refusals_silver") / "lake"
    land_day_1(lake)
    silver_job.run_silver(spark, str(lake / "bronze" / "boston311"), str(lake / SILVER))
    land_day_2(lake)
    return lake


@pytest.fixture(scope="module")
def silver_after_day_2(spark, silver_lake: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The lake after a clean Silver run over day 2."""
    lake = copy_lake(silver_lake, tmp_path_factory.mktemp("refusals_silver_clean"))
    silver_job.run_silver(spark, str(lake / "bronze" / "boston311"), str(lake / SILVER))
    return lake


@pytest.fixture(scope="module")
def silver_clean(silver_after_day_2: Path) -> dict:
    """Silver as a clean run over day 2 leaves it."""
    return silver_view(silver_after_day_2)


def refuse_rename_onto(monkeypatch, file: Path, writing_file: str) -> str:
    """Refuse every rename of the folder's hidden writing file onto ``file`` (each try of ``rename_over``); the
    writing file's path."""
    written = f"{file.parent}/{writing_file}"
    refuse_in(
        monkeypatch, lambda name, paths: False if name == "rename" and paths == [written, str(file)] else PASS
    )
    return written


def run_silver_main(lake: Path) -> int:
    """Silver's command line over a lake."""
    return silver_job.main(["silver_job.py", *stage_arguments("silver", lake)])


def test_a_silver_state_whose_rename_is_refused_is_one_sentence_and_kept_for_the_next_run(
    spark, silver_lake, silver_clean, tmp_path, monkeypatch, capsys
):
    # the last write but the manifest index's, after the months and the reports: the state is moved aside, the new
    # one's rename is refused again, and the state is put back whole, so the next run reads again only what this
    # one read (day 2's object), not every Bronze object
    lake = copy_lake(silver_lake, tmp_path)
    state = lake / SILVER / "_state" / "processed.json"
    before = state.read_bytes()
    written = refuse_rename_onto(monkeypatch, state, silver_job.WRITING_FILE)

    assert run_silver_main(lake) == 1

    assert capsys.readouterr().err.strip().splitlines() == [
        f"silver_job: Could not move {written} to {state}."
    ]
    assert state.read_bytes() == before
    view = silver_view(lake)
    assert view["service_requests"] == silver_clean["service_requests"]  # published whole
    assert f"_state/.processed.json{silver_job.PREVIOUS_ENDING}" not in view["left_behind"]
    monkeypatch.undo()
    assert run_silver_main(lake) == 0
    report = json.loads((lake / SILVER / "_quality" / "latest.json").read_text())
    assert [entry["source_file"] for entry in report["files"]] == [
        "dataset=legacy_2022/ingest_date=2026-11-25/311_service_requests_2022.csv"
    ]
    assert silver_view(lake) == silver_clean


def aside_of(file: Path) -> Path:
    """Where ``rename_over`` moves a file aside while it replaces it."""
    return file.with_name(f".{file.name}{silver_job.PREVIOUS_ENDING}")


def move_aside(state: Path, copy: bool = False) -> Path:
    """Leave the state file as ``rename_over`` moves it aside (its Hadoop checksum too), or a copy of it beside it."""
    aside = aside_of(state)
    place = shutil.copy if copy else shutil.move
    place(state, aside)
    place(state.with_name(f".{state.name}.crc"), aside.with_name(f".{aside.name}.crc"))
    return aside


def test_a_state_a_killed_run_left_aside_is_put_back_by_the_next_run(
    spark, silver_lake, silver_clean, tmp_path
):
    # killed between rename_over's two renames: the state is only the copy aside, which the next run puts back, so
    # it reads day 2's object and not day 1's again
    lake = copy_lake(silver_lake, tmp_path)
    move_aside(lake / SILVER / "_state" / "processed.json")

    assert run_silver_main(lake) == 0

    report = json.loads((lake / SILVER / "_quality" / "latest.json").read_text())
    assert [entry["source_file"] for entry in report["files"]] == [
        "dataset=legacy_2022/ingest_date=2026-11-25/311_service_requests_2022.csv"
    ]
    assert silver_view(lake) == silver_clean


def test_a_copy_a_killed_run_left_beside_the_state_goes_with_a_run_that_reads_nothing(
    spark, silver_after_day_2, silver_clean, tmp_path
):
    # killed after rename_over's second rename: the new state is in place, its stale copy beside it; a run with
    # nothing new writes no state, so the run deletes the copy before reading the state
    lake = copy_lake(silver_after_day_2, tmp_path)
    aside = move_aside(lake / SILVER / "_state" / "processed.json", copy=True)

    assert run_silver_main(lake) == 0

    assert not aside.exists()
    assert silver_view(lake) == silver_clean


def replace_text(job: str, spark: Any, path: Path, text: str) -> None:
    """Write (replace) a small text file through a job's own ``write_text``."""
    if job == "silver":
        silver_job.LakeFiles(spark).write_text(str(path), text)
    else:
        gold_job.write_text(spark, str(path), text)


@pytest.mark.parametrize("job", ["silver", "gold"])
@pytest.mark.parametrize("replacing", [True, False], ids=["renames-over-a-file", "refuses-to"])
def test_a_small_file_being_replaced_is_never_missing(spark, job, replacing, tmp_path, monkeypatch):
    # what a run killed at any call of the replace would leave: the file itself on a file system that renames over
    # a file; on one that refuses to (the local disk as the jobs get it, HDFS), the file or, for a moment, its copy
    # moved aside
    target = tmp_path / "latest.json"
    previous = aside_of(target)
    replace_text(job, spark, target, "old")
    seen: list[tuple[bool, bool]] = []  # before each call: (the file is there, its copy aside is)

    def watch(name: str, paths: list[str]) -> Any:
        seen.append((target.exists(), previous.exists()))
        return PASS

    refuse_in(monkeypatch, watch, replacing)

    replace_text(job, spark, target, "new")

    assert target.read_text() == "new"
    assert not previous.exists() and not (tmp_path / silver_job.WRITING_FILE).exists()
    assert all(file or aside for file, aside in seen)
    assert all(file for file, _ in seen) == replacing


@pytest.mark.parametrize("job", ["silver", "gold"])
@pytest.mark.parametrize("died", ["after-the-rename", "between-the-renames"])
def test_a_copy_a_killed_run_left_aside_goes_with_the_next_write(spark, job, died, tmp_path):
    target = tmp_path / "latest.json"
    previous = aside_of(target)
    if died == "after-the-rename":
        replace_text(job, spark, target, "old")
    replace_text(job, spark, previous, "older")  # after the file: a write of the file deletes it

    replace_text(job, spark, target, "new")

    assert target.read_text() == "new"
    assert not previous.exists()


def test_a_refused_move_into_the_table_puts_the_month_back(
    spark, silver_lake, silver_clean, tmp_path, monkeypatch, capsys
):
    lake = copy_lake(silver_lake, tmp_path)
    january, state_before = month_files(lake, JANUARY), state_objects(lake)
    live = f"{lake / SILVER}/service_requests/{JANUARY}"

    def refuse(name: str, paths: list[str]) -> Any:
        return False if name == "rename" and paths[1] == live and "/_staging/" in paths[0] else PASS

    refuse_in(monkeypatch, refuse)
    assert run_silver_main(lake) == 1

    [staging] = (lake / SILVER / "_staging").iterdir()
    refusal = f"Could not move {staging}/service_requests/{JANUARY} to {live}."[:300]  # one_line's limit
    assert capsys.readouterr().err.strip().splitlines() == [
        f"silver_job: Publishing stopped at {JANUARY} ({refusal}): earlier months are published, this one is back "
        f"as it was and later ones are unchanged; the next run redoes them ({staging} is kept)."
    ]
    assert month_files(lake, JANUARY) == january
    assert state_objects(lake) == state_before
    monkeypatch.undo()
    assert run_silver_main(lake) == 0
    assert silver_view(lake) == silver_clean


def test_a_move_aside_that_copies_then_stops_is_put_back_without_a_second_copy(
    spark, silver_lake, silver_clean, tmp_path, monkeypatch, capsys
):
    # On S3 a folder move copies each object, then deletes the source: one that stops after the copies leaves every
    # file in both places; the put-back finds each already there and deletes the retired copy.
    lake = copy_lake(silver_lake, tmp_path)
    january = month_files(lake, JANUARY)
    live = f"{lake / SILVER}/service_requests/{JANUARY}"

    def refuse(name: str, paths: list[str]) -> Any:
        if name == "rename" and paths[0] == live:
            shutil.copytree(live, paths[1])
            return False
        return PASS

    refuse_in(monkeypatch, refuse)
    assert run_silver_main(lake) == 1

    [staging] = (lake / SILVER / "_staging").iterdir()
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"silver_job: Publishing stopped at {JANUARY} (Could not move {live} to ")
    assert err.endswith(": earlier months are published, this one is back as it was and later ones are unchanged; "
                        f"the next run redoes them ({staging} is kept).")  # fmt: skip
    assert month_files(lake, JANUARY) == january  # each file once
    assert not (staging / "retired" / JANUARY).exists()
    monkeypatch.undo()
    assert run_silver_main(lake) == 0
    assert silver_view(lake) == silver_clean


def test_an_old_copy_that_cannot_be_deleted_after_its_swap_is_deleted_by_the_next_run(
    spark, silver_lake, silver_after_day_2, silver_clean, tmp_path, monkeypatch, capsys, caplog
):
    # January is swapped in; deleting its old copy raises (an S3 outage, as py4j gives it): the old copy alone is
    # left in the staging folder, which the next run deletes (not put back over the new month) before its redo
    lake = copy_lake(silver_lake, tmp_path)

    def refuse(name: str, paths: list[str]) -> Any:
        if name == "delete" and paths[0].endswith(f"/retired/{JANUARY}"):
            raise java_error(spark, "simulated S3 outage")
        return PASS

    refuse_in(monkeypatch, refuse)
    assert run_silver_main(lake) == 1

    [staging] = (lake / SILVER / "_staging").iterdir()
    assert capsys.readouterr().err.strip().splitlines() == [
        f"silver_job: Publishing stopped at {JANUARY} (java.io.IOException: simulated S3 outage) after swapping it "
        "in: it and earlier months are published, later ones are unchanged; the next run deletes the old copy left "
        f"in {staging}/retired/{JANUARY} and redoes them."
    ]
    assert month_rows(lake, JANUARY) == month_rows(silver_after_day_2, JANUARY)  # the new January, once
    monkeypatch.undo()
    with caplog.at_level("WARNING", logger=silver_job.log.name):
        assert run_silver_main(lake) == 0
    assert (
        f"run {staging.name} stopped while publishing {JANUARY} (published); put back in order" in caplog.text
    )
    assert silver_view(lake) == silver_clean


def test_an_interrupted_publish_whose_put_back_is_refused_is_one_sentence_and_keeps_the_old_month(
    spark, silver_lake, silver_clean, tmp_path, monkeypatch, capsys, caplog
):
    # A run killed between its two moves left the old January alone in its retired folder and none live.
    lake = copy_lake(silver_lake, tmp_path)
    january, state_before = month_files(lake, JANUARY), state_objects(lake)
    staging = lake / SILVER / "_staging" / "20261125T060000000000Z"
    retired = staging / "retired" / JANUARY
    retired.parent.mkdir(parents=True)
    shutil.move(lake / SILVER / "service_requests" / JANUARY, retired)
    (staging / "publishing.json").write_text(json.dumps({"partition": JANUARY, "step": "moving_in"}))
    refuse_in(
        monkeypatch, lambda name, paths: False if name == "rename" and "/retired/" in paths[0] else PASS
    )

    assert run_silver_main(lake) == 1

    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(
        f"silver_job: An interrupted publish (run {staging.name}) left the previous rows of {JANUARY} in {retired} "
        f"and putting them back failed (Could not move file:{retired}/"
    )
    assert err[0].endswith(f"); fix the cause and run again (do not delete {staging}).")
    assert {path.name for path in retired.glob("*.parquet")} == set(january)  # the only copy, kept
    assert state_objects(lake) == state_before
    monkeypatch.undo()
    with caplog.at_level("WARNING", logger=silver_job.log.name):
        assert run_silver_main(lake) == 0
    assert (
        f"run {staging.name} stopped while publishing {JANUARY} (putting_back); put back in order"
        in caplog.text
    )
    assert silver_view(lake) == silver_clean


# ---------------------------------------------------------------------------------------------- Gold
@pytest.fixture(scope="module")
def gold_lake_before(
    spark, silver_lake: Path, silver_after_day_2: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """Gold published over day 1's Silver, then Silver as of day 2: the next Gold run replaces every table."""
    lake = copy_lake(silver_lake, tmp_path_factory.mktemp("refusals_gold"))
    gold_job.run_gold(spark, str(lake / SILVER), str(lake / GOLD))
    shutil.rmtree(lake / SILVER)
    shutil.copytree(silver_after_day_2 / SILVER, lake / SILVER)
    return lake


@pytest.fixture(scope="module")
def gold_clean(spark, gold_lake_before: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Gold as a clean run over day 2's Silver leaves it."""
    lake = copy_lake(gold_lake_before, tmp_path_factory.mktemp("refusals_gold_clean"))
    gold_job.run_gold(spark, str(lake / SILVER), str(lake / GOLD))
    return gold_view(lake)


def run_gold_main(lake: Path) -> int:
    """Gold's command line over a lake."""
    return gold_job.main(stage_arguments("gold", lake))


def without(view: dict, *keys: str) -> dict:
    """A view of a stage without some of its keys."""
    return {name: value for name, value in view.items() if name not in keys}


def gold_table_files(lake: Path, table: str) -> dict[str, bytes]:
    """A Gold table's files and their bytes."""
    folder = lake / GOLD / table
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_a_refused_move_into_gold_puts_the_table_back(
    spark, gold_lake_before, gold_clean, tmp_path, monkeypatch, capsys
):
    lake = copy_lake(gold_lake_before, tmp_path)
    before = {table: gold_table_files(lake, table) for table in gold_job.GOLD_TABLES}
    live = f"{lake / GOLD}/resolution_times"

    def refuse(name: str, paths: list[str]) -> Any:  # the staged table's move only, not the put-back's
        staged = "/_staging/" in paths[0] and "/_replaced/" not in paths[0]
        return False if name == "rename" and paths[1] == live and staged else PASS

    refuse_in(monkeypatch, refuse)
    assert run_gold_main(lake) == 1

    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("Publishing Gold stopped at resolution_times (could not move ")
    assert err[0].endswith(
        f"/resolution_times to {live}): monthly_requests is already new, resolution_times and the tables after it "
        "are unchanged; rerun Gold to rebuild every table."
    )
    for table in gold_job.GOLD_TABLES[1:]:
        assert gold_table_files(lake, table) == before[table], table
    assert not (lake / GOLD / "_staging").exists()
    monkeypatch.undo()
    assert run_gold_main(lake) == 0
    assert gold_view(lake) == gold_clean


def test_a_gold_publish_whose_existence_check_fails_keeps_the_old_table(
    spark, gold_lake_before, gold_clean, tmp_path, monkeypatch, capsys, caplog
):
    # the move in is refused, and asking whether the old table is still aside raises: the put-back and the sentence
    # cannot tell, so the staging folder is kept with whatever is there
    lake = copy_lake(gold_lake_before, tmp_path)
    before = gold_table_files(lake, "resolution_times")
    live = f"{lake / GOLD}/resolution_times"

    def refuse(name: str, paths: list[str]) -> Any:
        if (
            name == "rename"
            and paths[1] == live
            and "/_staging/" in paths[0]
            and "/_replaced/" not in paths[0]
        ):
            return False
        if name == "exists" and paths[0].endswith("/_replaced/resolution_times"):
            raise java_error(spark, "simulated S3 outage")
        return PASS

    refuse_in(monkeypatch, refuse)
    assert run_gold_main(lake) == 1

    [replaced] = (lake / GOLD / "_staging").glob("*/_replaced/resolution_times")
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].endswith(
        f"the previous resolution_times could not be put back: what is left of it is kept in {replaced}; rerun Gold "
        "to rebuild every table from Silver."
    )
    assert "Gold: could not put the previous " in caplog.text and "simulated S3 outage" in caplog.text
    assert {
        str(path.relative_to(replaced)): path.read_bytes() for path in replaced.rglob("*") if path.is_file()
    } == before
    monkeypatch.undo()
    assert run_gold_main(lake) == 0
    assert gold_view(lake) == gold_clean


def test_a_table_left_aside_that_cannot_be_put_back_nor_its_folder_deleted_is_logged(
    spark, gold_lake_before, gold_clean, tmp_path, monkeypatch, caplog
):
    # A run killed between its two moves left geo_grid aside in its marked staging folder and none live; the put-back
    # and the folder's delete both return false: each is a warning, and the run publishes every table.
    lake = copy_lake(gold_lake_before, tmp_path)
    dead = lake / GOLD / "_staging" / "20261125T060000Z-0dead0ff"
    (dead / "_replaced").mkdir(parents=True)
    (dead / gold_job.KEPT_NOTE).write_text(
        "Gold run 20261125T060000Z began swapping its tables in from here.\n"
    )
    shutil.move(lake / GOLD / "geo_grid", dead / "_replaced" / "geo_grid")

    def refuse(name: str, paths: list[str]) -> Any:
        refused = (name == "rename" and paths[0].startswith(f"file:{dead}")) or (
            name == "delete" and paths[0] == f"file:{dead}"
        )
        return False if refused else PASS

    refuse_in(monkeypatch, refuse)
    with caplog.at_level("INFO", logger=gold_job.log.name):
        assert run_gold_main(lake) == 0

    assert (
        f"Gold: could not put geo_grid back from file:{dead}/_replaced/geo_grid (could not move file:{dead}/_replaced/"
        f"geo_grid to {lake / GOLD}/geo_grid); this run's publish replaces it" in caplog.text
    )
    assert (
        f"Gold: could not delete file:{dead}, kept by an earlier run (the file system refused); the next run tries "
        "again" in caplog.text
    )
    assert (dead / "_replaced" / "geo_grid").exists()  # left for the next run
    view = gold_view(lake)
    assert view["left_behind"]  # the dead run's folder
    assert without(view, "left_behind") == without(gold_clean, "left_behind")  # every table new, whole
    monkeypatch.undo()
    assert run_gold_main(lake) == 0
    assert gold_view(lake) == gold_clean


def test_a_gold_run_record_whose_rename_is_refused_is_one_sentence(
    spark, gold_lake_before, gold_clean, tmp_path, monkeypatch, capsys
):
    lake = copy_lake(gold_lake_before, tmp_path)
    latest = lake / GOLD / gold_job.RUNS_FOLDER / "latest.json"
    before = latest.read_bytes()
    written = refuse_rename_onto(monkeypatch, latest, gold_job.WRITING_FILE)

    # after the publish: the tables are new, the run record is not written (a traceback before 2026-11-27)
    assert run_gold_main(lake) == 1

    assert capsys.readouterr().err.strip().splitlines() == [
        f"Gold published every table but could not write its run record (could not move {written} to {latest}): "
        f"{latest} is missing or names an earlier run until Gold is rerun."
    ]
    assert latest.read_bytes() == before  # moved aside and put back: it names the earlier run
    view = gold_view(lake)
    assert view["left_behind"] == [f"_runs/{gold_job.WRITING_FILE}"]
    # every table new and whole; the next record written into _runs takes the hidden file over
    assert without(view, "latest_run_rows", "left_behind") == without(
        gold_clean, "latest_run_rows", "left_behind"
    )
    monkeypatch.undo()
    assert run_gold_main(lake) == 0
    assert gold_view(lake) == gold_clean
