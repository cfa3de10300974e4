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
