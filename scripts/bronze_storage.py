"""Where Bronze writes: one small interface, two backends (a local folder and S3), same keys.

Both backends commit atomically: a reader never sees a half-written object or file.
Local: the file is staged in the lake's ``_staging`` folder (same file system) and moved into
place with ``os.replace``. S3: the staged local file is uploaded with boto3's managed transfer
(multipart above 8 MiB); an S3 object only becomes visible once its upload completes.

One run at a time per lake (``one_run_at_a_time``): locally a ``flock`` on the Bronze folder, on S3 a lock object
only one run can create (a conditional PutObject).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

from lake import BRONZE_PREFIX, Lake

if TYPE_CHECKING:
    from botocore.exceptions import ClientError

try:
    import fcntl
except ImportError:  # pragma: no cover - not a POSIX system: a local lake has no run lock
    fcntl = None

log = logging.getLogger(__name__)

BRONZE_STAGING = f"{BRONZE_PREFIX}/_staging"
# A run stages its largest file (~190 MB) within minutes: a staging folder nothing changed in for a day is a killed
# run's, whose partial download would otherwise stay in the lake for good.
ABANDONED_STAGING_HOURS = 24
# An S3 lake's downloads are staged in a private folder of the system temp (or --work-dir) named so: the prefix tells
# a killed run's folder from other programs' there.
S3_STAGING_PREFIX = "boston311-bronze-"
# The hidden file a local JSON write (state, manifest) goes to before it is renamed into place: tempfile's name, the
# prefix, 8 of its random characters (a-z, 0-9, _) and the suffix. Only names of this shape are a killed write's: a
# hidden ".notes.tmp" someone put beside the state is not removed.
JSON_TEMPORARY_PREFIX, JSON_TEMPORARY_SUFFIX = ".", ".tmp"
JSON_TEMPORARY = re.compile(
    rf"{re.escape(JSON_TEMPORARY_PREFIX)}[a-z0-9_]{{8}}{re.escape(JSON_TEMPORARY_SUFFIX)}"
)
# An S3 lake's run lock: an object only one run can create (a conditional PutObject), holding who runs; deleted as
# the run ends, however it ends, but for SIGKILL, a crash or power loss.
RUN_LOCK = f"{BRONZE_PREFIX}/_state/run.lock"
# A lock this old is a killed run's, and the next run takes it over: no run takes this long. The longest plausible,
# a first landing of the whole portal (17 files, 1.9 GB) over a slow link (2 Mbit/s: about 2 hours), every file
# stalling to its timeouts and retries (a few minutes each), stays within a few hours; and a daily run 24 hours
# after a killed one finds its lock stale.
RUN_LOCK_STALE_HOURS = 12
# What S3 answers a read of a key that is not there (``error_code``).
NOT_FOUND = ("404", "NoSuchKey", "NotFound")
# What S3 answers a conditional write of the run lock (PutObject, DeleteObject) that finds another run's lock, or none
# (``IfMatch``), or a concurrent one.
LOCK_TAKEN = ("PreconditionFailed", "ConditionalRequestConflict", "NoSuchKey", "404", "409", "412")
MIB = 1024 * 1024
# Multipart above 8 MiB in 16 MiB parts, 4 at a time: about 64 MiB of part buffers at most.
MULTIPART_THRESHOLD = 8 * MIB
MULTIPART_CHUNKSIZE = 16 * MIB
MAX_CONCURRENCY = 4
# What a metadata value keeps as it is: printable ASCII but the space and " < > \ ^ ` { | } (a URL's reserved characters
# and an existing %-escape stay, so a URL that needs no encoding is stored as the portal lists it).
S3_METADATA_SAFE = "!#$%&'()*+,/:;=?@[]~"


class StorageError(Exception):
    """The lake cannot be used or failed (no bucket, no credentials, not writable, disk full): one sentence."""


class RunLockHeld(Exception):
    """Another Bronze run holds the lake's run lock: one sentence (exit 1)."""


