"""Put every key under a prefix of the S3 lake back as it was at a moment: the operator's undo of a bad run.

    python scripts/restore_prefix.py --lake s3://BUCKET/lake --prefix silver/boston311/ \\
        --to 2026-11-25T06:00:00Z [--dry-run]

The lake bucket is versioned (infra/boston311.yaml) and keeps a replaced or deleted version 30 days. For each key
that ever existed under ``--prefix`` (relative to the lake root) this makes current the version that was current at
``--to`` (written at or before it), and deletes the keys that did not exist then (created after it, or deleted
before it). A key deleted since is brought back by removing the delete markers written after ``--to`` (its
modification time stays the original, which Silver compares to know what it read); a key replaced since gets its
old version copied over it (a new version with the old bytes; SSE-KMS objects keep their key); a deletion is an
ordinary delete (a delete marker), so the restore itself can be undone the same way. Nothing is ever removed for
good. A key already holding the old bytes (same ETag and size) is left alone, so a restore that stopped half-way is
finished by running it again. ``--dry-run`` lists what it would do and changes nothing.

Why a script: a Spark run writes new file names and deletes old ones, so undoing one object by object (docs/infra.md)
means, for thousands of keys, choosing between removing a delete marker, copying a version back and deleting a
key created after the moment, and leaving alone the files earlier runs deleted on purpose. See docs/infra.md,
"Roll back a prefix to a moment", for when to use it (Silver: the whole ``silver/boston311/`` prefix, ``_state/``
included) and what to do after (the Glue job bookmark, Gold).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from command_line import ArgumentParser
from lake import Lake, lake_argument

# infra/boston311.yaml, expire-replaced-versions: a version replaced or deleted goes NoncurrentDays later. A moment
# older than that may have lost versions current then (tests/test_restore_drill.py keeps the two equal).
NONCURRENT_DAYS = 30
# The most entries one ListObjectVersions answers with; the paginator follows KeyMarker and VersionIdMarker past it.
PAGE_SIZE = 1000


class RestoreError(Exception):
    """A user or S3 error, said in one sentence."""


@dataclass(frozen=True)
class Action:
    """What the restore does to one key: ``copy`` (VersionId), ``undelete`` (the markers' VersionIds) or ``delete``."""

    kind: str
    key: str
    version_id: str = ""
    markers: tuple[str, ...] = ()
    modified: datetime | None = None

    def describe(self) -> str:
        """One line for the operator."""
        if self.kind == "copy":
            return f"copy back {self.key} (version {self.version_id} of {self.modified:%Y-%m-%dT%H:%M:%SZ})"
        if self.kind == "undelete":
            return (
                f"undelete {self.key} (remove {len(self.markers)} delete marker(s) written after the moment)"
            )
        return f"delete {self.key} (it did not exist at the moment)"


def moment_argument(text: str) -> datetime:
    """The argparse type of ``--to``: an ISO 8601 time with its zone (``Z`` or an offset), as a UTC datetime."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a time like 2026-11-25T06:00:00Z") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} has no time zone: end it with Z (UTC) or an offset like -05:00"
        )
    return moment.astimezone(UTC)


def versions_by_key(s3, bucket: str, prefix: str, page_size: int) -> dict[str, list[dict]]:
    """Every version and delete marker under prefix, per key, newest first, listed page_size at a time."""
    found: dict[str, list[dict]] = {}
    pages = s3.get_paginator("list_object_versions").paginate(
        Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": page_size}
    )
    for page in pages:
        for entry in page.get("Versions", []):
            found.setdefault(entry["Key"], []).append({**entry, "marker": False})
        for entry in page.get("DeleteMarkers", []):
            found.setdefault(entry["Key"], []).append({**entry, "marker": True})
    for entries in found.values():
        # S3 gives times to the second; of two entries in one second, the current one is the newer
        entries.sort(key=lambda e: (e["LastModified"], e["IsLatest"]), reverse=True)
    return found


def plan_key(key: str, entries: list[dict], moment: datetime) -> Action | None:
    """The action that makes key as it was at moment (entries newest first), or None when it already is."""
    current = entries[0]
    candidates = [e for e in entries if e["LastModified"] <= moment]
    then = candidates[0] if candidates else None
    if len(candidates) > 1 and candidates[1]["LastModified"] == then["LastModified"] and not then["IsLatest"]:
        raise RestoreError(
            f"{key} has two versions written in the same second ({then['LastModified']:%Y-%m-%dT%H:%M:%SZ}), so "
            "which was current at the moment cannot be told: give --to a second before it, or restore that key by "
            "hand (docs/infra.md)."
        )
    if then is None or then["marker"]:  # created after the moment, or deleted before it
        return None if current["marker"] else Action("delete", key)
    if current["VersionId"] == then["VersionId"]:
        return None
    newer = entries[: entries.index(then)]
    # only deleted since: remove the markers, the old version is current again
    if all(e["marker"] for e in newer):
        return Action("undelete", key, markers=tuple(e["VersionId"] for e in newer))
    if not current["marker"] and (current["ETag"], current["Size"]) == (then["ETag"], then["Size"]):
        return None  # the same bytes (a restore run before, or a run that rewrote it unchanged)
    return Action("copy", key, version_id=then["VersionId"], modified=then["LastModified"])


def check_bucket(s3, bucket: str) -> None:
    """Refuse a bucket that does not exist, cannot be reached or is not versioned (then nothing replaced was kept)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        status = s3.get_bucket_versioning(Bucket=bucket).get("Status")
    except BotoCoreError as error:  # no credentials, no network: botocore's own sentence
        raise RestoreError(f"Cannot reach the bucket {bucket}: {error}.") from None
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in ("NoSuchBucket", "404"):
            raise RestoreError(f"The bucket {bucket} does not exist.") from None
        raise RestoreError(
            f"Could not read the versioning of the bucket {bucket} ({code or error})."
        ) from None
    if status != "Enabled":
        raise RestoreError(
            f"The bucket {bucket} is not versioned (versioning {status or 'never enabled'}): it kept no earlier "
            "versions to restore (infra/boston311.yaml turns versioning on)."
        )


def plan(s3, lake: Lake, prefix: str, moment: datetime, now: datetime, page_size: int) -> list[Action]:
    """Check the request and list the actions, in key order; raises RestoreError."""
    if not lake.is_s3 or not lake.bucket:
        raise RestoreError(
            f"--lake {lake.root} is not s3://bucket[/prefix]: only the S3 lake keeps versions."
        )
    prefix = prefix.strip().lstrip("/")
    if not prefix:
        raise RestoreError(
            "--prefix is empty: give the folder under the lake to restore, e.g. silver/boston311/."
        )
    if not prefix.endswith("/"):  # silver/boston311 must not take silver/boston311_x/
        prefix += "/"
    if moment > now:
        raise RestoreError(f"--to {moment:%Y-%m-%dT%H:%M:%SZ} is in the future.")
    if moment < now - timedelta(days=NONCURRENT_DAYS):
        raise RestoreError(
            f"--to {moment:%Y-%m-%dT%H:%M:%SZ} is more than {NONCURRENT_DAYS} days ago: the bucket's lifecycle has "
            "removed versions replaced since then, so the prefix cannot be put back as it was."
        )
    check_bucket(s3, lake.bucket)
    full_prefix = lake.key_prefix + prefix
    found = versions_by_key(s3, lake.bucket, full_prefix, page_size)
    if not found:
        raise RestoreError(
            f"Nothing was ever under s3://{lake.bucket}/{full_prefix}: check --lake and --prefix."
        )
    return [action for key in sorted(found) if (action := plan_key(key, found[key], moment))]


def apply(s3, bucket: str, action: Action) -> None:
    """Do one action."""
    if action.kind == "delete":
        s3.delete_object(Bucket=bucket, Key=action.key)  # a delete marker: itself undoable
    elif action.kind == "undelete":
        for marker in action.markers:
            s3.delete_object(Bucket=bucket, Key=action.key, VersionId=marker)
    else:
        source = {"Bucket": bucket, "Key": action.key, "VersionId": action.version_id}
        head = s3.head_object(Bucket=bucket, Key=action.key, VersionId=action.version_id)
        extra = {}
        # a copy takes the bucket's default encryption otherwise
        if head.get("ServerSideEncryption") == "aws:kms":
            extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": head["SSEKMSKeyId"]}
        s3.copy(source, bucket, action.key, ExtraArgs=extra)  # managed: multipart above 5 GB


def build_parser() -> argparse.ArgumentParser:
    """The command line: --lake, --prefix, --to and --dry-run."""
    parser = ArgumentParser(
        prog="restore_prefix.py",
        description="Put every key under a prefix of the S3 lake back as it was at a moment (docs/infra.md).",
    )
    parser.add_argument(
        "--lake", required=True, type=lake_argument, help="the lake root, s3://bucket[/prefix]"
    )
    parser.add_argument(
        "--prefix", required=True, help="the folder under the lake root, e.g. silver/boston311/"
    )
    parser.add_argument(
        "--to", required=True, type=moment_argument, help="the moment, e.g. 2026-11-25T06:00:00Z"
    )
    parser.add_argument("--dry-run", action="store_true", help="list what would be done, change nothing")
    return parser


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The arguments; argparse exits 2 with one line on a bad one."""
    return build_parser().parse_args(argv)


def main(
    argv: list[str] | None = None, s3=None, now: datetime | None = None, page_size: int = PAGE_SIZE
) -> int:
    """0 when the prefix is as it was (or, with --dry-run, the plan is listed); 2 on bad input (one sentence on
    stderr); 1 when S3 refused a change half-way (run it again: what is done is not redone)."""
    args = parse_args(argv)  # argparse exits 2 with one line on a bad --to
    if s3 is None:
        from bronze_storage import s3_client  # the project's one S3 client: its timeouts and retries

        s3 = s3_client()
    lake = Lake.from_uri(args.lake)
    try:
        actions = plan(s3, lake, args.prefix, args.to, now or datetime.now(UTC), page_size)
    except RestoreError as error:
        print(f"restore_prefix.py: error: {error}", file=sys.stderr)
        return 2
    for action in actions:
        print(f"{'would ' if args.dry_run else ''}{action.describe()}")
        if not args.dry_run:
            try:
                apply(s3, lake.bucket, action)
            except Exception as error:  # noqa: BLE001 - any S3 refusal ends the run in one sentence
                reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
                print(
                    f"restore_prefix.py: error: stopped at {action.key} ({reason}); run the same command again to "
                    "finish (what is already restored is left alone).",
                    file=sys.stderr,
                )
                return 1
    counts = {kind: sum(a.kind == kind for a in actions) for kind in ("copy", "undelete", "delete")}
    print(
        f"{len(actions)} key(s) {'would change (dry run: nothing changed)' if args.dry_run else 'changed'} under "
        f"{lake.root}/{args.prefix.strip().lstrip('/')} to their state at {args.to:%Y-%m-%dT%H:%M:%SZ}: "
        f"{counts['copy']} copied back, {counts['undelete']} undeleted, {counts['delete']} deleted."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
