"""One Bronze run at a time per lake: a second run stops at once with one sentence and exit 1, locally (``flock`` on
the Bronze folder) and on S3 (a lock object created with a conditional PutObject, under moto).

Without the lock two runs on one lake lost each other's work (docs/bronze.md, "One run at a time"): the state is
last-writer-wins, so one run's landings vanished from it and were fetched and landed again later; a run killed beside
a live one had its ``run_in_progress`` record overwritten, so its objects were announced by no manifest; a run that
started while another was landing announced that live run as stopped; two runs started in the same second took the
same run id, and one manifest replaced the other.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

import bronze_storage
import ingestao_bronze
from bronze_helpers import (
    S3_BUCKET,
    S3_LAKE,
    S3_PREFIX,
    data_keys,
    ingest,
    lake_files,
    manifests,
    s3_client_calling,
    s3_keys,
)
from bronze_storage import RUN_LOCK, RunLockHeld, open_store
from conftest import another_run_makes_and_locks
from lake import BRONZE_PREFIX, Lake

LOCK_KEY = f"{S3_PREFIX}/{RUN_LOCK}"


@contextmanager
def first_run_held_up(portal_url: str, lake: str) -> Iterator[Callable[[], int]]:
    """A first run of the whole ingest in a thread, held just after it took the lock (at discovery) until the block
    ends; yields a function that waits for its exit code."""
    running, release = threading.Event(), threading.Event()
    discover = ingestao_bronze.discover

    def held_up(http: Any, config: Any) -> Any:
        if threading.current_thread() is not threading.main_thread():
            running.set()
            release.wait(60)
        return discover(http, config)

    ingestao_bronze.discover = held_up
    try:
        with ThreadPoolExecutor(1) as pool:
            first = pool.submit(ingest, portal_url, lake, "--quiet")
            assert running.wait(60), first.result()
            try:
                yield first.result
            finally:
                release.set()
    finally:
        ingestao_bronze.discover = discover


def put_lock(client: Any, holder: dict[str, Any]) -> str:
    """Another run's lock object on the S3 lake; its ETag."""
    return client.put_object(Bucket=S3_BUCKET, Key=LOCK_KEY, Body=json.dumps(holder).encode())["ETag"]


def lock_etag(client: Any) -> str | None:
    """The ETag of the lake's lock object, None when there is none."""
    listed = client.list_objects_v2(Bucket=S3_BUCKET, Prefix=LOCK_KEY).get("Contents", [])
    return listed[0]["ETag"] if listed else None


ANOTHER_HOST = {"host": "cron-box", "pid": 4242, "started_at": "2026-11-27T06:00:00Z"}


# ---------------------------------------------------------------- a local lake


