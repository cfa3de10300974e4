"""The crash-point drill: a stage killed at one of its durable writes, then run again, leaves the lake a clean build
of the same input leaves (tests/crash_helpers.py says what is compared), and the rerun exits 0 without a traceback.

The points are every call through which a local run changes the lake (tests/crash_at.py names the choke points). In
the drill's scenarios (tests/crash_helpers.py) a Bronze run over the portal stand-in has 38, a Silver run over a
second day's re-issue (one live month swapped, two added, two records quarantined) 67, and a Gold run replacing the
five tables of an older Silver 30: 135 in all, which ``tests/crash_helpers.py`` run as a script drills one by one
(docs/limits.md, "Crash points", has the outcome). These tests drill 14 of them, every kind of write of each stage:
- Bronze, killed for real (``os._exit(137)`` in its own process, about a second a run): the state recording an object
  written but not renamed into place (its temporary file stays until the next run, which holds the lake's run lock
  and so removes it at once), an object recorded but not committed, the manifest or the final state not renamed into place, the staging folder not removed;
- Silver and Gold, from snapshots of the lake taken before each write of one run in this process (what a kill there
  leaves: the writes before a point have all returned), each rerun through the job's ``main``: a month's or a table's
  swap between its two moves, ``publishing.json`` moved aside and not yet replaced, a report or run record created
  and not written, the state moved aside and not yet replaced, the state saved and the staging folder not yet removed, the
  tables staged and not yet marked;
- one Silver run killed for real between the two moves of a month's swap, in its own process.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

import gold_job
import silver_job
from crash_at import CrashPoints, wrap_spark_jobs
from crash_helpers import (
    BRONZE,
    GOLD,
    SILVER,
    bronze_view,
    crash_problems,
    differences,
    gold_view,
    land_day_1,
    land_day_2,
    left_behind,
    rerun_problems,
    run_stage,
    silver_view,
    trace_points,
)


def point_number(points: list[tuple[int, str, str]], kind: str, contains: str, occurrence: int = 0) -> int:
    """The number of the ``occurrence``-th (0: first, -1: last) point of a kind whose path holds ``contains``."""
    matching = [number for number, found_kind, where in points if found_kind == kind and contains in where]
    assert matching, f"no {kind} point on {contains!r} in {points}"
    return matching[occurrence]


# ------------------------------------------------------------------------------------------------------ Bronze
@pytest.fixture(scope="module")
def bronze_drill(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A clean Bronze run over the stand-in, traced: its points and what it left; the portal's URL."""
    from portal_standin import serve

    work = tmp_path_factory.mktemp("bronze_crash")
    with serve() as portal:
        trace = work / "trace.tsv"
        completed = run_stage("bronze", work / "clean", portal, trace=trace)
        assert completed.returncode == 0, completed.stderr
        yield {
            "portal": portal,
            "points": trace_points(trace),
            "expected": bronze_view(work / "clean"),
            "work": work,
        }


BRONZE_POINTS = {  # id: (kind, path part, occurrence)
    "state-recording-an-object-not-yet-renamed": ("replace", "_state/", 1),
    "object-recorded-not-committed": ("replace", ".part", 1),
    "manifest-not-yet-renamed": ("replace", "_manifests/", 0),
    "final-state-not-yet-renamed": ("replace", "_state/", -1),
    "staging-not-yet-removed": ("rmtree", "_staging/", 0),
}


@pytest.mark.parametrize("where", list(BRONZE_POINTS))
def test_a_bronze_run_killed_at_a_write_is_made_whole_by_the_next_runs(bronze_drill, where: str):
    kind, contains, occurrence = BRONZE_POINTS[where]
    number = point_number(bronze_drill["points"], kind, contains, occurrence)
    lake, portal = bronze_drill["work"] / where, bronze_drill["portal"]

    killed = run_stage("bronze", lake, portal, crash_at=number)

    assert killed.returncode == 137, killed.stderr
    assert crash_problems("bronze", lake, bronze_drill["expected"], portal) == []


def test_a_temporary_state_file_a_killed_run_left_goes_with_the_next_run(bronze_drill):
    """Killed after writing the state's temporary file, before renaming it: the next run holds the lake's run lock,
    so the file cannot be a live run's and goes at once (before the lock, a day later; before that, never)."""
    number = point_number(bronze_drill["points"], "replace", "_state/", 0)
    lake, portal = bronze_drill["work"] / "temporary", bronze_drill["portal"]
    assert run_stage("bronze", lake, portal, crash_at=number).returncode == 137
    temporary = [p for p in left_behind(lake / BRONZE) if p.endswith(".tmp")]
    assert temporary and temporary[0].startswith("_state/.")

    assert rerun_problems(run_stage("bronze", lake, portal)) == []
    assert left_behind(lake / BRONZE) == []
    assert differences(bronze_drill["expected"], bronze_view(lake)) == []


# ------------------------------------------------------------------------------------------------------ Silver, Gold
def snapshot_run(spark, work: Path, stage: str) -> dict:
    """Run the stage once in this process over the lake prepared in ``work``/lake, with a snapshot of the lake before
    each of its durable writes; its points and the lake it ends with."""
    lake, snapshots, trace = work / "lake", work / "snapshots", work / "trace.tsv"
    bronze, silver, gold = (str(lake / part) for part in (BRONZE, SILVER, GOLD))
    points = CrashPoints(str(lake), 0, str(trace), str(snapshots))
    with pytest.MonkeyPatch.context() as patched:
        wrap_spark_jobs(points, patched.setattr)
        if stage == "silver":
            silver_job.run_silver(spark, bronze, silver)
        else:
            gold_job.run_gold(spark, silver, gold, sole_writer=True)
    view = silver_view if stage == "silver" else gold_view
    return {"points": trace_points(trace), "expected": view(lake), "snapshots": snapshots, "work": work}


