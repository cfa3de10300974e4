"""scripts/run_pipeline.py without Spark: the ingest stage into an S3 lake (moto) reports what landed."""

from __future__ import annotations

import importlib
import os
import resource
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

import run_pipeline
import serving_helpers as helpers
from bronze_helpers import pretend_read_only
from conftest import REPO, SAMPLES

BUCKET = "boston311-runner-test"


@pytest.fixture
def s3_lake(aws_credentials: None):
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
        yield f"s3://{BUCKET}/lake"


def test_ingest_into_s3_counts_from_the_run_manifest(s3_lake, capsys):
    argv = ["--offline", "--quiet", "--lake", s3_lake, "--stages", "ingest"]

    assert run_pipeline.main(argv) == 0
    assert "4 landed, 0 unchanged" in capsys.readouterr().out

    assert run_pipeline.main(argv) == 0  # the second run's manifest is the newest one
    assert "0 landed, 4 unchanged" in capsys.readouterr().out


def test_later_stages_refuse_an_s3_lake_in_one_sentence(s3_lake, capsys):
    assert (
        run_pipeline.main(["--offline", "--lake", s3_lake, "--stages", "ingest,serve"]) == 2
    )  # no Spark if lost
    assert "needs a local --lake" in capsys.readouterr().err


@pytest.mark.parametrize("gold", ["none", "a-killed-first-run"])
def test_serve_without_gold_is_refused_and_writes_nothing(gold, tmp_path, capsys):
    lake = tmp_path / "lake"
    if gold == "a-killed-first-run":  # its staging folder only, which held a table's files: not a Gold table
        staged = lake / "gold" / "boston311" / "_staging" / "20261128T000000Z" / "monthly_requests"
        helpers.write_gold(staged.parent, {"monthly_requests": helpers.SMALL_MONTHLY})
        before = sorted(lake.rglob("*"))

    assert run_pipeline.main(["--lake", str(lake), "--stages", "serve"]) == 1
    err = capsys.readouterr().err
    assert (
        err.strip()
        == f"[serve] FAILED: there are no Gold tables under {lake}/gold/boston311; run the gold stage first: "
        f'make run LAKE={lake} ARGS="--stages gold,serve".'
    )
    # no empty lake.duckdb, no dashboard of zero months
    assert sorted(lake.rglob("*")) == before if gold == "a-killed-first-run" else not lake.exists()


@pytest.mark.parametrize("stages", ["silver", "gold,serve", "serve"])
def test_a_lake_that_cannot_be_written_stops_the_spark_and_serve_stages_before_they_start(
    stages, tmp_path, monkeypatch, capsys
):
    lake = tmp_path / "lake"
    helpers.write_small_lake(lake)
    before = sorted(lake.rglob("*"))
    pretend_read_only(
        monkeypatch, lake
    )  # Silver and Gold ran Spark for 25 s, then failed on a cut-off Java error

    assert run_pipeline.main(["--lake", str(lake), "--stages", stages]) == 2

    assert capsys.readouterr().err == (
        f"The lake folder {lake} is not writable. The stages write into it: fix that, then run again.\n"
    )
    assert sorted(lake.rglob("*")) == before


def test_a_serve_failure_is_one_stage_line_not_a_traceback(tmp_path, capsys):
    lake = tmp_path / "lake"
    helpers.write_small_lake(lake)
    (lake / "lake.duckdb").mkdir(parents=True)  # something in the way of the query layer's file

    assert run_pipeline.main(["--lake", str(lake), "--stages", "serve"]) == 1
    err = capsys.readouterr().err
    assert "[serve] FAILED: serving failed (" in err
    assert "Traceback" not in err and "intact" not in err  # no stage ran before it


def test_the_query_and_dashboard_lines_paste_as_they_stand_for_a_lake_under_a_folder_with_a_space(
    tmp_path, capsys
):
    lake = tmp_path / "My lakes" / "boston's"
    helpers.write_small_lake(lake)

    assert run_pipeline.main(["--lake", str(lake), "--stages", "serve"]) == 0

    lines = dict(line.split(":", 1) for line in capsys.readouterr().out.splitlines() if ":  " in line)
    query = shlex.split(lines["Query them"])
    assert query[1:] == [str(lake / "lake.duckdb"), "-c", "select * from v_monthly_requests limit 5"]
    assert subprocess.run(query, capture_output=True, check=True).stdout.count(b"\n") > 5  # the CLI answers
    assert lines["Dashboard"].strip() == (lake / "dashboard" / "index.html").as_uri()
    assert "%20" in lines["Dashboard"] and "%27" in lines["Dashboard"]


