"""Shared test fixtures: the real samples, one local SparkSession, fake AWS credentials."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parent.parent
# A laptop may keep a time-basis override for its lake in its shell (scripts/run_pipeline.py reads it): the tests'
# pipeline runs, the demo's among them, read their Bronze without one unless a test gives it.
os.environ.pop("SILVER_TIME_BASIS_OVERRIDE", None)
# The pages users read: README.md and docs/*.md (the docs tests check what they quote)
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]

SAMPLE_2011 = FIXTURES / "legacy_2011_old29col_raw_first3000.csv"
SAMPLE_2015 = FIXTURES / "legacy_2015_reissued30col_pandas-filtered_first2000.csv"
SAMPLE_2022 = FIXTURES / "legacy_2022_old29col_qsv-sample100.csv"
SAMPLE_NEW = FIXTURES / "new_system_api-export_2025-08_to_2026-02.csv"
PACKAGE_SHOW = FIXTURES / "ckan_package_show_311-service-requests_2026-09-27.json"
SAMPLES = {
    "legacy_2011": SAMPLE_2011,
    "legacy_2015": SAMPLE_2015,
    "legacy_2022": SAMPLE_2022,
    "new_system": SAMPLE_NEW,
}

# Hypothesis (tests/test_*_properties.py). By default the same examples every run, so CI never flakes and writes no
# example database; to search further on a laptop: HYPOTHESIS_PROFILE=explore pytest tests/test_silver_properties.py
# tests/test_bronze_properties.py (ten times the examples, new ones each run, failures kept in .hypothesis/).
settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True)
settings.register_profile("explore", max_examples=1000, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


# Java flags for the tests' Spark JVMs: speed only, no result depends on them. Every spark-submit a test starts (the
# pipeline CLI, the crash drills) is a fresh JVM that runs one small job and exits: the C1 compiler alone and the
# serial collector (spark-submit reads SPARK_SUBMIT_OPTS) cut its CPU by a third to a half, CPU the test workers share.
# The shared session below lives the whole run, where C2's faster code pays back its compiling: it keeps C2.
SHORT_JVM_OPTIONS = "-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:CICompilerCount=1"
LONG_JVM_OPTIONS = "-XX:+UseSerialGC"
os.environ.setdefault("SPARK_SUBMIT_OPTS", SHORT_JVM_OPTIONS)

# `make test` runs the files on up to four workers (pytest-xdist, --dist loadfile): each file whole on one worker, so
# its module fixtures are built once. Files that read one costly session fixture go to one worker together, so it is
# built once too. (Not xdist_group marks with --dist loadgroup: pytest-xdist 3.8 passes the group in the test's id,
# which pytest 9 no longer lets it change, so loadgroup silently spreads a group's tests; pytest-xdist issue #1386.)
FILES_TOGETHER = {
    "test_pipeline_demo.py": "demo_lake",  # the offline demo run, ~45 s
    "test_json_contracts.py": "demo_lake",
}


@pytest.hookimpl(optionalhook=True, tryfirst=True)  # pytest-xdist's hook, before its own loadfile scheduler
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class LoadFileWithFilesTogether(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = super()._split_scope(nodeid)
            return FILES_TOGETHER.get(Path(path).name, path)

    return LoadFileWithFilesTogether(config, log)


@contextlib.contextmanager
def another_run_makes_and_locks(monkeypatch: pytest.MonkeyPatch, folder: Path) -> Iterator[None]:
    """Two runs starting at one moment on a lake without ``folder`` (a stage's lock folder): both find it missing, and
    the other run makes it and takes its lock first, just as the run under test makes it too. Held until the end."""
    fcntl = pytest.importorskip("fcntl")
    makedirs, held = os.makedirs, []

    def made_and_locked_by_the_other_run(path: Any, *args: Any, **kwargs: Any) -> None:
        makedirs(path, *args, **kwargs)  # os.makedirs calls itself (this) for the parents first
        if os.path.abspath(path) == str(folder) and not held:
            held.append(os.open(folder, os.O_RDONLY))
            fcntl.flock(held[0], fcntl.LOCK_EX | fcntl.LOCK_NB)

    with monkeypatch.context() as patched:
        patched.setattr(os, "makedirs", made_and_locked_by_the_other_run)
        try:
            yield
        finally:
            for handle in held:
                os.close(handle)


@pytest.fixture(scope="session")
def spark():
    """One local SparkSession for the whole run: 1 core, 1 shuffle partition, no UI, loopback only, Java pinned to
    the locale and time zone the pipeline gives the jobs."""
    from pyspark.sql import SparkSession

    from run_pipeline import JVM_DEFAULTS

    builder = (
        SparkSession.builder.master("local[1]")
        .appName("boston311-tests")
        # the locale and time zone as run_pipeline starts the jobs
        .config("spark.driver.extraJavaOptions", f"{JVM_DEFAULTS} {LONG_JVM_OPTIONS}")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.default.parallelism", "1")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.sources.partitionOverwriteMode", "dynamic")
    )
    with pytest.MonkeyPatch.context() as launch:
        # the short-lived JVMs' flags (above), not this one's
        launch.delenv("SPARK_SUBMIT_OPTS", raising=False)
        session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def raise_java_exhaustion(spark, what: str) -> None:
    """Raise the Py4JJavaError Java itself gives when the machine runs out of ``what``: "disk" (a write to /dev/full,
    "java.io.IOException: No space left on device") or "memory" (an array over the JVM's limit,
    "java.lang.OutOfMemoryError: Requested array size exceeds VM limit", nothing allocated)."""
    jvm = spark.sparkContext._jvm
    if what == "disk":
        if not os.path.exists("/dev/full"):
            pytest.skip("no /dev/full on this system")
        jvm.java.io.FileOutputStream("/dev/full").write(bytearray(b"x"))
    jvm.java.lang.reflect.Array.newInstance(jvm.java.lang.Long.TYPE, 2**31 - 2)


@pytest.fixture(scope="session")
def gold_lake(spark, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The four samples as the ingest lands them in Bronze, then Silver and Gold built from them: once for the run,
    for every test that reads Gold over the real samples."""
    import gold_job
    import silver_job

    lake = tmp_path_factory.mktemp("samples_lake")
    bronze = lake / "bronze" / "boston311"
    for dataset, sample in SAMPLES.items():
        target = bronze / f"dataset={dataset}" / "ingest_date=2026-11-25" / sample.name
        target.parent.mkdir(parents=True)
        shutil.copyfile(sample, target)
    silver_job.run_silver(spark, str(bronze), str(lake / "silver" / "boston311"))
    gold_job.run_gold(spark, str(lake / "silver" / "boston311"), str(lake / "gold" / "boston311"))
    return lake


def run_pipeline_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the pipeline CLI (scripts/run_pipeline.py) the way `make demo` does and capture what it prints."""
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable, PYSPARK_DRIVER_PYTHON=sys.executable)
    return subprocess.run(
        [sys.executable, str(REPO / "scripts" / "run_pipeline.py"), "--quiet", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="session")
def demo_lake(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """One offline demo run (`make demo`: the stand-in portal -> Bronze -> Silver -> Gold -> serving) into a fresh
    lake, once for the run: read it, never write into it (test_pipeline_demo.py, test_json_contracts.py)."""
    lake = tmp_path_factory.mktemp("demo") / "lake"
    completed = run_pipeline_cli("--offline", "--lake", str(lake))
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return lake, completed


@pytest.fixture(scope="session")
def small_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny hand-made lake (``serving_helpers.write_small_lake``) with its query layer ``lake.duckdb`` built, once
    for the run: read it, never write into it."""
    import local_lake
    from serving_helpers import write_small_lake

    root = tmp_path_factory.mktemp("small_lake")
    silver, gold = write_small_lake(root)
    local_lake.build_local_query_layer(str(root / "lake.duckdb"), str(silver), str(gold))
    return root


@pytest.fixture
def portal():
    """The offline portal stand-in with the real samples (scripts/portal_standin.py); faults are set per test."""
    from portal_standin import Portal

    return Portal.from_fixtures()


@pytest.fixture
def portal_url(portal) -> Iterator[str]:
    """The stand-in served on a free loopback port."""
    from portal_standin import serve

    with serve(portal) as url:
        yield url


@pytest.fixture
def s3(aws_credentials: None) -> Iterator[Any]:
    """moto S3 with the Bronze tests' lake bucket (``bronze_helpers.S3_BUCKET``) created; yields a client."""
    import boto3
    from moto import mock_aws

    from bronze_helpers import S3_BUCKET

    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=S3_BUCKET)
        yield client


@pytest.fixture
def a_proxy_page_for_aws(aws_credentials: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """AWS_ENDPOINT_URL on a loopback server that answers every request 200 with an HTML page, as a captive portal or
    a proxy does: botocore reads it as an answer without any of AWS's fields."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Page(BaseHTTPRequestHandler):
        def answer(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = b"<!doctype html>\n<html><body><h1>Sign in to the hotel Wi-Fi</h1></body></html>\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = answer

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and region, so nothing can reach real AWS."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
