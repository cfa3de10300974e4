"""The Makefile's user-facing promises: a help listing, one sentence when Java 17 is missing, the lake as one path, and
make test's workers keeping each test file whole."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REPO

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def make(*args: str) -> subprocess.CompletedProcess[str]:
    """Run make in the repository and capture what it prints."""
    return subprocess.run(
        ["make", "-s", *args], cwd=REPO, capture_output=True, text=True, timeout=60, check=False
    )


def test_help_lists_every_user_target_with_a_description():
    listing = make("help").stdout
    for target in (
        "run",
        "demo",
        "test",
        "test-pyspark",
        "coverage",
        "lint",
        "setup",
        "lock",
        "bench-ingest",
        "bench-silver",
        "bench-gold",
        "clean",
    ):
        line = next((row for row in listing.splitlines() if row.split()[1:2] == [target]), None)
        assert line is not None, target
        assert len(line.split(maxsplit=2)) == 3, f"{target} has no description"


def test_missing_java_17_stops_with_one_actionable_sentence(tmp_path):
    completed = make("java", f"JAVA_HOME={tmp_path}")
    assert completed.returncode != 0
    assert "Java 17 is required" in completed.stdout
    assert "apt-get install openjdk-17-jre-headless" in completed.stdout


@pytest.mark.parametrize(
    "lake", ["/data/my lake", "/data/it's here", "~/lake", "/data/my  lake", "/data/a ~/lake", "~bob/lake"]
)
def test_the_lake_reaches_every_command_as_one_path(lake):
    # Unquoted, `make clean LAKE="/data/my lake"` ran `rm -rf /data/my lake …`: /data/my and ./lake went instead.
    # Only a leading ~/ is the home folder; the path is otherwise passed as written (two spaces stay two, ~bob is
    # not $HOME + "bob").
    expected = str(Path.home()) + lake[1:] if lake.startswith("~/") else lake
    for target, command in (("clean", "rm"), ("demo", "run_pipeline.py"), ("run", "run_pipeline.py")):
        shown = make("-n", target, f"LAKE={lake}", "JAVA_HOME=/usr/lib/jvm/any").stdout.splitlines()
        [line] = [row for row in shown if command in row]
        words = shlex.split(line)
        assert expected in words, (target, words)
        assert not {"/data/my", "lake", "/data/it"} & set(words), (target, words)
        if command == "rm":  # after --: a lake whose name starts with - is not taken for an option
            assert words[words.index(expected) - 1] == "--", words


def test_make_test_keeps_a_file_on_one_worker_and_the_demo_lake_files_together():
    # Each file's shared lakes are built once only if its tests share a worker, and the ~45 s demo lake once only if
    # its two files do (tests/conftest.py). xdist_group marks once spread every file's tests without a word (pytest-xdist
    # issue #1386). Two files and two workers: plain --dist loadfile would give each file a worker of its own.
    demo_files = [
        "tests/test_json_contracts.py::test_each_schema_is_a_valid_draft_2020_12_schema",
        "tests/test_json_contracts.py::test_every_documented_example_is_complete_json_and_holds_to_its_schema",
        "tests/test_pipeline_demo.py::test_unknown_stage_is_refused_in_one_sentence",
    ]
    completed = make("test", "TEST_WORKERS=2", f"PYTEST_ARGS=-v -p no:cacheprovider {' '.join(demo_files)}")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    workers: dict[str, set[str]] = {}
    for worker, file in re.findall(r"\[(gw\d+)\] \[ *\d+%\] PASSED (tests/[\w.]+)::", completed.stdout):
        workers.setdefault(file, set()).add(worker)
    assert set(workers) == {"tests/test_json_contracts.py", "tests/test_pipeline_demo.py"}, completed.stdout
    assert len(set().union(*workers.values())) == 1, workers