def rerun_in_process(stage: str, lake: Path, capfd: pytest.CaptureFixture) -> list[str]:
    """Run the stage's ``main`` over a lake a kill left (this process's Spark session); why it is not clean."""
    silver, gold = str(lake / SILVER), str(lake / GOLD)
    if stage == "silver":
        code = silver_job.main(
            ["silver_job.py", "--bronze_path", str(lake / BRONZE), "--silver_path", silver]
        )
    else:
        code = gold_job.main(["--silver_path", silver, "--gold_path", gold])
    out, err = capfd.readouterr()
    problems = [] if code == 0 else [f"exit {code}: {err.strip()[-600:]}"]
    return problems + (["a traceback"] if "Traceback (most recent call last)" in out + err else [])


def drill_from_snapshot(drill: dict, stage: str, number: int, capfd: pytest.CaptureFixture) -> list[str]:
    """What keeps a rerun over the lake left before point ``number`` from the clean run's lake."""
    lake = drill["work"] / f"crashed-{number}"
    shutil.copytree(drill["snapshots"] / str(number), lake, symlinks=True)
    view = silver_view if stage == "silver" else gold_view
    return rerun_in_process(stage, lake, capfd) + differences(drill["expected"], view(lake))


@pytest.fixture(scope="module")
def silver_drill(spark, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Silver's day-2 run, snapshotted before each write: day 1 landed and read, day 2 landed."""
    work = tmp_path_factory.mktemp("silver_crash")
    lake = work / "lake"
    land_day_1(lake)
    silver_job.run_silver(spark, str(lake / BRONZE), str(lake / SILVER))
    land_day_2(lake)
    return snapshot_run(spark, work, "silver")


SILVER_POINTS = {  # id: (kind, path part, occurrence)
    "between-the-two-moves-of-a-month": ("rename", "open_month=1 -> silver/boston311/service_requests/", 0),
    # the first rename over a file is refused (a local disk as pyspark starts Spark), the second follows the move aside
    "publishing-record-moved-aside-not-replaced": ("rename", f"/{silver_job.WRITING_FILE} -> ", 2),
    "report-created-not-written": ("close", f"_quality/{silver_job.WRITING_FILE}", 0),
    "state-moved-aside-not-replaced": ("rename", f"_state/{silver_job.WRITING_FILE} ->", 1),
    "state-saved-staging-not-yet-removed": ("delete", "_staging/", -1),
}


@pytest.mark.spark
@pytest.mark.parametrize("where", list(SILVER_POINTS))
def test_a_silver_run_killed_at_a_write_is_made_whole_by_the_next_run(silver_drill, where: str, capfd):
    number = point_number(silver_drill["points"], *SILVER_POINTS[where])
    assert drill_from_snapshot(silver_drill, "silver", number, capfd) == []


@pytest.fixture(scope="module")
def gold_drill(spark, silver_drill: dict, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Gold's run over day 2's Silver, replacing day 1's tables, snapshotted before each write. Its lake is the
    Silver drill's before that run (day 1 read, day 2 landed: its first snapshot) with Gold built over day 1's Silver,
    then day 2's Silver as that run left it (a clean run's Silver, as its tests hold): the Silver runs not run again."""
    work = tmp_path_factory.mktemp("gold_crash")
    lake = work / "lake"
    shutil.copytree(silver_drill["snapshots"] / "1", lake, symlinks=True)
    gold_job.run_gold(spark, str(lake / SILVER), str(lake / GOLD), sole_writer=True)
    shutil.rmtree(lake / SILVER)
    shutil.copytree(silver_drill["work"] / "lake" / SILVER, lake / SILVER, symlinks=True)
    return snapshot_run(spark, work, "gold")


GOLD_POINTS = {
    "tables-staged-not-yet-marked": ("create", gold_job.WRITING_FILE, 0),
    "between-the-two-moves-of-a-table": ("rename", "/monthly_requests -> gold/boston311/monthly_requests", 0),
    "run-record-created-not-written": ("close", "_runs/", 0),
}


@pytest.mark.spark
@pytest.mark.parametrize("where", list(GOLD_POINTS))
def test_a_gold_run_killed_at_a_write_is_made_whole_by_the_next_run(gold_drill, where: str, capfd):
    number = point_number(gold_drill["points"], *GOLD_POINTS[where])
    assert drill_from_snapshot(gold_drill, "gold", number, capfd) == []


@pytest.mark.spark
def test_a_silver_process_killed_between_the_two_moves_of_a_month_is_made_whole_by_the_next_run(
    silver_drill, tmp_path: Path, capfd
):
    """The real thing once: the job's own process killed (its lock released by the system), then the next run."""
    number = point_number(silver_drill["points"], *SILVER_POINTS["between-the-two-moves-of-a-month"])
    lake = tmp_path / "lake"
    before_the_run = silver_drill["snapshots"] / "1"  # the lake before the run's first write
    shutil.copytree(before_the_run, lake, symlinks=True)

    killed = run_stage("silver", lake, crash_at=number)
    assert killed.returncode == 137, killed.stderr[-2000:]
    moved_aside = lake / SILVER / "service_requests" / "open_year=2022" / "open_month=1"
    assert not moved_aside.exists()

    assert rerun_in_process("silver", lake, capfd) == []
    assert differences(silver_drill["expected"], silver_view(lake)) == []  # nothing left behind either