def test_a_failed_stage_names_the_stages_whose_output_is_intact(tmp_path, capsys):
    lake = tmp_path / "lake"
    helpers.write_small_lake(lake)
    (lake / "lake.duckdb").mkdir(parents=True)

    assert run_pipeline.main(["--offline", "--quiet", "--lake", str(lake), "--stages", "ingest,serve"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("[serve] FAILED: serving failed (")
    assert err.endswith(f". The output of ingest is intact under {lake}.")
    assert len(list((lake / "bronze" / "boston311").rglob("*.csv"))) == 4


@pytest.mark.parametrize("cli", ["run_pipeline", "ingestao_bronze", "local_lake", "dashboard"])
def test_an_empty_lake_argument_is_refused_not_read_as_the_default(cli, tmp_path, monkeypatch, capsys):
    # `--lake "$LAKE"` with LAKE unset wrote a manifest and lake.duckdb into ./lake.
    monkeypatch.chdir(tmp_path)
    main = importlib.import_module(cli).main

    try:
        code = main(["--lake", ""])
    except SystemExit as stopped:  # argparse's exit; ingestao_bronze returns its exit code instead
        code = stopped.code

    assert code == 2
    assert "--lake: is empty (an unset variable?)" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_bad_years_are_a_usage_error_before_any_stage(tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        run_pipeline.main(["--offline", "--lake", str(tmp_path / "lake"), "--years", "abc"])

    assert stopped.value.code == 2
    assert "--years must be years and ranges like 2019-2023,2025, not 'abc'" in capsys.readouterr().err
    assert not (tmp_path / "lake").exists()


@pytest.mark.parametrize(
    ("argv", "env", "complaint"),
    [
        (  # --stages ingest: were the check lost, the test would not go on to start Spark
            ["--offline", "--portal", "https://example.org", "--stages", "ingest"],
            {},
            "--offline ingests from the built-in stand-in",
        ),
        (
            ["--offline", "--stages", "ingest"],
            {"SPARK_DRIVER_MEMORY": "lots"},
            "SPARK_DRIVER_MEMORY must be a size like 4g or 2048m, not 'lots'",
        ),
        *(  # Spark would stop on them once the ingest had run, blaming Java (0, 1k: a raw Java error)
            (
                ["--offline", "--stages", "ingest"],
                {"SPARK_DRIVER_MEMORY": size},
                f"SPARK_DRIVER_MEMORY must be 450m or more, the least Spark starts with, not '{size}'",
            )
            for size in ("0", "1k", "160m", "449M", "471859199")
        ),
    ],
)
def test_conflicting_or_malformed_settings_are_usage_errors(
    argv, env, complaint, tmp_path, monkeypatch, capsys
):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as stopped:
        run_pipeline.main(["--lake", str(tmp_path / "lake"), *argv])

    assert stopped.value.code == 2
    assert complaint in capsys.readouterr().err
    assert not (tmp_path / "lake").exists()


@pytest.mark.parametrize("size", ["450m", "450M", "471859200", "1g"])
def test_driver_memory_from_the_least_spark_starts_with_is_taken(size, tmp_path, monkeypatch):
    monkeypatch.setenv("SPARK_DRIVER_MEMORY", size)
    assert run_pipeline.parse_args(["--lake", str(tmp_path), "--offline", "--stages", "ingest"]).stages == [
        "ingest"
    ]


@pytest.mark.parametrize(
    ("java", "complaint"),
    [
        (None, "Spark 3.5 needs Java 17 and there is no java in JAVA_HOME="),
        ('openjdk version "25.0.3" 2026-04-21', "is Java 25: "),  # its version, not "does not run"
        ('openjdk version "22.0.2" 2024-07-16', "is Java 22: "),  # the first one past Spark 3.5's newest
    ],
    ids=["no-java", "java-25", "java-22"],
)
def test_a_java_spark_cannot_start_on_is_a_usage_error_before_any_stage(
    java, complaint, tmp_path, monkeypatch, capsys
):
    # Before: the ingest ran, then spark-submit printed 40 lines of Java trace ("getSubject is not supported") or
    # spark-class's "bad array subscript", and the stage failed.
    home = tmp_path / "jdk"
    if java is not None:
        (home / "bin").mkdir(parents=True)
        (home / "bin" / "java").write_text(f"#!/bin/sh\necho '{java}' >&2\n")
        (home / "bin" / "java").chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", str(home))

    with pytest.raises(SystemExit) as stopped:
        run_pipeline.main(["--offline", "--lake", str(tmp_path / "lake"), "--stages", "ingest,gold"])

    assert stopped.value.code == 2
    [error] = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert complaint in error and "apt-get install openjdk-17-jre-headless" in error
    assert not (tmp_path / "lake").exists()
    (home / "bin").mkdir(parents=True, exist_ok=True)
    for accepted in ("17.0.15", "21.0.5"):  # the project's Java, and the newest Spark 3.5 runs on
        (home / "bin" / "java").write_text(
            f"#!/bin/sh\necho 'openjdk version \"{accepted}\" 2025-04-15' >&2\n"
        )
        (home / "bin" / "java").chmod(0o755)
        assert run_pipeline.parse_args(["--lake", str(tmp_path / "lake")]).stages[1:3] == ["silver", "gold"]


def test_a_python_without_the_requirements_is_a_usage_error_before_any_stage(tmp_path, monkeypatch, capsys):
    # `python3 scripts/run_pipeline.py` outside the virtualenv discovered the portal, then died with a
    # ModuleNotFoundError traceback for tqdm; a Python without spark-submit beside it, with a FileNotFoundError.
    packages = {**run_pipeline.STAGE_PACKAGES, "ingest": ("requests", "no_such_package_311")}
    monkeypatch.setattr(run_pipeline, "STAGE_PACKAGES", packages)

    with pytest.raises(SystemExit) as stopped:
        run_pipeline.main(["--offline", "--lake", str(tmp_path / "lake"), "--stages", "ingest,serve"])

    assert stopped.value.code == 2
    [error] = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert "no_such_package_311 not installed for " in error
    assert "run it with the project's virtualenv, .venv/bin/python scripts/run_pipeline.py" in error
    assert not (tmp_path / "lake").exists()
    assert run_pipeline.missing_packages(["serve"]) == []  # only what the chosen stages import
    monkeypatch.setattr(run_pipeline.sys, "executable", str(tmp_path / "bin" / "python3"))
    assert run_pipeline.missing_packages(["ingest", "gold"]) == ["no_such_package_311", "spark-submit"]


def test_a_java_that_cannot_be_run_is_said_in_one_sentence(tmp_path, monkeypatch):
    java = tmp_path / "jdk" / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_bytes(b"\x7fELF\x02 not a program")  # e.g. a JDK for another machine: execve fails
    java.chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "jdk"))

    problem = run_pipeline.java_problem()

    assert problem.startswith(
        f"Spark 3.5 needs Java 17 and the java in JAVA_HOME={tmp_path / 'jdk'} does not run ("
    )


def test_only_the_spark_stages_need_java(tmp_path, monkeypatch):
    # an ingest into an S3 lake, or a rebuilt DuckDB file and dashboard, runs on a machine without Java
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-jdk"))
    for stages in ("ingest", "serve", "ingest,serve"):
        args = run_pipeline.parse_args(["--lake", str(tmp_path / "lake"), "--stages", stages])
        assert args.stages == stages.split(",")
    with pytest.raises(SystemExit):
        run_pipeline.parse_args(["--lake", str(tmp_path / "lake"), "--stages", "serve,silver"])


@pytest.mark.parametrize(
    ("job_exit", "said"), [(130, "was interrupted; it published nothing"), (0, "interrupted after")]
)
def test_ctrl_c_during_a_spark_stage_lets_the_job_finish_its_part_and_stops_the_run(
    job_exit, said, tmp_path, monkeypatch
):
    # The terminal sends Ctrl-C to the job and to this process: this one must not die (the job cleans up
    # or finishes its publish), and must not go on to the next stage either.
    class JobGetsCtrlCToo:
        def __init__(self, command, env):
            pass

        def wait(self):
            signal.raise_signal(
                signal.SIGINT
            )  # would be a KeyboardInterrupt here without the runner's handler
            return job_exit

    monkeypatch.setattr(run_pipeline.subprocess, "Popen", JobGetsCtrlCToo)
    handler_before = signal.getsignal(signal.SIGINT)

    with pytest.raises(run_pipeline.StageInterrupted, match=said):
        run_pipeline.spark_submit(
            run_pipeline.GOLD_JOB, ["--silver_path", "s", "--gold_path", "g"], "gold.log"
        )

    assert signal.getsignal(signal.SIGINT) is handler_before  # given back


@pytest.mark.parametrize("hard", ["unchanged", 256])
def test_an_open_file_limit_spark_cannot_start_under_is_raised_or_refused_in_one_sentence(hard, tmp_path):
    # Under ulimit -n 256 (macOS's default) Spark's Java died as it started, in a Java trace ending "tzdb.dat (Too many
    # open files)", after the ingest (the drill of 2026-11-27). A child process, so this one keeps its own limit.
    if resource.getrlimit(resource.RLIMIT_NOFILE)[1] < run_pipeline.LEAST_OPEN_FILES:
        pytest.skip("this machine's hard open-file limit is itself under the least Spark runs with")
    child = (
        "import resource, sys\n"
        "soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)\n"
        f"resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard if {hard!r} == 'unchanged' else {hard!r}))\n"
        "import run_pipeline\n"
        f"run_pipeline.parse_args(['--lake', {str(tmp_path)!r}, '--stages', 'silver'])\n"
        "print(resource.getrlimit(resource.RLIMIT_NOFILE)[0])\n"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO / "scripts"))
    completed = subprocess.run(
        [sys.executable, "-c", child], env=env, capture_output=True, text=True, check=False
    )

    if hard == "unchanged":
        assert (completed.returncode, completed.stdout.strip()) == (0, str(run_pipeline.LEAST_OPEN_FILES))
    else:
        assert completed.returncode == 2
        assert completed.stderr.strip().splitlines()[-1] == (
            "run_pipeline.py: error: Spark needs to open 1024 files at once and this shell allows 256 (ulimit -Hn): "
            "raise the limit (ulimit -n 1024 as root, or in /etc/security/limits.conf), then run again"
        )


