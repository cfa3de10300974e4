"""Run the whole lake on one machine: ingest -> Silver -> Gold -> local query layer + dashboard.

This is the embedded default behind ``make run`` and ``make demo``: the lake is a local folder
with the same layout as the S3 bucket, Silver and Gold run through ``spark-submit`` in local mode
(the very scripts that run on Glue and EMR), and DuckDB stands in for Athena.

Each stage prints one line (what it read, what it wrote, rows, seconds). A failed stage stops the
run with that stage's own error; earlier stages' output stays, and re-running resumes (Bronze skips
unchanged resources, Silver reads only unprocessed Bronze objects).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import logging
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import command_line
import ingestao_bronze
from lake import BRONZE_MANIFESTS, GOLD_PREFIX, GOLD_RUNS, SILVER_QUALITY, Lake, lake_argument, rerun_command

REPO = Path(__file__).resolve().parent.parent
STAGES = ("ingest", "silver", "gold", "serve")
SILVER_JOB = REPO / "glue" / "silver_job.py"
GOLD_JOB = REPO / "emr" / "gold_job.py"
SPARK_LOG_CONFIG = Path(__file__).resolve().parent / "spark-log4j2.properties"
# the runs before the last whose log SPARK_LOG_CONFIG keeps (its strategy.max; a test holds the two equal)
SPARK_LOGS_KEPT = 4
MEMORY_SIZE = re.compile(r"(\d+)([kmgt]?)", re.IGNORECASE)  # what spark-submit's --driver-memory takes
MEMORY_UNITS = {
    "": 1,
    "k": 2**10,
    "m": 2**20,
    "g": 2**30,
    "t": 2**40,
}  # a bare number is bytes, as Java reads it
DEFAULT_DRIVER_MEMORY = "4g"
# The least heap Spark starts with: 1.5 times the 300 MiB it reserves (under it: INVALID_DRIVER_MEMORY, "System
# memory … must be at least 471859200", after the ingest has run)
LEAST_DRIVER_MEMORY = "450m"
INTERRUPTED_EXIT = 130  # the shell's code for a process stopped by Ctrl-C (128 + SIGINT)
TERMINATED_EXIT = 143  # and by SIGTERM (128 + 15): kill, timeout, systemd, docker stop
# Spark's exit code when a task's OutOfMemoryError stops its executor: in local mode the executor is the job's own
# Java, which exits at once, before the job can say why (SparkExitCode.OOM)
SPARK_OOM_EXIT = 52
SPARK_STAGES = ("silver", "gold")
# The environment variable --time-basis-override defaults to: an override is an argument of every Silver run, not a
# setting the lake keeps, so a laptop can keep it in its shell as the stack keeps it in the Glue job's arguments.
TIME_BASIS_OVERRIDE_VARIABLE = "SILVER_TIME_BASIS_OVERRIDE"
# What each stage needs from requirements.txt (import names): one missing means a Python other than the virtualenv's,
# which otherwise failed half-way through with a traceback (tqdm when the ingest began landing, spark-submit after it).
STAGE_PACKAGES = {
    "ingest": ("requests", "bs4", "tqdm", "boto3"),
    "silver": ("pyspark",),
    "gold": ("pyspark",),
    "serve": ("duckdb", "sqlglot", "plotly"),
}
# The newest Java Spark 3.5 supports (8-21; this project pins 17): Java 23+ refuse Hadoop's Subject.getSubject.
NEWEST_JAVA = 21
# The open-file limit the Spark stages run with at the least (``ulimit -n``): Spark starts with 512, not with 256.
LEAST_OPEN_FILES = 1024
# Java takes its default locale and time zone from the laptop's: pinned, so the jobs give the same rows on every
# laptop. Spark's lower() and upper() of a text with a non-ASCII letter follow the locale: a Turkish one made
# "INSPECCIÓN" "ınspección" (dotless ı), and Silver's mappings missed it (their keys are ASCII today, so only future
# keys, and no demo row). The jobs pin their session time zone to UTC; the JVM's is pinned too, for anything else.
JVM_DEFAULTS = "-Duser.language=en -Duser.country=US -Duser.timezone=UTC"
# The C locale's charset is ASCII: Java names files in it (no option overrides that), so a lake path with a ñ became
# "??" in Spark ("The Bronze path /tmp/lac ?? does not exist") while Python, in UTF-8 mode there, wrote the real name.
ASCII_LOCALES = ("", "C", "POSIX")

log = logging.getLogger("run_pipeline")


class StageFailed(Exception):
    """A stage ended with an error: one sentence, pointing at the stage's own output above when it has some."""


