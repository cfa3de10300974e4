"""The crash-point drill: kill a stage at a durable write (tests/crash_at.py), run it again, compare with a clean build.

What is compared is what a reader or the next stage sees, minus what names a run (run ids, ingest times, reports):
- Bronze: every object's sha256 under its key, each announced ``landed`` by exactly one manifest, the state's record
  of each resource (key, sha256, bytes, era), no ``run_in_progress`` left;
- Silver: ``service_requests`` and the quarantine (every column but the quarantine's ``run_id`` folder), row count and
  a digest, the state (per Bronze object, all but ``run_id``), the manifest index, a ``latest.json`` that reads;
- Gold: the five tables, row count and digest, and ``_runs/latest.json`` naming their rows;
and for every stage: no staging, temporary, retired or replaced file left where the stage looks.

``python tests/crash_helpers.py [bronze] [silver] [gold]`` drills every point of each stage's scenario (minutes:
one rerun per point) and prints one line per point; the tests (tests/test_crash_points.py) drill a chosen few.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb

REPO = Path(__file__).resolve().parent.parent
CRASH_AT = REPO / "tests" / "crash_at.py"
for _folder in ("scripts", "glue", "emr", "quicksight", "bench", "tests"):
    if str(REPO / _folder) not in sys.path:
        sys.path.insert(0, str(REPO / _folder))

from conftest import SAMPLE_2022, SAMPLE_NEW  # noqa: E402
from lake import GOLD_TABLES  # noqa: E402
from silver_helpers import land, land_legacy29, legacy29_row, write_manifest  # noqa: E402

BRONZE, SILVER, GOLD = "bronze/boston311", "silver/boston311", "gold/boston311"
# Spark as the pipeline starts it (run_pipeline.spark_submit), on one core with one shuffle partition
SPARK_SUBMIT_ARGS = (
    "--master local[1] --driver-java-options '-Duser.language=en -Duser.country=US -Duser.timezone=UTC' "
    "--conf spark.ui.enabled=false --conf spark.driver.host=127.0.0.1 --conf spark.driver.bindAddress=127.0.0.1 "
    "--conf spark.sql.shuffle.partitions=1 pyspark-shell"
)
# Names a run leaves only while it runs, or when it was killed: none may be left once a rerun has ended.
LEFT_BEHIND = re.compile(r"(^|/)(_staging|_replaced|retired|_temporary)(/|$)|\.tmp$|\.building$|\.part$")


def stage_arguments(stage: str, lake: Path, portal: str | None = None) -> list[str]:
    """The command-line arguments of a stage's run over a lake."""
    if stage == "bronze":
        return ["--portal", str(portal), "--lake", str(lake), "--quiet", "--backoff", "0"]
    if stage == "silver":
        return ["--bronze_path", str(lake / BRONZE), "--silver_path", str(lake / SILVER)]
    return ["--silver_path", str(lake / SILVER), "--gold_path", str(lake / GOLD)]


def run_stage(
    stage: str,
    lake: Path,
    portal: str | None = None,
    crash_at: int = 0,
    trace: Path | None = None,
    snapshots: Path | None = None,
) -> subprocess.CompletedProcess:
    """Run a stage over a lake in its own process through tests/crash_at.py (killed at ``crash_at``, 0: never)."""
    java = "/usr/lib/jvm/java-17-openjdk-amd64"
    env = dict(
        os.environ,
        CRASH_LAKE=str(lake),
        CRASH_AT=str(crash_at),
        PYSPARK_PYTHON=sys.executable,
        PYSPARK_DRIVER_PYTHON=sys.executable,
        PYSPARK_SUBMIT_ARGS=SPARK_SUBMIT_ARGS,
        SPARK_LOCAL_IP="127.0.0.1",
    )
    if os.path.isdir(java):  # Spark 3.5 needs Java 17 (as the Makefile pins it)
        env.setdefault("JAVA_HOME", java)
    for name, value in (("CRASH_TRACE", trace), ("CRASH_SNAPSHOTS", snapshots)):
        env.pop(name, None)
        if value is not None:
            env[name] = str(value)
    command = [sys.executable, str(CRASH_AT), stage, *stage_arguments(stage, lake, portal)]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, check=False)


def trace_points(trace: Path) -> list[tuple[int, str, str]]:
    """The points a traced run went through: (number, kind, path under the lake)."""
    points = []
    for line in trace.read_text().splitlines():
        number, kind, where = line.split("\t")
        points.append((int(number), kind, where))
    return points


# ---------------------------------------------------------------------------------------------- scenarios
BRONZE_DAY_1 = {
    "legacy_2022/ingest_date=2026-11-24/311_service_requests_2022.csv": SAMPLE_2022,
    "new_system/ingest_date=2026-11-24/new_system.csv": b"".join(
        SAMPLE_NEW.read_bytes().splitlines(keepends=True)[:60]
    ),
}


