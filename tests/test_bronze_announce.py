"""Every object in Bronze is announced as landed by some manifest: after a storage failure, Ctrl-C, a kill,
a manifest the lake refused, --force, twin resources or a lost state."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import ingestao_bronze
from bronze_helpers import (
    S3_LAKE,
    SAMPLE_BY_DATASET,
    announced,
    by_dataset,
    cut_short,
    data_keys,
    ingest,
    lake_files,
    manifests,
    s3_client_calling,
    s3_keys,
    s3_manifests,
    state,
)
from bronze_storage import LocalStore, StorageError
from lake import BRONZE_MANIFESTS, BRONZE_STATE
from portal_standin import Portal

DATASETS_IN_ORDER = ["new_system", "legacy_2022", "legacy_2015", "legacy_2011"]  # as the stand-in lists them


def assert_every_object_announced(lake: Path) -> None:
    """The invariant Silver's job bookmark relies on; no run left a record of unannounced objects."""
    assert set(data_keys(lake_files(lake))) == announced(manifests(lake))
    assert "run_in_progress" not in state(lake)


def interrupt_after_commit(
    monkeypatch: pytest.MonkeyPatch, nth: int, interruption: BaseException
) -> list[str]:
    """Make the nth commit of a local lake happen, then raise ``interruption`` (the worst moment to stop)."""
    commit = LocalStore.commit_file
    committed: list[str] = []

    def commit_then_stop(self: LocalStore, local_path: str, key: str, metadata: dict[str, str]) -> None:
        commit(self, local_path, key, metadata)
        committed.append(key)
        if len(committed) == nth:
            raise interruption

    monkeypatch.setattr(LocalStore, "commit_file", commit_then_stop)
    return committed


# ---------------------------------------------------------------- S3: an upload fails on the second resource