class StageInterrupted(StageFailed):
    """A stage stopped by Ctrl-C."""

    exit_code = INTERRUPTED_EXIT


class StageTerminated(StageInterrupted):
    """A stage stopped by SIGTERM."""

    exit_code = TERMINATED_EXIT


class Terminated(KeyboardInterrupt):
    """SIGTERM came while this process itself worked (serving, reading manifests): raised by its handler where a
    Ctrl-C raises KeyboardInterrupt, so that what cleans up after a Ctrl-C cleans up after it too."""


@dataclass
class StageResult:
    """What one stage read and wrote, for the one-line report."""

    read: str
    wrote: str
    rows: str


def build_parser() -> argparse.ArgumentParser:
    """The command line's flags (parse_args also checks what they say together)."""
    parser = command_line.ArgumentParser(
        prog="run_pipeline.py",
        description="Run the Boston 311 lake end to end on this machine (no AWS account needed).",
    )
    parser.add_argument(
        "--lake",
        default=None,
        type=lake_argument,
        help="local lake folder, or s3://bucket[/prefix] with --stages ingest (default $LAKE_ROOT or ./lake)",
    )
    parser.add_argument(
        "--portal",
        default=None,
        help=f"CKAN portal to ingest from (default {ingestao_bronze.DEFAULT_PORTAL})",
    )
    parser.add_argument(
        "--offline",
        action="store_true",
        help="ingest from the built-in portal stand-in (real sample rows) instead of --portal; no Internet needed",
    )
    parser.add_argument(
        "--years", default=None, help="legacy years to ingest, e.g. 2019-2023,2025 (default: all)"
    )
    parser.add_argument("--no-new-system", action="store_true", help="skip the NEW SYSTEM (2025-08+) file")
    parser.add_argument(
        "--max-file-bytes",
        metavar="N",
        default=None,
        help="the ingest's cap on one file, in bytes "
        f"(default {ingestao_bronze.DEFAULT_MAX_FILE_BYTES}, {ingestao_bronze.DEFAULT_MAX_FILE_BYTES / 2**30:g} GiB)",
    )
    parser.add_argument(
        "--time-basis-override",
        metavar="OVERRIDES",
        default=None,
        help="Silver's --time_basis_override: dataset=reading or dataset@YYYY-MM=reading, comma-separated, "
        "e.g. new_system@2025-11=utc (docs/silver.md, rule 2); it reaches the Bronze objects the run reads "
        f"(default ${TIME_BASIS_OVERRIDE_VARIABLE}, so that every run of a lake can be given the same)",
    )
    parser.add_argument(
        "--stages",
        default=",".join(STAGES),
        help="comma-separated stages to run, in order: %(default)s",
    )
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="no progress bars (the stage lines, Bronze's summary and warnings remain)",
    )
    return parser


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    parser = build_parser()
    args = parser.parse_args(argv)
    stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    unknown = [s for s in stages if s not in STAGES]
    if unknown or not stages:
        parser.error(
            f"unknown stage(s) {', '.join(unknown) or '(none given)'}; choose from {', '.join(STAGES)}"
        )
    args.stages = [s for s in STAGES if s in stages]
    if args.offline and args.portal:
        parser.error("--offline ingests from the built-in stand-in; leave out --portal, or --offline")
    args.portal = args.portal or ingestao_bronze.DEFAULT_PORTAL
    if not MEMORY_SIZE.fullmatch(driver_memory()):
        parser.error(f"SPARK_DRIVER_MEMORY must be a size like 4g or 2048m, not {driver_memory()!r}")
    if memory_bytes(driver_memory()) < memory_bytes(LEAST_DRIVER_MEMORY):
        parser.error(
            f"SPARK_DRIVER_MEMORY must be {LEAST_DRIVER_MEMORY} or more, the least Spark starts with, not "
            f"{driver_memory()!r}"
        )
    missing = missing_packages(args.stages)
    if missing:
        parser.error(
            f"{', '.join(missing)} not installed for {sys.executable}: run it with the project's virtualenv, "
            ".venv/bin/python scripts/run_pipeline.py (make setup creates it), or through make run / make demo"
        )
    if set(SPARK_STAGES) & set(args.stages):
        problem = java_problem() or raise_open_file_limit()
        if problem:
            parser.error(problem)
    if args.time_basis_override is not None and "silver" not in args.stages:
        parser.error("--time-basis-override is for the silver stage, which --stages leaves out")
    if args.time_basis_override is None and "silver" in args.stages:
        args.time_basis_override = os.environ.get(TIME_BASIS_OVERRIDE_VARIABLE) or None
    if args.time_basis_override is not None:
        problem = time_basis_override_problem(args.time_basis_override)
        if problem:
            parser.error(problem.rstrip("."))
    try:  # usage errors now, not a failed ingest later
        if args.years is not None:
            ingestao_bronze.parse_years(args.years)
        ingestao_bronze.max_file_bytes(args.max_file_bytes)
    except ingestao_bronze.UsageError as error:
        parser.error(str(error).rstrip("."))
    return args


