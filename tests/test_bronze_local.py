"""Bronze into a local-folder lake against the loopback portal stand-in: landing, manifest, state, re-runs."""

from __future__ import annotations

import errno
import hashlib
import io
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import ingestao_bronze
from bronze_helpers import (
    ERA_BY_DATASET,
    SAMPLE_BY_DATASET,
    by_dataset,
    cut_short,
    data_keys,
    ingest,
    lake_files,
    manifests,
    pretend_read_only,
    state,
)
from bronze_storage import ABANDONED_STAGING_HOURS
from ingestao_bronze import MANIFEST_FORMAT_VERSION, SHRINK_WARN_RATIO
from lake import BRONZE_MANIFESTS, BRONZE_STATE
from portal_standin import Portal, serve

MANIFEST_FIELDS = {
    "format_version",
    "run_id",
    "started_at",
    "finished_at",
    "portal",
    "discovery",
    "lake",
    "resources",
}
ENTRY_FIELDS = {
    "resource_id",
    "name",
    "dataset",
    "url",
    "portal_last_modified",
    "portal_size",
    "portal_hash",
    "status",
    "error",
    "key",
    "sha256",
    "bytes",
    "header_era",
    "ingested_at",
    "shrunk_from_bytes",
    "non_utf8_at",
}


def test_first_run_lands_every_csv_byte_for_byte_with_a_manifest(portal_url: str, tmp_path: Path) -> None:
    lake = tmp_path / "lake"

    code = ingest(portal_url, lake)

    assert code == 0
    [manifest] = manifests(lake)
    assert set(manifest) == MANIFEST_FIELDS
    assert manifest["format_version"] == MANIFEST_FORMAT_VERSION
    assert manifest["discovery"] == "package_show"
    assert manifest["portal"] == portal_url
    assert manifest["lake"] == str(lake)
    entries = by_dataset(manifest)
    assert set(entries) == set(SAMPLE_BY_DATASET)
    for dataset, entry in entries.items():
        assert set(entry) == ENTRY_FIELDS
        assert entry["status"] == "landed" and entry["error"] is None
        assert entry["key"].startswith(f"bronze/boston311/dataset={dataset}/ingest_date=")
        assert (lake / entry["key"]).read_bytes() == SAMPLE_BY_DATASET[dataset].read_bytes()
        assert entry["bytes"] == SAMPLE_BY_DATASET[dataset].stat().st_size
        assert entry["header_era"] == ERA_BY_DATASET[dataset]
        assert entry["ingested_at"].endswith("Z")
        assert entry["shrunk_from_bytes"] is None  # a first landing has nothing to shrink from
        assert entry["non_utf8_at"] is None  # the City's samples are UTF-8 throughout
    # file names are the portal's, whatever the dataset
    assert entries["new_system"]["key"].endswith("/tmptahr44h_.csv")
    assert entries["legacy_2011"]["key"].endswith("/lagan_311_open_data_2011_rvsd3.csv")


def test_lake_holds_only_data_manifest_and_state(portal_url: str, tmp_path: Path) -> None:
    lake = tmp_path / "lake"

    ingest(portal_url, lake)

    files = lake_files(lake)
    assert len(data_keys(files)) == 4
    assert set(files) - set(data_keys(files)) == {
        f"bronze/boston311/_manifests/{manifests(lake)[0]['run_id']}.json",
        BRONZE_STATE,
    }
    assert not (lake / "bronze/boston311/_staging").exists()


def test_the_staging_folders_and_temporary_files_killed_runs_left_are_removed_by_the_next_run(
    portal_url: str, tmp_path: Path
) -> None:
    # A run killed while downloading or writing its state (SIGKILL, out of memory) cleans nothing up: its partial
    # file stayed for good, then for a day. The next run holds the lake's run lock, so no other run can be writing
    # them: gone at once, however young.
    lake = tmp_path / "lake"
    staging = lake / "bronze/boston311/_staging"
    killed_long_ago, killed_just_now = staging / "0f3c", staging / "1a9e"
    for folder in (killed_long_ago, killed_just_now):
        folder.mkdir(parents=True)
        (folder / "tmptahr44h_.csv").write_bytes(b"case_id,open_date\n")
    day_and_a_bit = time.time() - (ABANDONED_STAGING_HOURS + 1) * 3600
    for path in (killed_long_ago / "tmptahr44h_.csv", killed_long_ago):
        os.utime(path, (day_and_a_bit, day_and_a_bit))
    temporary = (lake / BRONZE_STATE).parent / ".k3x9_a0q.tmp"  # write_json's name, between write and rename
    temporary.parent.mkdir()
    temporary.write_text('{"resources": {}')

    assert ingest(portal_url, lake) == 0

    assert not staging.exists()
    assert not temporary.exists()


def test_only_a_day_old_temporary_file_of_a_killed_json_write_is_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bronze_storage
    from bronze_storage import LocalStore, StorageError, remove_abandoned_temporaries

    lake = tmp_path / "lake"
    state_folder = (lake / BRONZE_STATE).parent

    def killed_before_the_rename(source: str, target: str) -> None:
        raise OSError(5, "Input/output error")

    with monkeypatch.context() as killed:  # the temporary file written, not renamed, and no clean-up ran
        killed.setattr(bronze_storage, "_remove_quietly", lambda path: None)
        killed.setattr(os, "replace", killed_before_the_rename)
        with pytest.raises(StorageError):
            LocalStore(str(lake)).write_json(BRONZE_STATE, {"resources": {}})
    (temporary,) = state_folder.iterdir()
    notes = state_folder / ".notes.tmp"  # hidden and ending .tmp, but put there by someone, not by write_json
    notes.write_text("why the state was edited by hand")

    remove_abandoned_temporaries(str(state_folder))
    assert sorted(state_folder.iterdir()) == sorted([temporary, notes])  # young: it may be a live run's write

    remove_abandoned_temporaries(str(state_folder), now=time.time() + (ABANDONED_STAGING_HOURS + 1) * 3600)
    assert list(state_folder.iterdir()) == [notes]