def test_a_second_run_on_a_local_lake_stops_at_once_while_one_runs(
    portal_url: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    lake = tmp_path / "lake"
    with first_run_held_up(portal_url, str(lake)) as first:
        second = ingest(portal_url, lake, "--quiet")
        assert second == 1
    assert first() == 0

    assert (
        f"ingestao_bronze.py: error: Another Bronze run is writing {lake / BRONZE_PREFIX}; wait for it to end, "
        "then run Bronze again.\n"
    ) in capsys.readouterr().err
    [manifest] = manifests(lake)  # the first run's alone, with every file
    assert [entry["status"] for entry in manifest["resources"]] == ["landed"] * 4
    assert len(data_keys(lake_files(lake))) == 4


def test_a_run_refused_the_lock_leaves_the_folder_the_other_run_made_and_locked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = tmp_path / "lake"
    folder = lake / BRONZE_PREFIX
    with another_run_makes_and_locks(monkeypatch, folder):
        with (
            pytest.raises(RunLockHeld),
            open_store(Lake.from_uri(str(lake)), check=False).one_run_at_a_time(),
        ):
            pass
        assert folder.is_dir()  # removed, a third run locked a new one and wrote beside the holder


def test_a_dry_run_needs_no_lock(portal_url: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    lake = tmp_path / "lake"
    with first_run_held_up(portal_url, str(lake)):
        assert ingest(portal_url, lake, "--dry-run") == 0
    assert "would fetch" in capsys.readouterr().out


# ---------------------------------------------------------------- an S3 lake


def test_a_second_run_on_an_s3_lake_stops_at_once_while_one_runs(
    s3: Any, portal_url: str, capsys: pytest.CaptureFixture
) -> None:
    with first_run_held_up(portal_url, S3_LAKE) as first:
        assert lock_etag(s3) is not None
        assert ingest(portal_url, S3_LAKE, "--quiet") == 1
    assert first() == 0

    error = capsys.readouterr().err
    assert f"Another Bronze run is writing s3://{S3_BUCKET}/{S3_PREFIX}/{BRONZE_PREFIX} (host " in error
    assert f", pid {os.getpid()}, started 0 minutes ago)" in error
    assert f"aws s3 rm s3://{S3_BUCKET}/{LOCK_KEY}" in error
    assert len(data_keys(s3_keys(s3))) == 4
    assert lock_etag(s3) is None  # the first run removed its lock as it ended


def test_another_hosts_lock_on_an_s3_lake_is_named_with_the_command_that_removes_it(
    s3: Any, portal_url: str, capsys: pytest.CaptureFixture
) -> None:
    etag = put_lock(s3, ANOTHER_HOST)

    assert ingest(portal_url, S3_LAKE) == 1

    error = capsys.readouterr().err.strip()
    assert error == (
        f"ingestao_bronze.py: error: Another Bronze run is writing s3://{S3_BUCKET}/{S3_PREFIX}/{BRONZE_PREFIX} "
        "(host cron-box, pid 4242, started 0 minutes ago); wait for it to end, then run Bronze again (if that run "
        f"was killed, remove its lock with aws s3 rm s3://{S3_BUCKET}/{LOCK_KEY}, or let a run take it over once "
        f"it is {bronze_storage.RUN_LOCK_STALE_HOURS} hours old)."
    )
    assert lock_etag(s3) == etag  # untouched
    assert data_keys(s3_keys(s3)) == []


@pytest.mark.parametrize(
    ("flags", "exit_code"),
    [((), 0), (("--years", "1999"), 2)],
    ids=["landed", "a-usage-error-found-inside-the-run"],
)
def test_the_s3_lock_is_held_while_the_run_writes_and_removed_however_it_ends(
    s3: Any, portal_url: str, monkeypatch: pytest.MonkeyPatch, flags: tuple[str, ...], exit_code: int
) -> None:
    seen: list[str | None] = []
    discover = ingestao_bronze.discover
    monkeypatch.setattr(
        ingestao_bronze, "discover", lambda *args: seen.append(lock_etag(s3)) or discover(*args)
    )

    assert ingest(portal_url, S3_LAKE, "--quiet", *flags) == exit_code

    assert len(seen) == 1 and seen[0] is not None
    assert lock_etag(s3) is None


@pytest.mark.parametrize("stop", [KeyboardInterrupt, "SIGTERM"], ids=["ctrl-c", "sigterm"])
def test_an_interrupted_or_terminated_run_removes_its_s3_lock(
    s3: Any, portal_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, stop: Any
) -> None:
    def stopped(*args: Any) -> None:
        assert lock_etag(s3) is not None
        if stop == "SIGTERM":  # as `kill`, `docker stop` or systemd end a run
            signal.raise_signal(signal.SIGTERM)  # its handler runs before this returns
        raise KeyboardInterrupt

    monkeypatch.setattr(ingestao_bronze, "discover", stopped)
    before = signal.getsignal(signal.SIGTERM)

    assert ingest(portal_url, S3_LAKE) == (
        143 if stop == "SIGTERM" else 130
    )  # 128 + the signal, as a shell says

    said = "stopped by SIGTERM" if stop == "SIGTERM" else "interrupted"
    assert capsys.readouterr().err == (
        f"ingestao_bronze.py: {said}; what landed is announced in a manifest, nothing half-written is left.\n"
    )
    assert lock_etag(s3) is None
    assert signal.getsignal(signal.SIGTERM) is before  # given back to whoever called main (run_pipeline)


def test_a_lock_older_than_any_run_is_taken_over_and_removed_at_the_end(
    s3: Any, portal_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    put_lock(s3, ANOTHER_HOST)  # left by a run that was killed before it could remove it
    monkeypatch.setattr(bronze_storage, "hours_since", lambda moment: bronze_storage.RUN_LOCK_STALE_HOURS + 1)

    assert ingest(portal_url, S3_LAKE, "--quiet") == 0

    assert len(data_keys(s3_keys(s3))) == 4
    assert lock_etag(s3) is None
    [warning] = [r.getMessage() for r in caplog.records if "took over the run lock" in r.getMessage()]
    assert (
        "cron-box" in warning
        and "pid 4242" in warning
        and f"{bronze_storage.RUN_LOCK_STALE_HOURS + 1}" in warning
    )


def test_of_two_runs_taking_over_a_stale_lock_only_one_gets_it(
    s3: Any, portal_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    put_lock(s3, ANOTHER_HOST)
    ages = iter([bronze_storage.RUN_LOCK_STALE_HOURS + 1])  # the killed run's lock; then the new one's, young
    monkeypatch.setattr(bronze_storage, "hours_since", lambda moment: next(ages, 0.0))

    def the_other_run_takes_it_first(params: dict[str, Any], **_: Any) -> None:
        if params["Key"] == LOCK_KEY and "IfMatch" in params:
            put_lock(s3, {**ANOTHER_HOST, "host": "laptop", "pid": 7})

    client = bronze_storage.s3_client
    monkeypatch.setattr(
        bronze_storage,
        "s3_client",
        lambda session=None: register(
            client(session), "before-parameter-build.s3.PutObject", the_other_run_takes_it_first
        ),
    )

    assert ingest(portal_url, S3_LAKE) == 1

    assert "(host laptop, pid 7, started 0 minutes ago)" in capsys.readouterr().err
    assert data_keys(s3_keys(s3)) == []


def test_a_run_whose_lock_was_taken_over_leaves_the_new_holders_lock(
    s3: Any, portal_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    discover = ingestao_bronze.discover

    def taken_over_meanwhile(*args: Any) -> Any:
        put_lock(s3, ANOTHER_HOST)  # a run that judged this one's lock stale
        return discover(*args)

    monkeypatch.setattr(ingestao_bronze, "discover", taken_over_meanwhile)

    assert ingest(portal_url, S3_LAKE, "--quiet") == 0

    assert lock_etag(s3) is not None  # the other run's, not removed
    assert any("was taken over by another run" in r.getMessage() for r in caplog.records)


def register(client: Any, event: str, handler: Callable[..., None]) -> Any:
    """``client`` calling ``handler`` on a botocore event."""
    client.meta.events.register(event, handler)
    return client


def test_a_bucket_that_refuses_the_lock_stops_the_run_before_any_download(
    s3: Any, portal: Any, portal_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from botocore.exceptions import ClientError

    def access_denied(params: dict[str, Any], **_: Any) -> None:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "PutObject")

    monkeypatch.setattr(
        bronze_storage, "s3_client", s3_client_calling("before-parameter-build.s3.PutObject", access_denied)
    )

    assert ingest(portal_url, S3_LAKE) == 2

    assert capsys.readouterr().err == (
        f"ingestao_bronze.py: error: Cannot write s3://{S3_BUCKET}/{LOCK_KEY}: AccessDenied.\n"
    )
    assert sum(portal.downloads.values()) == 0 and s3_keys(s3) == []