def test_a_job_the_system_killed_is_one_sentence_on_memory(monkeypatch):
    # The kernel's out-of-memory killer sends SIGKILL: the job prints nothing, and the run said "failed (exit -9);
    # see its message above" with no message above (the drill of 2026-11-27, Silver in a 900 MB memory cgroup).
    monkeypatch.setattr(run_pipeline, "run_job", lambda command, env: (-9, False, False))
    monkeypatch.setenv("SPARK_DRIVER_MEMORY", "2g")

    with pytest.raises(run_pipeline.StageFailed) as failure:
        run_pipeline.spark_submit(
            run_pipeline.SILVER_JOB, ["--bronze_path", "b", "--silver_path", "s"], "s.log"
        )

    assert str(failure.value) == (
        "silver_job.py was killed (SIGKILL), most often by the system when memory runs out: Spark's Java takes up to "
        "SPARK_DRIVER_MEMORY (2g) and more, so free that much memory or set SPARK_DRIVER_MEMORY lower (450m at the "
        "least), then run again; a re-run redoes it. Spark's log up to then: s.log"
    )


def test_a_job_spark_stopped_for_memory_is_one_sentence_on_memory(monkeypatch):
    # A task's OutOfMemoryError ends a local Spark's Java with exit 52 before the job can say a word: the run said
    # "failed (exit 52); see its message above" with no message of the job's above (the real exit is in
    # test_spark_laptop_settings.py).
    monkeypatch.setattr(run_pipeline, "run_job", lambda command, env: (52, False, False))
    monkeypatch.setenv("SPARK_DRIVER_MEMORY", "2g")

    with pytest.raises(run_pipeline.StageFailed) as failure:
        run_pipeline.spark_submit(run_pipeline.GOLD_JOB, ["--silver_path", "s", "--gold_path", "g"], "g.log")

    assert str(failure.value) == (
        "gold_job.py stopped: Spark ran out of memory (exit 52, java.lang.OutOfMemoryError): give it more than "
        "SPARK_DRIVER_MEMORY's 2g (e.g. SPARK_DRIVER_MEMORY=8g make run), then run again; a re-run redoes it. "
        "Spark's whole log: g.log"
    )