def test_state_records_what_was_landed_per_resource(portal: Portal, portal_url: str, tmp_path: Path) -> None:
    lake = tmp_path / "lake"

    ingest(portal_url, lake)

    recorded = state(lake)["resources"]
    new_system_id = portal.resource_id("new_system")
    assert set(recorded) == {portal.resource_id(d) for d in SAMPLE_BY_DATASET}
    assert recorded[new_system_id]["portal_hash"] == portal.resource(new_system_id).raw["hash"]
    assert recorded[new_system_id]["run_id"] == manifests(lake)[0]["run_id"]


def test_second_run_lands_nothing_and_downloads_nothing(
    portal: Portal, portal_url: str, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    ingest(portal_url, lake)
    files_after_first = data_keys(lake_files(lake))
    downloads_after_first = sum(portal.downloads.values())

    code = ingest(portal_url, lake)

    assert code == 0
    assert data_keys(lake_files(lake)) == files_after_first
    assert sum(portal.downloads.values()) == downloads_after_first
    second = manifests(lake)[1]
    assert {e["status"] for e in second["resources"]} == {"unchanged"}
    assert by_dataset(second)["legacy_2022"]["key"] == by_dataset(manifests(lake)[0])["legacy_2022"]["key"]


def test_a_lake_landed_before_manifests_had_a_format_version_runs_again_as_before(
    portal: Portal, portal_url: str, tmp_path: Path
) -> None:
    # a lake landed by older code: its manifests have no format_version (its state is as this code writes it). A run
    # over it lands and downloads nothing, keeps those manifests as they were and writes its own with the field.
    lake = tmp_path / "lake"
    ingest(portal_url, lake)
    [older] = (lake / BRONZE_MANIFESTS).glob("*.json")
    unversioned = {k: v for k, v in json.loads(older.read_text()).items() if k != "format_version"}
    older.write_text(json.dumps(unversioned))
    files_before, downloads_before = data_keys(lake_files(lake)), sum(portal.downloads.values())

    assert ingest(portal_url, lake) == 0

    first, second = manifests(lake)
    assert first == unversioned
    assert second["format_version"] == MANIFEST_FORMAT_VERSION
    assert {e["status"] for e in second["resources"]} == {"unchanged"}
    assert data_keys(lake_files(lake)) == files_before
    assert sum(portal.downloads.values()) == downloads_before


def test_a_resource_rewritten_in_place_lands_a_new_ingest(
    portal: Portal, portal_url: str, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    ingest(portal_url, lake)
    first = by_dataset(manifests(lake)[0])
    rewritten = (
        SAMPLE_BY_DATASET["legacy_2022"].read_bytes()
        + SAMPLE_BY_DATASET["legacy_2022"].read_bytes().split(b"\n", 1)[1]
    )
    portal.rewrite(portal.resource_id("legacy_2022"), rewritten)

    code = ingest(portal_url, lake)

    second = by_dataset(manifests(lake)[1])
    assert code == 0
    assert second["legacy_2022"]["status"] == "landed"
    assert {second[d]["status"] for d in second if d != "legacy_2022"} == {"unchanged"}
    # same day, different bytes: a distinct key, and the first object is left untouched
    assert second["legacy_2022"]["key"] != first["legacy_2022"]["key"]
    assert second["legacy_2022"]["key"].endswith(f".{manifests(lake)[1]['run_id']}.csv")
    assert (lake / second["legacy_2022"]["key"]).read_bytes() == rewritten
    assert (lake / first["legacy_2022"]["key"]).read_bytes() == SAMPLE_BY_DATASET["legacy_2022"].read_bytes()
    assert (
        second["legacy_2022"]["portal_hash"] == portal.resource(portal.resource_id("legacy_2022")).raw["hash"]
    )


def warnings_in(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The WARNING lines the run logged."""
    return [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]


def test_a_file_that_stops_being_utf8_lands_as_served_with_a_warning_and_the_offset_in_its_manifest(
    portal: Portal,
    portal_url: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture,
) -> None:
    # Silver reads only a file's first MiB for its encoding: a Latin-1 accent further on became U+FFFD without a word.
    lake = tmp_path / "lake"
    sample = SAMPLE_BY_DATASET["legacy_2011"].read_bytes()
    offset = sample.rindex(b"\n", 0, len(sample) - 1) + 5  # inside its last record, past Silver's first MiB
    latin1 = sample[:offset] + "é".encode("latin-1") + sample[offset + 1 :]
    assert offset > 2**20
    portal.rewrite(portal.resource_id("legacy_2011"), latin1)

    assert ingest(portal_url, lake) == 0  # the bytes are the City's: landed, as served

    entries = by_dataset(manifests(lake)[0])
    assert entries["legacy_2011"]["non_utf8_at"] == offset
    assert (lake / entries["legacy_2011"]["key"]).read_bytes() == latin1
    assert {entries[d]["non_utf8_at"] for d in entries if d != "legacy_2011"} == {None}
    assert warnings_in(caplog) == [
        f"legacy_2011: the file is not UTF-8 from byte offset {offset:,} on; landed as served. Silver reads it as "
        "UTF-8, so each character that is not becomes U+FFFD (\ufffd): ask the City for a UTF-8 file to keep them"
    ]
    out = capsys.readouterr().out.splitlines()
    [row] = [line for line in out if line.startswith("legacy_2011")]
    assert row.endswith(f"{entries['legacy_2011']['key']} (not UTF-8 from byte {offset:,})")
    assert out[-1] == "landed 4, unchanged 0, failed 0, not UTF-8 1"
    # the state describes the object, so the next run's unchanged entry says it again, without a new warning
    assert state(lake)["resources"][portal.resource_id("legacy_2011")]["non_utf8_at"] == offset
    caplog.clear()

    assert ingest(portal_url, lake) == 0

    again = by_dataset(manifests(lake)[1])["legacy_2011"]
    assert (again["status"], again["non_utf8_at"]) == ("unchanged", offset)
    assert warnings_in(caplog) == []  # the landing's news, told once
    assert capsys.readouterr().out.splitlines()[-1] == "landed 0, unchanged 4, failed 0"


@pytest.mark.parametrize(
    ("data", "offset"),
    [
        (b"", None),
        ("case_title\nCáse Ñoño\n".encode(), None),
        ("\ufeffcase_title\n".encode(), None),  # a byte-order mark is UTF-8
        (b"case_title\nC\xe1se\n", 12),  # Latin-1
        (b"case_title\nCase\xc3", 15),  # a character the end of the file cuts short: its first byte
        ("case_title\né".encode() + b"\xff", 13),
    ],
)
# pieces that cut a character, and one for the whole body
@pytest.mark.parametrize("piece_bytes", [1, 2, 3, 1 << 20])
def test_where_a_body_stops_being_utf8_is_found_in_any_size_of_piece(
    data: bytes, offset: int | None, piece_bytes: int
) -> None:
    check = ingestao_bronze.Utf8Check()
    for start in range(0, len(data), piece_bytes):
        check.update(data[start : start + piece_bytes])

    assert check.finish() == offset


def test_a_body_restarted_from_zero_is_checked_anew() -> None:
    # the server answered a Range request with the whole file (BodySink.restart): the first bytes are forgotten
    check = ingestao_bronze.Utf8Check()
    check.update(b"caf\xe9,")
    check.restart()
    check.update("café,".encode())

    assert check.finish() is None


def test_a_reissue_much_smaller_than_the_last_landing_warns_is_recorded_and_still_lands_as_served(
    portal: Portal,
    portal_url: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture,
) -> None:
    lake = tmp_path / "lake"
    ingest(portal_url, lake)
    first = by_dataset(manifests(lake)[0])["legacy_2022"]
    half = cut_short("legacy_2022", 0.5)  # a closed year's file that suddenly lost half its rows
    portal.rewrite(portal.resource_id("legacy_2022"), half)
    caplog.clear()
    capsys.readouterr()

    code = ingest(portal_url, lake)

    assert code == 0  # landing the City's file as served is Bronze's job: a shrink is news, not a failure
    second = by_dataset(manifests(lake)[1])
    assert second["legacy_2022"]["status"] == "landed"
    assert second["legacy_2022"]["bytes"] == len(half) < first["bytes"] * SHRINK_WARN_RATIO
    assert second["legacy_2022"]["shrunk_from_bytes"] == first["bytes"]
    assert (lake / second["legacy_2022"]["key"]).read_bytes() == half
    assert (lake / first["key"]).read_bytes() == SAMPLE_BY_DATASET["legacy_2022"].read_bytes()  # kept
    assert {second[d]["shrunk_from_bytes"] for d in second if d != "legacy_2022"} == {None}
    [warning] = warnings_in(caplog)
    assert warning.startswith(
        f"legacy_2022: the portal's new file has {len(half):,} bytes, "
        f"{round(100 * (1 - len(half) / first['bytes']))} % fewer than the {first['bytes']:,} landed before "
        f"({first['key']}); landed as served."
    )
    assert "(an upsert, never a delete), so nothing is lost, but the City's file changed" in warning
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "landed 1, unchanged 3, failed 0, shrunk 1"
    [row] = [line for line in out if line.startswith("legacy_2022")]
    assert row.endswith(f"{second['legacy_2022']['key']} (shrunk from {first['bytes']:,} bytes)")
    # the state describes the object; the shrink was this run's news, and the next run has none
    assert "shrunk_from_bytes" not in state(lake)["resources"][portal.resource_id("legacy_2022")]
    caplog.clear()

    assert ingest(portal_url, lake) == 0

    assert {e["shrunk_from_bytes"] for e in manifests(lake)[2]["resources"]} == {None}
    assert warnings_in(caplog) == []
    assert capsys.readouterr().out.splitlines()[-1] == "landed 0, unchanged 4, failed 0"


@pytest.mark.parametrize(
    "reissue",
    [
        pytest.param(lambda: cut_short("legacy_2022", 0.95), id="slightly-smaller"),
        pytest.param(
            lambda: (
                SAMPLE_BY_DATASET["legacy_2022"].read_bytes()
                + cut_short("legacy_2022", 0.5).split(b"\n", 1)[1]
            ),
            id="grown",
        ),
    ],
)
def test_a_reissue_within_the_threshold_or_grown_lands_without_a_word(
    reissue: Any, portal: Portal, portal_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lake = tmp_path / "lake"
    ingest(portal_url, lake)
    before = by_dataset(manifests(lake)[0])["legacy_2022"]["bytes"]
    new_bytes = reissue()
    assert len(new_bytes) >= before * SHRINK_WARN_RATIO
    portal.rewrite(portal.resource_id("legacy_2022"), new_bytes)
    caplog.clear()

    assert ingest(portal_url, lake) == 0

    entry = by_dataset(manifests(lake)[1])["legacy_2022"]
    assert entry["status"] == "landed" and entry["bytes"] == len(new_bytes)
    assert entry["shrunk_from_bytes"] is None
    assert warnings_in(caplog) == []


def test_a_resource_the_city_replaced_is_compared_with_the_one_it_replaced_and_a_twin_is_not(
    portal: Portal, portal_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lake = tmp_path / "lake"
    original = portal.resource_id("legacy_2022")
    ingest(portal_url, lake, "--years", "2022", "--no-new-system")
    before = manifests(lake)[0]["resources"][0]["bytes"]
    half = cut_short("legacy_2022", 0.5)
    # a second file of the year while the first is still listed: another file, not a new version of it
    portal.add_csv("311 Service Requests - 2022", half, file_name="twin_2022.csv")
    caplog.clear()

    assert ingest(portal_url, lake, "--years", "2022", "--no-new-system") == 0

    assert [e["shrunk_from_bytes"] for e in manifests(lake)[1]["resources"]] == [None, None]
    assert warnings_in(caplog) == []
    # the first file withdrawn and a new resource of the year in its place: a new version of the year's file
    portal.remove(original)
    portal.add_csv("311 service requests - 2022", half, file_name="replacement_2022.csv")

    assert ingest(portal_url, lake, "--years", "2022", "--no-new-system") == 0

    replacement = next(
        e for e in manifests(lake)[2]["resources"] if e["key"].endswith("/replacement_2022.csv")
    )
    assert replacement["status"] == "landed" and replacement["shrunk_from_bytes"] == before
    assert len(warnings_in(caplog)) == 1


def test_renamed_file_is_the_same_resource(portal: Portal, portal_url: str, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    ingest(portal_url, lake)
    portal.rewrite(
        portal.resource_id("legacy_2011"),
        SAMPLE_BY_DATASET["legacy_2011"].read_bytes(),
        file_name="tmpabc123.csv",
    )

    ingest(portal_url, lake)

    # the portal metadata changed (new last_modified) but the bytes did not: nothing new lands
    second = by_dataset(manifests(lake)[1])
    assert second["legacy_2011"]["status"] == "unchanged"
    assert len(data_keys(lake_files(lake))) == 4


def test_dataset_page_fallback_and_sha256_comparison_on_rerun(
    portal: Portal, portal_url: str, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    portal.package_show_enabled = False

    assert ingest(portal_url, lake) == 0
    assert ingest(portal_url, lake) == 0

    first, second = manifests(lake)
    assert first["discovery"] == second["discovery"] == "dataset_page"
    assert {e["status"] for e in first["resources"]} == {"landed"}
    # without portal metadata the files are downloaded again, compared by sha256, and not landed again
    assert {e["status"] for e in second["resources"]} == {"unchanged"}
    assert sum(portal.s3_gets.values()) == 8
    assert len(data_keys(lake_files(lake))) == 4


def test_a_package_show_of_another_shape_falls_back_to_the_dataset_page(
    portal: Portal,
    portal_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    lake = tmp_path / "lake"
    monkeypatch.setattr(portal, "package_show", lambda base: None)  # was a traceback (AttributeError), exit 1

    assert ingest(portal_url, lake) == 0

    assert manifests(lake)[0]["discovery"] == "dataset_page"
    assert (
        "discovery through package_show failed: package_show answered a document of another shape"
        in caplog.text
    )
    assert len(data_keys(lake_files(lake))) == 4


def test_years_and_no_new_system_filter(
    portal: Portal, portal_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lake = tmp_path / "lake"

    code = ingest(portal_url, lake, "--years", "2011-2014,2022", "--no-new-system")

    assert code == 0
    assert set(by_dataset(manifests(lake)[0])) == {"legacy_2011", "legacy_2022"}
    assert "the portal lists no file for --years 2012, 2013, 2014" in caplog.text  # asked for, not there
    assert portal.downloads[portal.resource_id("new_system")] == 0


def test_dry_run_writes_nothing(
    portal: Portal, portal_url: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    lake = tmp_path / "lake"

    code = ingest(portal_url, lake, "--dry-run")

    assert code == 0
    assert not lake.exists()
    assert sum(portal.downloads.values()) == 0
    assert capsys.readouterr().out.count("would fetch") == 4


def test_dry_run_names_a_file_listed_over_the_cap(
    portal: Portal, portal_url: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    portal.resource(portal.resource_id("legacy_2022")).raw["size"] = 3 * 2**30  # over the 2 GiB default
    lake = tmp_path / "lake"

    code = ingest(portal_url, lake, "--dry-run")

    out = capsys.readouterr().out
    assert code == 0 and not lake.exists()
    assert [line.split()[:3] for line in out.splitlines() if "would refuse" in line] == [
        ["legacy_2022", "would", "refuse"]
    ]
    assert out.count("would fetch") == 3


def test_dry_run_after_a_run_tells_unchanged_from_changed(
    portal: Portal, portal_url: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    lake = tmp_path / "lake"
    ingest(portal_url, lake)
    portal.rewrite(portal.resource_id("legacy_2022"), SAMPLE_BY_DATASET["legacy_2022"].read_bytes() + b"\n")
    capsys.readouterr()

    assert ingest(portal_url, lake, "--dry-run") == 0

    verdicts = {line.split()[0]: line.split()[1] for line in capsys.readouterr().out.splitlines()}
    assert verdicts == {
        "new_system": "unchanged",
        "legacy_2022": "would",
        "legacy_2015": "unchanged",
        "legacy_2011": "unchanged",
    }


class RefusingStdout(io.StringIO):
    """A stdout every write to which fails with ``error`` (a full disk, a reader gone from the pipe)."""

    def __init__(self, error: OSError) -> None:
        super().__init__()
        self.error = error

    def write(self, text: str) -> int:
        raise self.error


REFUSING_STDOUTS = [
    (lambda: RefusingStdout(OSError(errno.ENOSPC, "No space left on device")), "No space left on device"),
    (lambda: RefusingStdout(BrokenPipeError(errno.EPIPE, "Broken pipe")), "Broken pipe"),
    (lambda: None, "stdout is closed"),  # what Python makes of a process started with stdout closed
]


@pytest.mark.parametrize(("stdout", "reason"), REFUSING_STDOUTS, ids=["full", "broken-pipe", "closed"])
def test_a_summary_stdout_refuses_is_one_sentence_and_exit_2_after_the_lake_is_written(
    portal_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    stdout: Any,
    reason: str,
) -> None:
    """The summary's print raised OSError out of main (a traceback, exit 1); the lake was written all the same."""
    lake = tmp_path / "lake"
    monkeypatch.setattr(sys, "stdout", stdout())

    code = ingest(portal_url, lake, "--years", "2022", "--no-new-system")

    monkeypatch.undo()
    assert code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"ingestao_bronze.py: error: Could not write the summary to stdout ({reason}); the run landed 1, "
        "unchanged 0, failed 0, and wrote its manifest and state."
    )
    [manifest] = manifests(lake)
    assert by_dataset(manifest)["legacy_2022"]["status"] == "landed"
    assert set(state(lake)["resources"]) == {e["resource_id"] for e in manifest["resources"]}
    assert "run_in_progress" not in state(lake)
    assert not (lake / "bronze/boston311/_staging").exists()
    assert ingest(portal_url, lake, "--years", "2022", "--no-new-system") == 0  # the run lock was let go


@pytest.mark.parametrize(("stdout", "reason"), REFUSING_STDOUTS, ids=["full", "broken-pipe", "closed"])
def test_a_dry_run_report_stdout_refuses_is_one_sentence_and_exit_2(
    portal_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    stdout: Any,
    reason: str,
) -> None:
    monkeypatch.setattr(sys, "stdout", stdout())

    code = ingest(portal_url, tmp_path / "lake", "--dry-run")

    monkeypatch.undo()
    assert code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"ingestao_bronze.py: error: Could not write the dry run's report to stdout ({reason}); nothing was "
        "written to the lake."
    )
    assert list(tmp_path.iterdir()) == []


def test_summary_table_counts(portal_url: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    ingest(portal_url, tmp_path / "lake")

    out = capsys.readouterr().out

    assert out.strip().splitlines()[-1] == "landed 4, unchanged 0, failed 0"
    rows = [line.split() for line in out.strip().splitlines()[1:-1]]
    keys = {e["dataset"]: e["key"] for e in manifests(tmp_path / "lake")[0]["resources"]}
    assert {row[0]: (row[1], row[3]) for row in rows} == {d: ("landed", key) for d, key in keys.items()}


def test_unreachable_portal_is_a_configuration_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with serve() as url:
        pass  # the server is gone: its port now refuses connections

    code = ingest(url, tmp_path / "lake", "--retries", "0")

    assert code == 2
    err = capsys.readouterr().err
    assert "Could not list the dataset's resources" in err and "--portal" in err
    assert "dataset_page" not in err  # same host, unreachable: the second discovery method is not tried
    assert not (tmp_path / "lake").exists()  # exit 2 leaves nothing, not even the lake folder


def test_force_lands_again_what_the_state_calls_unchanged(
    portal: Portal, portal_url: str, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    ingest(portal_url, lake)
    lost = lake / by_dataset(manifests(lake)[0])["legacy_2011"]["key"]
    lost.unlink()  # someone deleted an object; the state still lists it

    assert ingest(portal_url, lake) == 0
    assert not lost.exists()
    assert ingest(portal_url, lake, "--force") == 0

    forced = by_dataset(manifests(lake)[-1])
    assert lost.read_bytes() == SAMPLE_BY_DATASET["legacy_2011"].read_bytes()
    assert forced["legacy_2011"]["status"] == "landed"
    # the others are still in place with the same bytes: recognised, not duplicated
    assert {forced[d]["status"] for d in forced if d != "legacy_2011"} == {"unchanged"}
    assert len(data_keys(lake_files(lake))) == 4


def test_two_resources_with_one_file_name_never_overwrite_each_other(
    portal: Portal, portal_url: str, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    twin = SAMPLE_BY_DATASET["legacy_2011"].read_bytes()
    portal.add_csv("311 Service Requests - 2022", twin, file_name="lagan_311_open_data_2022_rvsd3.csv")

    assert ingest(portal_url, lake, "--years", "2022", "--no-new-system") == 0

    entries = manifests(lake)[0]["resources"]
    assert [e["status"] for e in entries] == ["landed", "landed"]
    first, second = (lake / e["key"] for e in entries)
    assert first != second
    assert first.read_bytes() == twin
    assert second.read_bytes() == SAMPLE_BY_DATASET["legacy_2022"].read_bytes()


@pytest.mark.parametrize(
    ("damage", "sentence"),
    [
        (lambda state: "{not json", "is not valid JSON"),
        # JSON, but not a state: no 'resources' object at all, or a list where it belongs
        (lambda state: json.dumps(["resources"]), "has no 'resources' object"),
        (lambda state: json.dumps({**state, "resources": []}), "has no 'resources' object"),
        # an empty object or list is no state either (it was read as a new lake's, silently)
        (lambda state: "{}", "has no 'resources' object"),
        (lambda state: "[]", "has no 'resources' object"),
        # JSON of the wrong shape: a resource record that is a number, or one whose key is a list
        (
            lambda state: json.dumps({**state, "resources": {"r1": 5}}),
            "has a resource record that is not an object",
        ),
        (
            lambda state: json.dumps(
                {**state, "resources": {k: {**v, "key": ["a"]} for k, v in state["resources"].items()}}
            ),
            "has a resource record that is not an object with a text 'key'",
        ),
        (  # a sha256 that is not text could never equal a download's
            lambda state: json.dumps(
                {**state, "resources": {k: {**v, "sha256": 5} for k, v in state["resources"].items()}}
            ),
            "has a resource record that is not an object with a text 'key' (and a text 'sha256', if any)",
        ),
        # a field of a manifest entry of another type: a 'bytes' of text went into the manifest, then was a
        # ValueError traceback in the run's summary; a size of true
        *(
            (
                lambda state, field=field, value=value: json.dumps(
                    {
                        **state,
                        "resources": {
                            rid: {**record, field: value} for rid, record in state["resources"].items()
                        },
                    }
                ),
                "has a resource record that is not an object with a text 'key' (and a text 'sha256', if any)",
            )
            for field, value in (("bytes", "1764845"), ("portal_size", True), ("ingested_at", 20261128))
        ),
        # a killed run's record edited by hand: no sha256 (was a KeyError traceback), a field no manifest has
        (
            lambda state: json.dumps(
                {**state, "run_in_progress": {"run_id": "r0", "resources": [{"key": "k"}]}}
            ),
            "has a malformed 'run_in_progress' record",
        ),
        (
            lambda state: json.dumps(
                {
                    **state,
                    "run_in_progress": {"run_id": "r0", "resources": [{"key": "k", "sha256": "0", "x": 1}]},
                }
            ),
            "has a malformed 'run_in_progress' record",
        ),
        # a record of a landed object (its key and sha256 match the lake) that lacks a field every manifest entry
        # has: it was a TypeError traceback when the entry was built from it
        (
            lambda state: json.dumps(
                {
                    **state,
                    "run_in_progress": {
                        "run_id": "r0",
                        "resources": [
                            {"key": record["key"], "sha256": record["sha256"]}
                            for record in state["resources"].values()
                        ],
                    },
                }
            ),
            "has a malformed 'run_in_progress' record",
        ),
    ],
)
def test_corrupt_state_is_a_configuration_error(
    portal_url: str, tmp_path: Path, capsys: pytest.CaptureFixture, damage, sentence: str
) -> None:
    lake = tmp_path / "lake"
    ingest(portal_url, lake)
    state_file = lake / BRONZE_STATE
    state_file.write_text(damage(json.loads(state_file.read_text())))

    for dry_run in ([], ["--dry-run"]):
        code = ingest(portal_url, lake, *dry_run)

        assert code == 2
        err = capsys.readouterr().err
        assert f"The state file bronze/boston311/_state/resources.json {sentence}" in err
        assert "Traceback" not in err
    assert len(manifests(lake)) == 1


def test_a_new_last_modified_alone_makes_the_run_download_again(
    portal: Portal, portal_url: str, tmp_path: Path
) -> None:
    # Rule 1 skips the download only when last_modified, size and hash all equal the state's.
    lake = tmp_path / "lake"
    ingest(portal_url, lake, "--years", "2022", "--no-new-system")
    rid = portal.resource_id("legacy_2022")
    portal.resource(rid).raw["last_modified"] = "2031-01-01T00:00:00.000000"

    assert ingest(portal_url, lake, "--years", "2022", "--no-new-system") == 0

    assert portal.s3_gets[rid] == 2  # downloaded again, then spared by the sha256 comparison
    entry = by_dataset(manifests(lake)[1])["legacy_2022"]
    assert entry["status"] == "unchanged"
    assert state(lake)["resources"][rid]["portal_last_modified"] == "2031-01-01T00:00:00.000000"
    assert len(data_keys(lake_files(lake))) == 1


def test_three_resources_with_one_file_name_and_different_bytes_land_three_objects(
    portal: Portal, portal_url: str, tmp_path: Path
) -> None:
    # The key and its <stem>.<run_id> variant are both taken: the third gets a random suffix, never overwrites.
    lake = tmp_path / "lake"
    file_name = "lagan_311_open_data_2022_rvsd3.csv"
    portal.add_csv("311 Service Requests - 2022", SAMPLE_BY_DATASET["legacy_2011"], file_name=file_name)
    portal.add_csv(
        "311 service requests - 2022",
        SAMPLE_BY_DATASET["legacy_2011"].read_bytes() + b"\n",
        file_name=file_name,
    )

    assert ingest(portal_url, lake, "--years", "2022", "--no-new-system") == 0

    entries = manifests(lake)[0]["resources"]
    assert [e["status"] for e in entries] == ["landed"] * 3
    assert len({e["key"] for e in entries}) == 3 == len(data_keys(lake_files(lake)))
    for entry in entries:
        assert hashlib.sha256((lake / entry["key"]).read_bytes()).hexdigest() == entry["sha256"]


def test_two_runs_in_the_same_second_write_two_manifests(
    portal_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ingestao_bronze

    lake = tmp_path / "lake"
    frozen = ingestao_bronze.utc_now()
    monkeypatch.setattr(ingestao_bronze, "utc_now", lambda: frozen)

    assert ingest(portal_url, lake) == 0
    assert ingest(portal_url, lake) == 0

    first, second = manifests(lake)
    assert second["run_id"] == first["run_id"] + "_002"
    assert {e["status"] for e in first["resources"]} == {"landed"}
    assert {e["status"] for e in second["resources"]} == {"unchanged"}


def test_run_ids_of_one_second_sort_in_the_order_the_runs_began() -> None:
    import ingestao_bronze

    class Store:  # a lake whose manifests of that second are written as the runs begin
        def __init__(self) -> None:
            self.manifests: set[str] = set()

        def exists(self, key: str) -> bool:
            return key in self.manifests

    store, started = Store(), ingestao_bronze.utc_now()
    run_ids = []
    for _ in range(12):
        run_ids.append(ingestao_bronze.unique_run_id(store, started))
        store.manifests.add(f"{ingestao_bronze.BRONZE_MANIFESTS}/{run_ids[-1]}.json")

    assert run_ids[1] == run_ids[0] + "_002"
    assert sorted(f"{run_id}.json" for run_id in run_ids) == [f"{run_id}.json" for run_id in run_ids]


def test_a_portal_that_lists_no_311_csv_is_a_configuration_error(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    fixtures = Portal.from_fixtures()
    documents_only = Portal(fixtures.package, [r for r in fixtures.resources if r.raw.get("format") != "CSV"])

    with serve(documents_only) as url:
        code = ingest(url, tmp_path / "lake")

    assert code == 2
    err = capsys.readouterr().err
    assert "package_show: no 311 CSV resources listed; dataset_page: no 311 CSV resources listed" in err
    assert not (tmp_path / "lake").exists()


def test_a_lake_folder_that_cannot_be_written_stops_the_run_before_discovery(
    portal: Portal,
    portal_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    pretend_read_only(monkeypatch, tmp_path)  # the lake's parent

    code = ingest(portal_url, tmp_path / "lake")

    assert code == 2
    assert (
        f"Cannot create the lake folder {tmp_path / 'lake'}: {tmp_path} is not writable."
        in capsys.readouterr().err
    )
    assert portal.paths == []  # not even discovery
    assert not (tmp_path / "lake").exists()


@pytest.mark.parametrize(
    ("resource_id", "file_name"),
    [
        ("/../../../../../escaped", "%2e%2e"),  # no usable file name: the key fell back to the raw id
        ("7f3c9a10-0000-4000-8000-000000000001", "..%2F..%2F..%2F..%2F..%2Fescaped.csv"),
        ("7f3c9a10-0000-4000-8000-000000000002", "_escaped.csv"),  # Hadoop, Silver's reader, hides "_" files
        ("7f3c9a10-0000-4000-8000-000000000003", "%00%0A" + "x" * 300 + ".csv"),  # NUL, newline, too long
    ],
)
def test_a_hostile_resource_id_or_file_name_lands_under_its_dataset_folder_and_nowhere_else(
    portal: Portal, portal_url: str, tmp_path: Path, resource_id: str, file_name: str
) -> None:
    lake = tmp_path / "lake"
    added = portal.add_csv(
        "311 SERVICE REQUESTS - 2023", SAMPLE_BY_DATASET["legacy_2011"], file_name=file_name
    )
    portal.resource(added).raw["id"] = resource_id

    assert ingest(portal_url, lake, "--years", "2022-2023", "--no-new-system") == 0

    assert [path.name for path in tmp_path.iterdir()] == ["lake"]  # nothing written beside the lake
    [entry] = [e for e in manifests(lake)[0]["resources"] if e["dataset"] == "legacy_2023"]
    folder, _, name = entry["key"].rpartition("/")
    assert folder.startswith("bronze/boston311/dataset=legacy_2023/ingest_date=")
    assert name[0] not in "._" and len(name) <= 255 and name.endswith(".csv")
    assert set(data_keys(lake_files(lake))) == {e["key"] for e in manifests(lake)[0]["resources"]}
    assert (lake / entry["key"]).read_bytes() == SAMPLE_BY_DATASET["legacy_2011"].read_bytes()


@pytest.fixture
def case_insensitive_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    """The local lake as macOS's default disk keeps it: a file name is kept as first written, but one that differs
    from it only in case opens, replaces and is that same file (only the last part of a path: Bronze's folders
    are always written the same way)."""
    import bronze_storage

    full = bronze_storage.LocalStore._full

    def case_insensitive_full(self: bronze_storage.LocalStore, key: str) -> str:
        path = full(self, key)
        folder, name = os.path.split(path)
        if os.path.isdir(folder):
            for existing in os.listdir(folder):
                if existing.casefold() == name.casefold():
                    return os.path.join(folder, existing)
        return path

    monkeypatch.setattr(bronze_storage.LocalStore, "_full", case_insensitive_full)


@pytest.mark.parametrize("same_bytes", [False, True], ids=["other-bytes", "same-bytes"])
def test_two_resources_whose_file_names_differ_only_in_case_never_overwrite_each_other(
    portal: Portal, portal_url: str, tmp_path: Path, case_insensitive_disk: None, same_bytes: bool
) -> None:
    lake = tmp_path / "lake"
    city_file = SAMPLE_BY_DATASET["legacy_2022"].read_bytes()
    twin = city_file if same_bytes else SAMPLE_BY_DATASET["legacy_2011"].read_bytes()
    # listed before the City's own 2022 file, lagan_311_open_data_2022_rvsd3.csv
    portal.add_csv("311 Service Requests - 2022", twin, file_name="LAGAN_311_open_data_2022_rvsd3.csv")

    assert ingest(portal_url, lake, "--years", "2022", "--no-new-system") == 0

    [manifest] = manifests(lake)
    first, second = manifest["resources"]
    assert [first["status"], second["status"]] == ["landed", "landed"]
    assert first["key"].endswith("/LAGAN_311_open_data_2022_rvsd3.csv")  # the first keeps its name
    assert (lake / first["key"]).read_bytes() == twin
    if same_bytes:  # announced for both resources, not copied, as under one file name
        assert second["key"] == first["key"]
    else:
        assert second["key"].endswith(f"/lagan_311_open_data_2022_rvsd3.{manifest['run_id']}.csv")
        assert (lake / second["key"]).read_bytes() == city_file
    assert len(data_keys(lake_files(lake))) == len({first["key"].casefold(), second["key"].casefold()})


def test_a_file_renamed_only_in_case_later_the_same_day_keeps_the_first_ingest(
    portal: Portal, portal_url: str, tmp_path: Path, case_insensitive_disk: None
) -> None:
    lake = tmp_path / "lake"
    rid = portal.resource_id("legacy_2022")
    assert ingest(portal_url, lake, "--years", "2022", "--no-new-system") == 0
    grown = SAMPLE_BY_DATASET["legacy_2022"].read_bytes() + b"\n"
    portal.rewrite(rid, grown, file_name="LAGAN_311_open_data_2022_rvsd3.csv")

    assert ingest(portal_url, lake, "--years", "2022", "--no-new-system") == 0

    first, second = (by_dataset(m)["legacy_2022"] for m in manifests(lake))
    assert second["status"] == "landed"
    assert second["key"].endswith(f"/LAGAN_311_open_data_2022_rvsd3.{manifests(lake)[1]['run_id']}.csv")
    assert (lake / first["key"]).read_bytes() == SAMPLE_BY_DATASET["legacy_2022"].read_bytes()
    assert (lake / second["key"]).read_bytes() == grown
    assert len(data_keys(lake_files(lake))) == 2


def test_a_lake_path_under_a_file_stops_the_run_before_discovery(
    portal: Portal, portal_url: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    (tmp_path / "notes.txt").write_text("a file, not a folder")

    code = ingest(portal_url, tmp_path / "notes.txt" / "lake")

    assert code == 2
    err = capsys.readouterr().err
    assert (
        f"Cannot create the lake folder {tmp_path / 'notes.txt' / 'lake'}: {tmp_path / 'notes.txt'} is not a folder."
        in err
    )
    assert "Traceback" not in err
    assert portal.paths == []  # not even discovery


def test_a_full_disk_while_writing_the_state_keeps_the_previous_state_whole(
    portal_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bronze_storage import LocalStore, StorageError

    lake = tmp_path / "lake"
    assert ingest(portal_url, lake) == 0
    before = (lake / BRONZE_STATE).read_bytes()

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(StorageError) as error_info:
        LocalStore(str(lake)).write_json(BRONZE_STATE, {"resources": {}})

    assert str(error_info.value) == f"Cannot write {lake / BRONZE_STATE}: No space left on device."
    assert (lake / BRONZE_STATE).read_bytes() == before  # not replaced by the half-written one
    left = sorted(p.name for p in (lake / BRONZE_STATE).parent.iterdir())
    assert left == ["resources.json"]  # no temp file


def test_a_staging_file_that_cannot_be_written_is_a_storage_error(tmp_path: Path) -> None:
    from bronze_storage import StorageError
    from ingestao_bronze import BodySink

    missing = tmp_path / "gone" / "body.csv"
    with pytest.raises(
        StorageError, match=rf"^Cannot write the staging file {missing}: No such file or directory\.$"
    ):
        BodySink(str(missing))

    # a disk that fills up while the body streams in: the write fails on the worker thread, the reader is told
    with (
        pytest.raises(
            StorageError, match=r"^Cannot write the staging file /dev/full: .*No space left on device"
        ),
        BodySink("/dev/full") as sink,
    ):
        for _ in range(64):
            sink.write(b"x" * 65536)
        sink.finish()

    # a disk that fills up with the body's last bytes, still in the file's buffer until finish flushes them (a raw
    # OSError and a traceback before: the drill of 2026-11-27 on a nearly full tmpfs)
    with (
        pytest.raises(
            StorageError, match=r"^Cannot write the staging file /dev/full: No space left on device\.$"
        ),
        BodySink("/dev/full") as sink,
    ):
        sink.write(b"the last bytes of a body")
        sink.finish()


def test_a_dry_run_previews_a_lake_the_user_may_only_read_and_says_a_run_would_stop(
    portal: Portal,
    portal_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A dry run needs only to read the lake: it checked it as a run does, and a lake the user may only read (another
    user's, a read-only mount) was exit 2 with nothing previewed."""
    lake = tmp_path / "lake"
    assert ingest(portal_url, lake, "--years", "2022", "--no-new-system") == 0
    capsys.readouterr()
    files_before = {path: path.stat().st_mtime_ns for path in lake.rglob("*")}
    pretend_read_only(monkeypatch, lake)

    assert ingest(portal_url, lake, "--dry-run") == 0

    out = capsys.readouterr().out
    assert "legacy_2022    unchanged" in out and out.count("would fetch") == 3  # read from the lake's state
    assert [(r.levelname, r.getMessage()) for r in caplog.records if r.levelno >= logging.WARNING] == [
        (
            "WARNING",
            f"The lake folder {lake} is not writable. A run would stop there; this dry run only reads the lake.",
        )
    ]
    assert {path: path.stat().st_mtime_ns for path in lake.rglob("*")} == files_before  # nothing written
    assert sum(portal.downloads.values()) == 1  # the first run's only
    assert ingest(portal_url, lake) == 2  # the run itself is refused, as the warning said
    assert f"error: The lake folder {lake} is not writable." in capsys.readouterr().err


def test_a_dry_run_of_a_lake_that_cannot_be_made_previews_it_empty_and_says_a_run_would_stop(
    portal: Portal,
    portal_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
    caplog: pytest.LogCaptureFixture,
) -> None:
    pretend_read_only(monkeypatch, tmp_path)  # the lake's parent

    assert ingest(portal_url, tmp_path / "lake", "--dry-run") == 0

    assert capsys.readouterr().out.count("would fetch") == 4
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == [
        f"Cannot create the lake folder {tmp_path / 'lake'}: {tmp_path} is not writable. A run would stop there; "
        "this dry run only reads the lake."
    ]
    assert list(tmp_path.iterdir()) == []


def test_a_lake_folder_that_is_there_but_read_only_stops_the_run_before_discovery(
    portal: Portal,
    portal_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    lake = tmp_path / "lake"
    lake.mkdir()
    pretend_read_only(monkeypatch, lake)

    assert ingest(portal_url, lake) == 2

    assert f"The lake folder {lake} is not writable." in capsys.readouterr().err
    assert portal.paths == [] and list(lake.iterdir()) == []