class BronzeStore(Protocol):
    """The operations Bronze needs from a lake root."""

    root: str

    def staging_dir(self) -> str:
        """A local folder for downloads in progress (removed by ``close``)."""

    def exists(self, key: str) -> bool:
        """True when an object or file is stored under ``key``."""

    def keys_in(self, folder: str) -> list[str]:
        """The keys of the objects or files directly under ``folder`` (no trailing slash), sorted."""

    def stored_sha256(self, key: str) -> str | None:
        """The sha256 of what is stored under ``key``, or None when nothing is."""

    def commit_file(self, local_path: str, key: str, metadata: dict[str, str]) -> None:
        """Move a fully written local file to ``key`` atomically (the local file is consumed)."""

    def read_json(self, key: str) -> Any | None:
        """The JSON document under ``key``, or None when there is none."""

    def write_json(self, key: str, document: Any) -> None:
        """Write a JSON document under ``key`` atomically."""

    def close(self) -> None:
        """Remove the staging folder and anything left in it."""

    def one_run_at_a_time(self) -> AbstractContextManager[None]:
        """Hold the lake's run lock while the block runs; RunLockHeld at once when another run holds it."""

    def check_writable(self) -> None:
        """StorageError unless a run can write the lake (checked before anything is read or written)."""

    def check_readable(self) -> str | None:
        """StorageError unless a dry run can read the lake; why a run could not write it, when that is known without
        writing (None otherwise)."""


def error_code(error: ClientError) -> str:
    """The code of an AWS error (``NoSuchKey``, ``404``, ``PreconditionFailed``…); '' when it names none."""
    return error.response.get("Error", {}).get("Code", "")


def s3_metadata(metadata: dict[str, Any]) -> dict[str, str]:
    """Metadata values as S3 takes them, US-ASCII header text: anything else in a value from the portal (a URL with an
    en dash, an id with a newline) percent-encoded, as a URL is on the wire; botocore refuses the upload otherwise."""
    return {name: quote(str(value), safe=S3_METADATA_SAFE) for name, value in metadata.items()}


def botocore_takes_bucket_name(bucket: str) -> bool:
    """Whether botocore sends a request for this bucket name at all: it refuses one of other characters than letters,
    digits, ``.``, ``-`` and ``_`` or over 255 of them (unless an access point ARN) before any request, with two lines
    quoting its regexes. Its own check, so that a name it takes (an upper-case one from before 2018) is still asked
    about."""
    from botocore.exceptions import ParamValidationError
    from botocore.handlers import validate_bucket_name

    try:
        validate_bucket_name({"Bucket": bucket})
    except ParamValidationError:
        return False
    return True