def test_an_upload_failure_stops_the_run_and_every_object_that_landed_is_announced(
    s3: Any, portal_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError

    import bronze_storage

    data_uploads: list[str] = []

    def fail_the_second_data_upload(params: dict[str, Any], **_: Any) -> None:
        if "/dataset=" in params["Key"]:
            data_uploads.append(params["Key"])
            if len(data_uploads) == 2:
                raise ClientError({"Error": {"Code": "InternalError", "Message": "try again"}}, "PutObject")

    flaky_client = s3_client_calling("before-parameter-build.s3.PutObject", fail_the_second_data_upload)
    monkeypatch.setattr(bronze_storage, "s3_client", flaky_client)

    code = ingest(portal_url, S3_LAKE)

    assert code == 1  # a resource failed; the run did not stop as a configuration error
    [manifest] = s3_manifests(s3)
    entries = by_dataset(manifest)
    assert [entries[d]["status"] for d in DATASETS_IN_ORDER] == ["landed", "failed", "failed", "failed"]
    assert entries["legacy_2022"]["error"].startswith("Cannot upload s3://boston311-lake-test/lake/bronze/")
    assert "InternalError" in entries["legacy_2022"]["error"]
    for dataset in (
        "legacy_2015",
        "legacy_2011",
    ):  # the lake failed: the rest were not downloaded for nothing
        assert entries[dataset]["error"] == "not attempted: storage failed while landing legacy_2022"
    assert set(data_keys(s3_keys(s3))) == announced([manifest]) == {entries["new_system"]["key"]}

    code = ingest(portal_url, S3_LAKE)

    assert code == 0
    rerun = by_dataset(s3_manifests(s3)[-1])
    assert rerun["new_system"]["status"] == "unchanged"
    assert {rerun[d]["status"] for d in DATASETS_IN_ORDER[1:]} == {"landed"}
    assert len(set(data_keys(s3_keys(s3)))) == 4
    assert set(data_keys(s3_keys(s3))) == announced(s3_manifests(s3))


def test_force_on_s3_finds_todays_objects_and_lands_nothing_twice(s3: Any, portal_url: str) -> None:
    ingest(portal_url, S3_LAKE)
    keys = set(data_keys(s3_keys(s3)))

    assert ingest(portal_url, S3_LAKE, "--force") == 0

    assert set(data_keys(s3_keys(s3))) == keys
    assert {e["status"] for e in s3_manifests(s3)[-1]["resources"]} == {"unchanged"}


# ---------------------------------------------------------------- local: interrupted, killed, refused


def test_ctrl_c_right_after_a_commit_still_announces_that_object(
    portal_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    lake = tmp_path / "lake"
    committed = interrupt_after_commit(monkeypatch, 2, KeyboardInterrupt())

    code = ingest(portal_url, lake)

    assert code == 130
    assert "interrupted" in capsys.readouterr().err
    [manifest] = manifests(lake)
    assert announced([manifest]) == set(committed) == set(data_keys(lake_files(lake)))
    assert_every_object_announced(lake)

    assert ingest(portal_url, lake) == 0  # the later commits go through
    assert len(data_keys(lake_files(lake))) == 4
    assert_every_object_announced(lake)


def test_a_run_killed_after_a_commit_is_announced_by_the_next_run_even_a_day_later(
    portal_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture,
) -> None:
    lake = tmp_path / "lake"
    committed = interrupt_after_commit(monkeypatch, 2, SystemExit(137))  # nothing after the commit runs
    with pytest.raises(SystemExit):
        ingest(portal_url, lake)
    killed_run_landed = set(committed)
    assert manifests(lake) == [] and len(killed_run_landed) == 2
    assert ingest(portal_url, lake, "--dry-run") == 0
    dry_run = capsys.readouterr().out
    assert (
        "has no manifest yet (it is still running, or it stopped): if it stopped, the next run announces"
        in dry_run
    )

    tomorrow = ingestao_bronze.utc_now() + timedelta(days=1)
    monkeypatch.setattr(ingestao_bronze, "utc_now", lambda: tomorrow)
    assert ingest(portal_url, lake) == 0

    recovered, next_day = manifests(lake)
    assert [e["status"] for e in recovered["resources"]] == ["landed", "landed"]
    assert recovered["format_version"] == ingestao_bronze.MANIFEST_FORMAT_VERSION  # the writing run's format
    assert announced([recovered]) == killed_run_landed
    statuses = {d: e["status"] for d, e in by_dataset(next_day).items()}
    assert statuses == {"new_system": "unchanged", "legacy_2022": "unchanged", "legacy_2015": "landed"} | {
        "legacy_2011": "landed"
    }
    assert len(data_keys(lake_files(lake))) == 4  # the killed run's objects are not landed again
    assert_every_object_announced(lake)
    assert any("stopped before writing its manifest" in r.getMessage() for r in caplog.records)


def test_a_killed_runs_manifest_written_by_the_next_run_still_says_the_landing_shrank(
    portal: Portal, portal_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = tmp_path / "lake"
    ingest(portal_url, lake)
    before = by_dataset(manifests(lake)[0])["legacy_2022"]["bytes"]
    portal.rewrite(portal.resource_id("legacy_2022"), cut_short("legacy_2022", 0.5))
    committed = interrupt_after_commit(monkeypatch, 1, SystemExit(137))  # killed right after the commit
    with pytest.raises(SystemExit):
        ingest(portal_url, lake)

    assert ingest(portal_url, lake) == 0

    _, recovered, _ = manifests(lake)
    [entry] = recovered["resources"]
    assert [entry["key"]] == committed and entry["shrunk_from_bytes"] == before
    assert_every_object_announced(lake)


def test_a_manifest_the_lake_refused_is_written_by_the_next_run(
    portal_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    lake = tmp_path / "lake"
    write_json = LocalStore.write_json

    def refuse_manifests(self: LocalStore, key: str, document: Any) -> None:
        if key.startswith(BRONZE_MANIFESTS):
            raise StorageError(f"Cannot write {key}: No space left on device.")
        write_json(self, key, document)

    monkeypatch.setattr(LocalStore, "write_json", refuse_manifests)
    assert ingest(portal_url, lake) == 2
    err = capsys.readouterr().err
    assert "No space left on device; the next run announces what this run landed." in err
    assert "Traceback" not in err
    assert len(data_keys(lake_files(lake))) == 4

    monkeypatch.setattr(LocalStore, "write_json", write_json)
    assert ingest(portal_url, lake) == 0

    recovered, rerun = manifests(lake)
    assert {e["status"] for e in recovered["resources"]} == {"landed"}
    assert {e["status"] for e in rerun["resources"]} == {"unchanged"}
    assert_every_object_announced(lake)


# ---------------------------------------------------------------- same day: --force, twins, lost state


def test_force_on_the_same_day_points_unchanged_entries_at_the_objects_landed_earlier(
    portal_url: str, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    ingest(portal_url, lake)

    assert ingest(portal_url, lake, "--force") == 0

    first, forced = manifests(lake)
    for dataset, entry in by_dataset(forced).items():
        earlier = by_dataset(first)[dataset]
        assert entry["status"] == "unchanged"
        assert [entry[f] for f in ("key", "sha256", "bytes", "ingested_at")] == [
            earlier[f] for f in ("key", "sha256", "bytes", "ingested_at")
        ]
    assert {record["run_id"] for record in state(lake)["resources"].values()} == {first["run_id"]}


def test_force_does_not_land_again_bytes_landed_today_under_a_distinct_key(
    portal: Portal, portal_url: str, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    ingest(portal_url, lake)
    rewritten = SAMPLE_BY_DATASET["legacy_2022"].read_bytes() + b"\n"
    portal.rewrite(portal.resource_id("legacy_2022"), rewritten)
    ingest(portal_url, lake)  # lands <stem>.<run_id>.csv beside the first object
    second = by_dataset(manifests(lake)[1])["legacy_2022"]
    keys = data_keys(lake_files(lake))

    assert ingest(portal_url, lake, "--force") == 0

    forced = by_dataset(manifests(lake)[2])["legacy_2022"]
    assert data_keys(lake_files(lake)) == keys
    assert forced["status"] == "unchanged" and forced["key"] == second["key"]
    assert forced["ingested_at"] == second["ingested_at"]


def test_twin_resources_with_the_same_bytes_share_one_object_and_both_are_landed(
    portal: Portal, portal_url: str, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    portal.add_csv(
        "311 Service Requests - 2022",
        SAMPLE_BY_DATASET["legacy_2022"].read_bytes(),
        file_name="lagan_311_open_data_2022_rvsd3.csv",
    )

    assert ingest(portal_url, lake, "--years", "2022", "--no-new-system") == 0

    twin, original = manifests(lake)[0]["resources"]
    assert twin["status"] == original["status"] == "landed"
    assert twin["key"] == original["key"] and original["ingested_at"] is not None
    assert len(data_keys(lake_files(lake))) == 1
    run_id = manifests(lake)[0]["run_id"]
    assert {r["run_id"] for r in state(lake)["resources"].values()} == {run_id}

    assert ingest(portal_url, lake, "--years", "2022", "--no-new-system") == 0
    assert {e["status"] for e in manifests(lake)[1]["resources"]} == {"unchanged"}


def test_twins_rewritten_to_the_same_bytes_both_point_at_the_one_new_object(
    portal: Portal, portal_url: str, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    original = portal.resource_id("legacy_2022")
    twin = portal.add_csv(
        "311 Service Requests - 2022",
        SAMPLE_BY_DATASET["legacy_2022"].read_bytes(),
        file_name="lagan_311_open_data_2022_rvsd3.csv",
    )
    ingest(portal_url, lake, "--years", "2022", "--no-new-system")
    rewritten = SAMPLE_BY_DATASET["legacy_2022"].read_bytes() + b"\n"
    for resource_id in (twin, original):
        portal.rewrite(resource_id, rewritten, file_name="lagan_311_open_data_2022_rvsd3.csv")

    assert ingest(portal_url, lake, "--years", "2022", "--no-new-system") == 0

    first, second = manifests(lake)[1]["resources"]
    assert first["status"] == second["status"] == "landed"
    assert first["key"] == second["key"] != manifests(lake)[0]["resources"][0]["key"]
    assert {r["key"] for r in state(lake)["resources"].values()} == {first["key"]}
    assert_every_object_announced(lake)


def test_a_lost_state_announces_todays_objects_again_without_copying_them(
    portal_url: str, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    ingest(portal_url, lake)
    keys = data_keys(lake_files(lake))
    (lake / BRONZE_STATE).unlink()

    assert ingest(portal_url, lake) == 0

    first, second = manifests(lake)
    assert {e["status"] for e in second["resources"]} == {"landed"}
    assert announced([second]) == announced([first]) == set(keys)
    assert data_keys(lake_files(lake)) == keys


def test_a_storage_failure_while_staging_is_that_resources_failure(
    portal_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    lake = tmp_path / "lake"
    fetch = ingestao_bronze.Fetcher.fetch
    fetches: list[str] = []

    def disk_full_on_the_second(
        self: Any, url: str, destination: str, progress: Any, **options: Any
    ) -> tuple[str, int]:
        fetches.append(url)
        if len(fetches) == 2:
            raise StorageError(f"Cannot write the staging file {destination}: No space left on device.")
        return fetch(self, url, destination, progress, **options)

    monkeypatch.setattr(ingestao_bronze.Fetcher, "fetch", disk_full_on_the_second)

    assert ingest(portal_url, lake) == 1

    entries = by_dataset(manifests(lake)[0])
    assert [entries[d]["status"] for d in DATASETS_IN_ORDER] == ["landed", "failed", "failed", "failed"]
    assert "No space left on device" in entries["legacy_2022"]["error"]
    assert len(fetches) == 2  # nothing downloaded after the lake failed
    [line] = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert line.startswith("legacy_2022 (311 SERVICE REQUESTS - 2022): Cannot write the staging file")
    assert_every_object_announced(lake)


def test_an_object_recorded_but_never_committed_is_not_announced(
    portal_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = tmp_path / "lake"
    commit = LocalStore.commit_file
    committed: list[str] = []

    def killed_during_the_second_commit(self: LocalStore, local_path: str, key: str, metadata: Any) -> None:
        if committed:
            raise SystemExit(137)  # recorded in the state, but the file never reached its key
        commit(self, local_path, key, metadata)
        committed.append(key)

    monkeypatch.setattr(LocalStore, "commit_file", killed_during_the_second_commit)
    with pytest.raises(SystemExit):
        ingest(portal_url, lake)
    assert len(state(lake)["run_in_progress"]["resources"]) == 2
    monkeypatch.setattr(LocalStore, "commit_file", commit)

    assert ingest(portal_url, lake) == 0

    recovered, rerun = manifests(lake)
    assert announced([recovered]) == set(committed)  # only what is in the lake
    assert by_dataset(rerun)["legacy_2022"]["status"] == "landed"
    assert_every_object_announced(lake)


def test_a_run_killed_after_its_manifest_keeps_that_manifest_as_written(
    portal: Portal, portal_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Killed between the manifest and the final state: the next run brings the state up to date only.
    lake = tmp_path / "lake"
    ingest(portal_url, lake)
    portal.rewrite(portal.resource_id("legacy_2022"), SAMPLE_BY_DATASET["legacy_2022"].read_bytes() + b"\n")
    write_json = LocalStore.write_json
    manifest_written: list[str] = []

    def killed_before_the_final_state(self: LocalStore, key: str, document: Any) -> None:
        if key == BRONZE_STATE and manifest_written:
            raise SystemExit(137)
        write_json(self, key, document)
        if key.startswith(BRONZE_MANIFESTS):
            manifest_written.append(key)

    monkeypatch.setattr(LocalStore, "write_json", killed_before_the_final_state)
    with pytest.raises(SystemExit):
        ingest(portal_url, lake)
    monkeypatch.setattr(LocalStore, "write_json", write_json)
    [killed_manifest] = manifest_written
    written = (lake / killed_manifest).read_bytes()
    assert "run_in_progress" in state(lake)

    assert ingest(portal_url, lake) == 0

    assert (lake / killed_manifest).read_bytes() == written
    assert len(manifests(lake)) == 3
    assert {e["status"] for e in manifests(lake)[-1]["resources"]} == {"unchanged"}
    assert_every_object_announced(lake)
