"""SIGTERM (``kill``, ``timeout``, systemd, ``docker stop``) ends each stage as Ctrl-C does: one sentence of its own,
exit 143 (128 + 15, as a shell reports it), nothing published and nothing half-written.

How it reaches the processes: ``spark-submit`` is a shell script that execs Spark's Java (SparkSubmit), which starts
the job's Python driver as its child. ``kill <spark-submit's pid>`` names the Java only; ``timeout`` and a terminal's
Ctrl-C reach the whole process group, Java and driver both; ``kill`` of the runner (scripts/run_pipeline.py) names
the runner only. Before, Java ran its shutdown hooks and exited 143 at once, the driver cut off wherever it was and its
last line lost with Java's end of the pipe, and the runner died at once, leaving its job running on without it. Now
the jobs handle SIGTERM as Ctrl-C, their Java hands both signals to the driver (``forward_java_signals``), and the
runner passes SIGTERM on to its job and waits for it (``run_job``).

The jobs' tests run them under a real ``spark-submit`` through tests/crash_at.py, which sends the signal at the run's
first Spark write (the known point: the output is being staged, nothing is published yet) and waits until the job has
taken it before letting the write go on.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

import gold_job
import run_pipeline
import silver_job
from conftest import REPO
from crash_helpers import BRONZE, GOLD, SILVER, gold_view, land_day_1, left_behind, stage_arguments

CRASH_AT = REPO / "tests" / "crash_at.py"


class ReachedTheTest(Exception):
    """SIGTERM reached the handler the test set, not one of the code under test."""


@pytest.fixture
def sigterm_guard():
    """A SIGTERM handler of the test's own while it runs, so that a SIGTERM the code under test does not handle fails
    the test rather than end pytest (Python's default for SIGTERM); the handler it replaced goes back after."""

    def reached(signum: int, frame: object) -> None:
        raise ReachedTheTest("SIGTERM reached the test's own handler")

    before = signal.signal(signal.SIGTERM, reached)
    yield reached
    signal.signal(signal.SIGTERM, before)


def spark_submit_stage(stage: str, lake: Path, signal_to: str) -> subprocess.CompletedProcess:
    """Run a job under spark-submit as the runner starts it (its log settings too), sent SIGTERM at its first Spark
    write by tests/crash_at.py: to the driver itself (``self``) or to Spark's Java, the driver's parent (``parent``)."""
    env = dict(
        os.environ,
        CRASH_LAKE=str(lake),
        CRASH_AT="spark write",
        CRASH_SIGNAL="TERM",
        CRASH_SIGNAL_TO=signal_to,
        PYSPARK_PYTHON=sys.executable,
        PYSPARK_DRIVER_PYTHON=sys.executable,
        SPARK_HOME=run_pipeline.spark_home(),
        SPARK_LOCAL_IP="127.0.0.1",
        BOSTON311_SPARK_LOG=str(lake.parent / f"{stage}.log"),
        BOSTON311_SPARK_LOG_PATTERN=str(lake.parent / f"{stage}.log"),
    )
    env.pop("PYSPARK_SUBMIT_ARGS", None)  # the driver joins spark-submit's Java; it starts none of its own
    command = [
        str(run_pipeline.spark_submit_path()),
        "--master",
        "local[1]",
        "--driver-java-options",
        f"-Dlog4j2.configurationFile={run_pipeline.SPARK_LOG_CONFIG.as_uri()} {run_pipeline.JVM_DEFAULTS}",
        "--conf",
        "spark.sql.shuffle.partitions=1",
        "--conf",
        "spark.ui.enabled=false",
        "--conf",
        "spark.driver.host=127.0.0.1",
        "--conf",
        "spark.driver.bindAddress=127.0.0.1",
        str(CRASH_AT),
        stage,
        *stage_arguments(stage, lake),
    ]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, check=False)


def said(output: str, prefix: str) -> list[str]:
    """The lines of a job's output that start with ``prefix``."""
    return [line for line in output.splitlines() if line.startswith(prefix)]


@pytest.mark.spark
def test_sigterm_to_spark_submit_stops_silver_before_it_publishes_in_one_sentence_exit_143(tmp_path: Path):
    """``kill <spark-submit's pid>``: Java's own handler ended the run at once (exit 143, no sentence); now it hands
    the signal to the driver, which cancels its Spark jobs and stops before it publishes."""
    lake = tmp_path / "lake"
    land_day_1(lake)

    stopped = spark_submit_stage("silver", lake, signal_to="parent")

    output = stopped.stdout + stopped.stderr
    assert stopped.returncode == 143, output[-3000:]
    assert said(output, "silver_job:") == [f"silver_job: {silver_job.Interrupted.TERMINATED}"], output[-3000:]
    assert (
        said(output, "crash_at.py:") == []
    )  # the job took the signal (from its Java) before the write went on
    assert "Traceback (most recent call last)" not in output and "Exception in thread" not in output
    silver = lake / SILVER
    assert not (silver / "service_requests").exists() and not (silver / "_state").exists()
    assert left_behind(silver) == []
    assert left_behind(lake / BRONZE) == []