def sha256_of_file(path: str) -> str:
    """The sha256 hex digest of a local file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(MIB):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class LocalStore:
    """A lake in a local folder; files are committed with ``os.replace`` from a staging folder."""

    root: str
    _staging: str | None = field(default=None, repr=False)
    # True while this run holds the lake's run lock: no other run can be writing, so whatever a run left in the
    # staging folder or as a temporary file is a killed run's, removed at once rather than a day later
    sole_writer: bool = field(default=False, repr=False)

    def _full(self, key: str) -> str:
        return os.path.join(self.root, *key.split("/"))

    @contextmanager
    def one_run_at_a_time(self) -> Iterator[None]:
        """Hold an exclusive lock on the lake's Bronze folder for the run (``flock`` on the folder itself, released by
        the system when the process ends, however it ends); RunLockHeld at once when another Bronze run holds it. The
        folders a run that held the lock made are removed again while still empty, so a run that stops early leaves
        none."""
        if fcntl is None:  # pragma: no cover - not a POSIX system
            yield
            return
        folder = self._full(BRONZE_PREFIX)
        made, missing = [], folder  # the folders this run makes (parents included), deepest first
        while not os.path.exists(missing):
            made.append(missing)
            missing = os.path.dirname(missing)
        with _local_errors(f"create {folder}"):
            os.makedirs(folder, exist_ok=True)
            handle = os.open(folder, os.O_RDONLY)
        locked = False
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RunLockHeld(
                    f"Another Bronze run is writing {folder}; wait for it to end, then run Bronze again."
                ) from None
            locked = self.sole_writer = True
            yield
        finally:
            self.sole_writer = False
            # Only the lock's holder, before it lets go: a run refused the lock had removed the folder the holder made
            # (both had found none) and locked, and the next run took a lock on a new one, beside the holder.
            for path in made if locked else []:
                try:
                    os.rmdir(path)
                except OSError:  # it holds what the run wrote
                    break
            os.close(handle)

    def idle_hours(self) -> float:
        """How long a staging folder or temporary file must be unchanged to be a killed run's: at once when this run
        holds the lock, ``ABANDONED_STAGING_HOURS`` otherwise (it may be another run's, still writing)."""
        return 0 if self.sole_writer else ABANDONED_STAGING_HOURS

    def check_writable(self) -> None:
        """Raise StorageError unless the lake folder is writable or can be created; creates nothing.

        The folder is created by the first write, so a run that stops early (exit 2) leaves no trace.
        """
        problem = self.check_readable()
        if problem:
            raise StorageError(problem)

    def check_readable(self) -> str | None:
        """What a dry run asks, reading only: StorageError when the lake path is a file or lies under one (no run
        can use it); else why a run could not write it (the lake folder, or the folder it would be made in, is not
        writable), None when it can. Creates nothing; a missing lake folder reads as an empty lake."""
        if os.path.exists(self.root) and not os.path.isdir(self.root):
            raise StorageError(f"The lake path {self.root} exists and is not a folder.")
        existing = self.root
        while not os.path.exists(existing):
            existing = os.path.dirname(existing)
        if not os.path.isdir(existing):
            raise StorageError(f"Cannot create the lake folder {self.root}: {existing} is not a folder.")
        if not os.access(existing, os.W_OK | os.X_OK):
            if existing == self.root:
                return f"The lake folder {self.root} is not writable."
            return f"Cannot create the lake folder {self.root}: {existing} is not writable."
        return None

    def staging_dir(self) -> str:
        """The lake's own ``_staging`` folder, so that the commit is a rename on one file system."""
        if self._staging is None:
            staging = self._full(f"{BRONZE_STAGING}/{uuid.uuid4().hex}")
            with _local_errors(f"create {staging}"):
                os.makedirs(staging, exist_ok=True)
            self._staging = staging
        return self._staging

    def exists(self, key: str) -> bool:
        """True when a file exists under ``key``."""
        return os.path.isfile(self._full(key))

    def keys_in(self, folder: str) -> list[str]:
        """The files directly in ``folder`` (hidden temp files skipped), as keys, sorted."""
        path = self._full(folder)
        if not os.path.isdir(path):
            return []
        with _local_errors(f"list {path}"):
            names = sorted(os.listdir(path))
        return [
            f"{folder}/{n}" for n in names if not n.startswith(".") and os.path.isfile(os.path.join(path, n))
        ]

    def stored_sha256(self, key: str) -> str | None:
        """Hash the stored file (read only for today's objects of a file name and an interrupted run's objects)."""
        if not self.exists(key):
            return None
        with _local_errors(f"read {self._full(key)}"):
            return sha256_of_file(self._full(key))

    def commit_file(self, local_path: str, key: str, metadata: dict[str, str]) -> None:
        """Rename the staged file into place; the target never exists half-written."""
        target = self._full(key)
        with _local_errors(f"write {target}"):
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.replace(local_path, target)

    def read_json(self, key: str) -> Any | None:
        """Parse the JSON file under ``key`` if there is one."""
        path = self._full(key)
        if not os.path.isfile(path):
            return None
        with _local_errors(f"read {path}"), open(path, encoding="utf-8") as handle:
            return json.load(handle)

    def write_json(self, key: str, document: Any) -> None:
        """Write to a hidden temp file beside the target, fsync, then rename."""
        target = self._full(key)
        with _local_errors(f"write {target}"):
            os.makedirs(os.path.dirname(target), exist_ok=True)
            handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below, then renamed into place
                "w",
                encoding="utf-8",
                dir=os.path.dirname(target),
                prefix=JSON_TEMPORARY_PREFIX,
                suffix=JSON_TEMPORARY_SUFFIX,
                delete=False,
            )
            try:
                with handle:
                    json.dump(document, handle, indent=2, sort_keys=False)
                    handle.write("\n")
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(handle.name, target)
            except BaseException:
                _remove_quietly(handle.name)
                raise
        remove_abandoned_temporaries(os.path.dirname(target), idle_hours=self.idle_hours())

    def close(self) -> None:
        """Remove this run's staging folder, those killed runs left (``remove_abandoned_staging``), and ``_staging`` itself
        when it is empty."""
        if self._staging is not None:
            shutil.rmtree(self._staging, ignore_errors=True)
            self._staging = None
        staging_root = self._full(BRONZE_STAGING)
        remove_abandoned_staging(staging_root, idle_hours=self.idle_hours())
        with suppress(OSError):  # another run is staging, or it was never created
            os.rmdir(staging_root)


