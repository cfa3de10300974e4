"""The operator's restore drill: docs/infra.md's recovery recipes played on a moto bucket laid out like the lake.

Each recipe is played as the page writes it, its ``aws s3api`` commands translated one to one into boto3 calls (the
comment above each call names the command). The incidents are (a) ``aws s3 rm --recursive`` of ``silver/boston311/``
and (b) a bad Silver run, simulated the way Spark's S3 rename writes (new file names, the old ones deleted, the
state files replaced). The check is always the same: the bucket's current objects are byte for byte the ones before
the incident. Then ``scripts/restore_prefix.py`` (the point-in-time restore the page now gives) and what a restored
``_state/`` makes Silver's next run read (``silver_job.plan_bronze_files`` on the restored bucket, no Spark).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import moto.s3.models
import pytest
from botocore.config import Config
from botocore.exceptions import ParamValidationError
from cfnlint.decode import decode
from moto import mock_aws

import restore_prefix
import silver_job
from conftest import REPO, SAMPLE_NEW
from lake import (
    BRONZE_MANIFESTS,
    BRONZE_PREFIX,
    BRONZE_STATE,
    GOLD_RUNS,
    GOLD_TABLES,
    SILVER_PREFIX,
    SILVER_QUALITY,
    SILVER_QUARANTINE,
    SILVER_TABLE,
    Lake,
)

BUCKET = "boston311-lake-drill"
LAKE = Lake.from_uri(f"s3://{BUCKET}/lake")
START = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
CSV = b"".join(
    SAMPLE_NEW.read_bytes().splitlines(keepends=True)[:3]
)  # a real header: Silver's planner reads it


def key(relative: str) -> str:
    """The bucket key of a key under the lake root (scripts/lake.py's layout)."""
    return LAKE.key_prefix + relative


class Clock:
    """moto stamps every version and delete marker with ``moto.s3.models.utcnow()``; this one ticks a second per
    stamp, as S3's LastModified is to the second, so that 'before' and 'after' a moment are exact."""

    def __init__(self) -> None:
        self.now = START

    def utcnow(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now.replace(tzinfo=None)  # moto's clock is naive UTC

    def moment(self) -> datetime:
        """A moment between what was written so far and what comes next."""
        self.now += timedelta(seconds=30)
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(moto.s3.models, "utcnow", clock.utcnow)
    return clock


@pytest.fixture
def s3(aws_credentials: None, clock: Clock) -> Iterator[Any]:
    """A versioned lake bucket (infra/boston311.yaml's LakeBucket) holding Bronze, two Silver runs and Gold."""
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        land_bronze(client, "2026-11-23", "run1")
        silver_run(client, "run1", months=("open_year=2026/open_month=10", "open_year=2026/open_month=11"))
        land_bronze(client, "2026-11-24", "run2")
        silver_run(client, "run2", months=("open_year=2026/open_month=11",))  # replaces month 11's file
        for table in GOLD_TABLES:
            client.put_object(
                Bucket=BUCKET, Key=key(f"gold/boston311/{table}/part-00000.parquet"), Body=table.encode()
            )
        client.put_object(Bucket=BUCKET, Key=key(f"{GOLD_RUNS}/latest.json"), Body=b'{"run_id": "gold1"}')
        yield client


def land_bronze(s3: Any, day: str, run_id: str) -> list[str]:
    """An ingest run: two CSVs under ingest_date=day, then its manifest (Bronze writes it after the objects)."""
    suffixes = [
        f"dataset=new_system/ingest_date={day}/new_system.csv",
        f"dataset=legacy_2026/ingest_date={day}/x.csv",
    ]
    for suffix in suffixes:
        s3.put_object(Bucket=BUCKET, Key=key(f"{BRONZE_PREFIX}/{suffix}"), Body=CSV + day.encode())
    resources = [
        {"key": key(f"{BRONZE_PREFIX}/{s}"), "status": "landed", "ingested_at": f"{day}T06:00:00+00:00"}
        for s in suffixes
    ]
    s3.put_object(
        Bucket=BUCKET, Key=key(f"{BRONZE_MANIFESTS}/{run_id}.json"), Body=json.dumps({"resources": resources})
    )
    s3.put_object(Bucket=BUCKET, Key=key(BRONZE_STATE), Body=json.dumps({"day": day}).encode())
    return suffixes


def silver_run(s3: Any, run_id: str, months: tuple[str, ...], mapping: str = "good") -> None:
    """A Silver run as it writes on S3: what it reads is what its state does not know (``plan_bronze_files``); each
    touched month is moved aside to ``_staging/<run>/retired/`` and replaced by a file of a new name (a Hadoop
    rename is a copy and a delete per object), the retired copy deleted; then the quarantine, the reports and the
    two state files (replaced)."""
    files = S3Files(s3)
    silver, bronze = LAKE.silver, LAKE.bronze
    processed = silver_job.read_state(files, silver)
    index = silver_job.read_manifest_index(files, silver)
    planned = silver_job.plan_bronze_files(files, bronze, processed, None, index)
    for month in months:
        live = key(f"{SILVER_TABLE}/{month}/")
        retired = key(f"{SILVER_PREFIX}/_staging/{run_id}/retired/{month}/")
        for old in current_keys(s3, live):
            s3.copy_object(
                Bucket=BUCKET, Key=retired + old[len(live) :], CopySource={"Bucket": BUCKET, "Key": old}
            )
            s3.delete_object(Bucket=BUCKET, Key=old)
        staged = key(f"{SILVER_PREFIX}/_staging/{run_id}/{month}/part-00000-{run_id}.c000.snappy.parquet")
        s3.put_object(Bucket=BUCKET, Key=staged, Body=f"{month} rows mapped {mapping} by {run_id}".encode())
        s3.copy_object(
            Bucket=BUCKET, Key=live + staged.rsplit("/", 1)[1], CopySource={"Bucket": BUCKET, "Key": staged}
        )
        s3.delete_object(Bucket=BUCKET, Key=staged)
        for old in current_keys(s3, retired):
            s3.delete_object(Bucket=BUCKET, Key=old)
    quarantine = key(f"{SILVER_QUARANTINE}/run_id={run_id}/part-00000.parquet")
    s3.put_object(Bucket=BUCKET, Key=quarantine, Body=run_id.encode())
    for name in (f"{run_id}.json", "latest.json"):
        s3.put_object(
            Bucket=BUCKET, Key=key(f"{SILVER_QUALITY}/{name}"), Body=json.dumps({"run_id": run_id}).encode()
        )
    for entry in planned:
        processed[entry["suffix"]] = {k: entry[k] for k in ("size", "modified", "ingested_at")} | {
            "run_id": run_id
        }
    files.write_text(f"{silver}/{silver_job.STATE_FILE}", json.dumps({"objects": processed}, indent=1))
    silver_job.write_manifest_index(files, silver, index)


class S3Files:
    """``silver_job.LakeFiles`` over boto3 instead of Hadoop (the methods the planner and the state use), so that
    what a restored ``_state/`` makes Silver read is asked of Silver's own code without a JVM. Sizes and times are
    what Hadoop's S3A reports: the object's length and LastModified in milliseconds."""

    def __init__(self, s3: Any) -> None:
        self.s3 = s3

    @staticmethod
    def _key(path: str) -> str:
        return path.removeprefix(f"s3://{BUCKET}/").rstrip("/")

    def exists(self, path: str) -> bool:
        found = self.s3.list_objects_v2(Bucket=BUCKET, Prefix=self._key(path), MaxKeys=1).get("Contents", [])
        return bool(found) and (
            found[0]["Key"] == self._key(path) or found[0]["Key"].startswith(self._key(path) + "/")
        )

    def is_file(self, path: str) -> bool:
        return self._key(path) in current_keys(self.s3, self._key(path))

    def list_dirs(self, root: str) -> list[str]:
        answer = self.s3.list_objects_v2(Bucket=BUCKET, Prefix=self._key(root) + "/", Delimiter="/")
        return [p["Prefix"].rstrip("/").rsplit("/", 1)[1] for p in answer.get("CommonPrefixes", [])]

    def list_files(self, root: str) -> list[dict]:
        found = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=BUCKET, Prefix=self._key(root) + "/"
        ):
            for entry in page.get("Contents", []):
                relative = entry["Key"].removeprefix(self._key(root) + "/")
                modified = int(entry["LastModified"].timestamp() * 1000)
                found.append(
                    {"path": f"s3://{BUCKET}/{entry['Key']}", "relative": relative, "size": entry["Size"]}
                )
                found[-1]["modified"] = modified
        return found

    def list_file_names(self, folder: str) -> list[str]:
        return [f["relative"] for f in self.list_files(folder) if "/" not in f["relative"]]

    def read_text(self, path: str) -> str:
        return self.s3.get_object(Bucket=BUCKET, Key=self._key(path))["Body"].read().decode()

    def head(self, path: str, size: int) -> bytes:
        return self.s3.get_object(Bucket=BUCKET, Key=self._key(path), Range=f"bytes=0-{size - 1}")[
            "Body"
        ].read()

    def write_text(self, path: str, text: str) -> None:
        self.s3.put_object(Bucket=BUCKET, Key=self._key(path), Body=text.encode())


def current_keys(s3: Any, prefix: str) -> list[str]:
    """The current (not deleted) keys under prefix, every page."""
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return [entry["Key"] for page in pages for entry in page.get("Contents", [])]


def snapshot(s3: Any) -> dict[str, bytes]:
    """Every current object of the bucket and its bytes."""
    return {k: s3.get_object(Bucket=BUCKET, Key=k)["Body"].read() for k in current_keys(s3, "")}


def rm_recursive(s3: Any, prefix: str) -> None:
    """``aws s3 rm s3://BUCKET/<prefix> --recursive``: a DeleteObject, without a version id, per current key (each
    leaves a delete marker in a versioned bucket)."""
    for k in current_keys(s3, prefix):
        s3.delete_object(Bucket=BUCKET, Key=k)


def latest_delete_markers(s3: Any, prefix: str, since: datetime | None = None) -> list[dict]:
    """``aws s3api list-object-versions --bucket $BUCKET --prefix <prefix>``, the delete markers that are current
    (``IsLatest``), written at or after ``since`` when given. The CLI follows NextKeyMarker / NextVersionIdMarker
    itself; boto3's paginator does the same (PageSize 2 here makes it: one answer holds at most 1,000)."""
    pages = s3.get_paginator("list_object_versions").paginate(
        Bucket=BUCKET, Prefix=prefix, PaginationConfig={"PageSize": 2}
    )
    markers = [m for page in pages for m in page.get("DeleteMarkers", []) if m["IsLatest"]]
    return [m for m in markers if since is None or m["LastModified"] >= since]


def restore(
    argv: list[str], s3: Any, clock: Clock, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    """scripts/restore_prefix.py's main on the moto client, 'now' being the clock's, listing two entries a page."""
    code = restore_prefix.main(argv, s3=s3, now=clock.now + timedelta(minutes=5), page_size=2)
    out, err = capsys.readouterr()
    return code, out, err


SILVER = key(SILVER_PREFIX + "/")


# ---- the recipes as docs/infra.md wrote them -------------------------------------------------------------------
def test_a_bronze_object_deleted_by_mistake_comes_back_by_deleting_its_delete_marker(s3: Any):
    """As written, and it works: the marker is found under the object's key and deleted by its version id."""
    before = snapshot(s3)
    bronze_key = key(f"{BRONZE_PREFIX}/dataset=new_system/ingest_date=2026-11-23/new_system.csv")
    s3.delete_object(Bucket=BUCKET, Key=bronze_key)  # the mistake: aws s3 rm s3://$BUCKET/<key>
    # aws s3api list-object-versions --bucket $BUCKET --prefix lake/bronze/boston311/…
    listed = s3.list_object_versions(Bucket=BUCKET, Prefix=bronze_key)
    (marker,) = [m for m in listed["DeleteMarkers"] if m["IsLatest"]]
    # aws s3api delete-object --bucket $BUCKET --key … --version-id <the marker's id>
    s3.delete_object(Bucket=BUCKET, Key=marker["Key"], VersionId=marker["VersionId"])
    assert snapshot(s3) == before


def test_an_overwritten_object_comes_back_by_copying_its_previous_version_with_bucket_and_key(s3: Any):
    """The command as first written (``aws s3api copy-object --copy-source "$BUCKET/<key>?versionId=…"``) lacks
    ``--bucket`` and ``--key``, which copy-object requires (the CLI refuses it, boto3 too); with them it works."""
    before = snapshot(s3)
    state = key(f"{SILVER_PREFIX}/{silver_job.STATE_FILE}")
    s3.put_object(Bucket=BUCKET, Key=state, Body=b'{"objects": {}}')  # the overwrite
    previous = s3.list_object_versions(Bucket=BUCKET, Prefix=state)["Versions"][
        1
    ]  # newest first: [0] is current
    assert not previous["IsLatest"]
    with pytest.raises(ParamValidationError, match='Missing required parameter in input: "Bucket"'):
        s3.copy_object(CopySource=f"{BUCKET}/{state}?versionId={previous['VersionId']}")  # as first written
    # aws s3api copy-object --bucket $BUCKET --key <key> --copy-source "$BUCKET/<key>?versionId=…"
    s3.copy_object(
        Bucket=BUCKET,
        Key=state,
        CopySource={"Bucket": BUCKET, "Key": state, "VersionId": previous["VersionId"]},
    )
    assert snapshot(s3) == before


def test_a_recursive_rm_of_silver_undone_by_deleting_every_current_delete_marker_brings_back_too_much(
    s3: Any,
):
    """The marker recipe looped over the prefix: it also brings back what Silver's earlier runs deleted on purpose
    (a month's replaced file, the retired copies in ``_staging/``), whose delete markers are current too for the 30
    days their versions are kept — month 11 then holds two files, its cases twice."""
    before = snapshot(s3)
    rm_recursive(s3, SILVER)
    for marker in latest_delete_markers(s3, SILVER):
        s3.delete_object(Bucket=BUCKET, Key=marker["Key"], VersionId=marker["VersionId"])
    extra = sorted(set(snapshot(s3)) - set(before))
    assert extra and set(before) <= set(snapshot(s3))
    assert key(f"{SILVER_TABLE}/open_year=2026/open_month=11/part-00000-run1.c000.snappy.parquet") in extra
    assert any("/_staging/run2/retired/" in k for k in extra)


def test_a_recursive_rm_of_silver_undone_by_deleting_the_delete_markers_it_wrote(s3: Any, clock: Clock):
    """The corrected recipe (docs/infra.md): only the current markers written from the moment of the rm on, every
    page of the listing, under the prefix with its trailing slash."""
    before = snapshot(s3)
    incident = clock.moment()
    rm_recursive(s3, SILVER)
    markers = latest_delete_markers(s3, SILVER, since=incident)
    assert len(markers) == len([k for k in before if k.startswith(SILVER)])  # more than one page of 2
    for marker in markers:
        s3.delete_object(Bucket=BUCKET, Key=marker["Key"], VersionId=marker["VersionId"])
    assert snapshot(s3) == before


def test_a_bad_silver_run_is_not_undone_object_by_object(s3: Any, clock: Clock):
    """Undoing a bad run with the two per-object recipes (copy back what it replaced, remove the markers it wrote)
    leaves the files it created under new names: the months hold the old rows and the bad ones (the page says so:
    use restore_prefix.py)."""
    before = snapshot(s3)
    run_start = clock.moment()
    land_bronze(s3, "2026-11-25", "run3")
    bronze_after = {k: v for k, v in snapshot(s3).items() if not k.startswith(SILVER)}
    silver_run(
        s3, "bad", months=("open_year=2026/open_month=10", "open_year=2026/open_month=11"), mapping="wrong"
    )
    for marker in latest_delete_markers(s3, SILVER, since=run_start):
        s3.delete_object(Bucket=BUCKET, Key=marker["Key"], VersionId=marker["VersionId"])
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=BUCKET, Prefix=SILVER):
        for version in page.get("Versions", []):
            if version["IsLatest"] and version["LastModified"] >= run_start:
                older = [
                    v
                    for v in s3.list_object_versions(Bucket=BUCKET, Prefix=version["Key"])["Versions"]
                    if v["Key"] == version["Key"] and v["LastModified"] < run_start
                ]
                if older:
                    source = {"Bucket": BUCKET, "Key": version["Key"], "VersionId": older[0]["VersionId"]}
                    s3.copy_object(Bucket=BUCKET, Key=version["Key"], CopySource=source)
    left = set(snapshot(s3)) - set(before) - set(bronze_after)
    assert key(f"{SILVER_TABLE}/open_year=2026/open_month=10/part-00000-bad.c000.snappy.parquet") in left


# ---- the point-in-time restore (scripts/restore_prefix.py) -------------------------------------------------------
def test_restore_prefix_undoes_a_recursive_rm_of_silver(
    s3: Any, clock: Clock, capsys: pytest.CaptureFixture[str]
):
    before = snapshot(s3)
    moment = clock.moment()
    rm_recursive(s3, SILVER)
    argv = ["--lake", LAKE.root, "--prefix", "silver/boston311/", "--to", f"{moment:%Y-%m-%dT%H:%M:%SZ}"]
    code, out, _ = restore(argv, s3, clock, capsys)
    assert code == 0 and snapshot(s3) == before
    silver_keys = [k for k in before if k.startswith(SILVER)]
    assert out.count("undelete ") == len(silver_keys)  # markers removed: the versions' own LastModified stay
    assert f"{len(silver_keys)} key(s) changed" in out


def test_restore_prefix_undoes_a_bad_silver_run_and_a_second_run_changes_nothing(
    s3: Any, clock: Clock, capsys: pytest.CaptureFixture[str]
):
    before = snapshot(s3)
    moment = clock.moment()
    silver_run(
        s3, "bad", months=("open_year=2026/open_month=10", "open_year=2026/open_month=11"), mapping="wrong"
    )
    argv = ["--lake", LAKE.root, "--prefix", "silver/boston311", "--to", moment.isoformat()]
    code, dry, _ = restore([*argv, "--dry-run"], s3, clock, capsys)
    assert code == 0 and "would copy back " in dry and "would delete " in dry and "would undelete " in dry
    assert "dry run: nothing changed" in dry and snapshot(s3) != before  # nothing done
    code, out, _ = restore(argv, s3, clock, capsys)
    assert code == 0 and snapshot(s3) == before
    assert out.splitlines()[:-1] == [
        line.removeprefix("would ") for line in dry.splitlines()[:-1]
    ]  # as listed
    code, again, _ = restore(argv, s3, clock, capsys)
    assert code == 0 and again.startswith("0 key(s) changed") and snapshot(s3) == before


def test_restore_prefix_copies_a_kms_encrypted_version_back_under_its_key(
    s3: Any, clock: Clock, capsys: pytest.CaptureFixture[str]
):
    """A Bronze object landed with --kms-key-id keeps its key when copied back (a plain copy takes the bucket's
    default encryption)."""
    kms_key = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["Arn"]
    bronze_key = key(f"{BRONZE_PREFIX}/dataset=new_system/ingest_date=2026-11-25/new_system.csv")
    s3.put_object(
        Bucket=BUCKET, Key=bronze_key, Body=CSV, ServerSideEncryption="aws:kms", SSEKMSKeyId=kms_key
    )
    before = snapshot(s3)
    moment = clock.moment()
    s3.put_object(Bucket=BUCKET, Key=bronze_key, Body=b"overwritten")
    code, out, _ = restore(
        ["--lake", LAKE.root, "--prefix", "bronze/boston311/", "--to", moment.isoformat()], s3, clock, capsys
    )
    assert code == 0 and "copy back " in out and snapshot(s3) == before
    assert s3.head_object(Bucket=BUCKET, Key=bronze_key)["SSEKMSKeyId"] == kms_key


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--lake", "s3://no-such-lake-bucket/lake"], "The bucket no-such-lake-bucket does not exist."),
        (["--lake", "s3://boston311-unversioned/lake"], "is not versioned (versioning never enabled)"),
        (["--lake", "/tmp/lake"], "only the S3 lake keeps versions"),
        (
            ["--prefix", "silver/boston311_typo/"],
            "Nothing was ever under s3://boston311-lake-drill/lake/silver/",
        ),
        (["--prefix", " / "], "--prefix is empty"),
        (["--to", "2026-10-01T00:00:00Z"], "is more than 30 days ago"),
        (["--to", "2027-01-01T00:00:00Z"], "is in the future"),
    ],
)
def test_restore_prefix_refuses_bad_input_in_one_sentence(
    s3: Any, clock: Clock, capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
):
    s3.create_bucket(Bucket="boston311-unversioned")
    before = snapshot(s3)
    defaults = {"--lake": LAKE.root, "--prefix": "silver/boston311/", "--to": "2026-11-24T06:00:00Z"}
    defaults.update(zip(argv[::2], argv[1::2], strict=True))
    code, out, err = restore([x for pair in defaults.items() for x in pair], s3, clock, capsys)
    assert code == 2 and out == "" and expected in err
    assert (
        err.startswith("restore_prefix.py: error: ") and err.count("\n") == 1 and err.rstrip().endswith(".")
    )
    assert snapshot(s3) == before