def driver_memory() -> str:
    """The memory the Spark stages give the driver, spark-submit's --driver-memory: $SPARK_DRIVER_MEMORY, else
    DEFAULT_DRIVER_MEMORY."""
    return os.environ.get("SPARK_DRIVER_MEMORY", DEFAULT_DRIVER_MEMORY)


def memory_bytes(size: str) -> int:
    """The bytes of a size MEMORY_SIZE matches (``4g``, ``2048m``)."""
    number, unit = MEMORY_SIZE.fullmatch(size).groups()
    return int(number) * MEMORY_UNITS[unit.lower()]


def time_basis_override_problem(text: str) -> str | None:
    """Why the Silver job would refuse this --time_basis_override (its own sentence), asked before any stage runs;
    None when it takes it. The job's own parser, imported from its stage folder as the serve stage imports its own."""
    sys.path.insert(0, str(SILVER_JOB.parent))
    import silver_job

    try:
        silver_job.parse_overrides(text)
    except silver_job.SilverError as error:
        return str(error)
    return None


def missing_packages(stages: list[str]) -> list[str]:
    """The packages the given stages import that this Python lacks, and spark-submit for a Spark stage when it is
    not beside this Python (where the virtualenv's pyspark puts it and spark_submit looks)."""
    needed = dict.fromkeys(name for stage in stages for name in STAGE_PACKAGES[stage])
    missing = [name for name in needed if importlib.util.find_spec(name) is None]
    if set(SPARK_STAGES) & set(stages) and "pyspark" not in missing and not spark_submit_path().is_file():
        missing.append("spark-submit")
    return missing