def remove_abandoned_temporaries(
    folder: str, now: float | None = None, idle_hours: float = ABANDONED_STAGING_HOURS
) -> None:
    """Remove the hidden temporary files (``JSON_TEMPORARY``) a killed ``write_json`` left in ``folder`` (between
    creating one and renaming it into place), once unchanged for ``idle_hours``: a younger one may be another run's
    write in progress, unless the caller holds the run lock (``idle_hours`` 0). Nothing reads them (``keys_in`` and
    Silver skip hidden names); without this each such kill left one in ``_state/`` or ``_manifests/`` for good."""
    now = time.time() if now is None else now
    with suppress(OSError):  # the folder is gone or unreadable: nothing to tidy
        for entry in os.scandir(folder):
            if JSON_TEMPORARY.fullmatch(entry.name) and entry.is_file():
                with suppress(OSError):  # gone meanwhile
                    if not idle_hours or now - entry.stat().st_mtime > idle_hours * 3600:
                        os.remove(entry.path)
                        log.info("removed %s, left by a run that was killed while writing it", entry.path)


def remove_abandoned_staging(
    staging_root: str, prefix: str = "", idle_hours: float = ABANDONED_STAGING_HOURS
) -> None:
    """Remove the staging folders killed runs left under ``staging_root`` (``abandoned_staging``), each logged."""
    for folder in abandoned_staging(staging_root, prefix=prefix, idle_hours=idle_hours):
        shutil.rmtree(folder, ignore_errors=True)
        log.info("removed %s, left by a run that was killed while downloading", folder)


def abandoned_staging(
    staging_root: str, prefix: str = "", idle_hours: float = ABANDONED_STAGING_HOURS
) -> list[str]:
    """The staging folders under ``staging_root`` (named ``prefix``…) in which nothing changed for ``idle_hours``: a
    killed run's (SIGKILL, out of memory, power loss: no clean-up ran). A live run's download changes its file
    constantly; with ``idle_hours`` 0 (the caller holds the run lock, so no other run is live) every one."""
    now = time.time()
    try:
        folders = [
            entry.path
            for entry in os.scandir(staging_root)
            if entry.name.startswith(prefix) and entry.is_dir(follow_symlinks=False)
        ]
    except OSError:  # none yet
        return []
    abandoned = []
    for folder in sorted(folders):
        with suppress(OSError):  # gone meanwhile
            changed = [os.stat(folder).st_mtime]
            for parent, _, names in os.walk(folder):
                changed += [os.stat(os.path.join(parent, name)).st_mtime for name in names]
            if not idle_hours or now - max(changed) > idle_hours * 3600:
                abandoned.append(folder)
    return abandoned


