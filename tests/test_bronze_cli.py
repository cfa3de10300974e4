"""Bronze command line, run as a real subprocess: bad usage exits 2 with one sentence and writes nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from bronze_helpers import SAMPLE_BY_DATASET, cut_short
from lake import BRONZE_MANIFESTS
from portal_standin import Portal, serve

FIXTURES = Path(__file__).resolve().parent / "fixtures"
REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "ingestao_bronze.py"
STANDIN = REPO / "scripts" / "portal_standin.py"
# Fake credentials, no config files, and a dead proxy: nothing here can reach AWS, even by mistake.
OFFLINE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "HTTPS_PROXY": "http://127.0.0.1:9",
}


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {**{k: v for k, v in os.environ.items() if k not in ("LAKE_ROOT", "BRONZE_BACKOFF")}, **(env or {})}
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        (["--years", "2019-20x"], "--years must be years and ranges like 2019-2023,2025, not '2019-20x'."),
        (["--years", "2023-2019"], "--years range 2023-2019 runs backwards."),
        (
            ["--lake", "gs://bucket/lake"],
            "--lake must be a local folder or s3://bucket[/prefix], not 'gs://bucket/lake'.",
        ),
        (["--lake", "s3://"], "--lake 's3://' names no bucket (expected s3://bucket[/prefix])."),
        (  # one slash short: it landed the portal into ./s3:/bucket/lake
            ["--lake", "s3:/bucket/lake"],
            "--lake must be a local folder or s3://bucket[/prefix], not 's3:/bucket/lake'.",
        ),
        (  # two lines with botocore's regexes
            ["--lake", "s3://Bad_Bucket!/x"],
            "--lake names an invalid S3 bucket 'Bad_Bucket!' (bucket names are 3-63 lower-case letters, digits, "
            "dots and hyphens).",
        ),
        (
            ["--lake", "s3://b:80/x", "--dry-run"],
            "--lake names an invalid S3 bucket 'b:80' (bucket names are 3-63 lower-case letters, digits, dots and "
            "hyphens; an endpoint such as host:port goes in $AWS_ENDPOINT_URL).",
        ),
        (["--portal", "data.boston.gov"], "--portal must be an http(s) URL like https://data.boston.gov"),
        (
            ["--portal", "http://[::1"],
            "--portal must be an http(s) URL like https://data.boston.gov",
        ),  # a traceback
        (
            ["--timeout", "1e300"],
            "--timeout and --connect-timeout must be positive numbers of seconds, at most 86,400.",
        ),
        (["--retries", "-1"], "--retries must not be negative."),
        (["--backoff", "-1"], "--backoff must be a non-negative number of seconds, not -1.0."),
        (["--backoff", "nan"], "--backoff must be a non-negative number of seconds, not nan."),
        (
            ["--timeout", "0"],
            "--timeout and --connect-timeout must be positive numbers of seconds, at most 86,400.",
        ),
        (
            ["--timeout", "inf"],
            "--timeout and --connect-timeout must be positive numbers of seconds, at most 86,400.",
        ),
        (
            ["--connect-timeout", "0", "--portal", "http://127.0.0.1:9"],
            "--timeout and --connect-timeout must be positive numbers of seconds, at most 86,400.",
        ),
        (
            ["--backoff", "inf", "--retries", "0", "--portal", "http://127.0.0.1:9"],
            "--backoff must be a non-negative number of seconds, not inf.",
        ),
        (["--retries", "many"], "Argument --retries: invalid int value: 'many'."),
        *(
            (
                ["--max-file-bytes", value],
                "--max-file-bytes must be a whole number of bytes above 0, like the default 2147483648, "
                f"not {value!r}.",
            )
            for value in ("0", "-1", "2GB", "1e9", "")
        ),
        (["--frobnicate"], "Unrecognized arguments: --frobnicate."),
        (
            ["--work-dir", "w"],
            "--work-dir stages downloads for an S3 lake; a local lake stages beside itself.",
        ),
        (
            ["--lake", "s3://bucket/lake", "--work-dir", "a_file"],
            "--work-dir a_file is a file, not a folder.",
        ),
    ],
)
def test_bad_usage_exits_2_with_one_sentence(tmp_path: Path, args: list[str], sentence: str) -> None:
    (tmp_path / "a_file").write_text("not a folder")
    result = run_cli(*args, cwd=tmp_path)

    assert result.returncode == 2
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith(f"ingestao_bronze.py: error: {sentence}")
    assert "Traceback" not in result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["a_file"]  # not even ./lake


@pytest.mark.parametrize(
    ("env", "args", "sentence"),
    [
        ({"BRONZE_BACKOFF": "soon"}, [], "$BRONZE_BACKOFF must be a number of seconds, not 'soon'."),
        ({"BRONZE_BACKOFF": "-2"}, [], "$BRONZE_BACKOFF must be a non-negative number of seconds, not -2.0."),
        ({"LAKE_ROOT": "gs://bucket/lake"}, [], "$LAKE_ROOT must be a local folder or s3://bucket[/prefix]"),
        (
            {**OFFLINE_AWS, "LAKE_ROOT": "s3://my bucket/lake"},
            [],
            "$LAKE_ROOT names an invalid S3 bucket 'my bucket' (bucket names are 3-63 lower-case letters, digits, "
            "dots and hyphens).",
        ),
        (
            {**OFFLINE_AWS, "AWS_ENDPOINT_URL": "not-a-url"},
            ["--lake", "s3://bucket/lake"],
            "Cannot create an S3 client: Invalid endpoint: not-a-url.",
        ),
        (
            {**OFFLINE_AWS, "AWS_MAX_ATTEMPTS": "many"},
            ["--lake", "s3://bucket/lake"],
            "Cannot create an S3 client: invalid literal for int() with base 10: 'many'.",
        ),
    ],
    ids=[
        "backoff-not-a-number",
        "backoff-negative",
        "lake-root-scheme",
        "lake-root-bucket",
        "aws-endpoint",
        "aws-max-attempts",
    ],
)
def test_bad_environment_values_exit_2_with_one_sentence(
    tmp_path: Path, env: dict[str, str], args: list[str], sentence: str
) -> None:
    result = run_cli("--portal", "http://127.0.0.1:9", *args, cwd=tmp_path, env=env)

    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(f"ingestao_bronze.py: error: {sentence}")
    assert list(tmp_path.iterdir()) == []


def test_help_works_whatever_the_environment(tmp_path: Path) -> None:
    result = run_cli("--help", cwd=tmp_path, env={"BRONZE_BACKOFF": "soon"})

    assert result.returncode == 0 and "--backoff" in result.stdout


def test_a_failing_run_that_exits_2_creates_no_lake_folder(tmp_path: Path) -> None:
    result = run_cli("--portal", "http://127.0.0.1:9", "--retries", "0", cwd=tmp_path)

    assert result.returncode == 2
    assert "Could not list the dataset's resources" in result.stderr
    assert list(tmp_path.iterdir()) == []  # ./lake was not created for nothing


@pytest.mark.parametrize("extra", [[], ["--dry-run"], ["--no-new-system"]])
def test_years_the_portal_lists_none_of_exit_2_and_land_nothing(
    portal: Portal, portal_url: str, tmp_path: Path, extra: list[str]
) -> None:
    """A mistyped year must not land the NEW SYSTEM file and exit 0; a range over a gap only warns (test_bronze_local)."""
    result = run_cli("--portal", portal_url, "--years", "2030,2031,2009", "--quiet", *extra, cwd=tmp_path)

    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        "ingestao_bronze.py: error: the portal lists no file for --years 2009, 2030-2031 "
        "(it lists 2011, 2015, 2022); nothing was landed."
    )
    assert "Traceback" not in result.stderr
    assert sum(portal.downloads.values()) == 0
    assert list(tmp_path.iterdir()) == []  # no ./lake, no manifest


def test_presigned_query_strings_never_reach_the_log(portal: Portal, portal_url: str, tmp_path: Path) -> None:
    with serve() as gone:
        pass  # that server is gone: its port refuses connections, and urllib3 logs each retry
    rid = portal.add_csv("311 SERVICE REQUESTS - 2019", FIXTURES / "legacy_2022_old29col_qsv-sample100.csv")
    portal.resource(rid).raw["url"] = (
        f"{gone}/s3/bucket/{rid}/f.csv?X-Amz-Credential=AKIASTANDIN&X-Amz-Signature=SECRET"
    )

    lake = str(tmp_path / "lake")
    flags = ["--years", "2019", "--no-new-system", "--backoff", "0", "--retries", "2"]

    result = run_cli("--portal", portal_url, "--lake", lake, *flags, cwd=tmp_path)

    assert result.returncode == 1
    assert "SECRET" not in result.stderr + result.stdout
    assert "AKIASTANDIN" not in result.stderr + result.stdout
    assert "Retrying" in result.stderr and "/f.csv?<redacted>" in result.stderr  # urllib3's lines, redacted


def test_lake_that_is_a_file_exits_2(tmp_path: Path) -> None:
    (tmp_path / "lake").write_text("not a folder")

    result = run_cli("--lake", "lake", "--portal", "http://127.0.0.1:9", cwd=tmp_path)

    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == f"ingestao_bronze.py: error: The lake path {tmp_path / 'lake'} exists and is not a folder."
    )


@pytest.mark.parametrize(
    ("lake", "sentence"),
    [
        ("lake", "The lake path {tmp}/lake exists and is not a folder."),
        ("lake/below", "Cannot create the lake folder {tmp}/lake/below: {tmp}/lake is not a folder."),
    ],
    ids=["a-file", "under-a-file"],
)
@pytest.mark.parametrize("dry_run", [[], ["--dry-run"]], ids=["run", "dry-run"])
def test_a_dry_run_refuses_a_lake_as_a_run_does(
    portal: Portal, portal_url: str, tmp_path: Path, lake: str, sentence: str, dry_run: list[str]
) -> None:
    """A dry run skipped the lake's check: it listed every file as 'would fetch' with exit 0 for a lake no run can
    write (a missing bucket was exit 2 all the same, found as it read the state)."""
    (tmp_path / "lake").write_text("not a folder")

    result = run_cli("--portal", portal_url, "--lake", lake, "--quiet", *dry_run, cwd=tmp_path)

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == f"ingestao_bronze.py: error: {sentence.format(tmp=tmp_path)}\n"
    assert [p.name for p in tmp_path.iterdir()] == ["lake"] and (
        tmp_path / "lake"
    ).read_text() == "not a folder"
    assert portal.paths == []  # refused before discovery, as a run is


def test_kms_key_on_a_local_lake_exits_2(tmp_path: Path) -> None:
    result = run_cli("--lake", str(tmp_path / "lake"), "--kms-key-id", "alias/x", cwd=tmp_path)

    assert result.returncode == 2
    assert result.stderr.strip() == "ingestao_bronze.py: error: --kms-key-id only applies to an s3:// lake."


def test_help_describes_every_flag(tmp_path: Path) -> None:
    result = run_cli("--help", cwd=tmp_path)

    assert result.returncode == 0
    flags = [
        "--portal",
        "--lake",
        "--years",
        "--no-new-system",
        "--dry-run",
        "--force",
        "--quiet",
        "--discovery",
        "--allow-host",
        "--kms-key-id",
        "--work-dir",
        "--timeout",
        "--connect-timeout",
        "--retries",
        "--max-file-bytes",
        "--backoff",
    ]
    assert all(flag in result.stdout for flag in flags)
    text = " ".join(result.stdout.split())
    assert "Exit codes: 0" in text and "130 interrupted" in text
    assert "retries on connection errors and HTTP 429, 500, 502, 503, 504" in text


def interrupt(process: subprocess.Popen) -> int:
    """Ctrl-C a stand-in and give its exit code; one still serving 30 s later fails the test and is killed (it
    stops in well under a second: the margin is for other test workers' JVMs filling the cores)."""
    process.send_signal(signal.SIGINT)
    try:
        return process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def standin_url(process: subprocess.Popen) -> str:
    """The stand-in's URL, from its first line (printed, and flushed, once it listens)."""
    assert process.stdout is not None
    return process.stdout.readline().split(" at ", 1)[1].split(" ", 1)[0]


def test_standin_cli_serves_until_interrupted(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, str(STANDIN), "--port", "0"], stdout=subprocess.PIPE, text=True, cwd=tmp_path
    )
    try:
        url = standin_url(process)
        with urllib.request.urlopen(
            f"{url}/api/3/action/package_show?id=311-service-requests", timeout=10
        ) as response:
            document = json.load(response)
        assert document["success"] and len(document["result"]["resources"]) == 8
        assert interrupt(process) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