def java_problem() -> str | None:
    """Why spark-submit cannot start with the Java it would use ($JAVA_HOME/bin/java, else java on the PATH, as
    spark-class picks it), in one sentence; None when it is a Java Spark 3.5 runs on. A wrong Java otherwise shows up
    after the ingest as a screen of Java trace ("getSubject is not supported") or bash errors from spark-class."""
    home = os.environ.get("JAVA_HOME")
    java = os.path.join(home, "bin", "java") if home else shutil.which("java")
    which = f"JAVA_HOME={home}" if home else "the PATH"
    fix = (
        "install Java 17 (Debian: apt-get install openjdk-17-jre-headless) and set JAVA_HOME to it, "
        "or run through make, which finds one"
    )
    if not java or not os.access(java, os.X_OK):
        return f"Spark 3.5 needs Java 17 and there is no java in {which}: {fix}"
    try:
        shown = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=60, check=False
        ).stderr
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"Spark 3.5 needs Java 17 and the java in {which} does not run ({error}): {fix}"
    found = re.search(r'version "(?:1\.)?(\d+)', shown)
    if found and int(found.group(1)) > NEWEST_JAVA:
        return f"Spark 3.5 needs Java 17 and the java in {which} is Java {found.group(1)}: {fix}"
    return None


def raise_open_file_limit() -> str | None:
    """Raise this process's open-file limit (``ulimit -n``, which the Spark jobs inherit) to LEAST_OPEN_FILES when it
    is lower and the hard limit allows; why not, in one sentence, when the hard limit is lower too. Spark's Java opens
    its 252 jars as it starts: under ``ulimit -n 256`` (macOS's default) it died before the job began, in a Java trace
    ending "tzdb.dat (Too many open files)"."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not a POSIX system
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= LEAST_OPEN_FILES:
        return None
    if hard == resource.RLIM_INFINITY or hard >= LEAST_OPEN_FILES:
        resource.setrlimit(resource.RLIMIT_NOFILE, (LEAST_OPEN_FILES, hard))
        return None
    return (
        f"Spark needs to open {LEAST_OPEN_FILES} files at once and this shell allows {hard} (ulimit -Hn): raise the "
        f"limit (ulimit -n {LEAST_OPEN_FILES} as root, or in /etc/security/limits.conf), then run again"
    )


@contextlib.contextmanager
def portal_url(args: argparse.Namespace) -> Iterator[str]:
    """Yield the portal to ingest from: the real one, or the offline stand-in served on loopback."""
    if not args.offline:
        yield args.portal
        return
    import portal_standin

    with portal_standin.serve() as url:
        yield url


def ingest_stage(lake: Lake, args: argparse.Namespace) -> StageResult:
    """Land every selected portal CSV in Bronze (scripts/ingestao_bronze.py)."""
    manifests_before = manifest_keys(lake)
    with portal_url(args) as portal:
        argv = ["--portal", portal, "--lake", lake.root]
        if args.years:
            argv += ["--years", args.years]
        if args.no_new_system:
            argv.append("--no-new-system")
        if args.max_file_bytes is not None:
            argv += ["--max-file-bytes", args.max_file_bytes]
        if args.quiet:
            argv.append("--quiet")
        code = ingestao_bronze.main(argv)
    if code == INTERRUPTED_EXIT:
        raise StageInterrupted("ingest was interrupted; a re-run resumes where it stopped")
    if code == TERMINATED_EXIT:
        raise StageTerminated("ingest was stopped by SIGTERM; a re-run resumes where it stopped")
    # Exit 2 is a usage or lake problem (an unreachable portal, a read-only lake): a re-run alone changes nothing.
    if code == 2:
        advice = "fix that, then run again"
        if not args.offline:  # the first thing a newcomer without network tries is make run
            advice += (
                " (with no network, --offline runs the same pipeline on the built-in stand-in: make demo)"
            )
        raise StageFailed(f"ingest failed (exit 2, its reason above); {advice}")
    manifests = manifest_keys(lake)
    # A run that failed and wrote no manifest landed nothing (another run holds the lake's run lock): the newest
    # manifest is an earlier run's, whose failures say nothing about this one.
    if code != 0 and manifests_before is not None and manifests == manifests_before:
        raise StageFailed(
            f"ingest failed (exit {code}, its reason above) and landed nothing; run again once it is resolved"
        )
    manifest = newest_manifest(lake, manifests)
    resources = manifest.get("resources", [])
    if code != 0:
        advice = after_failed_ingest(resources, args.max_file_bytes)
        raise StageFailed(f"ingest failed (exit {code}, its reason above); {advice}")
    statuses = [r.get("status") for r in resources]
    landed, unchanged = statuses.count("landed"), statuses.count("unchanged")
    # Bronze's warnings say which
    shrunk = sum(r.get("shrunk_from_bytes") is not None for r in resources)
    not_utf8 = sum(r.get("status") == "landed" and r.get("non_utf8_at") is not None for r in resources)
    return StageResult(
        read=manifest.get("portal", portal),
        wrote=lake.bronze,
        rows=f"{landed} landed, {unchanged} unchanged"
        + (f", {shrunk} shrunk" if shrunk else "")
        + (f", {not_utf8} not UTF-8" if not_utf8 else ""),
    )


def spark_submit_path() -> Path:
    """The spark-submit of this Python's pyspark: beside it in the virtualenv's bin/."""
    return Path(sys.executable).parent / "spark-submit"


def spark_home() -> str:
    """The Spark that this Python's pyspark installed (the folder its spark-submit would have found)."""
    return importlib.util.find_spec("pyspark").submodule_search_locations[0]