@dataclass
class S3Store:
    """A lake under ``s3://bucket[/prefix]``; files are staged locally and uploaded with SSE."""

    root: str
    client: Any
    kms_key_id: str | None = None
    work_dir: str | None = None
    _staging: str | None = field(default=None, repr=False)

    @property
    def bucket(self) -> str:
        return Lake(self.root).bucket

    @property
    def prefix(self) -> str:
        return Lake(self.root).key_prefix

    def _key(self, key: str) -> str:
        return self.prefix + key

    def encryption_args(self) -> dict[str, str]:
        """SSE-S3 (AES256) by default, SSE-KMS when a key id was given."""
        if self.kms_key_id:
            return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self.kms_key_id}
        return {"ServerSideEncryption": "AES256"}

    def check_readable(self) -> None:
        """A dry run's check, as a run's: S3 tells whether a principal may write only when it writes, which a dry run
        does not; StorageError when the bucket is missing or cannot be reached."""
        self.check_writable()

    def check_writable(self) -> None:
        """Raise StorageError when the bucket is missing or the credentials cannot reach it."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as error:
            code = error_code(error)
            if code in ("404", "NoSuchBucket", "NotFound"):
                raise StorageError(f"The bucket {self.bucket} does not exist.") from error
            raise StorageError(f"Cannot reach the bucket {self.bucket}: {code or error}.") from error
        except BotoCoreError as error:
            raise StorageError(f"Cannot reach the bucket {self.bucket}: {error}.") from error

    def staging_dir(self) -> str:
        """A private temp folder (under ``work_dir`` when given) for the files to upload."""
        if self._staging is None:
            with _local_errors(f"create a staging folder in {self.work_dir or tempfile.gettempdir()}"):
                if self.work_dir:
                    os.makedirs(self.work_dir, exist_ok=True)
                self._staging = tempfile.mkdtemp(prefix=S3_STAGING_PREFIX, dir=self.work_dir)
        return self._staging

    def exists(self, key: str) -> bool:
        """True when ``head_object`` finds the key."""
        return self._head(key) is not None

    def keys_in(self, folder: str) -> list[str]:
        """The objects directly under ``folder/`` (``list_objects_v2`` with a delimiter), as keys, sorted."""
        listing = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=f"{self._key(folder)}/", Delimiter="/"
        )
        with _storage_errors(f"list s3://{self.bucket}/{self._key(folder)}/"):
            keys = [item["Key"] for page in listing for item in page.get("Contents", [])]
        return sorted(key[len(self.prefix) :] for key in keys)

    def _head(self, key: str) -> dict | None:
        from botocore.exceptions import ClientError

        with _storage_errors(f"read s3://{self.bucket}/{self._key(key)}"):
            try:
                return self.client.head_object(Bucket=self.bucket, Key=self._key(key))
            except ClientError as error:
                if error_code(error) in NOT_FOUND:
                    return None
                raise

    def stored_sha256(self, key: str) -> str | None:
        """The sha256 recorded in the object's metadata when it was landed."""
        head = self._head(key)
        return None if head is None else head.get("Metadata", {}).get("sha256", "")

    def commit_file(self, local_path: str, key: str, metadata: dict[str, str]) -> None:
        """Upload with the managed transfer (multipart when large), SSE and metadata; then drop the file."""
        from boto3.s3.transfer import TransferConfig

        config = TransferConfig(
            multipart_threshold=MULTIPART_THRESHOLD,
            multipart_chunksize=MULTIPART_CHUNKSIZE,
            max_concurrency=MAX_CONCURRENCY,
        )
        extra = {**self.encryption_args(), "Metadata": s3_metadata(metadata), "ContentType": "text/csv"}
        with _storage_errors(f"upload s3://{self.bucket}/{self._key(key)}"):
            self.client.upload_file(local_path, self.bucket, self._key(key), ExtraArgs=extra, Config=config)
        _remove_quietly(local_path)

    def read_json(self, key: str) -> Any | None:
        """Parse the JSON object under ``key`` if there is one."""
        found = self._get(key)
        return None if found is None else json.loads(found[0])

    def _get(self, key: str) -> tuple[bytes, dict] | None:
        """The body of the object under ``key`` and get_object's answer (ETag, LastModified…); None when there is
        none."""
        from botocore.exceptions import ClientError

        with _storage_errors(f"read s3://{self.bucket}/{self._key(key)}"):
            try:
                found = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
            except ClientError as error:
                if error_code(error) in NOT_FOUND:
                    return None
                raise
            return found["Body"].read(), found

    def write_json(self, key: str, document: Any) -> None:
        """One ``put_object`` (atomic on S3) with the same encryption as the data."""
        body = (json.dumps(document, indent=2) + "\n").encode("utf-8")
        with _storage_errors(f"write s3://{self.bucket}/{self._key(key)}"):
            self.client.put_object(
                Bucket=self.bucket,
                Key=self._key(key),
                Body=body,
                ContentType="application/json",
                **self.encryption_args(),
            )

    def close(self) -> None:
        """Remove the local staging folder, and those killed runs left beside it (``remove_abandoned_staging``)."""
        if self._staging is not None:
            shutil.rmtree(self._staging, ignore_errors=True)
            self._staging = None
        remove_abandoned_staging(self.work_dir or tempfile.gettempdir(), prefix=S3_STAGING_PREFIX)

    @contextmanager
    def one_run_at_a_time(self) -> Iterator[None]:
        """Hold the lake's run lock for the run: the object ``RUN_LOCK``, created only where there is none (a
        conditional PutObject, ``IfNoneMatch="*"``), deleted as the run ends (only while it is still this run's:
        ``IfMatch`` its ETag). RunLockHeld at once when another run's is there, unless it is ``RUN_LOCK_STALE_HOURS``
        old: a killed run's, taken over (``IfMatch`` its ETag, so that of two runs that find it stale one takes it)."""
        etag = self._take_run_lock()
        try:
            yield
        finally:
            self._release_run_lock(etag)

    def _take_run_lock(self) -> str:
        """Create the lock object, or take over a stale one; its ETag. RunLockHeld when another run holds it."""
        from botocore.exceptions import ClientError

        lock = f"s3://{self.bucket}/{self._key(RUN_LOCK)}"
        holder = {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "started_at": datetime.now(UTC).isoformat(),
        }
        condition, stale = {"IfNoneMatch": "*"}, None
        for _ in range(3):  # the lock may go, or be taken by another run, between two of these calls
            with _storage_errors(f"write {lock}"):
                try:
                    etag = self.client.put_object(
                        Bucket=self.bucket,
                        Key=self._key(RUN_LOCK),
                        Body=json.dumps(holder).encode("utf-8"),
                        ContentType="application/json",
                        **condition,
                        **self.encryption_args(),
                    )["ETag"]
                except ClientError as error:
                    if error_code(error) not in LOCK_TAKEN:
                        raise
                else:
                    if stale is not None:
                        log.warning(
                            "took over the run lock %s of %s: older than any run (%d hours), it was left by a run "
                            "killed before it could remove it",
                            lock,
                            stale,
                            RUN_LOCK_STALE_HOURS,
                        )
                    return etag
            found = self._read_run_lock()
            if found is None:  # removed meanwhile: create it
                condition, stale = {"IfNoneMatch": "*"}, None
                continue
            other, etag, age = found
            if age < RUN_LOCK_STALE_HOURS:
                raise RunLockHeld(
                    f"Another Bronze run is writing {self.root}/{BRONZE_PREFIX} ({other}); wait for it to end, then "
                    f"run Bronze again (if that run was killed, remove its lock with aws s3 rm {lock}, or let a run "
                    f"take it over once it is {RUN_LOCK_STALE_HOURS} hours old)."
                )
            condition, stale = {"IfMatch": etag}, other
        raise RunLockHeld(
            f"Another Bronze run is writing {self.root}/{BRONZE_PREFIX}: its lock {lock} changed hands as this run "
            "tried to take it; wait for that run to end, then run Bronze again."
        )

    def _read_run_lock(self) -> tuple[str, str, float] | None:
        """Who holds the lock (``host …, pid …, started … ago``), its ETag and its age in hours; None when there is
        none. Its age is S3's: the time since it was written."""
        read = self._get(RUN_LOCK)
        if read is None:
            return None
        body, found = read
        try:
            holder = json.loads(body)
        except ValueError:
            holder = None
        if not isinstance(holder, dict):
            holder = {}
        age = hours_since(found["LastModified"])
        started = f"{age:.0f} hours" if age >= 2 else f"{age * 60:.0f} minutes"
        who = f"host {holder.get('host', '?')}, pid {holder.get('pid', '?')}, started {started} ago"
        return who, found["ETag"], age

    def _release_run_lock(self, etag: str) -> None:
        """Delete the lock object if it is still this run's; a failure is a WARNING (the run itself is over)."""
        from botocore.exceptions import BotoCoreError, ClientError

        lock = f"s3://{self.bucket}/{self._key(RUN_LOCK)}"
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(RUN_LOCK), IfMatch=etag)
        except ClientError as error:
            code = error_code(error)
            if code in LOCK_TAKEN:
                log.warning(
                    "the run lock %s was taken over by another run, or removed, while this one ran (a run takes "
                    "over a lock %d hours old): two runs may have written the lake at once; run Bronze once more "
                    "when no other run is going, and it lands what the state misses",
                    lock,
                    RUN_LOCK_STALE_HOURS,
                )
            else:
                self._warn_lock_left(lock, code or str(error))
        except BotoCoreError as error:
            self._warn_lock_left(lock, str(error))

    @staticmethod
    def _warn_lock_left(lock: str, reason: str) -> None:
        log.warning(
            "could not remove the run lock %s (%s): remove it with aws s3 rm %s, or the first run %d hours after "
            "this one takes it over",
            lock,
            reason,
            lock,
            RUN_LOCK_STALE_HOURS,
        )