@pytest.mark.spark
def test_sigterm_to_the_gold_driver_stops_it_before_it_publishes_in_one_sentence_exit_143(
    spark, tmp_path: Path
):
    """SIGTERM to the Python driver itself (``timeout`` sends it to Java and driver both): its default ended the
    driver at once, without a sentence; now it is handled as Ctrl-C, and the previous tables stay as they were."""
    lake = tmp_path / "lake"
    land_day_1(lake)
    silver, gold = str(lake / SILVER), str(lake / GOLD)
    silver_job.run_silver(spark, str(lake / BRONZE), silver)
    gold_job.run_gold(spark, silver, gold, sole_writer=True)
    files_before = sorted(str(path.relative_to(lake / GOLD)) for path in (lake / GOLD).rglob("*"))
    view_before = gold_view(lake)

    stopped = spark_submit_stage("gold", lake, signal_to="self")

    output = stopped.stdout + stopped.stderr
    assert stopped.returncode == 143, output[-3000:]
    assert said(output, "Gold ") == [gold_job.GoldInterrupted.TERMINATED], output[-3000:]
    assert said(output, "crash_at.py:") == []
    assert "Traceback (most recent call last)" not in output and "Exception in thread" not in output
    # nothing swapped in: the same files (a new table's part files have new names), the same rows
    assert sorted(str(path.relative_to(lake / GOLD)) for path in (lake / GOLD).rglob("*")) == files_before
    assert gold_view(lake) == view_before


@pytest.mark.parametrize("job", ["silver_job", "gold_job"])
def test_sigterm_cancels_once_and_a_second_one_changes_nothing(job: str, sigterm_guard) -> None:
    """In the driver: a flag and a cancel, as the first Ctrl-C; a second SIGTERM neither raises nor stops at once
    (``timeout`` sends one to the driver and one through Java); the exit code is 143; the handlers go back."""
    module = __import__(job)
    cancelled = threading.Event()
    stand_in = SimpleNamespace(
        sparkContext=SimpleNamespace(cancelAllJobs=cancelled.set)
    )  # no Java to forward
    handlers_before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    put_back = module.cancel_on_interrupt(stand_in)
    try:
        signal.raise_signal(signal.SIGTERM)
        assert module.INTERRUPTED.is_set() and cancelled.wait(10)
        signal.raise_signal(signal.SIGTERM)  # nothing raised
        assert module.stopped_exit() == 143
    finally:
        put_back()
        module.INTERRUPTED.clear()
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers_before


# ------------------------------------------------------------------------------------------------------ the runner
JOB_STOPPING_ON_SIGTERM = """
import signal, sys, time
def stop(signum, frame):
    print("job: stopped by SIGTERM", flush=True)
    sys.exit(143)
signal.signal(signal.SIGTERM, stop)
print("job: ready", flush=True)
time.sleep(60)
sys.exit(0)
"""


def test_the_runner_passes_sigterm_on_to_its_job_and_waits_for_it(tmp_path: Path, sigterm_guard) -> None:
    """``kill <runner>`` names the runner only: it died at once (143, no sentence), its job running on without it.
    Here a real child stands for spark-submit; SIGTERM comes to this process while it waits."""
    ready = tmp_path / "out"

    test_over = threading.Event()

    def kill_this_process_once_the_job_is_ready() -> None:
        while not test_over.wait(0.05):
            if ready.exists() and "ready" in ready.read_text():
                os.kill(os.getpid(), signal.SIGTERM)
                return

    killer = threading.Thread(target=kill_this_process_once_the_job_is_ready, daemon=True)
    killer.start()
    try:
        with open(ready, "w") as out:
            command = [
                "/bin/sh",
                "-c",
                f'exec "$0" -c "$1" > {out.name}',
                sys.executable,
                JOB_STOPPING_ON_SIGTERM,
            ]
            returncode, interrupted, terminated = run_pipeline.run_job(command, dict(os.environ))
    finally:
        test_over.set()
        killer.join(timeout=10)

    assert (returncode, interrupted, terminated) == (143, False, True)
    assert ready.read_text() == "job: ready\njob: stopped by SIGTERM\n"  # the job ended in its own words
    assert signal.getsignal(signal.SIGTERM) is sigterm_guard


@pytest.mark.parametrize(
    ("returncode", "terminated", "sentence"),
    [
        (143, True, "silver_job.py was stopped by SIGTERM; it published nothing, and a re-run redoes it"),
        (143, False, "silver_job.py was stopped by SIGTERM; it published nothing, and a re-run redoes it"),
        (0, True, "stopped by SIGTERM after silver_job.py finished; the later stages did not run"),
    ],
    ids=["job-stopped", "its-java-killed-directly", "publish-finished"],
)
def test_a_spark_stage_stopped_by_sigterm_is_one_sentence_and_exit_143(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, returncode: int, terminated: bool, sentence: str
) -> None:
    monkeypatch.setattr(run_pipeline, "run_job", lambda command, env: (returncode, False, terminated))

    with pytest.raises(run_pipeline.StageTerminated) as stopped:
        run_pipeline.spark_submit(run_pipeline.SILVER_JOB, [], str(tmp_path / "silver.log"))

    assert str(stopped.value) == sentence and stopped.value.exit_code == 143


def test_sigterm_while_the_runner_itself_works_is_one_sentence_and_exit_143(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture, sigterm_guard
) -> None:
    def serving(lake: object) -> None:
        signal.raise_signal(signal.SIGTERM)  # as `kill <runner>` while it builds lake.duckdb

    monkeypatch.setattr(run_pipeline, "serve_stage", serving)

    assert run_pipeline.main(["--lake", str(tmp_path / "lake"), "--stages", "serve"]) == 143

    assert capsys.readouterr().err == "[serve] stopped by SIGTERM.\n"
    assert signal.getsignal(signal.SIGTERM) is sigterm_guard
