"""The crash-point drill: a stage killed at one of its durable writes, then run again, leaves the lake a clean build
of the same input leaves (tests/crash_helpers.py says what is compared), and the rerun exits 0 without a traceback.

The points are every call through which a local run changes the lake (tests/crash_at.py names the choke points). A
Bronze run over the portal stand-in has 38, which ``tests/crash_helpers.py`` run as a script drills one by one. These
tests kill Bronze for real (``os._exit(137)`` in its own process, about a second a run) at one point of each kind: the
state recording an object written but not renamed into place (its temporary file stays: a run a day later removes
it), an object recorded but not committed, the manifest or the final state not renamed into place, the staging
folder not removed.
"""

from __future__ import annotations

import pytest

from crash_helpers import (
    BRONZE,
    age_left_behind,
    bronze_view,
    crash_problems,
    differences,
    left_behind,
    rerun_problems,
    run_stage,
    trace_points,
)


def point_number(points: list[tuple[int, str, str]], kind: str, contains: str, occurrence: int = 0) -> int:
    """The number of the ``occurrence``-th (0: first, -1: last) point of a kind whose path holds ``contains``."""
    matching = [number for number, found_kind, where in points if found_kind == kind and contains in where]
    assert matching, f"no {kind} point on {contains!r} in {points}"
    return matching[occurrence]


# ------------------------------------------------------------------------------------------------------ Bronze
@pytest.fixture(scope="module")
def bronze_drill(tmp_path_factory: pytest.TempPathFactory):
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


def test_a_temporary_state_file_a_killed_run_left_goes_once_a_day_old(bronze_drill):
    """Killed after writing the state's temporary file, before renaming it: the file stays while it may be a live
    run's, and the first run after it is a day old removes it (before the fix, it stayed for good)."""
    number = point_number(bronze_drill["points"], "replace", "_state/", 0)
    lake, portal = bronze_drill["work"] / "temporary", bronze_drill["portal"]
    assert run_stage("bronze", lake, portal, crash_at=number).returncode == 137
    temporary = [p for p in left_behind(lake / BRONZE) if p.endswith(".tmp")]
    assert temporary and temporary[0].startswith("_state/.")

    assert rerun_problems(run_stage("bronze", lake, portal)) == []
    assert [p for p in left_behind(lake / BRONZE) if p.endswith(".tmp")] == temporary  # less than a day old
    age_left_behind(lake / BRONZE, hours=25)
    assert rerun_problems(run_stage("bronze", lake, portal)) == []
    assert left_behind(lake / BRONZE) == []
    assert differences(bronze_drill["expected"], bronze_view(lake)) == []