def hours_since(moment: datetime) -> float:
    """Hours from ``moment`` (an aware time, such as S3's LastModified) to now."""
    return (datetime.now(UTC) - moment).total_seconds() / 3600


# S3 calls from a laptop: botocore's defaults (a minute to connect; 3 attempts in botocore 1.44's "standard" retry
# mode) leave a dead network silent for minutes and give up on a flaky one early. The retry mode stays botocore's
# ("standard": throttling and transient errors, jittered backoff) or the user's (AWS_RETRY_MODE, retry_mode in
# ~/.aws/config); an attempt count the user set (AWS_MAX_ATTEMPTS, max_attempts) wins over S3_MAX_ATTEMPTS.
S3_CONNECT_TIMEOUT = 10
S3_READ_TIMEOUT = 60
S3_MAX_ATTEMPTS = 10


def s3_client(session: Any | None = None) -> Any:
    """The one place an S3 client is made: default credential chain, ``AWS_PROFILE``, ``AWS_ENDPOINT_URL``; the
    timeouts and attempts above unless the user's AWS configuration sets its own."""
    import boto3
    from botocore.config import Config

    session = session or boto3.Session()
    retries = {}
    # botocore's reading of AWS_MAX_ATTEMPTS and the profile's max_attempts: None when neither is set (it has no
    # default of its own, unlike retry_mode)
    if session._session.get_config_variable("max_attempts") is None:
        retries["total_max_attempts"] = S3_MAX_ATTEMPTS
    config = Config(connect_timeout=S3_CONNECT_TIMEOUT, read_timeout=S3_READ_TIMEOUT, retries=retries)
    return session.client("s3", config=config)