def spark_submit(script: Path, job_args: list[str], log_file: str) -> None:
    """Run a job script with the virtualenv's spark-submit in local mode, Spark's whole log to ``log_file`` (the
    terminal gets each message's first line); raise StageFailed on error."""
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable, PYSPARK_DRIVER_PYTHON=sys.executable)
    env.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # local mode: stay on loopback
    # pyspark's spark-submit looks for its Spark by running $PYSPARK_DRIVER_PYTHON unquoted: from a virtualenv in a
    # folder with a space it found none ("/bin/spark-class: No such file or directory"); told, it does not look.
    # Told always: a SPARK_HOME the laptop sets for another Spark would run that Spark's Java under this pyspark.
    env["SPARK_HOME"] = spark_home()
    # Where SPARK_LOG_CONFIG writes Spark's whole log: an environment variable, not a -D option, which spark-submit
    # would split at a space in the path.
    env["BOSTON311_SPARK_LOG"] = log_file
    env["BOSTON311_SPARK_LOG_PATTERN"] = log_file.replace("%", "%%")  # the runs before it: a Log4j pattern
    if character_locale(env) in ASCII_LOCALES:
        env["LC_ALL"] = "C.UTF-8"
    memory = driver_memory()
    command = [
        str(spark_submit_path()),
        "--master",
        "local[*]",
        "--driver-memory",
        memory,
        "--driver-java-options",
        # a URI, without spaces: spark-submit splits these options at spaces
        f"-Dlog4j2.configurationFile={SPARK_LOG_CONFIG.as_uri()} {JVM_DEFAULTS}",
        "--conf",
        # Local data is small: a few shuffle partitions per core instead of Spark's cluster default of 200.
        f"spark.sql.shuffle.partitions={4 * (os.cpu_count() or 2)}",
        "--conf",
        "spark.ui.enabled=false",
        "--conf",
        "spark.driver.host=127.0.0.1",
        "--conf",
        "spark.driver.bindAddress=127.0.0.1",
        str(script),
        *job_args,
    ]
    log.debug("running %s", " ".join(command))
    returncode, interrupted, terminated = run_job(command, env)
    if returncode == INTERRUPTED_EXIT:
        raise StageInterrupted(f"{script.name} was interrupted; it published nothing, and a re-run redoes it")
    if returncode == TERMINATED_EXIT:
        raise StageTerminated(
            f"{script.name} was stopped by SIGTERM; it published nothing, and a re-run redoes it"
        )
    if terminated and returncode == 0:  # SIGTERM came while the job finished a publish it had begun
        raise StageTerminated(
            f"stopped by SIGTERM after {script.name} finished; the later stages did not run"
        )
    if interrupted and returncode == 0:  # Ctrl-C came while the job finished a publish it had begun
        raise StageInterrupted(f"interrupted after {script.name} finished; the later stages did not run")
    if returncode == -signal.SIGKILL:  # the job had no time to say why: the system stopped it
        raise StageFailed(
            f"{script.name} was killed (SIGKILL), most often by the system when memory runs out: Spark's Java takes "
            f"up to SPARK_DRIVER_MEMORY ({memory}) and more, so free that much memory or set "
            f"SPARK_DRIVER_MEMORY lower ({LEAST_DRIVER_MEMORY} at the least), then run again; a re-run redoes it. Spark's log up to "
            f"then: {log_file}"
        )
    if returncode == SPARK_OOM_EXIT:
        raise StageFailed(
            f"{script.name} stopped: Spark ran out of memory (exit 52, java.lang.OutOfMemoryError): give "
            f"it more than SPARK_DRIVER_MEMORY's {memory} (e.g. SPARK_DRIVER_MEMORY=8g make run), then run "
            f"again; a re-run redoes it. Spark's whole log: {log_file}"
        )
    if returncode != 0:
        raise StageFailed(
            f"{script.name} failed (exit {returncode}); see its message above, and Spark's whole log "
            f"in {log_file}"
        )