def land_day_1(lake: Path) -> None:
    """Day 1's Bronze: the 2022 sample (January 2022) and 59 NEW SYSTEM records (August 2025), with its manifest."""
    bronze = lake / BRONZE
    for suffix, content in BRONZE_DAY_1.items():
        dataset, ingest_date, name = suffix.split("/")
        land(bronze, dataset, ingest_date.removeprefix("ingest_date="), name, content)
    write_manifest(bronze, "20261124T060000Z", {f"dataset={s}": "2026-11-24T06:00:00Z" for s in BRONZE_DAY_1})


def land_day_2(lake: Path) -> None:
    """Day 2's Bronze: a re-issue of 2022 that closes a January case, moves one to February, opens one in March
    rejected (closed before opened) and one without a case id, so that a run swaps a live month, adds two and
    quarantines."""
    bronze = lake / BRONZE
    rows = [
        legacy29_row("101004143000", "2022-01-21 13:47:00", "2022-01-25 10:00:00"),
        legacy29_row("101004114583", "2022-02-03 09:00:00"),
        legacy29_row("101004999002", "2022-03-04 09:00:00", "2022-03-01 09:00:00"),
        legacy29_row("101004999003", "2022-03-04 10:00:00"),
        legacy29_row("", "2022-03-05 09:00:00"),
    ]
    land_legacy29(bronze, "legacy_2022", "2026-11-25", rows)
    suffix = "dataset=legacy_2022/ingest_date=2026-11-25/311_service_requests_2022.csv"
    write_manifest(bronze, "20261125T060000Z", {suffix: "2026-11-25T06:00:00Z"})


# ---------------------------------------------------------------------------------------------- what is compared
def table_digest(pattern: str, hive: bool) -> tuple[int, str]:
    """Row count and a digest of every row (all columns, as text, in order) of the Parquet files under a glob."""
    files = [path for path in Path("/").glob(pattern.lstrip("/"))]
    if not files:
        return 0, ""
    scan = f"read_parquet({[str(p) for p in files]!r}, hive_partitioning = {str(hive).lower()})"
    with duckdb.connect() as connection:
        connection.execute("set TimeZone = 'UTC'")
        count, digest = connection.execute(
            "select count(*), md5(coalesce(string_agg(cast(t as varchar), chr(10) order by cast(t as varchar)), ''))"
            f" from {scan} as t"
        ).fetchone()
    return count, digest


def left_behind(root: Path) -> list[str]:
    """Paths under a stage's folder that only a running or killed run leaves."""
    if not root.exists():
        return []
    return sorted(
        str(path.relative_to(root))
        for path in root.rglob("*")
        if LEFT_BEHIND.search(str(path.relative_to(root)))
    )


def read_json(path: Path) -> Any:
    """A JSON file's content, or a word saying why there is none."""
    if not path.is_file():
        return "missing"
    try:
        return json.loads(path.read_text())
    except ValueError:
        return "damaged"


def bronze_view(lake: Path) -> dict:
    """Bronze as Silver sees it: objects, their announcements, the state's records; and what a run left."""
    bronze = lake / BRONZE
    objects = {
        str(path.relative_to(bronze)): file_sha256(path)
        for path in bronze.glob("dataset=*/ingest_date=*/*")
        if path.is_file() and not path.name.startswith(".")
    }
    announced: dict[str, int] = {}
    for manifest in sorted((bronze / "_manifests").glob("*.json")):
        for resource in read_json(manifest).get("resources", []):
            if resource.get("status") == "landed":
                suffix = resource["key"].removeprefix(f"{BRONZE}/")
                announced[suffix] = announced.get(suffix, 0) + 1
    state = read_json(bronze / "_state" / "resources.json")
    records = state if isinstance(state, str) else {
        rid: {k: record.get(k) for k in ("key", "sha256", "bytes", "header_era")}
        for rid, record in state.get("resources", {}).items()
    }  # fmt: skip
    return {
        "objects": objects,
        "announced": announced,
        "state": records,
        "run_in_progress": isinstance(state, dict) and "run_in_progress" in state,
        "left_behind": left_behind(bronze),
    }