def test_restore_prefix_says_in_one_sentence_when_s3_cannot_be_reached(capsys: pytest.CaptureFixture[str]):
    # no network (or no credentials): botocore raised its own error, and the operator got a traceback
    unreachable = boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="x",
        aws_secret_access_key="y",
        config=Config(retries={"total_max_attempts": 1}),
    )
    argv = ["--lake", LAKE.root, "--prefix", "silver/boston311/", "--to", "2026-11-24T06:00:00Z"]
    code = restore_prefix.main(argv, s3=unreachable, now=datetime(2026, 11, 25, tzinfo=UTC))
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.startswith(f"restore_prefix.py: error: Cannot reach the bucket {BUCKET}: Could not connect")
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        ("2026-13-01T00:00:00Z", "is not a time like 2026-11-25T06:00:00Z"),
        ("2026-11-25T06:00:00", "has no time zone"),
    ],
)
def test_restore_prefix_refuses_a_bad_time_with_usage_exit_2(
    capsys: pytest.CaptureFixture[str], moment: str, expected: str
):
    with pytest.raises(SystemExit) as stop:
        restore_prefix.main(
            ["--lake", LAKE.root, "--prefix", "silver/boston311/", "--to", moment], s3=object()
        )
    assert stop.value.code == 2 and expected in capsys.readouterr().err