def run_job(command: list[str], env: dict[str, str]) -> tuple[int, bool, bool]:
    """Run a spark-submit and wait for it; its exit code, and whether Ctrl-C and SIGTERM came meanwhile.

    Ctrl-C reaches the job too (same terminal): the job cancels its Spark jobs and cleans up, rather than be killed
    by this process's KeyboardInterrupt, so it is only noted here (a handler, not SIG_IGN, which the job would
    inherit). SIGTERM (``kill``, ``timeout``, systemd) names this process only: it is passed on to the job's
    spark-submit, whose Java hands it to the job, which stops as on Ctrl-C; this process waits for it, where it
    died at once before and left the job running on without it.
    """
    interrupted, terminated, started = [], [], []

    def pass_on(signum: int, frame: Any) -> None:
        terminated.append(signum)
        for job in started:
            job.send_signal(signal.SIGTERM)

    previous = {
        signal.SIGINT: signal.signal(signal.SIGINT, lambda signum, frame: interrupted.append(signum)),
        signal.SIGTERM: signal.signal(signal.SIGTERM, pass_on),
    }
    try:
        job = subprocess.Popen(command, env=env)
        started.append(job)
        if terminated:  # it came while the job was being started
            job.send_signal(signal.SIGTERM)
        returncode = job.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return returncode, bool(interrupted), bool(terminated)


def character_locale(env: dict[str, str]) -> str:
    """The locale a process started with this environment reads and names text in (LC_ALL, else LC_CTYPE, else
    LANG; "" when none is set)."""
    return next((env[name] for name in ("LC_ALL", "LC_CTYPE", "LANG") if env.get(name)), "")


def silver_stage(lake: Lake, time_basis_override: str | None = None) -> StageResult:
    """Bronze -> Silver with the Glue job script, in local mode."""
    quality = Path(lake.path(SILVER_QUALITY))
    reports_before = set(quality.glob("*.json"))
    job_args = ["--JOB_NAME", "silver", "--bronze_path", lake.bronze, "--silver_path", lake.silver]
    if time_basis_override is not None:
        job_args += ["--time_basis_override", time_basis_override]
    spark_submit(SILVER_JOB, job_args, lake.spark_log("silver"))
    if not set(quality.glob("*.json")) - reports_before:  # a run with nothing new writes no <run_id>.json
        return StageResult(
            read=lake.bronze, wrote=lake.silver, rows="nothing new in Bronze, Silver unchanged"
        )
    report = read_json(quality / "latest.json")
    totals = report.get("totals", {})
    rows = (
        f"{totals.get('rows_read', '?')} read, {totals.get('rows_written', '?')} to Silver, "
        f"{totals.get('rows_quarantined', '?')} quarantined, {totals.get('duplicates_removed', '?')} duplicates"
    )
    return StageResult(read=lake.bronze, wrote=lake.silver, rows=rows)