def test_stages_run_in_pipeline_order_whatever_order_they_are_given_in(tmp_path):
    args = run_pipeline.parse_args(["--lake", str(tmp_path), "--stages", "serve, ingest,silver"])

    assert args.stages == ["ingest", "silver", "serve"]


def test_an_empty_stage_list_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        run_pipeline.main(["--lake", str(tmp_path / "lake"), "--stages", " , "])

    assert stopped.value.code == 2
    assert "unknown stage(s) (none given)" in capsys.readouterr().err


def test_an_interrupted_ingest_stops_the_run_with_130(tmp_path, monkeypatch, capsys):
    import ingestao_bronze

    monkeypatch.setattr(ingestao_bronze, "main", lambda argv: 130)

    assert run_pipeline.main(["--lake", str(tmp_path / "lake"), "--stages", "ingest,silver"]) == 130
    assert "[ingest] FAILED: ingest was interrupted" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("code", "advice"),
    [
        (
            2,
            "fix that, then run again (with no network, --offline runs the same pipeline on the built-in stand-in: make demo)",
        ),
        (1, "a re-run resumes where it stopped"),
    ],
)
def test_a_failed_ingest_says_whether_a_re_run_alone_helps(code, advice, tmp_path, monkeypatch, capsys):
    # An unreachable portal or a read-only lake (exit 2) was followed by "a re-run resumes where it stopped".
    import ingestao_bronze

    def failed_ingest(argv: list[str]) -> int:
        """A run some files of which failed: its manifest says so (a run that lands nothing writes none)."""
        manifests = tmp_path / "lake" / "bronze" / "boston311" / "_manifests"
        manifests.mkdir(parents=True)
        (manifests / "20261127T090000Z.json").write_text(
            '{"resources": [{"status": "failed", "error": "HTTP 503"}]}'
        )
        return code

    monkeypatch.setattr(ingestao_bronze, "main", failed_ingest)

    assert run_pipeline.main(["--lake", str(tmp_path / "lake"), "--stages", "ingest,serve"]) == 1
    assert (
        capsys.readouterr().err.strip()
        == f"[ingest] FAILED: ingest failed (exit {code}, its reason above); {advice}."
    )


