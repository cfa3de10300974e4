"""Every command-line script runs as the docs run it: ``python <folder>/<script>.py`` from any folder.

The stage folders are plain modules found through pytest's pythonpath here; run as a script, a module finds the
others (``scripts/lake.py`` from quicksight/, say) by its own fallback, which only a subprocess exercises.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import dashboard
from conftest import REPO

SCRIPTS = [
    "scripts/ingestao_bronze.py",
    "scripts/run_pipeline.py",
    "scripts/restore_prefix.py",
    "scripts/portal_standin.py",
    "glue/silver_job.py",
    "emr/gold_job.py",
    "emr/submit.py",
    "quicksight/deploy.py",
    "quicksight/dashboard.py",
    "quicksight/local_lake.py",
    "quicksight/definitions.py",
]


def run_script(script: str, *args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``python <script> args`` from ``cwd``, with no PYTHONPATH: the script finds its neighbours itself."""
    environment = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "LAKE_ROOT")}
    return subprocess.run(
        [sys.executable, str(REPO / script), *args],
        cwd=cwd,
        env={**environment, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_script_runs_from_another_folder(script: str, tmp_path: Path) -> None:
    completed = run_script(script, "--help", cwd=tmp_path)

    assert completed.returncode == 0, completed.stderr
    assert "--" in completed.stdout and "Traceback" not in completed.stderr  # its options, listed
    assert list(tmp_path.iterdir()) == []  # --help writes nothing


def test_restore_prefix_as_a_script_says_in_one_sentence_when_s3_cannot_be_reached(tmp_path: Path) -> None:
    completed = run_script(
        "scripts/restore_prefix.py",
        *(
            "--lake",
            "s3://boston311-lake/lake",
            "--prefix",
            "silver/boston311/",
            "--to",
            "2026-11-24T06:00:00Z",
        ),
        cwd=tmp_path,
        AWS_ENDPOINT_URL="http://127.0.0.1:9",  # nothing listens there
        AWS_MAX_ATTEMPTS="1",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )

    assert completed.returncode == 2
    [line] = completed.stderr.splitlines()
    assert line.startswith(
        "restore_prefix.py: error: Cannot reach the bucket boston311-lake: Could not connect"
    )


def test_the_local_dashboard_refuses_a_lake_on_s3_in_one_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    assert dashboard.main(["--lake", "s3://boston311-lake/lake"]) == 2
    assert (
        capsys.readouterr().err
        == "The local dashboard reads a local lake; use QuickSight for a lake on S3.\n"
    )


# ---------------------------------------------------------------------------------------------------------------
# --help into a stdout that refuses it: a full disk (`> /dev/full`), a pipe whose reader is gone (`| head -0`), no
# stdout at all (`>&-`). argparse ended the first two as Python ends ("Exception ignored … OSError", exit 120; with
# PYTHONUNBUFFERED set, nothing and exit 0) and wrote the help to stderr for the third (exit 0). Now one sentence on
# stderr and exit 2, as Bronze's report that stdout refuses (scripts/command_line.py and its copies).
NO_SPACE = "No space left on device"
# each script's words before "Could not write the help": its usage errors' own prefix
HELP_PREFIX = {
    "scripts/ingestao_bronze.py": "ingestao_bronze.py: error:",
    "scripts/run_pipeline.py": "run_pipeline.py: error:",
    "scripts/restore_prefix.py": "restore_prefix.py: error:",
    "scripts/portal_standin.py": "portal_standin.py: error:",
    "glue/silver_job.py": "silver_job:",
    "emr/gold_job.py": "gold_job.py:",
    "emr/submit.py": "submit.py:",
    "quicksight/deploy.py": "deploy.py: error:",
    "quicksight/dashboard.py": "dashboard.py: error:",
    "quicksight/local_lake.py": "local_lake.py: error:",
    "quicksight/definitions.py": "definitions.py: error:",
}


def help_into(stdout: str, script: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``python <script> --help`` from ``cwd`` with a stdout that refuses it (``full``, ``closed-pipe``, ``closed``),
    stdout buffered as Python buffers it unless told otherwise (the sentence must not depend on it)."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONPATH", "LAKE_ROOT", "PYTHONUNBUFFERED")
    }
    command = [sys.executable, str(REPO / script), *args, "--help"]
    if stdout == "full":
        if not os.path.exists("/dev/full"):
            pytest.skip("no /dev/full on this system")
        with open("/dev/full", "w") as full:
            return subprocess.run(command, cwd=cwd, env=environment, stdout=full, stderr=subprocess.PIPE, text=True, timeout=120)  # fmt: skip
    if stdout == "closed-pipe":
        read_end, write_end = os.pipe()
        os.close(read_end)
        try:
            return subprocess.run(command, cwd=cwd, env=environment, stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=120)  # fmt: skip
        finally:
            os.close(write_end)
    shell = ["/bin/sh", "-c", 'exec "$0" "$@" >&-', *command]
    return subprocess.run(shell, cwd=cwd, env=environment, stderr=subprocess.PIPE, text=True, timeout=120)


@pytest.mark.parametrize(("stdout", "reason"), [("full", NO_SPACE), ("closed-pipe", "Broken pipe"), ("closed", "stdout is closed")])  # fmt: skip
@pytest.mark.parametrize("script", SCRIPTS)
def test_help_that_stdout_refuses_is_one_sentence_and_exit_2(
    script: str, stdout: str, reason: str, tmp_path: Path
) -> None:
    completed = help_into(stdout, script, cwd=tmp_path)

    assert (completed.returncode, completed.stderr) == (
        2,
        f"{HELP_PREFIX[script]} Could not write the help to stdout ({reason}); nothing was run.\n",
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("stdout", ["full", "closed"])
def test_a_subcommands_help_that_stdout_refuses_is_one_sentence_too(stdout: str, tmp_path: Path) -> None:
    completed = help_into(stdout, "emr/submit.py", "step", cwd=tmp_path)

    reason = NO_SPACE if stdout == "full" else "stdout is closed"
    assert (completed.returncode, completed.stderr) == (
        2,
        f"submit.py step: Could not write the help to stdout ({reason}); nothing was run.\n",
    )