def gold_stage(lake: Lake) -> StageResult:
    """Silver -> the five Gold tables with the EMR job script, in local mode."""
    spark_submit(GOLD_JOB, ["--silver_path", lake.silver, "--gold_path", lake.gold], lake.spark_log("gold"))
    summary = read_json(Path(lake.path(GOLD_RUNS)) / "latest.json")
    tables = summary.get("tables", {})
    rows = ", ".join(f"{name} {info['rows']}" for name, info in tables.items())
    return StageResult(read=lake.silver, wrote=lake.gold, rows=rows or "?")


def serve_stage(lake: Lake) -> StageResult:
    """Gold -> the DuckDB query layer (lake.duckdb) and the offline HTML dashboard."""
    # The serving code lives in its own stage folder, beside the Athena SQL it shares.
    sys.path.insert(0, str(REPO / "quicksight"))
    import duckdb

    import athena_sql
    import dashboard
    import local_lake

    # no Gold folder, or one holding only what a killed first Gold run left (its staging folder)
    if not local_lake.tables_with_files(lake.silver, lake.gold, athena_sql.GOLD_TABLES):
        gold_then_serve = rerun_command(lake.gold, GOLD_PREFIX, "gold,serve")
        raise StageFailed(
            f"there are no Gold tables under {lake.gold}; run the gold stage first: {gold_then_serve}"
        )

    try:
        local_lake.build_local_query_layer(lake.duckdb, lake.silver, lake.gold)
        dashboard.build_dashboard(lake.duckdb, lake.dashboard)
    except (ValueError, OSError, duckdb.Error, dashboard.DashboardError) as error:
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise StageFailed(f"serving failed ({first_line.rstrip('.')})") from error
    return StageResult(read=lake.gold, wrote=f"{lake.duckdb}, {lake.dashboard}", rows="views + dashboard")


def after_failed_ingest(resources: list[dict], max_file_bytes: str | None) -> str:
    """What to do after an ingest whose manifest lists these resources, some failed: a re-run resumes, but a file over
    the size cap (``--max-file-bytes``) is refused again by every run until the cap is raised (its entry says so)."""
    capped = sum(ingestao_bronze.OVER_CAP_ADVICE in (r.get("error") or "") for r in resources)
    if not capped:
        return "a re-run resumes where it stopped"
    cap = ingestao_bronze.max_file_bytes(max_file_bytes)
    files, it = ("1 file", "it is") if capped == 1 else (f"{capped} files", "they are")
    return (
        f"{files} over the cap of {cap:,} bytes would be refused again: if {it} real, raise the cap "
        '(make run ARGS="--max-file-bytes N") and run again'
    )


def manifest_keys(lake: Lake) -> list[str] | None:
    """The keys of Bronze's run manifests (``_manifests/<run_id>.json``; run ids sort by time), local or on S3,
    listed through the same store the ingest writes with; None when the lake cannot be listed (the ingest says why
    in its own sentence)."""
    from bronze_storage import StorageError, open_store

    store = open_store(lake, check=False)  # reads only: no staging folder is made, so nothing to close
    try:
        return [key for key in store.keys_in(BRONZE_MANIFESTS) if key.endswith(".json")]
    except StorageError:
        return None


def newest_manifest(lake: Lake, manifests: list[str] | None) -> dict:
    """The newest of the Bronze run manifests ``manifests`` (manifest_keys' list); {} when there is none."""
    from bronze_storage import open_store

    return (open_store(lake, check=False).read_json(manifests[-1]) or {}) if manifests else {}