def test_an_ingest_stopped_by_another_run_says_it_landed_nothing_not_what_an_earlier_run_failed(
    tmp_path, capsys
):
    # The advice was read from the newest manifest, an earlier run's: "1 file over the cap … would be refused again"
    # for a run that read no file at all, or "a re-run resumes", which the other run's lock would stop again.
    lake = tmp_path / "lake"
    argv = [
        "--offline",
        "--quiet",
        "--lake",
        str(lake),
        "--stages",
        "ingest",
        "--years",
        "2022",
        "--no-new-system",
    ]
    assert (
        run_pipeline.main([*argv, "--max-file-bytes", "1000"]) == 1
    )  # the earlier run: one file over the cap
    capsys.readouterr()

    from bronze_storage import open_store
    from lake import Lake

    with open_store(Lake.from_uri(str(lake)), check=False).one_run_at_a_time():  # another run is writing
        assert run_pipeline.main(argv) == 1

    err = capsys.readouterr().err
    assert "Another Bronze run is writing" in err
    assert err.splitlines()[-1] == (
        "[ingest] FAILED: ingest failed (exit 1, its reason above) and landed nothing; run again once it is resolved."
    )


def test_a_failed_offline_ingest_does_not_suggest_going_offline(tmp_path, monkeypatch, capsys):
    import ingestao_bronze

    monkeypatch.setattr(ingestao_bronze, "main", lambda argv: 2)

    assert run_pipeline.main(["--lake", str(tmp_path / "lake"), "--offline", "--stages", "ingest,serve"]) == 1
    assert capsys.readouterr().err.strip() == (
        "[ingest] FAILED: ingest failed (exit 2, its reason above); fix that, then run again."
    )