# The stand-in's command line with SIGINT blocked in its main thread (so in the server's threads too, which that
# thread starts) and open in one thread made first: the kernel hands the test's SIGINT to that thread, every time.
STANDIN_WITH_SIGINT_ELSEWHERE = """
import signal, sys, threading
sys.path.insert(0, sys.argv[1])
import portal_standin
threading.Thread(target=threading.Event().wait, daemon=True).start()
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
sys.exit(portal_standin.main(["--port", "0"]))
"""


def test_standin_cli_stops_on_a_ctrl_c_its_main_thread_did_not_take(tmp_path: Path) -> None:
    """Python acts on a SIGINT in the main thread, when that thread next runs Python. The stand-in waited for Ctrl-C
    in one lock wait without end, so a SIGINT that reached the process while its main thread was not in that wait
    (another thread took it, or it landed as the thread went to sleep: the test above, timed out once under load)
    left it serving until a second Ctrl-C. Here another thread takes it every time."""
    process = subprocess.Popen(
        [sys.executable, "-c", STANDIN_WITH_SIGINT_ELSEWHERE, str(STANDIN.parent)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        url = standin_url(process)
        with urllib.request.urlopen(f"{url}/dataset/311-service-requests", timeout=10) as response:
            assert response.status == 200  # serving, its main thread in its wait for Ctrl-C
        assert interrupt(process) == 0
        assert process.stdout is not None and process.stdout.read().splitlines()[-1] == "stopped"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_end_to_end_cli_against_the_standin_then_rerun(tmp_path: Path) -> None:
    standin = subprocess.Popen(
        [sys.executable, str(STANDIN), "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    try:
        url = standin_url(standin)

        first = run_cli("--portal", url, "--lake", str(tmp_path / "lake"), "--quiet", cwd=tmp_path)
        second = run_cli("--portal", url, "--lake", str(tmp_path / "lake"), "--quiet", cwd=tmp_path)

        assert first.returncode == 0 and second.returncode == 0
        assert first.stdout.splitlines()[-1] == "landed 4, unchanged 0, failed 0"
        assert second.stdout.splitlines()[-1] == "landed 0, unchanged 4, failed 0"
        assert first.stderr == ""  # --quiet: no progress, no info lines
    finally:
        interrupt(standin)


def test_a_shrunk_reissue_is_a_warning_and_a_count_in_the_cli_output_even_when_quiet(
    portal: Portal, tmp_path: Path
) -> None:
    lake = str(tmp_path / "lake")
    with serve(portal) as url:
        run_cli("--portal", url, "--lake", lake, "--quiet", "--backoff", "0", cwd=tmp_path)
        sample, half = SAMPLE_BY_DATASET["legacy_2011"].read_bytes(), cut_short("legacy_2011", 0.5)
        portal.rewrite(portal.resource_id("legacy_2011"), half)

        result = run_cli("--portal", url, "--lake", lake, "--quiet", "--backoff", "0", cwd=tmp_path)

    assert result.returncode == 0
    assert result.stdout.splitlines()[-1] == "landed 1, unchanged 3, failed 0, shrunk 1"
    assert f"(shrunk from {len(sample):,} bytes)" in result.stdout
    [warning] = result.stderr.splitlines()  # --quiet keeps warnings
    assert f" WARNING ingestao_bronze: legacy_2011: the portal's new file has {len(half):,} bytes" in warning
    assert "Silver keeps its earlier rows of cases missing from the new file" in warning


# ---------------------------------------------------------------- a stdout that refuses the report

NO_SPACE = "No space left on device"


def run_cli_into(stdout: Any, *args: str, cwd: Path, shell_redirect: str = "") -> subprocess.CompletedProcess:
    """``run_cli`` with stdout given (a file, a pipe's write end), or as a shell's ``shell_redirect`` leaves it;
    stderr captured."""
    env = {k: v for k, v in os.environ.items() if k not in ("LAKE_ROOT", "BRONZE_BACKOFF")}
    command = [sys.executable, str(SCRIPT), *args]
    if shell_redirect:
        command = ["/bin/sh", "-c", f'exec "$0" "$@" {shell_redirect}', *command]
    return subprocess.run(
        command, cwd=cwd, env=env, stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=60
    )


def into_dev_full(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    with open("/dev/full", "w") as full:
        return run_cli_into(full, *args, cwd=cwd)


def into_a_closed_pipe(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """As ``… | head -0``: the reader is gone before the first write."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return run_cli_into(write_end, *args, cwd=cwd)
    finally:
        os.close(write_end)


def with_stdout_closed(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """As ``>&-``: started without a stdout at all (Python's sys.stdout is None; print wrote nothing, silently)."""
    return run_cli_into(None, *args, cwd=cwd, shell_redirect=">&-")


# The ways a stdout refuses the report, and the reason the sentence gives for each
REFUSING_STDOUTS = pytest.mark.parametrize(
    ("stdout", "reason"),
    [
        (into_dev_full, NO_SPACE),
        (into_a_closed_pipe, "Broken pipe"),
        (with_stdout_closed, "stdout is closed"),
    ],
    ids=["full", "closed-pipe", "closed"],
)


@REFUSING_STDOUTS
def test_a_summary_stdout_refuses_is_one_sentence_and_exit_2_with_the_lake_written(
    portal_url: str, tmp_path: Path, stdout: Any, reason: str
) -> None:
    """`> /dev/full` gave a traceback at the summary's print (exit 1), the lake written as it should be."""
    lake = tmp_path / "lake"

    result = stdout("--portal", portal_url, "--lake", str(lake), "--quiet", cwd=tmp_path)

    assert result.returncode == 2
    assert result.stderr == (
        f"ingestao_bronze.py: error: Could not write the summary to stdout ({reason}); the run landed 4, "
        "unchanged 0, failed 0, and wrote its manifest and state.\n"
    )  # no traceback, and no "Exception ignored" as Python flushes stdout on the way out
    assert len(list((lake / BRONZE_MANIFESTS).glob("*.json"))) == 1
    rerun = run_cli("--portal", portal_url, "--lake", str(lake), "--quiet", cwd=tmp_path)
    assert rerun.returncode == 0 and rerun.stdout.splitlines()[-1] == "landed 0, unchanged 4, failed 0"


@REFUSING_STDOUTS
def test_a_dry_run_report_stdout_refuses_is_one_sentence_and_exit_2(
    portal_url: str, tmp_path: Path, stdout: Any, reason: str
) -> None:
    result = stdout(
        "--portal", portal_url, "--lake", str(tmp_path / "lake"), "--quiet", "--dry-run", cwd=tmp_path
    )

    assert result.returncode == 2
    assert result.stderr == (
        f"ingestao_bronze.py: error: Could not write the dry run's report to stdout ({reason}); nothing was "
        "written to the lake.\n"
    )
    assert list(tmp_path.iterdir()) == []