def read_json(path: Path) -> dict:
    """A stage's JSON summary (``latest.json``), or {} when there is none."""
    return json.loads(path.read_text()) if path.is_file() else {}


def stop_on_sigterm(signum: int, frame: Any) -> None:
    """SIGTERM's handler while the stages run: stop as on Ctrl-C (a Spark stage passes it on instead, ``run_job``;
    the ingest, Bronze's own ``main``, has its own)."""
    raise Terminated


def main(argv: list[str] | None = None) -> int:
    """Run the selected stages in order; 0 when all succeed, 1 when one fails, 2 on bad usage, 130 when interrupted
    (Ctrl-C), 143 when stopped by SIGTERM."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    lake = Lake.from_uri(args.lake)
    if lake.is_s3 and args.stages != ["ingest"]:
        print(
            "run_pipeline.py runs Spark locally and needs a local --lake; on AWS run Silver on Glue and Gold on EMR "
            "(see README), or use --stages ingest to land Bronze in S3.",
            file=sys.stderr,
        )
        return 2
    if not lake.is_s3 and args.stages != [
        "ingest"
    ]:  # the ingest says so itself; Spark took 25 s to fail on it
        from bronze_storage import StorageError, open_store

        try:
            open_store(lake, check=False).check_writable()
        except StorageError as error:
            print(f"{error} The stages write into it: fix that, then run again.", file=sys.stderr)
            return 2
    runners = {
        "ingest": lambda: ingest_stage(lake, args),
        "silver": lambda: silver_stage(lake, args.time_basis_override),
        "gold": lambda: gold_stage(lake),
        "serve": lambda: serve_stage(lake),
    }
    started = time.monotonic()
    previous_handler = signal.signal(signal.SIGTERM, stop_on_sigterm)
    try:
        for done, stage in enumerate(args.stages):
            stage_started = time.monotonic()
            try:
                result = runners[stage]()
            except Terminated:  # SIGTERM while this process itself works
                print(f"[{stage}] stopped by SIGTERM.", file=sys.stderr)
                return TERMINATED_EXIT
            except KeyboardInterrupt:  # Ctrl-C while this process itself works (serving, reading manifests)
                print(f"[{stage}] interrupted.", file=sys.stderr)
                return INTERRUPTED_EXIT
            except StageFailed as failure:
                intact = (
                    f" The output of {', '.join(args.stages[:done])} is intact under {lake.root}."
                    if done
                    else ""
                )
                print(f"[{stage}] FAILED: {failure}.{intact}", file=sys.stderr)
                return failure.exit_code if isinstance(failure, StageInterrupted) else 1
            seconds = time.monotonic() - stage_started
            print(
                f"[{stage:6}] read {result.read} -> wrote {result.wrote} | {result.rows} | {seconds:.1f} s",
                flush=True,
            )
    finally:
        signal.signal(signal.SIGTERM, previous_handler)
    print(f"done in {time.monotonic() - started:.1f} s")
    if "gold" in args.stages or "serve" in args.stages:
        print(f"Gold tables: {lake.gold}/<table>/  (monthly_requests, resolution_times, ...)")
    if "serve" in args.stages:
        # to paste into a shell and a browser as they stand: a lake under "My lakes" is quoted, and its URL encoded
        duckdb_cli = shlex.quote(str(Path(sys.executable).parent / "duckdb"))
        print(
            f'Query them:  {duckdb_cli} {shlex.quote(lake.duckdb)} -c "select * from v_monthly_requests limit 5"'
        )
        print(f"Dashboard:   {Path(lake.dashboard).as_uri()}")
    spark_logs = [lake.spark_log(stage) for stage in SPARK_STAGES if stage in args.stages]
    if spark_logs:
        kept = f"each stage's last run, whole; the {SPARK_LOGS_KEPT} runs before it as .log.1 to .log.{SPARK_LOGS_KEPT}"
        print(f"Spark's log: {', '.join(spark_logs)}  ({kept})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