def test_ctrl_c_while_this_process_serves_stops_the_run_with_130_in_one_line(tmp_path, monkeypatch, capsys):
    lake = tmp_path / "lake"
    helpers.write_small_lake(lake)

    import local_lake

    def interrupted(duckdb_path: str, silver_path: str, gold_path: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(local_lake, "build_local_query_layer", interrupted)

    assert run_pipeline.main(["--lake", str(lake), "--stages", "serve"]) == 130
    assert capsys.readouterr().err == "[serve] interrupted.\n"


def test_years_and_no_new_system_reach_the_ingest(tmp_path, capsys):
    lake = tmp_path / "lake"

    argv = ["--offline", "--quiet", "--lake", str(lake), "--stages", "ingest", "--years", "2022"]
    assert run_pipeline.main([*argv, "--no-new-system"]) == 0

    assert "1 landed, 0 unchanged" in capsys.readouterr().out
    assert [p.parent.parent.name for p in (lake / "bronze" / "boston311").rglob("*.csv")] == [
        "dataset=legacy_2022"
    ]


def test_max_file_bytes_reaches_the_ingest(tmp_path, capsys, caplog):
    lake = tmp_path / "lake"
    argv = ["--offline", "--quiet", "--lake", str(lake), "--stages", "ingest", "--years", "2022"]

    assert run_pipeline.main([*argv, "--no-new-system", "--max-file-bytes", "1000"]) == 1

    assert "more than the cap of 1,000 bytes" in caplog.text
    assert not list((lake / "bronze" / "boston311").rglob("*.csv"))
    # a re-run alone would refuse the file again: the runner says how to raise the cap, not that a re-run resumes
    assert capsys.readouterr().err.strip() == (
        "[ingest] FAILED: ingest failed (exit 1, its reason above); 1 file over the cap of 1,000 bytes would be "
        'refused again: if it is real, raise the cap (make run ARGS="--max-file-bytes N")'
        " and run again."
    )


@pytest.mark.parametrize("value", ["0", "2GB", ""])
def test_a_bad_max_file_bytes_is_a_usage_error_before_any_stage(tmp_path, capsys, value):
    with pytest.raises(SystemExit) as exit_info:
        run_pipeline.main(["--offline", "--lake", str(tmp_path / "lake"), "--max-file-bytes", value])

    assert exit_info.value.code == 2
    assert "--max-file-bytes must be a whole number of bytes above 0" in capsys.readouterr().err
    assert not (tmp_path / "lake").exists()


def ingest_2022_only(tmp_path) -> list[str]:
    """The runner's arguments for the ingest stage alone, of the 2022 file alone, quietly, into tmp_path's lake."""
    lake = str(tmp_path / "lake")
    return ["--quiet", "--lake", lake, "--stages", "ingest", "--years", "2022", "--no-new-system"]


def test_the_ingest_line_counts_the_landings_that_shrank(tmp_path, capsys, caplog):
    from bronze_helpers import cut_short
    from portal_standin import Portal, serve

    portal = Portal.from_fixtures()
    argv = ingest_2022_only(tmp_path)
    with serve(portal) as url:
        assert run_pipeline.main([*argv, "--portal", url]) == 0
        portal.rewrite(portal.resource_id("legacy_2022"), cut_short("legacy_2022", 0.5))
        capsys.readouterr()

        assert run_pipeline.main([*argv, "--portal", url]) == 0

    assert "1 landed, 0 unchanged, 1 shrunk" in capsys.readouterr().out
    assert "legacy_2022: the portal's new file has" in caplog.text


def test_the_ingest_line_counts_the_landings_that_are_not_utf8(tmp_path, capsys, caplog):
    from portal_standin import Portal, serve

    portal = Portal.from_fixtures()
    latin1 = SAMPLES["legacy_2022"].read_bytes().replace(b"Boston", "Bostón".encode("latin-1"), 1)
    portal.rewrite(portal.resource_id("legacy_2022"), latin1)
    argv = ingest_2022_only(tmp_path)
    with serve(portal) as url:
        assert run_pipeline.main([*argv, "--portal", url]) == 0

    assert "1 landed, 0 unchanged, 1 not UTF-8" in capsys.readouterr().out
    assert "legacy_2022: the file is not UTF-8 from byte offset" in caplog.text


def test_silver_reports_nothing_new_unless_its_run_wrote_a_new_report(tmp_path, monkeypatch):
    lake = run_pipeline.Lake(str(tmp_path / "lake"))
    quality = tmp_path / "lake" / "silver" / "boston311" / "_quality"
    quality.mkdir(parents=True)
    earlier = (
        '{"totals": {"rows_read": 5, "rows_written": 5, "rows_quarantined": 0, "duplicates_removed": 0}}'
    )
    (quality / "20260101T000000Z.json").write_text(earlier)
    (quality / "latest.json").write_text(earlier)
    # a run with nothing new
    monkeypatch.setattr(run_pipeline, "spark_submit", lambda script, job_args, log_file: None)

    assert run_pipeline.silver_stage(lake).rows == "nothing new in Bronze, Silver unchanged"

    def silver_writes_a_report(script, job_args, log_file):
        report = (
            '{"totals": {"rows_read": 10, "rows_written": 8, "rows_quarantined": 1, "duplicates_removed": 1}}'
        )
        (quality / "20260102T000000Z.json").write_text(report)
        (quality / "latest.json").write_text(report)

    monkeypatch.setattr(run_pipeline, "spark_submit", silver_writes_a_report)

    assert run_pipeline.silver_stage(lake).rows == "10 read, 8 to Silver, 1 quarantined, 1 duplicates"


@pytest.mark.parametrize(
    ("given", "complaint"),
    [
        ("new_system@2025-13=utc", "dates its reading with '2025-13', which is not a month written YYYY-MM"),
        ("new_system=eastern", "is not dataset=reading with reading one of wall_clock, shifted_back, utc"),
    ],
)
def test_a_time_basis_override_silver_would_refuse_is_a_usage_error_before_any_stage(
    given, complaint, tmp_path, capsys
):
    with pytest.raises(SystemExit) as stopped:
        run_pipeline.main(["--offline", "--lake", str(tmp_path / "lake"), "--time-basis-override", given])

    assert stopped.value.code == 2
    assert complaint in capsys.readouterr().err  # the job's own sentence
    assert not (tmp_path / "lake").exists()


def test_a_time_basis_override_without_the_silver_stage_is_a_usage_error(tmp_path, capsys):
    argv = ["--offline", "--stages", "ingest", "--time-basis-override", "new_system@2025-11=utc"]
    with pytest.raises(SystemExit) as stopped:
        run_pipeline.main(["--lake", str(tmp_path / "lake"), *argv])

    assert stopped.value.code == 2
    assert (
        "--time-basis-override is for the silver stage, which --stages leaves out" in capsys.readouterr().err
    )


def test_the_silver_stage_hands_on_the_time_basis_override(tmp_path, monkeypatch):
    handed: list[list[str]] = []
    monkeypatch.setattr(
        run_pipeline, "spark_submit", lambda script, job_args, log_file: handed.append(job_args)
    )
    monkeypatch.delenv("SILVER_TIME_BASIS_OVERRIDE", raising=False)
    lake = tmp_path / "lake"

    argv = ["--lake", str(lake), "--stages", "silver", "--time-basis-override", "new_system@2025-11=utc"]
    assert run_pipeline.main(argv) == 0
    assert run_pipeline.main(["--lake", str(lake), "--stages", "silver"]) == 0
    # kept in the environment for every run of the lake; the flag wins over it
    monkeypatch.setenv("SILVER_TIME_BASIS_OVERRIDE", "legacy_2022=utc")
    assert run_pipeline.main(["--lake", str(lake), "--stages", "silver"]) == 0
    assert run_pipeline.main(argv) == 0

    with_override, without, from_environment, flag_first = handed
    assert with_override[-2:] == ["--time_basis_override", "new_system@2025-11=utc"]
    assert "--time_basis_override" not in without
    assert from_environment[-2:] == ["--time_basis_override", "legacy_2022=utc"]
    assert flag_first[-2:] == ["--time_basis_override", "new_system@2025-11=utc"]


def test_a_bad_time_basis_override_in_the_environment_is_refused_only_when_silver_runs(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("SILVER_TIME_BASIS_OVERRIDE", "new_system@2025-13=utc")
    with pytest.raises(SystemExit) as stopped:
        run_pipeline.parse_args(["--lake", str(tmp_path / "lake"), "--stages", "silver"])
    assert stopped.value.code == 2
    assert "dates its reading with '2025-13', which is not a month written YYYY-MM" in capsys.readouterr().err
    # a stage list without Silver does not read it
    ingest_only = run_pipeline.parse_args(["--lake", str(tmp_path / "lake"), "--stages", "ingest"])
    assert ingest_only.time_basis_override is None


def test_a_blank_lake_argument_is_refused_too(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)

    with pytest.raises(SystemExit) as stopped:
        run_pipeline.parse_args(["--lake", "  ", "--stages", "ingest"])

    assert stopped.value.code == 2
    assert "--lake: is empty (an unset variable?)" in capsys.readouterr().err


def test_the_ingest_stage_hands_on_every_ingest_flag(tmp_path, monkeypatch):
    handed: list[list[str]] = []
    monkeypatch.setattr(run_pipeline.ingestao_bronze, "main", lambda argv: handed.append(argv) or 0)
    lake = tmp_path / "lake"

    argv = ["--lake", str(lake), "--stages", "ingest", "--years", "2022", "--no-new-system", "--quiet"]
    assert run_pipeline.main(argv) == 0

    assert handed == [
        [
            "--portal",
            run_pipeline.ingestao_bronze.DEFAULT_PORTAL,
            "--lake",
            str(lake),
            "--years",
            "2022",
            "--no-new-system",
            "--quiet",
        ]
    ]


def record_spark_submits(monkeypatch) -> list[tuple[list[str], dict[str, str]]]:
    """spark_submit's commands and environments, recorded instead of run (each 'succeeds')."""
    ran: list[tuple[list[str], dict[str, str]]] = []
    monkeypatch.setattr(
        run_pipeline, "run_job", lambda command, env: ran.append((command, env)) or (0, False, False)
    )
    return ran


def test_spark_submit_runs_the_job_locally_on_loopback_with_the_driver_memory_asked_for(monkeypatch):
    ran = record_spark_submits(monkeypatch)
    monkeypatch.setenv("SPARK_DRIVER_MEMORY", "2g")
    monkeypatch.delenv("SPARK_LOCAL_IP", raising=False)

    run_pipeline.spark_submit(run_pipeline.GOLD_JOB, ["--silver_path", "s", "--gold_path", "g"], "gold.log")

    [(command, env)] = ran
    assert command[1:5] == ["--master", "local[*]", "--driver-memory", "2g"]
    assert command[-5:] == [str(run_pipeline.GOLD_JOB), "--silver_path", "s", "--gold_path", "g"]
    assert env["SPARK_LOCAL_IP"] == "127.0.0.1"
    assert "spark.ui.enabled=false" in command and "spark.driver.bindAddress=127.0.0.1" in command


def test_spark_submit_hands_java_its_options_whole_from_a_folder_with_a_space(tmp_path, monkeypatch):
    # spark-submit splits --driver-java-options at spaces, as a shell would: from ~/My Projects/ the log configuration's
    # path became two words and Java took the second for its main class ("Could not find or load main class").
    ran = record_spark_submits(monkeypatch)
    config = tmp_path / "My Projects ñ" / "spark-log4j2.properties"
    monkeypatch.setattr(run_pipeline, "SPARK_LOG_CONFIG", config)

    run_pipeline.spark_submit(run_pipeline.GOLD_JOB, ["--silver_path", "s", "--gold_path", "g"], "gold.log")

    [(command, _)] = ran
    options = shlex.split(command[command.index("--driver-java-options") + 1])
    assert options == [f"-Dlog4j2.configurationFile={config.as_uri()}", *run_pipeline.JVM_DEFAULTS.split()]


def test_spark_submit_runs_this_pythons_spark_whatever_spark_home_the_laptop_sets(tmp_path, monkeypatch):
    # pyspark's spark-submit runs "$SPARK_HOME/bin/spark-class": a laptop's SPARK_HOME for another Spark install
    # (another version, or one since removed) ran that Spark's Java, not the pinned pyspark's.
    ran = record_spark_submits(monkeypatch)
    monkeypatch.setenv("SPARK_HOME", str(tmp_path / "spark-4.0.0-bin-hadoop3"))

    run_pipeline.spark_submit(run_pipeline.GOLD_JOB, ["--silver_path", "s", "--gold_path", "g"], "gold.log")

    [(_, env)] = ran
    assert env["SPARK_HOME"] == run_pipeline.spark_home()
    assert (Path(env["SPARK_HOME"]) / "bin" / "spark-class").is_file()