def test_restore_prefix_says_where_it_stopped_and_a_rerun_finishes(
    s3: Any, clock: Clock, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    before = snapshot(s3)
    moment = clock.moment()
    rm_recursive(s3, SILVER)
    argv = ["--lake", LAKE.root, "--prefix", "silver/boston311/", "--to", moment.isoformat()]
    real_apply, calls = restore_prefix.apply, []

    def failing_apply(client: Any, bucket: str, action: restore_prefix.Action) -> None:
        calls.append(action.key)
        if len(calls) == 3:
            raise RuntimeError(
                "An error occurred (SlowDown) when calling the DeleteObject operation: slow down"
            )
        real_apply(client, bucket, action)

    monkeypatch.setattr(restore_prefix, "apply", failing_apply)
    code, _, err = restore(argv, s3, clock, capsys)
    assert (
        code == 1
        and f"stopped at {calls[2]} (An error occurred (SlowDown)" in err
        and "run the same command" in err
    )
    monkeypatch.setattr(restore_prefix, "apply", real_apply)
    assert restore(argv, s3, clock, capsys)[0] == 0 and snapshot(s3) == before


def test_the_restore_window_is_the_buckets_noncurrent_version_expiry():
    template, _ = decode(str(REPO / "infra" / "boston311.yaml"))
    rules = template["Resources"]["LakeBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    (days,) = [
        r["NoncurrentVersionExpiration"]["NoncurrentDays"]
        for r in rules
        if "NoncurrentVersionExpiration" in r
    ]
    assert days == restore_prefix.NONCURRENT_DAYS


# ---- what the restored _state/ makes the next Silver run read -----------------------------------------------------
def test_after_restoring_silver_the_next_run_reads_exactly_what_the_undone_runs_read(
    s3: Any, clock: Clock, capsys: pytest.CaptureFixture[str]
):
    """Restored with the prefix, ``_state/processed.json`` is the one of the last run before the moment: Silver's
    planner then picks exactly the Bronze objects the undone runs read (and what landed since), and the restored
    manifest index makes it open again the manifests those runs had opened. With Glue's job bookmark the state is not
    what decides: a bookmark already past those manifests hands over nothing, hence docs/infra.md's reset."""
    files = S3Files(s3)
    moment = clock.moment()
    undone = land_bronze(s3, "2026-11-25", "run3") + land_bronze(s3, "2026-11-26", "run4")
    silver_run(s3, "bad3", months=("open_year=2026/open_month=11",), mapping="wrong")
    silver_run(s3, "bad4", months=("open_year=2026/open_month=11",), mapping="wrong")
    processed = silver_job.read_state(files, LAKE.silver)
    assert not silver_job.plan_bronze_files(files, LAKE.bronze, processed)  # the bad runs read everything
    argv = ["--lake", LAKE.root, "--prefix", "silver/boston311/", "--to", moment.isoformat()]
    assert restore(argv, s3, clock, capsys)[0] == 0

    processed = silver_job.read_state(files, LAKE.silver)
    index = silver_job.read_manifest_index(files, LAKE.silver)
    planned = silver_job.plan_bronze_files(files, LAKE.bronze, processed, None, index)
    assert sorted(p["suffix"] for p in planned) == sorted(undone)
    assert {p["ingested_at"] for p in planned} == {"2026-11-25T06:00:00+00:00", "2026-11-26T06:00:00+00:00"}
    assert index["manifests"][-2:] == ["run3.json", "run4.json"] and index["changed"]  # opened again
    # on Glue with the bookmark on: the bookmark, not the restored state, decides what is new
    assert not silver_job.plan_bronze_files(files, LAKE.bronze, processed, announced=set())
    everything = {p["suffix"] for p in silver_job.plan_bronze_files(files, LAKE.bronze, {})}
    after_reset = silver_job.plan_bronze_files(files, LAKE.bronze, processed, announced=everything)
    assert {
        p["suffix"] for p in after_reset
    } == everything  # reset-job-bookmark: all of Bronze, the dedupe's job


def test_restore_prefix_refuses_a_moment_in_a_second_that_held_two_versions(
    s3: Any, clock: Clock, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    # S3 stamps versions to the second: of two written in the moment's second, which was current cannot be told,
    # and a guess could copy back the wrong one
    state = key(f"{GOLD_RUNS}/latest.json")
    stamp = clock.now + timedelta(seconds=1)
    monkeypatch.setattr(moto.s3.models, "utcnow", lambda: stamp.replace(tzinfo=None))
    s3.put_object(Bucket=BUCKET, Key=state, Body=b'{"run_id": "gold2"}')
    s3.put_object(Bucket=BUCKET, Key=state, Body=b'{"run_id": "gold3"}')
    monkeypatch.setattr(moto.s3.models, "utcnow", clock.utcnow)
    clock.now = stamp
    s3.put_object(Bucket=BUCKET, Key=state, Body=b'{"run_id": "gold4"}')  # a second later: the current one
    before = snapshot(s3)

    argv = ["--lake", LAKE.root, "--prefix", "gold/boston311/", "--to", stamp.isoformat()]
    code, out, err = restore(argv, s3, clock, capsys)

    assert code == 2 and out == ""
    assert err == (
        f"restore_prefix.py: error: {state} has two versions written in the same second "
        f"({stamp:%Y-%m-%dT%H:%M:%SZ}), so which was current at the moment cannot be told: give --to a second "
        "before it, or restore that key by hand (docs/infra.md).\n"
    )
    assert snapshot(s3) == before


def test_restore_prefix_says_in_one_sentence_when_the_bucket_may_not_be_read(
    s3: Any, capsys: pytest.CaptureFixture[str]
):
    from botocore.exceptions import ClientError

    def access_denied(**_: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "GetBucketVersioning"
        )

    s3.meta.events.register("before-call.s3.GetBucketVersioning", access_denied)
    argv = ["--lake", LAKE.root, "--prefix", "silver/boston311/", "--to", "2026-11-24T06:00:00Z"]
    code = restore_prefix.main(argv, s3=s3, now=datetime(2026, 11, 25, tzinfo=UTC))

    assert code == 2
    assert capsys.readouterr().err == (
        f"restore_prefix.py: error: Could not read the versioning of the bucket {BUCKET} (AccessDenied).\n"
    )