def open_store(
    lake: Lake,
    *,
    kms_key_id: str | None = None,
    work_dir: str | None = None,
    session: Any | None = None,
    check: bool = True,
) -> BronzeStore:
    """The store for a lake root, checked writable unless ``check`` is off; StorageError otherwise."""
    if lake.is_s3:
        from botocore.exceptions import BotoCoreError

        try:
            client = s3_client(session)
        except (BotoCoreError, ValueError) as error:  # ValueError: a bad AWS_ENDPOINT_URL or AWS_MAX_ATTEMPTS
            raise StorageError(f"Cannot create an S3 client: {str(error).rstrip('.')}.") from error
        store: LocalStore | S3Store = S3Store(lake.root, client, kms_key_id=kms_key_id, work_dir=work_dir)
    else:
        if kms_key_id:
            raise StorageError("--kms-key-id only applies to an s3:// lake.")
        store = LocalStore(lake.root)
    if check:
        store.check_writable()
    return store


@contextmanager
def _local_errors(action: str) -> Iterator[None]:
    """Turn a file-system failure (permissions, disk full) into one StorageError sentence."""
    try:
        yield
    except OSError as error:
        raise StorageError(f"Cannot {action}: {error.strerror or error}.") from error


@contextmanager
def _storage_errors(action: str) -> Iterator[None]:
    """Turn an AWS or local file failure of an S3 call (read, list or upload) into one StorageError sentence."""
    from boto3.exceptions import S3UploadFailedError
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as error:
        code = error_code(error)
        raise StorageError(f"Cannot {action}: {code or error}.") from error
    except (BotoCoreError, S3UploadFailedError, OSError) as error:
        raise StorageError(f"Cannot {action}: {error}.") from error


def _remove_quietly(path: str) -> None:
    with suppress(FileNotFoundError):
        os.remove(path)