def file_sha256(path: Path) -> str:
    """The sha256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def silver_view(lake: Path) -> dict:
    """Silver as Gold, Athena and the next Silver run see it (run ids and reports aside)."""
    silver = lake / SILVER
    state = read_json(silver / "_state" / "processed.json")
    objects = state if isinstance(state, str) else {
        suffix: {k: v for k, v in entry.items() if k != "run_id"} for suffix, entry in state["objects"].items()
    }  # fmt: skip
    latest = read_json(silver / "_quality" / "latest.json")
    return {
        "service_requests": table_digest(f"{silver}/service_requests/*/*/*.parquet", hive=True),
        "months": sorted(str(p.relative_to(silver)) for p in silver.glob("service_requests/*/*")),
        "quarantine": table_digest(f"{silver}/quarantine/*/*.parquet", hive=False),
        "state": objects,
        "manifest_index": read_json(silver / "_state" / "bronze_manifests.json"),
        "latest_report": latest if isinstance(latest, str) else latest.get("status"),
        "damaged_reports": damaged_json(silver / "_quality"),
        "left_behind": left_behind(silver),
    }


def gold_view(lake: Path) -> dict:
    """Gold as the serving layer sees it (run ids and times aside)."""
    gold = lake / GOLD
    latest = read_json(gold / "_runs" / "latest.json")
    view = {table: table_digest(f"{gold}/{table}/**/*.parquet", hive=True) for table in GOLD_TABLES}
    view["latest_run_rows"] = latest if isinstance(latest, str) else {
        table: info["rows"] for table, info in latest["tables"].items()
    }  # fmt: skip
    view["left_behind"] = left_behind(gold)
    view["damaged_run_records"] = damaged_json(gold / "_runs")
    return view


def damaged_json(folder: Path) -> list[str]:
    """The JSON files in a folder that do not read as JSON (a write cut short)."""
    return sorted(path.name for path in folder.glob("*.json") if read_json(path) == "damaged")


VIEWS = {"bronze": bronze_view, "silver": silver_view, "gold": gold_view}


def differences(expected: dict, found: dict) -> list[str]:
    """What differs between two views of a stage, one line per key."""
    return [
        f"{key}: expected {expected[key]!r}, found {found.get(key)!r}"
        for key in expected
        if expected[key] != found.get(key)
    ]


def rerun_problems(completed: subprocess.CompletedProcess) -> list[str]:
    """Why a rerun does not count as clean: its exit code, or a Python traceback in its output."""
    problems = []
    if completed.returncode != 0:
        problems.append(f"exit {completed.returncode}: {completed.stderr.strip()[-600:]}")
    if "Traceback (most recent call last)" in completed.stdout + completed.stderr:
        problems.append("a traceback: " + completed.stderr[completed.stderr.find("Traceback") :][:600])
    return problems


# ---------------------------------------------------------------------------------------------- the drill
def prepare(stage: str, lake: Path, portal: str | None = None) -> None:
    """The lake before the drilled run: for Silver, day 1 read and day 2 landed; for Gold, Gold over day 1's Silver
    and Silver over day 2 (so the drilled run replaces tables with different ones)."""
    if stage == "bronze":
        return
    land_day_1(lake)
    if stage == "gold":
        check(run_stage("silver", lake))
        check(run_stage("gold", lake))
        land_day_2(lake)
        check(run_stage("silver", lake))
        return
    check(run_stage("silver", lake))
    land_day_2(lake)


def check(completed: subprocess.CompletedProcess) -> None:
    """Raise when a setup run failed."""
    if completed.returncode != 0:
        raise RuntimeError(f"a setup run failed (exit {completed.returncode}): {completed.stderr[-2000:]}")


def drill_stage(stage: str, work: Path, portal: str | None = None) -> Iterator[dict]:
    """Snapshot the lake before each durable write of one clean run, rerun the stage on each snapshot and compare
    with the clean run's end; one result per point, as each is drilled."""
    lake = work / "lake"
    prepare(stage, lake, portal)
    snapshots, trace = work / "snapshots", work / "trace.tsv"
    check(run_stage(stage, lake, portal, trace=trace, snapshots=snapshots))
    expected = VIEWS[stage](lake)
    for number, kind, where in trace_points(trace):
        crashed = work / f"crashed-{number}"
        shutil.copytree(snapshots / str(number), crashed, symlinks=True)
        yield {
            "point": number,
            "kind": kind,
            "where": where,
            "problems": crash_problems(stage, crashed, expected, portal),
        }
        shutil.rmtree(crashed)


def crash_problems(stage: str, crashed: Path, expected: dict, portal: str | None = None) -> list[str]:
    """Rerun a stage over a lake a kill left; what keeps it from a clean build's (``expected``), if anything."""
    rerun = run_stage(stage, crashed, portal)
    return rerun_problems(rerun) + differences(expected, VIEWS[stage](crashed))


def main(argv: list[str]) -> int:
    """Drill every point of the stages named (all three by default); print one line per point."""
    from portal_standin import serve

    unknown = [stage for stage in argv if stage not in VIEWS]
    if unknown:
        print(
            f"crash_helpers.py: no stage {', '.join(unknown)}; give any of {', '.join(VIEWS)}.",
            file=sys.stderr,
        )
        return 2
    failed = 0
    for stage in argv or ["bronze", "silver", "gold"]:
        with tempfile.TemporaryDirectory(prefix=f"crash-{stage}-") as work, serve() as portal:
            drilled, failed_before = 0, failed
            for result in drill_stage(stage, Path(work), portal):
                drilled += 1
                failed += bool(result["problems"])
                verdict = "; ".join(result["problems"]) or "converges"
                print(
                    f"{stage} {result['point']:3} {result['kind']:12} {result['where']}  {verdict}",
                    flush=True,
                )
        print(f"{stage}: {drilled} points drilled, {failed - failed_before} do not converge", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
