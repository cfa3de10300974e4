"""Helpers shared by the Bronze tests: run the ingest in-process, read what landed."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

import ingestao_bronze
from lake import BRONZE_MANIFESTS, BRONZE_PREFIX, BRONZE_STATE

FIXTURES = Path(__file__).parent / "fixtures"
# The stand-in serves these samples under the real resource names (docs: scripts/portal_standin.py).
SAMPLE_BY_DATASET = {
    "new_system": FIXTURES / "new_system_api-export_2025-08_to_2026-02.csv",
    "legacy_2022": FIXTURES / "legacy_2022_old29col_qsv-sample100.csv",
    "legacy_2015": FIXTURES / "legacy_2015_reissued30col_pandas-filtered_first2000.csv",
    "legacy_2011": FIXTURES / "legacy_2011_old29col_raw_first3000.csv",
}
ERA_BY_DATASET = {
    "new_system": "new_system",
    "legacy_2022": "legacy29",
    "legacy_2015": "legacy30",
    "legacy_2011": "legacy29",
}


def s3_client_calling(event: str, handler: Any) -> Any:
    """A stand-in for ``bronze_storage.s3_client`` whose clients call ``handler`` on a botocore event (to inject
    S3 faults under moto)."""
    import boto3

    def s3_client(session: Any = None) -> Any:
        client = boto3.client("s3", region_name="us-east-1")
        client.meta.events.register(event, handler)
        return client

    return s3_client


# Fast and deterministic: no backoff sleeps, two retries, short timeouts.
FAST = ["--backoff", "0", "--retries", "2", "--timeout", "5", "--connect-timeout", "2"]


def ingest(portal_url: str, lake: str | Path, *flags: str) -> int:
    """Run the Bronze CLI in-process against a portal; returns the exit code."""
    return ingestao_bronze.main(["--portal", portal_url, "--lake", str(lake), *FAST, *flags])


def lake_files(lake: Path) -> list[str]:
    """Every file under the local lake, as keys relative to its root, sorted."""
    return sorted(
        str(path.relative_to(lake)).replace(os.sep, "/") for path in lake.rglob("*") if path.is_file()
    )


def data_keys(keys: list[str]) -> list[str]:
    """Only the landed CSV keys (not manifests or state)."""
    return [key for key in keys if key.startswith(f"{BRONZE_PREFIX}/dataset=")]


# The S3 lake of the moto tests (the ``s3`` fixture in conftest.py creates the bucket).
S3_BUCKET = "boston311-lake-test"
S3_PREFIX = "lake"
S3_LAKE = f"s3://{S3_BUCKET}/{S3_PREFIX}"


def s3_keys(client: Any) -> list[str]:
    """Every key under the S3 lake prefix, relative to the lake root, sorted."""
    prefix = S3_PREFIX + "/"
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=S3_BUCKET, Prefix=prefix)
    return sorted(obj["Key"][len(prefix) :] for page in pages for obj in page.get("Contents", []))


def s3_json(client: Any, key: str) -> Any:
    """The JSON object under ``key`` of the S3 lake."""
    return json.loads(client.get_object(Bucket=S3_BUCKET, Key=f"{S3_PREFIX}/{key}")["Body"].read())


def s3_manifests(client: Any) -> list[dict[str, Any]]:
    """The run manifests of the S3 lake, oldest first."""
    return [s3_json(client, k) for k in s3_keys(client) if k.startswith(BRONZE_MANIFESTS)]


def manifests(lake: Path) -> list[dict[str, Any]]:
    """The run manifests of a local lake, oldest first."""
    folder = lake / BRONZE_MANIFESTS
    return [json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))]


def announced(all_manifests: list[dict[str, Any]]) -> set[str]:
    """The keys that some manifest lists as landed (what Silver's job bookmark is handed)."""
    return {e["key"] for m in all_manifests for e in m["resources"] if e["status"] == "landed"}


def state(lake: Path) -> dict[str, Any]:
    """The state file of a local lake."""
    return json.loads((lake / BRONZE_STATE).read_text())


def by_dataset(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Manifest entries keyed by dataset."""
    return {entry["dataset"]: entry for entry in manifest["resources"]}


def big_csv(min_bytes: int) -> bytes:
    """A legacy-2011 CSV of at least ``min_bytes``: the real header, the real rows repeated."""
    lines = SAMPLE_BY_DATASET["legacy_2011"].read_bytes().splitlines(keepends=True)
    header, rows = lines[0], b"".join(lines[1:])
    copies = min_bytes // len(rows) + 1
    return header + rows * copies


def cut_short(dataset: str, share: float) -> bytes:
    """The sample of ``dataset`` cut at the last line end within ``share`` of its bytes: a re-issue missing rows."""
    sample = SAMPLE_BY_DATASET[dataset].read_bytes()
    return sample[: sample.rindex(b"\n", 0, int(len(sample) * share)) + 1]


def pretend_read_only(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Make os.access say ``folder`` is not writable (faked: these tests may run as root, for whom every folder is)."""
    access = os.access
    monkeypatch.setattr(
        os, "access", lambda path, mode: False if str(path) == str(folder) else access(path, mode)
    )
