"""Bronze ingest: land every Boston 311 CSV of the City's open-data portal, byte for byte, re-runnably.

Discovers the dataset's resources (CKAN ``package_show``, falling back to the dataset page),
selects the yearly legacy CSVs and the NEW SYSTEM CSV, streams each one to a staging file
(constant memory, sha256 on the fly, retries, Range resume, host allow-list), checks that its
first record is a known 311 header, and commits it under
``bronze/boston311/dataset=<dataset>/ingest_date=<UTC date>/<portal file name>``.
A manifest per run and a state file let a re-run land only what changed on the portal; each object is
recorded in the state before it is committed, so that every object in Bronze is announced as landed by a
manifest, even when a run is interrupted or killed (the next run writes the manifest it did not).
"""

from __future__ import annotations

import argparse
import codecs
import csv
import hashlib
import io
import logging
import math
import os
import queue
import re
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from contextlib import ExitStack, nullcontext
from dataclasses import MISSING, asdict, dataclass, fields
from datetime import UTC, datetime
from typing import Any, NamedTuple, get_type_hints
from urllib.parse import unquote, urljoin, urlsplit

import command_line
from bronze_storage import BronzeStore, RunLockHeld, StorageError, botocore_takes_bucket_name, open_store
from command_line import stdout_to_devnull
from lake import BRONZE_MANIFESTS, BRONZE_PREFIX, BRONZE_STATE, Lake, lake_argument

log = logging.getLogger("ingestao_bronze")

DEFAULT_PORTAL = "https://data.boston.gov"
PACKAGE_NAME = "311-service-requests"
PACKAGE_SHOW_PATH = f"/api/3/action/package_show?id={PACKAGE_NAME}"
DATASET_PAGE_PATH = f"/dataset/{PACKAGE_NAME}"
NEW_SYSTEM = "new_system"

CHUNK_BYTES = 1024 * 1024
# The longest file name Bronze gives an object: 255 bytes (a local file name) less the staging name's ``.`` and
# ``.<uuid>.part`` (39) and room for a second ingest of the day's ``.<run_id>-<8 hex>`` (30).
MAX_FILE_NAME = 180
# The end Spark's file listing takes for a copy in progress (``hadoop fs -put`` writes ``<name>._COPYING_``) and
# skips, as it skips names starting with ``.`` or ``_``: a key must not end so.
SPARK_COPYING_SUFFIX = "._COPYING_"
SNIFF_BYTES = 64 * 1024
# The most bytes one download may bring, unless --max-file-bytes says otherwise: 2 GiB, eleven times the largest
# yearly file (184 MB, 2023) and about all the years together, so that only a body that never ends (or a file
# published by mistake) meets it, with that much of the staging disk at most. The NEW SYSTEM file, one file for
# every year since 2025-08, would reach it after a decade or more at the yearly files' size.
DEFAULT_MAX_FILE_BYTES = 2 * 1024**3
MAX_REDIRECTS = 5
RETRY_STATUSES = (429, 500, 502, 503, 504)
RETRY_AFTER_MAX_SECONDS = 300
DEFAULT_BACKOFF_SECONDS = 1.0
# A day: a socket takes no timeout past about 1e10 s (OverflowError), and a wait that long is no timeout
MAX_TIMEOUT_SECONDS = 86_400
# A resource's new version under this share of the bytes Bronze landed of it before is reported as shrunk: a
# WARNING, ``shrunk_from_bytes`` in its manifest entry, a count in the summary. The City's files grow or stay about
# the same; one that loses a tenth of its bytes was cut short or re-issued with rows missing. It still lands as served.
SHRINK_WARN_RATIO = 0.9
# The state field where a run records what it lands, before each commit, until its manifest is written.
RUN_IN_PROGRESS = "run_in_progress"
# The manifest's ``format_version`` (docs/CONTRACTS.md): raised by a breaking change to its shape (a field removed,
# renamed or retyped, a new value of an enum), not by a field added. Manifests written before it existed have none.
MANIFEST_FORMAT_VERSION = 1
# The loggers through which urllib3 can log a request URL (it logs the presigned URL when it retries).
URLLIB3_LOGGERS = (
    "urllib3.connectionpool",
    "urllib3.connection",
    "urllib3.poolmanager",
    "urllib3.response",
    "urllib3.util.retry",
)
QUERY_STRING = re.compile(r"\?[^\s'\"<>]+")

# The three header eras of the City's CSVs (data README), compared as sets of lower-case names.
LEGACY29_HEADER = (
    "case_enquiry_id,open_dt,target_dt,closed_dt,ontime,case_status,closure_reason,case_title,subject,reason,"
    "type,queue,department,submittedphoto,closedphoto,location,fire_district,pwd_district,city_council_district,"
    "police_district,neighborhood,neighborhood_services_district,ward,precinct,location_street_name,"
    "location_zipcode,latitude,longitude,source"
)
LEGACY30_HEADER = (
    "case_enquiry_id,open_dt,sla_target_dt,closed_dt,on_time,case_status,closure_reason,case_title,subject,reason,"
    "type,queue,department,submitted_photo,closed_photo,location,fire_district,pwd_district,city_council_district,"
    "police_district,neighborhood,neighborhood_services_district,ward,precinct,location_street_name,"
    "location_zipcode,latitude,longitude,geom_4326,source"
)
NEW_SYSTEM_HEADER = (
    "case_id,open_date,close_date,target_close_date,case_topic,service_name,assigned_department,assigned_team,"
    "case_status,closure_reason,closure_comments,on_time,report_source,full_address,street_number,street_name,"
    "zip_code,neighborhood,public_works_district,city_council_district,fire_district,police_district,ward,"
    "precinct,submitted_photo,closed_photo,longitude,latitude"
)
LEGACY29_COLUMNS = frozenset(LEGACY29_HEADER.split(","))
LEGACY30_COLUMNS = frozenset(LEGACY30_HEADER.split(","))
NEW_SYSTEM_COLUMNS = frozenset(NEW_SYSTEM_HEADER.split(","))
# Exports through the datastore API drop the two photo columns; the rest must be there.
NEW_SYSTEM_OPTIONAL = frozenset({"submitted_photo", "closed_photo"})
# era -> (every column its header may carry, those it may lack): exactly what Silver reads (a test holds the two
# together). A column the City adds to an era goes in both sets here and in Silver's ERA_EXTRA_COLUMNS and
# ERA_OPTIONAL (docs/bronze.md "Extending").
HEADER_ERAS = {
    "legacy29": (LEGACY29_COLUMNS, frozenset()),
    "legacy30": (LEGACY30_COLUMNS, frozenset()),
    "new_system": (NEW_SYSTEM_COLUMNS, NEW_SYSTEM_OPTIONAL),
}

# S3 endpoints a presigned download may redirect to: s3.amazonaws.com, bucket.s3.amazonaws.com,
# s3.us-east-1.amazonaws.com, bucket.s3.us-east-1.amazonaws.com, s3-us-east-1 and dualstack forms.
S3_HOST = re.compile(r"^(?:[a-z0-9][a-z0-9.-]*\.)?s3(?:[.-][a-z0-9-]+)*\.amazonaws\.com$")
# Resource names: "311 Service Requests - NEW SYSTEM", "311 SERVICE REQUESTS - 2022" (any case, any dash).
# Documents such as "311 Service Requests Data Dictionary - NEW SYSTEM" must not match.
RESOURCE_NAME = re.compile(
    r"\s*311\s+service\s+requests\s*[-\u2013\u2014:]?\s*(?:(?P<new>new\s+system)|(?P<year>(?:19|20)\d\d))\s*",
    re.IGNORECASE,
)


class UsageError(Exception):
    """Bad flags or configuration: one sentence for the user, exit code 2."""


class ResourceError(Exception):
    """A resource could not be landed (network, refused host, not a valid CSV): one sentence."""


class Terminated(KeyboardInterrupt):
    """SIGTERM stopped the run: raised by its handler where Ctrl-C raises KeyboardInterrupt, so that the run stops
    the same way (what landed is announced, the staging folder and the run lock removed); ``main`` exits 143."""


class StdoutRefused(Exception):
    """stdout would not take the run's report (a full disk, a reader gone from the pipe, no stdout at all); ``main``
    tells it in one sentence, with what the run did."""

    def __init__(self, what: str, reason: str, outcome: str) -> None:
        super().__init__(what, reason, outcome)
        self.what, self.reason, self.outcome = what, reason, outcome


@dataclass(frozen=True)
class PortalResource:
    """One CSV resource of the dataset as the portal describes it."""

    resource_id: str
    name: str
    dataset: str
    url: str
    portal_last_modified: str | None = None
    portal_size: int | None = None
    portal_hash: str | None = None

    @property
    def fingerprint(self) -> tuple[str | None, int | None, str | None]:
        """What the portal says about the bytes; all None when discovered from the page."""
        return (self.portal_last_modified, self.portal_size, self.portal_hash)

    @property
    def file_name(self) -> str:
        """The portal's file name (last URL segment), made safe for a key; else the resource id's, made safe too."""
        raw = unquote(urlsplit(self.url).path.rsplit("/", 1)[-1])
        return key_file_name(raw) or key_file_name(f"{self.resource_id}.csv") or "resource.csv"


@dataclass
class ManifestEntry:
    """One line of the run manifest (docs/CONTRACTS.md): the resource's fields as the portal lists them (those of
    ``PortalResource``, in its order), then the outcome, made by ``failed``, ``unchanged`` or ``landed``."""

    resource_id: str
    name: str
    dataset: str
    url: str
    portal_last_modified: str | None
    portal_size: int | None
    portal_hash: str | None
    status: str = "failed"
    error: str | None = None
    key: str | None = None
    sha256: str | None = None
    bytes: int | None = None
    header_era: str | None = None
    ingested_at: str | None = None
    # landed only: the bytes of the previous landing, when this one has under SHRINK_WARN_RATIO of them
    shrunk_from_bytes: int | None = None
    # the offset of the object's first byte that is not UTF-8 (Silver reads such bytes as U+FFFD); None when all are
    non_utf8_at: int | None = None

    @classmethod
    def failed(cls, resource: PortalResource, error: str) -> ManifestEntry:
        """The entry of a resource that could not be landed, with the reason in one sentence."""
        return cls(**asdict(resource), error=error)

    @classmethod
    def unchanged(cls, resource: PortalResource, record: dict[str, Any]) -> ManifestEntry:
        """The entry of a resource not landed again: the state's ``record`` of the object landed before, as it is."""
        return cls(
            **asdict(resource),
            status="unchanged",
            key=record.get("key"),
            sha256=record.get("sha256"),
            bytes=record.get("bytes"),
            header_era=record.get("header_era"),
            ingested_at=record.get("ingested_at"),
            non_utf8_at=record.get("non_utf8_at"),
        )

    @classmethod
    def landed(
        cls,
        resource: PortalResource,
        *,
        key: str,
        sha256: str,
        size: int,
        era: str,
        shrunk_from_bytes: int | None,
        non_utf8_at: int | None = None,
    ) -> ManifestEntry:
        """The entry of a resource this run lands under ``key``, stamped now."""
        return cls(
            **asdict(resource),
            status="landed",
            key=key,
            sha256=sha256,
            bytes=size,
            header_era=era,
            ingested_at=iso_z(utc_now()),
            shrunk_from_bytes=shrunk_from_bytes,
            non_utf8_at=non_utf8_at,
        )


@dataclass
class IngestConfig:
    """Everything a run needs, parsed from the command line (the defaults are the flags', in build_parser)."""

    portal: str
    lake: str | None
    years: frozenset[int] | None
    new_system: bool
    dry_run: bool
    force: bool
    quiet: bool
    discovery: str
    allow_hosts: tuple[str, ...]
    kms_key_id: str | None
    work_dir: str | None
    connect_timeout: float
    timeout: float
    retries: int
    backoff: float
    progress: bool
    max_file_bytes: int


# ---------------------------------------------------------------- pure rules


def utc_now() -> datetime:
    """The current time in UTC (one place, so every stamp agrees)."""
    return datetime.now(UTC)


def iso_z(moment: datetime) -> str:
    """``2026-11-25T17:22:33Z``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_years(spec: str) -> frozenset[int]:
    """``2019-2023,2025`` -> {2019, ..., 2023, 2025}; UsageError on anything else."""
    years: set[int] = set()
    for part in (p.strip() for p in spec.split(",")):
        match = re.fullmatch(r"(\d{4})(?:-(\d{4}))?", part)
        if not match:
            raise UsageError(f"--years must be years and ranges like 2019-2023,2025, not {spec!r}.")
        first, last = int(match.group(1)), int(match.group(2) or match.group(1))
        if first > last:
            raise UsageError(f"--years range {part} runs backwards.")
        years.update(range(first, last + 1))
    return frozenset(years)


def dataset_for(name: str) -> str | None:
    """``legacy_<year>`` or ``new_system`` from a resource NAME (never the file name); None otherwise."""
    match = RESOURCE_NAME.fullmatch(name)
    if match is None:
        return None
    return NEW_SYSTEM if match.group("new") else f"legacy_{match.group('year')}"


def resource_name(raw: dict[str, Any]) -> str:
    """The resource's name; documents have ``name: null`` and keep it in ``name_translated.en``."""
    translated = raw.get("name_translated") or {}
    return (raw.get("name") or translated.get("en") or "").strip()


def is_csv(format_label: str | None, url: str) -> bool:
    """A CSV by its format label, or by its URL when the label is missing."""
    if format_label:
        return format_label.strip().lower() == "csv"
    return urlsplit(url).path.lower().endswith(".csv")


def dataset_of_listed(resource_id: str, name: str, format_label: str | None, url: str) -> str | None:
    """The dataset of a listed resource that is a 311 CSV; None for anything else.

    Documents are skipped quietly; a CSV whose name is not a 311 year or NEW SYSTEM is skipped with a
    warning, so that a resource the City renames is noticed (both discovery methods come through here).
    """
    if not (url and is_csv(format_label, url)):
        log.debug("ignoring resource %s (%r, %s): not a CSV", resource_id, name, format_label)
        return None
    dataset = dataset_for(name)
    if dataset is None:
        log.warning(
            "ignoring CSV resource %s: its name %r is not a 311 year or NEW SYSTEM", resource_id, name
        )
    return dataset


def parse_package_show(document: Any) -> list[PortalResource]:
    """The dataset's 311 CSV resources from a CKAN ``package_show`` response; ValueError for a document of another
    shape (discovery then tries the dataset page)."""
    try:
        return package_show_resources(document)
    except (AttributeError, KeyError, TypeError, ValueError, OverflowError) as error:
        problem = f"{type(error).__name__}: {error}"  # a field missing, or of another type
    # raised outside the except clause: the log's reason (short_reason) follows an error's context to its innermost
    raise ValueError(f"package_show answered a document of another shape than CKAN's ({problem})")


def package_show_resources(document: dict[str, Any]) -> list[PortalResource]:
    """``parse_package_show`` on a document of CKAN's shape."""
    if not document.get("success") or "resources" not in (document.get("result") or {}):
        raise ValueError("package_show did not answer success with a resource list")
    resources = []
    for raw in document["result"]["resources"]:
        wrong = [
            field
            for field in ("id", "url", "last_modified", "hash")
            if not isinstance(raw.get(field), str | None)
        ]
        if wrong:
            raise TypeError(f"resource {raw.get('id')!r} has a {' and a '.join(wrong)} that is not text")
        name, url = resource_name(raw), raw.get("url") or ""
        dataset = dataset_of_listed(raw.get("id"), name, raw.get("format"), url)
        if dataset is None:
            continue
        size = raw.get("size")
        resources.append(
            PortalResource(
                resource_id=raw["id"],
                name=name,
                dataset=dataset,
                url=url,
                portal_last_modified=raw.get("last_modified") or None,
                portal_size=int(size) if size not in (None, "") else None,
                portal_hash=raw.get("hash") or None,
            )
        )
    return resources


def parse_dataset_page(html: str, page_url: str) -> list[PortalResource]:
    """The dataset's 311 CSV resources from the CKAN dataset page (no portal metadata there)."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    resources = []
    for item in soup.select("li.resource-item[data-id]"):
        heading = item.select_one("a.heading")
        label = item.select_one("span.format-label")
        if heading is None:
            continue
        if heading.get("title"):
            name = str(heading["title"]).strip()
        else:
            texts = [t for t in heading.find_all(string=True) if label is None or t.parent is not label]
            name = " ".join("".join(texts).split())
        download = item.select_one("a.resource-url-analytics[href]") or next(
            (a for a in item.select("a[href]") if "/download/" in a["href"]), None
        )
        if download is None:
            continue
        url = urljoin(page_url, str(download["href"]))
        format_label = (label.get("data-format") or label.get_text()) if label is not None else None
        resource_id = str(item["data-id"])
        dataset = dataset_of_listed(resource_id, name, str(format_label) if format_label else None, url)
        if dataset is not None:
            resources.append(PortalResource(resource_id, name, dataset, url))
    return resources


def select_resources(
    resources: Iterable[PortalResource], years: frozenset[int] | None, new_system: bool
) -> list[PortalResource]:
    """Keep the legacy years asked for (all by default) and the NEW SYSTEM file unless excluded."""
    chosen = []
    for resource in resources:
        if resource.dataset == NEW_SYSTEM:
            keep = new_system
        else:
            keep = years is None or legacy_year(resource) in years
        if keep:
            chosen.append(resource)
    return chosen


def legacy_year(resource: PortalResource) -> int:
    """The year of a legacy resource (dataset ``legacy_YYYY``)."""
    return int(resource.dataset.removeprefix("legacy_"))


def years_not_offered(resources: Iterable[PortalResource], years: frozenset[int] | None) -> list[int]:
    """The years asked for with --years that the portal lists no legacy file for (none when every year is asked)."""
    return sorted((years or frozenset()) - years_offered(resources))


def years_offered(resources: Iterable[PortalResource]) -> set[int]:
    """The years the portal lists a legacy file for."""
    return {legacy_year(r) for r in resources if r.dataset != NEW_SYSTEM}


def check_years_offered(resources: Iterable[PortalResource], years: frozenset[int] | None) -> None:
    """Warn about the years asked for that the portal does not list (a range over a gap); UsageError when it lists
    none of them: a mistyped year must not land something else (the NEW SYSTEM file) as a success."""
    resources = list(resources)
    missing = years_not_offered(resources, years)
    if not missing:
        return
    if years is not None and len(missing) == len(years):
        raise UsageError(
            f"the portal lists no file for --years {year_spans(missing)} (it lists {year_spans(years_offered(resources))}); "
            "nothing was landed."
        )
    log.warning("the portal lists no file for --years %s", ", ".join(map(str, missing)))


def year_spans(years: Iterable[int]) -> str:
    """Years as short spans: [2011, 2012, 2013, 2015] -> '2011-2013, 2015'; 'none' when there are none."""
    spans: list[list[int]] = []
    for year in sorted(years):
        if spans and year == spans[-1][-1] + 1:
            spans[-1].append(year)
        else:
            spans.append([year])
    return ", ".join(f"{s[0]}-{s[-1]}" if len(s) > 1 else str(s[0]) for s in spans) or "none"


def header_era(head: bytes) -> str:
    """The era of a CSV from its first bytes; ResourceError when it is not a 311 CSV."""
    text = head.decode("utf-8-sig", errors="replace")
    stripped = text.lstrip()
    if not stripped:
        raise ResourceError("the body is empty")
    if stripped.startswith("<") or "<html" in stripped[:1024].lower():
        raise ResourceError(f"an HTML page was served instead of a CSV (starts {stripped[:30]!r})")
    first_line = text.splitlines()[0] if text.splitlines() else ""
    names = [c.strip().lower() for c in next(csv.reader(io.StringIO(first_line)), [])]
    columns = set(names)
    if len(columns) != len(names):
        raise ResourceError(f"the header names a column twice (starts {first_line[:60]!r})")
    # Only the eras Silver reads land: a file it would refuse stops every later Silver run.
    for era, (known, optional) in HEADER_ERAS.items():
        if known - optional <= columns <= known:
            return era
    raise ResourceError(
        f"the first record is not a known 311 header ({header_difference(columns, first_line)})"
    )


def header_difference(columns: set[str], first_line: str) -> str:
    """What keeps a header from its nearest era (``nearest legacy29: unknown column case_origin``), or how it
    starts when it is nothing like one."""
    era, (known, optional) = min(sorted(HEADER_ERAS.items()), key=lambda item: len(columns ^ item[1][0]))
    if len(columns & known) < len(known) / 2:
        return f"starts {first_line[:60]!r}"
    unknown, missing = sorted(columns - known), sorted(known - optional - columns)
    parts = [f"unknown column {listed(unknown)}"] if unknown else []
    parts += [f"missing {listed(missing)}"] if missing else []
    return f"nearest {era}: {'; '.join(parts)}"


def listed(names: list[str], most: int = 5) -> str:
    """``a, b, c`` — at most ``most`` names, then how many in all."""
    shown = ", ".join(names[:most])
    return shown if len(names) <= most else f"{shown}, … ({len(names)} in all)"


def key_file_name(raw: str) -> str:
    """A name from the portal as the last part of a key: ASCII letters, digits, ``.``, ``_`` and ``-`` only (no
    ``/``, so no ``..`` path), not starting with ``.`` or ``_`` nor ending with ``._COPYING_`` (Spark, which Silver
    reads with, skips such files: hidden, or a copy in progress), and at most ``MAX_FILE_NAME`` characters (a local
    file name takes 255 bytes, the staging and same-day names add to it): a longer one keeps its start, a digest of
    the whole and its extension. '' when nothing is left."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", raw).lstrip("._")
    if safe.endswith(SPARK_COPYING_SUFFIX):  # Spark would read the object as a file of no rows
        safe = f"{safe.removesuffix(SPARK_COPYING_SUFFIX)}_{SPARK_COPYING_SUFFIX[1:]}"
    if len(safe) <= MAX_FILE_NAME:
        return safe
    extension = safe.rpartition(".")[2] if "." in safe else ""
    extension = f".{extension}" if len(extension) <= 8 else ""
    digest = hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{safe[: MAX_FILE_NAME - len(extension) - 17]}-{digest}{extension}"


def landing_key(dataset: str, ingest_date: str, file_name: str) -> str:
    """``bronze/boston311/dataset=<dataset>/ingest_date=<date>/<file>``."""
    return f"{BRONZE_PREFIX}/dataset={dataset}/ingest_date={ingest_date}/{file_name}"


def manifest_key(run_id: str) -> str:
    """``bronze/boston311/_manifests/<run_id>.json``: where a run's manifest lands."""
    return f"{BRONZE_MANIFESTS}/{run_id}.json"


def distinct_key(key: str, run_id: str) -> str:
    """The key for a second, different ingest of one dataset on one day: ``<stem>.<run_id><ext>``."""
    folder, _, file_name = key.rpartition("/")
    stem, dot, extension = file_name.rpartition(".")
    if not dot:
        return f"{folder}/{file_name}.{run_id}"
    return f"{folder}/{stem}.{run_id}.{extension}"


def unchanged_on_portal(resource: PortalResource, previous: dict[str, Any] | None) -> bool:
    """True when the portal's last_modified/size/hash are known and equal to what was landed last."""
    if previous is None or all(value is None for value in resource.fingerprint):
        return False
    landed = (previous.get("portal_last_modified"), previous.get("portal_size"), previous.get("portal_hash"))
    return resource.fingerprint == landed


@dataclass(frozen=True)
class HostAllowList:
    """The hosts a download may touch: the portal's, S3's, and any given with --allow-host."""

    hosts: frozenset[str]

    @classmethod
    def for_portal(cls, portal: str, extra: Iterable[str] = ()) -> HostAllowList:
        """The portal host plus the extra hosts, lower-cased."""
        portal_host = (urlsplit(portal).hostname or "").lower()
        return cls(frozenset({portal_host, *(h.strip().lower() for h in extra if h.strip())}))

    def allows(self, url: str) -> bool:
        """True for http(s) URLs whose host is the portal's, an S3 endpoint, or explicitly allowed."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        return (
            parts.scheme in ("http", "https")
            and bool(host)
            and (host in self.hosts or bool(S3_HOST.match(host)))
        )

    def check(self, url: str) -> None:
        """ResourceError unless ``allows(url)``: a scraped link or a redirect to another host is refused unfetched,
        and so is a malformed URL (``http://[bad/f.csv``), which stopped the whole run."""
        try:
            host = urlsplit(url).hostname
        except ValueError as error:
            raise ResourceError(f"refused to fetch a malformed URL ({error}): {safe_url(url)}") from None
        if not self.allows(url):
            raise ResourceError(f"refused to fetch from {host!r}: host not on the allow-list")


def shrink_baseline(
    resource: PortalResource, landed: dict[str, dict[str, Any]], listed_ids: set[str]
) -> dict[str, Any] | None:
    """The state record a new version of ``resource`` is compared with for a shrink: the resource's own; for a
    resource the state does not know, the newest of its dataset's records whose resource the portal no longer lists
    (the City replaced the resource; a twin it still lists is another file). None on a first landing."""
    own = landed.get(resource.resource_id)
    if own is not None:
        return own
    replaced = [
        record
        for resource_id, record in landed.items()
        if resource_id not in listed_ids and record.get("dataset") == resource.dataset
    ]
    return max(replaced, key=lambda record: str(record.get("ingested_at") or ""), default=None)


def shrunk_from(size: int, baseline: dict[str, Any] | None) -> int | None:
    """The bytes of the previous landing when ``size`` is under SHRINK_WARN_RATIO of them; None otherwise."""
    previous = (baseline or {}).get("bytes")
    if not isinstance(previous, int) or size >= previous * SHRINK_WARN_RATIO:
        return None
    return previous


def warn_shrunk(dataset: str, size: int, previous: int, previous_key: str | None) -> None:
    """The WARNING for a landing that shrank: the dataset, both sizes, and what it means for Silver."""
    log.warning(
        "%s: the portal's new file has %s bytes, %d %% fewer than the %s landed before (%s); landed as served. "
        "Silver keeps its earlier rows of cases missing from the new file (an upsert, never a delete), so "
        "nothing is lost, but the City's file changed: check whether the re-issue is complete",
        dataset,
        count(size),
        round(100 * (1 - size / previous)),
        count(previous),
        previous_key,
    )


class Utf8Check:
    """Where a body stops being UTF-8, found while it streams: ``update`` with each piece in order, ``finish`` at its
    end gives the offset of the first byte that is not UTF-8 (a Latin-1 accent, a character the end cuts short), or
    None when every byte is.

    A piece that is ASCII throughout is UTF-8 and ``bytes.isascii`` tells it at memory speed, so only pieces with other
    bytes go through the incremental decoder (3 GB/s here on the NEW SYSTEM sample, whose every MiB has an accent; it
    holds the GIL): the legacy samples are ASCII throughout.
    """

    def __init__(self) -> None:
        self.restart()

    def restart(self) -> None:
        """Forget every piece (the body starts again from its first byte)."""
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._read = 0
        self.offset: int | None = None

    def update(self, piece: bytes, final: bool = False) -> None:
        """Take the next piece of the body (``final``: the end, after the last piece)."""
        if self.offset is None:
            # the bytes of a character the last piece cut off are decoded again with this one
            pending = len(self._decoder.getstate()[0])
            if pending or final or not piece.isascii():
                try:
                    self._decoder.decode(piece, final=final)
                except UnicodeDecodeError as error:
                    self.offset = self._read - pending + error.start
        self._read += len(piece)

    def finish(self) -> int | None:
        """The offset of the body's first byte that is not UTF-8, None when every byte is."""
        self.update(b"", final=True)
        return self.offset


def warn_not_utf8(dataset: str, offset: int) -> None:
    """The WARNING for a landing that is not UTF-8 throughout: where it stops being, and what Silver makes of it."""
    log.warning(
        "%s: the file is not UTF-8 from byte offset %s on; landed as served. Silver reads it as UTF-8, so each "
        "character that is not becomes U+FFFD (\ufffd): ask the City for a UTF-8 file to keep them",
        dataset,
        f"{offset:,}",
    )


def count(size: int | None) -> str:
    """A byte count with thousands separators, ``?`` when unknown."""
    return "?" if size is None else f"{size:,}"


def safe_url(url: str) -> str:
    """A URL without its query string, fragment and credentials (presigned signatures and passwords never reach the
    logs); by text, so that a malformed URL (``http://[bad/f.csv``) is told too."""
    return CREDENTIALS.sub(r"\1", url.split("?", 1)[0].split("#", 1)[0])


# The user:password@ of a URL (``http://user:secret@host/``), after its scheme
CREDENTIALS = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/@]*@")


def redact_query_strings(text: str) -> str:
    """``text`` with every query string (``?X-Amz-Signature=...``) replaced by ``?<redacted>``."""
    return QUERY_STRING.sub("?<redacted>", text)


def printable(text: str) -> str:
    """``text`` with every character a terminal acts on (an ANSI escape, a newline, a backspace, any other control)
    written as its escape (``\\x1b``, ``\\n``): a value from the portal cannot recolour the screen, rub out a line or
    start a log line of its own."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


class RewrittenMessages(logging.Filter):
    """Rewrites each log record's message through ``rewrite`` (a record it leaves alone keeps its arguments)."""

    def __init__(self, rewrite: Callable[[str], str]) -> None:
        super().__init__()
        self.rewrite = rewrite

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        rewritten = self.rewrite(message)
        if rewritten != message:
            record.msg, record.args = rewritten, None
        return True


def add_rewrite(logger: logging.Logger, rewrite: Callable[[str], str]) -> None:
    """Give ``logger`` a filter rewriting its messages through ``rewrite``, once however often it is called."""
    if not any(isinstance(known, RewrittenMessages) and known.rewrite is rewrite for known in logger.filters):
        logger.addFilter(RewrittenMessages(rewrite))


def summary_table(entries: list[ManifestEntry]) -> str:
    """The final table: one line per resource, then the counts of landed / unchanged / failed."""
    lines = [f"{'dataset':<14} {'status':<10} {'bytes':>14}  detail"]
    for entry in entries:
        size = f"{entry.bytes:,}" if entry.bytes is not None else "-"
        detail = entry.error if entry.status == "failed" else (entry.key or "")
        if entry.shrunk_from_bytes is not None:
            detail += f" (shrunk from {entry.shrunk_from_bytes:,} bytes)"
        if entry.status == "landed" and entry.non_utf8_at is not None:
            detail += f" (not UTF-8 from byte {entry.non_utf8_at:,})"
        lines.append(f"{entry.dataset:<14} {entry.status:<10} {size:>14}  {printable(detail)}")
    counts = {
        status: sum(e.status == status for e in entries) for status in ("landed", "unchanged", "failed")
    }
    totals = f"landed {counts['landed']}, unchanged {counts['unchanged']}, failed {counts['failed']}"
    shrunk = sum(e.shrunk_from_bytes is not None for e in entries)
    not_utf8 = sum(e.status == "landed" and e.non_utf8_at is not None for e in entries)
    # the usual line stays as it always was
    totals += (f", shrunk {shrunk}" if shrunk else "") + (f", not UTF-8 {not_utf8}" if not_utf8 else "")
    lines.append(totals)
    return "\n".join(lines)


def report(text: str, what: str, outcome: str) -> None:
    """Print ``text`` on stdout, flushed now; StdoutRefused (naming ``what`` it is and ``outcome``, what the run did)
    when stdout will not take it: a full disk (``> /dev/full``), a pipe whose reader is gone (``| head -0``), or no
    stdout at all (``>&-``: Python's sys.stdout is None, and print writes nothing, silently)."""
    if sys.stdout is None:
        raise StdoutRefused(what, "stdout is closed", outcome)
    try:
        print(text, flush=True)
    except OSError as error:  # BrokenPipeError too
        raise StdoutRefused(what, error.strerror or str(error), outcome) from None


# ---------------------------------------------------------------- HTTP


def http_session(retries: int, backoff: float) -> Any:
    """A requests Session whose adapter retries connect errors, 429 and 5xx with backoff and Retry-After."""
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    retry = Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        other=0,
        backoff_factor=backoff,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET"}),
        respect_retry_after_header=True,
        retry_after_max=RETRY_AFTER_MAX_SECONDS,
        raise_on_status=False,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = f"boston311-lake-bronze/0.1 {session.headers['User-Agent']}"
    return session


def short_reason(error: BaseException) -> str:
    """The innermost, shortest useful description of a network error."""
    reason: BaseException = error
    while True:
        inner = getattr(reason, "reason", None) or reason.__context__
        if not isinstance(inner, BaseException) or inner is reason:
            break
        reason = inner
    text = redact_query_strings(str(reason) or type(reason).__name__)
    return " ".join(text.split())[:160]


# How a refusal over --max-file-bytes ends, in the log and the manifest's ``error``; run_pipeline.py finds it there.
OVER_CAP_ADVICE = "(if the file is real, raise the cap with --max-file-bytes)"


def listed_over_cap(resource: PortalResource, cap: int) -> bool:
    """Whether the portal lists ``resource`` larger than ``cap``: such a file is refused before any download."""
    return resource.portal_size is not None and resource.portal_size > cap


def over_cap(found: str, cap: int, outcome: str) -> ResourceError:
    """The refusal of a file over --max-file-bytes: what showed its size, the cap, what happened, how to raise it."""
    return ResourceError(f"{found}, more than the cap of {cap:,} bytes; {outcome} {OVER_CAP_ADVICE}")


class Fetched(NamedTuple):
    """A body downloaded whole: its sha256, its size in bytes, and the offset of its first byte that is not UTF-8
    (None when every byte is: ``Utf8Check``)."""

    sha256: str
    size: int
    non_utf8_at: int | None


class BodySink:
    """Writes a body (and checks it is UTF-8) on one worker thread and hashes it on another, so reading the network
    never waits on either.

    Each queue holds at most ``depth`` chunks: memory stays at about 2 x depth x CHUNK_BYTES.
    A failure to write the local file is a StorageError (not a network problem to retry).
    """

    def __init__(self, path: str, depth: int = 8) -> None:
        self.path = path
        self.size = 0
        try:
            self._file = open(path, "wb")  # noqa: SIM115 - closed in __exit__
        except OSError as error:
            raise self._cannot_write(error) from error
        self._digest = hashlib.sha256()
        self._utf8 = Utf8Check()
        self._errors: list[BaseException] = []
        self._queues: list[queue.Queue] = [queue.Queue(depth), queue.Queue(depth)]
        # a lambda, not the digest's own update: restart makes a new digest
        actions = (self._write_and_check, lambda chunk: self._digest.update(chunk))
        self._workers = [
            threading.Thread(target=self._work, args=(q, action), daemon=True)
            for q, action in zip(self._queues, actions, strict=True)
        ]
        for worker in self._workers:
            worker.start()

    def _write_and_check(self, chunk: bytes) -> None:
        # beside the write, which waits on the disk, not beside sha256, the slower of the two (it bounds the download)
        self._file.write(chunk)
        self._utf8.update(chunk)

    def _work(self, chunks: queue.Queue, action: Any) -> None:
        while True:
            chunk = chunks.get()
            try:
                if chunk is None:
                    return
                if not self._errors:
                    action(chunk)
            except BaseException as error:  # handed to the reading thread
                self._errors.append(error)
            finally:
                chunks.task_done()

    def _cannot_write(self, error: BaseException) -> StorageError:
        """The StorageError for a write of the staging file that failed (a full disk: "No space left on device")."""
        return StorageError(
            f"Cannot write the staging file {self.path}: {getattr(error, 'strerror', None) or error}."
        )

    def _raise_if_failed(self) -> None:
        if self._errors:
            error = self._errors[0]
            raise self._cannot_write(error) from error

    def write(self, chunk: bytes) -> None:
        """Queue a chunk for the file and the hash."""
        self._raise_if_failed()
        for chunks in self._queues:
            chunks.put(chunk)
        self.size += len(chunk)

    def drain(self) -> None:
        """Wait until every queued chunk is written and hashed."""
        for chunks in self._queues:
            chunks.join()
        self._raise_if_failed()

    def restart(self) -> None:
        """Forget everything received (the server ignored a Range request)."""
        self.drain()
        self._file.seek(0)
        self._file.truncate()
        self._digest, self.size = hashlib.sha256(), 0
        self._utf8.restart()

    def finish(self) -> Fetched:
        """Drain, flush to disk and return what was written: its sha256, its size and where it stops being UTF-8."""
        self.drain()
        try:  # the last chunks still in the file's buffer reach the disk here: a full disk fails here too
            self._file.flush()
        except OSError as error:
            raise self._cannot_write(error) from error
        return Fetched(self._digest.hexdigest(), self.size, self._utf8.finish())

    def __enter__(self) -> BodySink:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        for chunks in self._queues:
            chunks.put(None)
        for worker in self._workers:
            worker.join()
        try:  # closing flushes what a failed write left in the buffer, and fails the same way
            self._file.close()
        except OSError as error:
            if exc_info[0] is None:  # otherwise the error that stopped the body is the one to tell
                raise self._cannot_write(error) from error


def resume_wait(backoff: float, interruptions: int) -> float:
    """Seconds to wait before resuming after the n-th interruption: the backoff doubled each time, at most
    urllib3's longest wait between retries (``Retry.DEFAULT_BACKOFF_MAX``, 120 s), as for its own retries."""
    from urllib3.util.retry import Retry

    return min(backoff * 2.0 ** min(interruptions - 1, 64), Retry.DEFAULT_BACKOFF_MAX)


def file_validator(headers: Any) -> str | None:
    """What tells the file a response carries from another version of it, for ``If-Range``: its strong ETag, else its
    Last-Modified date; None when it has neither (a weak ``W/`` ETag cannot be used)."""
    etag = headers.get("ETag")
    if etag and not etag.startswith("W/"):
        return etag
    return headers.get("Last-Modified")


def same_file(validator: str, resumed: str | None) -> None:
    """ResourceError when a resumed response names another version of the file than the first response did
    (``file_validator`` of each): a server that ignores ``If-Range`` sends the new file's bytes from the same offset."""
    if resumed and resumed != validator:
        raise ResourceError(
            f"the file changed on the server during the download ({validator}, then {resumed}); nothing landed, "
            "and a re-run fetches it whole"
        )


def unannounced_length(received: int, listed_size: int | None) -> None:
    """ResourceError when a body whose length the server did not announce has other than the ``listed_size`` bytes
    the portal lists: a connection closed half-way ends such a body as the whole one ends, so nothing shows it is
    whole (a size the server announced is checked instead; a portal that lists no size leaves nothing to check)."""
    if listed_size is None or received == listed_size:
        return
    if received < listed_size:
        raise ResourceError(
            f"the server announced no length and sent {received:,} of the {listed_size:,} bytes the portal lists: "
            "refused as possibly cut short; a re-run tries again"
        )
    raise ResourceError(
        f"the server announced no length and sent {received:,} bytes, more than the {listed_size:,} the portal "
        "lists: refused as nothing shows where the body ends; a re-run tries again"
    )


@dataclass
class Fetcher:
    """Streams one URL to a local file: allow-listed redirects, retries, Range resume, sha256."""

    http: Any
    allow: HostAllowList
    connect_timeout: float
    read_timeout: float
    resume_attempts: int
    backoff: float
    max_bytes: int = DEFAULT_MAX_FILE_BYTES

    def open(self, url: str, start: int, validator: str | None = None) -> Any:
        """GET ``url`` from byte ``start``, following redirects only to allowed hosts; from a ``start`` past 0 only
        while the file is still the one ``validator`` (its first response's ETag or Last-Modified) names: ``If-Range``,
        to which a server whose file changed answers with the whole new file."""
        import requests

        for _ in range(MAX_REDIRECTS + 1):
            self.allow.check(url)
            headers = {"Accept-Encoding": "identity"}
            if start:
                headers["Range"] = f"bytes={start}-"
                headers["If-Range"] = validator
            try:
                response = self.http.get(
                    url,
                    headers=headers,
                    stream=True,
                    allow_redirects=False,
                    timeout=(self.connect_timeout, self.read_timeout),
                )
            # ValueError: requests parses a redirect's Location before it returns the response
            except (requests.RequestException, ValueError) as error:
                raise ResourceError(f"could not fetch {safe_url(url)}: {short_reason(error)}") from error
            if not response.is_redirect:
                return response
            response.close()
            try:
                url = urljoin(url, response.headers["Location"])
            except ValueError as error:
                raise ResourceError(f"{safe_url(url)} redirects to a malformed URL ({error})") from None
        raise ResourceError(f"more than {MAX_REDIRECTS} redirects")

    def fetch(self, url: str, destination: str, progress: Any, listed_size: int | None = None) -> Fetched:
        """Download ``url`` into ``destination``; return its sha256, size and where it stops being UTF-8 (``Fetched``).
        ResourceError when it cannot, or when the server announced no length (no Content-Length nor Content-Range
        total) and the bytes differ from ``listed_size``, the size the portal lists (``unannounced_length``)."""
        from urllib3.exceptions import HTTPError as Urllib3Error

        expected, interruptions, validator = None, 0, None
        with BodySink(destination) as sink:
            while True:
                # nothing to tell the same file by: the bytes of two versions would join
                if sink.size and validator is None:
                    log.warning(
                        "%s names no ETag or Last-Modified to resume against; restarting it", safe_url(url)
                    )
                    sink.restart()
                    progress.reset(total=expected)
                response = self.open(url, sink.size, validator)
                try:
                    expected = self._check_response(response, sink.size, expected)
                    # a server that ignores If-Range sends the new file's bytes
                    if response.status_code == 206:
                        same_file(validator, file_validator(response.headers))
                    else:
                        validator = file_validator(response.headers)
                    if expected is not None and expected > self.max_bytes:
                        raise over_cap(
                            f"the server announces {expected:,} bytes",
                            self.max_bytes,
                            "download stopped, nothing landed" if sink.size else "not downloaded",
                        )
                    if response.status_code == 200 and sink.size:
                        log.warning(
                            "the file changed since the download began, or the server ignored the Range request; "
                            "restarting %s",
                            safe_url(url),
                        )
                        sink.restart()
                        progress.reset(total=expected)
                    elif progress.total is None and expected is not None:
                        progress.reset(total=expected)
                        progress.update(sink.size)
                    for chunk in response.raw.stream(CHUNK_BYTES, decode_content=False):
                        if sink.size + len(chunk) > self.max_bytes:
                            raise over_cap(
                                f"the body reached {sink.size + len(chunk):,} bytes",
                                self.max_bytes,
                                "download stopped, nothing landed",
                            )
                        sink.write(chunk)
                        progress.update(len(chunk))
                except (Urllib3Error, OSError) as error:
                    interruptions += 1
                    if interruptions > self.resume_attempts:
                        raise ResourceError(
                            f"transfer interrupted {interruptions} times, last at {sink.size:,} of "
                            f"{count(expected)} bytes ({short_reason(error)})"
                        ) from error
                    log.warning(
                        "transfer interrupted at %s bytes (%s); resuming with Range",
                        sink.size,
                        short_reason(error),
                    )
                    time.sleep(resume_wait(self.backoff, interruptions))
                    continue
                finally:
                    response.close()
                if expected is not None and sink.size != expected:
                    raise ResourceError(
                        f"truncated body: received {sink.size:,} of the {expected:,} bytes announced"
                    )
                if expected is None:
                    unannounced_length(sink.size, listed_size)
                return sink.finish()

    @staticmethod
    def _check_response(response: Any, received: int, expected: int | None) -> int | None:
        """The total size the response promises; ResourceError for statuses we cannot use."""
        status = response.status_code
        if status == 206 and received:
            match = re.fullmatch(r"bytes (\d+)-\d+/(\d+|\*)", response.headers.get("Content-Range", ""))
            if not match or int(match.group(1)) != received:
                raise ResourceError(
                    f"the server resumed at the wrong offset ({response.headers.get('Content-Range')})"
                )
            return int(match.group(2)) if match.group(2) != "*" else expected
        if status == 200:
            length = response.headers.get("Content-Length")
            return int(length) if length and length.isdigit() else None
        if status == 416 and received:
            raise ResourceError(
                f"truncated body: received {received:,} of the {count(expected)} bytes announced, "
                "and the server has no more"
            )
        retried = len(response.raw.retries.history) if getattr(response.raw, "retries", None) else 0
        suffix = f" after {retried} retries" if retried else ""
        raise ResourceError(f"HTTP {status} from {urlsplit(response.url).hostname}{suffix}")


# ---------------------------------------------------------------- discovery


def host_unreachable(error: BaseException) -> bool:
    """True when a request never reached the host (name resolution failed, connection refused or timed out),
    rather than reaching it and failing there (TLS, a dropped connection, a proxy): then no path on it answers."""
    import requests
    from urllib3.exceptions import NameResolutionError, NewConnectionError

    if isinstance(error, requests.ConnectTimeout):
        return True
    if not isinstance(error, requests.ConnectionError) or isinstance(error, requests.exceptions.SSLError):
        return False
    cause = error.args[0] if error.args else None
    reason = getattr(cause, "reason", cause)  # MaxRetryError wraps the urllib3 error
    return isinstance(reason, (NewConnectionError, NameResolutionError))


def discover(http: Any, config: IngestConfig) -> tuple[str, list[PortalResource]]:
    """Resources from package_show (metadata) or, failing that, the dataset page; logs which was used."""
    import requests

    timeout = (config.connect_timeout, config.timeout)
    methods = ["package_show", "dataset_page"] if config.discovery == "auto" else [config.discovery]
    problems = []
    for method in methods:
        path = PACKAGE_SHOW_PATH if method == "package_show" else DATASET_PAGE_PATH
        url = config.portal + path
        try:
            response = http.get(url, timeout=timeout)
            response.raise_for_status()
            if method == "package_show":
                resources = parse_package_show(response.json())
            else:
                resources = parse_dataset_page(response.text, url)
        except (requests.RequestException, ValueError, KeyError, TypeError) as error:
            problems.append(f"{method}: {short_reason(error)}")
            log.warning("discovery through %s failed: %s", method, short_reason(error))
            if host_unreachable(error):
                break  # no network, no DNS answer, refused: the next method asks the same host
            continue
        if not resources:
            problems.append(f"{method}: no 311 CSV resources listed")
            log.warning("discovery through %s found no 311 CSV resources", method)
            continue
        log.info("discovered %d CSV resources through %s (%s)", len(resources), method, safe_url(url))
        return method, resources
    raise UsageError(
        f"Could not list the dataset's resources at {safe_url(config.portal)} ({'; '.join(problems)}); "
        "check the network connection and --portal."
    )


# ---------------------------------------------------------------- one resource


def progress_bar(enabled: bool, **options: Any) -> Any:
    """A tqdm bar on stderr (a context manager that closes it), or a silent stand-in when progress is off."""
    from tqdm import tqdm

    return tqdm(disable=not enabled, file=sys.stderr, dynamic_ncols=True, **options)


def tqdm_logging() -> Any:
    """Route log lines through tqdm while bars are shown, so they do not break the bars."""
    from tqdm.contrib.logging import logging_redirect_tqdm

    return logging_redirect_tqdm()  # the root logger's console handler, where our lines propagate


def download(resource: PortalResource, fetcher: Fetcher, staged: str, progress: bool) -> tuple[Fetched, str]:
    """Fetch a resource into the staging file ``staged``: what ``Fetcher.fetch`` says of it and its header's era
    (ResourceError when the body is not a 311 CSV, as ``header_era`` says). A body the server announced the length of
    and that came whole is kept as served when its size is other than the portal lists, with a warning (the listing
    can lag); one whose length it did not announce is refused then (``unannounced_length``)."""
    with progress_bar(progress, desc=resource.dataset, unit="B", unit_scale=True, leave=False) as bar:
        fetched = fetcher.fetch(resource.url, staged, bar, listed_size=resource.portal_size)
    with open(staged, "rb") as handle:
        era = header_era(handle.read(SNIFF_BYTES))
    if resource.portal_size is not None and resource.portal_size != fetched.size:
        log.warning(
            "%s: the portal lists %s bytes but the download has %s (landed as served)",
            resource.dataset,
            f"{resource.portal_size:,}",
            f"{fetched.size:,}",
        )
    return fetched, era


def land_resource(
    resource: PortalResource,
    landed_before: dict[str, Any] | None,
    *,
    store: BronzeStore,
    fetcher: Fetcher,
    run_id: str,
    ingest_date: str,
    force: bool,
    progress: bool,
    before_commit: Callable[[ManifestEntry], None],
    compared_with: dict[str, Any] | None = None,
) -> ManifestEntry:
    """Download (``download``) and commit one resource; the entry says landed or unchanged.

    ``landed_before`` is the state's record of the resource. ``force`` ignores it as a reason not to download
    or land, but an object already in today's folder with these bytes is never copied again.
    ``before_commit`` records the entry in the state before its object is committed. A landing under
    SHRINK_WARN_RATIO of ``compared_with``'s bytes (the state record ``shrink_baseline`` picks) is warned about and
    recorded in the entry's ``shrunk_from_bytes``; it lands all the same.
    ResourceError when the resource cannot be landed; StorageError when the lake fails.
    """
    if not force and unchanged_on_portal(resource, landed_before):
        return ManifestEntry.unchanged(resource, landed_before)
    fetcher.allow.check(resource.url)
    if listed_over_cap(resource, fetcher.max_bytes):
        raise over_cap(
            f"the portal lists {resource.portal_size:,} bytes", fetcher.max_bytes, "not downloaded"
        )
    staged = os.path.join(store.staging_dir(), f".{resource.file_name}.{uuid.uuid4().hex}.part")
    try:
        fetched, era = download(resource, fetcher, staged, progress)
        sha256, size = fetched.sha256, fetched.size
        if not force and landed_before is not None and landed_before.get("sha256") == sha256:
            log.info("%s: downloaded bytes equal the last landed ones; not landing again", resource.dataset)
            return ManifestEntry.unchanged(resource, landed_before)
        key, already_there = free_key(
            store, landing_key(resource.dataset, ingest_date, resource.file_name), sha256, run_id
        )
        if already_there and (landed_before or {}).get("key") == key:  # with --force: the state's own object
            log.info("%s: %s already holds these bytes; not landing again", resource.dataset, key)
            return ManifestEntry.unchanged(resource, landed_before)
        entry = ManifestEntry.landed(
            resource,
            key=key,
            sha256=sha256,
            size=size,
            era=era,
            shrunk_from_bytes=shrunk_from(size, compared_with),
            non_utf8_at=fetched.non_utf8_at,
        )
        if entry.shrunk_from_bytes is not None:
            warn_shrunk(resource.dataset, size, entry.shrunk_from_bytes, (compared_with or {}).get("key"))
        if entry.non_utf8_at is not None:
            warn_not_utf8(resource.dataset, entry.non_utf8_at)
        if already_there:
            log.info(
                "%s: %s already holds these bytes (landed earlier today); announced as landed, not copied",
                resource.dataset,
                key,
            )
            return entry
        before_commit(entry)
        metadata = {"sha256": sha256, "source-url": resource.url, "resource-id": resource.resource_id}
        store.commit_file(staged, key, metadata)
    finally:
        if os.path.exists(staged):
            os.remove(staged)
    log.info("%s: landed %s bytes as %s (%s)", resource.dataset, f"{size:,}", key, era)
    return entry


def free_key(store: BronzeStore, key: str, sha256: str, run_id: str) -> tuple[str, bool]:
    """Where to land: today's object of this file holding these bytes (True), else a free key (False).

    Today's objects of ``<stem>.<ext>`` are the key itself and its variants ``<stem>.<run_id>.<ext>``, so
    bytes landed today are never landed twice, even with --force; a new object never goes over any of them.
    Names are compared casefolded: on a case-insensitive disk (macOS's default) ``Foo.csv`` and ``foo.csv`` are one
    file, so a name that differs from one of today's only in case counts as taken (on every store, so that a lake on
    S3 or a case-sensitive disk gets the same keys and can be copied to such a disk).
    """
    folder, _, file_name = key.rpartition("/")
    stem = (file_name.rpartition(".")[0] or file_name).casefold()
    todays = [
        k
        for k in store.keys_in(folder)
        if k.casefold() == key.casefold() or k.rpartition("/")[2].casefold().startswith(f"{stem}.")
    ]
    for candidate in sorted(todays, key=lambda k: k != key):  # the key itself first
        if store.stored_sha256(candidate) == sha256:
            return candidate, True
    taken = {k.casefold() for k in todays}
    for candidate in (key, distinct_key(key, run_id)):
        if candidate.casefold() not in taken:
            return candidate, False
    return distinct_key(key, f"{run_id}-{uuid.uuid4().hex[:8]}"), False


# ---------------------------------------------------------------- the run


def new_state(previous: dict[str, Any] | None, entries: list[ManifestEntry], run_id: str) -> dict[str, Any]:
    """The state after a run: per resource id, what is landed and the portal facts it was landed under."""
    resources = dict((previous or {}).get("resources", {}))
    for entry in entries:
        if entry.status == "failed" or entry.key is None:
            continue
        # shrunk_from_bytes compares this landing with the one before: the run's news, not the object's
        record = {k: v for k, v in asdict(entry).items() if k not in ("status", "error", "shrunk_from_bytes")}
        record["run_id"] = (
            run_id if entry.status == "landed" else resources.get(entry.resource_id, {}).get("run_id")
        )
        resources[entry.resource_id] = record
    return {"updated_at": iso_z(utc_now()), "resources": resources}


def is_landing_record(record: Any) -> bool:
    """A state record of one landed object: an object whose 'key' (and 'sha256', when present) is text, and whose
    fields a manifest entry has are of the entry's types (``ManifestEntry``: the next run's entry of an unchanged
    resource is made of them; a 'bytes' of text was written into the manifest, then failed the run's summary)."""
    types = get_type_hints(ManifestEntry)
    return (
        isinstance(record, dict)
        and isinstance(record.get("key"), str)
        and isinstance(record.get("sha256", ""), str)
        and all(
            isinstance(value, types[name]) and not isinstance(value, bool)
            for name, value in record.items()
            if name in types
        )
    )


def is_unfinished_landing(record: Any) -> bool:
    """A record of ``run_in_progress``: a landing record with a text 'sha256' (the next run compares the object
    with it) and the fields of a manifest entry, every one it must have and no other (it becomes that entry)."""
    known = {field.name for field in fields(ManifestEntry)}
    required = {field.name for field in fields(ManifestEntry) if field.default is MISSING}
    return (
        is_landing_record(record)
        and isinstance(record.get("sha256"), str)
        and required <= set(record) <= known
    )


def read_state(store: BronzeStore) -> dict[str, Any]:
    """The state of the last run (empty on a new lake); StorageError when it cannot be read as one (``{}`` too: a
    lake that had a state and lost what it said is told, not taken for a new one)."""
    try:
        state = store.read_json(BRONZE_STATE)
        if state is None:
            state = {"resources": {}}
    except ValueError as error:
        raise StorageError(
            f"The state file {BRONZE_STATE} is not valid JSON ({error}); fix or delete it."
        ) from error
    if not isinstance(state, dict) or not isinstance(state.get("resources"), dict):
        raise StorageError(f"The state file {BRONZE_STATE} has no 'resources' object; fix or delete it.")
    if not all(is_landing_record(record) for record in state["resources"].values()):
        raise StorageError(
            f"The state file {BRONZE_STATE} has a resource record that is not an object with a text 'key' "
            "(and a text 'sha256', if any), or has a field of another type than the manifest's (docs/CONTRACTS.md); "
            "fix or delete it."
        )
    unfinished = state.get(RUN_IN_PROGRESS)
    if unfinished is not None and not (
        isinstance(unfinished, dict)
        and unfinished.get("run_id")
        and isinstance(unfinished.get("resources"), list)
        and all(is_unfinished_landing(record) for record in unfinished["resources"])
    ):
        raise StorageError(
            f"The state file {BRONZE_STATE} has a malformed '{RUN_IN_PROGRESS}' record; fix it."
        )
    return state


def announce_unfinished_run(store: BronzeStore) -> dict[str, Any]:
    """The state, once the objects of a run that stopped before the end are announced by its manifest.

    A run records each object in the state (``run_in_progress``) before committing it, and at the end writes
    its manifest, then the state without that record. A record still there means that run was interrupted,
    killed, or lost the lake before the end: its manifest is written now (unless it was written), listing as
    landed the recorded objects that are in the lake, and the state takes them in.
    """
    state = read_state(store)
    unfinished = state.get(RUN_IN_PROGRESS)
    if unfinished is None:
        return state
    run_id = unfinished["run_id"]
    committed = [
        ManifestEntry(**recorded)
        for recorded in unfinished["resources"]
        if store.stored_sha256(recorded["key"]) == recorded["sha256"]
    ]
    key = manifest_key(run_id)
    if not store.exists(key):
        store.write_json(key, manifest_document(unfinished, committed))
        log.warning(
            "run %s stopped before writing its manifest; %s now announces the %d objects it landed",
            run_id,
            key,
            len(committed),
        )
    state = new_state(state, committed, run_id)
    store.write_json(BRONZE_STATE, state)
    return state


def manifest_document(head: dict[str, Any], entries: list[ManifestEntry]) -> dict[str, Any]:
    """The run manifest of ``head`` (the run's other fields, as ``run`` makes them and the state's ``run_in_progress``
    keeps them: no format version, so a record left by a run of older code gets this code's) and ``entries``,
    finished now."""
    return {
        "format_version": MANIFEST_FORMAT_VERSION,
        **head,
        "finished_at": iso_z(utc_now()),
        "resources": [asdict(e) for e in entries],
    }


def unique_run_id(store: BronzeStore, started: datetime) -> str:
    """``20261125T172233Z``; ``..Z_002``, ``..Z_003`` when a run of that second already exists: padded, so that the
    names sort in the order the runs began (``..Z_10`` would sort before ``..Z_2``; the newest manifest is the last)."""
    base = started.strftime("%Y%m%dT%H%M%SZ")
    run_id, counter = base, 1
    while store.exists(manifest_key(run_id)):
        counter += 1
        run_id = f"{base}_{counter:03d}"
    return run_id


def run(config: IngestConfig, session: Any | None = None) -> tuple[int, dict[str, Any]]:
    """One ingest run: discover, land what changed, write manifest then state. Returns (exit code, manifest).

    StorageError when the lake cannot be used; a dry run needs only to read it (it writes nothing and takes no lock),
    and says in a WARNING when a run could not write it; RunLockHeld when another run writes it; on Ctrl-C what
    landed so far is announced before it propagates.
    """
    started = utc_now()
    lake = Lake.from_uri(config.lake)
    store = open_store(
        lake,
        kms_key_id=config.kms_key_id,
        work_dir=config.work_dir,
        session=session,
        check=not config.dry_run,
    )
    run_lock = ExitStack()
    try:
        unwritable = store.check_readable() if config.dry_run else None
        if unwritable:
            log.warning("%s A run would stop there; this dry run only reads the lake.", unwritable)
        if not config.dry_run:
            run_lock.enter_context(store.one_run_at_a_time())  # before the first write; released last
        state = read_state(store) if config.dry_run else announce_unfinished_run(store)
        http = http_session(config.retries, config.backoff)
        method, discovered = discover(http, config)
        check_years_offered(discovered, config.years)
        chosen = select_resources(discovered, config.years, config.new_system)
        if not chosen:
            log.warning("no resource matches --years/--no-new-system; nothing to do")
        if config.dry_run:
            return 0, dry_run_report(chosen, state, config.max_file_bytes)
        run_id = unique_run_id(store, started)
        manifest_head = {  # the manifest's fields other than its format version and resources
            "run_id": run_id,
            "started_at": iso_z(started),
            "finished_at": None,
            "portal": config.portal,
            "discovery": method,
            "lake": lake.root,
        }
        entries = land_selection(
            chosen, state, manifest_head, started.strftime("%Y-%m-%d"), config, store, http
        )
        manifest = manifest_document(manifest_head, entries)
        try:
            store.write_json(manifest_key(run_id), manifest)
        except StorageError as error:
            if any(e.status == "landed" for e in entries):
                raise StorageError(
                    f"{str(error).rstrip('.')}; the next run announces what this run landed."
                ) from error
            raise
        store.write_json(BRONZE_STATE, new_state(state, entries, run_id))
        table = summary_table(entries)
        report(table, "the summary", f"the run {table.splitlines()[-1]}, and wrote its manifest and state")
        return (1 if any(e.status == "failed" for e in entries) else 0), manifest
    except KeyboardInterrupt:
        if not config.dry_run:
            try:
                announce_unfinished_run(store)
            except StorageError as error:
                log.warning("could not announce what this run landed (%s); the next run will", error)
        raise
    finally:
        store.close()
        run_lock.close()  # after the clean-up: no other run writes before it is done


def land_selection(
    chosen: list[PortalResource],
    state: dict[str, Any],
    manifest_head: dict[str, Any],
    ingest_date: str,
    config: IngestConfig,
    store: BronzeStore,
    http: Any,
) -> list[ManifestEntry]:
    """Land each chosen resource in turn, one entry each; once the lake fails, the rest are not attempted."""
    fetcher = Fetcher(
        http,
        HostAllowList.for_portal(config.portal, config.allow_hosts),
        config.connect_timeout,
        config.timeout,
        config.retries,
        config.backoff,
        config.max_file_bytes,
    )
    recorded: list[dict[str, Any]] = []

    def before_commit(entry: ManifestEntry) -> None:
        """Record the entry in the state as landed by this run, before its object is committed."""
        recorded.append(asdict(entry))
        store.write_json(BRONZE_STATE, {**state, RUN_IN_PROGRESS: {**manifest_head, "resources": recorded}})

    entries: list[ManifestEntry] = []
    listed_ids = {resource.resource_id for resource in chosen}  # every listed resource of a chosen dataset
    lake_failed_on = None  # the dataset whose landing hit a StorageError
    with (
        tqdm_logging() if config.progress else nullcontext(),
        progress_bar(config.progress, desc="resources", total=len(chosen), unit="file") as overall,
    ):
        for resource in chosen:
            if lake_failed_on is not None:
                entries.append(
                    ManifestEntry.failed(
                        resource, f"not attempted: storage failed while landing {lake_failed_on}"
                    )
                )
                continue
            try:
                entry = land_resource(
                    resource,
                    state["resources"].get(resource.resource_id),
                    store=store,
                    fetcher=fetcher,
                    run_id=manifest_head["run_id"],
                    ingest_date=ingest_date,
                    force=config.force,
                    progress=config.progress,
                    before_commit=before_commit,
                    compared_with=shrink_baseline(resource, state["resources"], listed_ids),
                )
            except (ResourceError, StorageError) as error:
                entry = ManifestEntry.failed(resource, str(error))
                log.error("%s (%s): %s", resource.dataset, resource.name, error)
                if isinstance(error, StorageError):
                    lake_failed_on = resource.dataset
            entries.append(entry)
            overall.update(1)
    return entries


def dry_run_report(
    chosen: list[PortalResource], state: dict[str, Any], max_file_bytes: int
) -> dict[str, Any]:
    """Print what a real run would do, without downloading or writing anything (StdoutRefused when stdout will not
    take it, as ``report`` says).

    A resource the portal lists above --max-file-bytes is "would refuse", as a real run refuses it before
    downloading (a size the server announces only when asked is not known here).
    """
    lines, printed = [], []
    unfinished = state.get(RUN_IN_PROGRESS)
    if unfinished is not None:
        printed.append(  # a dry run takes no lock: that run may still be going
            f"run {unfinished['run_id']} has no manifest yet (it is still running, or it stopped): if it stopped, "
            "the next run announces what it landed"
        )
    for resource in chosen:
        previous = state["resources"].get(resource.resource_id)
        if unchanged_on_portal(resource, previous):
            verdict = "unchanged"
        elif listed_over_cap(resource, max_file_bytes):
            verdict = "would refuse"
        else:
            verdict = "would fetch"
        lines.append(
            {"dataset": resource.dataset, "name": resource.name, "action": verdict, "url": resource.url}
        )
        printed.append(
            f"{resource.dataset:<14} {verdict:<12} {printable(resource.name)}  {printable(safe_url(resource.url))}"
        )
    if printed:
        report("\n".join(printed), "the dry run's report", "nothing was written to the lake")
    return {"dry_run": True, "resources": lines}


# ---------------------------------------------------------------- CLI


class _Parser(command_line.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message[0].upper() + message[1:].rstrip(".") + ".")


def build_parser() -> argparse.ArgumentParser:
    """The command line; ``--help`` describes every flag."""
    parser = _Parser(
        prog="ingestao_bronze.py",
        description="Land every Boston 311 CSV of the City's open-data portal, unchanged, in the Bronze layer "
        "of the lake (a local folder or s3://bucket[/prefix]). A re-run lands only what changed.",
        epilog="Exit codes: 0 everything landed or unchanged, 1 some resources failed (the others landed) or "
        "another run is writing the lake, 2 usage or configuration error (or stdout refused the summary, the run "
        "done), 130 interrupted (Ctrl-C), 143 stopped by SIGTERM. "
        "One run writes a lake at a time; --dry-run takes no lock. Whatever landed is announced as landed in a "
        "manifest (by the next run when this one is killed). "
        "AWS credentials come from the default chain (AWS_PROFILE, environment, instance role).",
    )
    parser.add_argument(
        "--portal", default=DEFAULT_PORTAL, help="CKAN portal base URL (default: %(default)s)"
    )
    parser.add_argument(
        "--lake",
        type=lake_argument,
        help="lake root: a local folder or s3://bucket[/prefix] (default: $LAKE_ROOT or ./lake)",
    )
    parser.add_argument(
        "--years",
        help="legacy years to ingest, as years and ranges, e.g. 2019-2023,2025 (default: every year)",
    )
    parser.add_argument(
        "--no-new-system", action="store_true", help="skip the NEW SYSTEM CSV (2025-08 onwards)"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="list what would be fetched; download and write nothing"
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="ignore the state: download every selected resource and land it again under today's date "
        "(bytes already landed today are not landed twice)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars and only warnings in the log")
    parser.add_argument(
        "--discovery",
        choices=("auto", "package_show", "dataset_page"),
        default="auto",
        help="how to list resources: package_show first then the dataset page (auto), or only one of them",
    )
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="HOST",
        help="another host downloads may come from (repeatable); the portal's host and S3's are always allowed",
    )
    parser.add_argument(
        "--kms-key-id", help="S3 lake only: encrypt with SSE-KMS under this key (default SSE-S3)"
    )
    parser.add_argument(
        "--work-dir",
        help="S3 lake only: local folder to stage downloads before upload (default: system temp)",
    )
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="read timeout in seconds (default: %(default)s)"
    )
    parser.add_argument(
        "--connect-timeout",
        type=float,
        default=10.0,
        help="connect timeout in seconds (default: %(default)s)",
    )
    parser.add_argument(
        "--retries",
        type=int,
        default=5,
        help=f"retries on connection errors and HTTP {', '.join(map(str, RETRY_STATUSES))}, and resumes of a "
        "broken transfer (default: %(default)s)",
    )
    parser.add_argument(
        "--max-file-bytes",
        metavar="N",
        help="the most bytes one file may have: a download past it is stopped and deleted, a file the portal "
        "or the server announces larger is not downloaded; the resource fails, the others still land "
        f"(default: {DEFAULT_MAX_FILE_BYTES}, {DEFAULT_MAX_FILE_BYTES / 2**30:g} GiB)",
    )
    parser.add_argument(
        "--backoff",
        type=float,
        help="base of the exponential backoff in seconds; Retry-After wins when sent "
        f"(default: $BRONZE_BACKOFF or {DEFAULT_BACKOFF_SECONDS})",
    )
    return parser


def parse_config(argv: list[str] | None) -> IngestConfig:
    """Flags -> IngestConfig; UsageError with one sentence when they make no sense."""
    args = build_parser().parse_args(argv)
    portal = args.portal.rstrip("/")
    try:
        parts = urlsplit(portal)
        scheme, host = parts.scheme, parts.hostname
    except ValueError:  # http://[::1 (Invalid IPv6 URL)
        scheme = host = None
    if scheme not in ("http", "https") or not host:
        raise UsageError(f"--portal must be an http(s) URL like {DEFAULT_PORTAL}, not {args.portal!r}.")
    lake = args.lake or os.environ.get("LAKE_ROOT") or None
    if lake is not None:
        source = "--lake" if args.lake else "$LAKE_ROOT"
        # a scheme of two letters or more (C:/ is a Windows folder); s3:/bucket, one slash short, was taken for one
        scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.-]+):/(/?)", lake)
        if scheme and (scheme.group(1) != "s3" or not scheme.group(2)):
            raise UsageError(f"{source} must be a local folder or s3://bucket[/prefix], not {lake!r}.")
        bucket = Lake(lake).bucket
        if lake.startswith("s3://") and not bucket:
            raise UsageError(f"{source} {lake!r} names no bucket (expected s3://bucket[/prefix]).")
        if bucket and not botocore_takes_bucket_name(bucket):
            endpoint = "; an endpoint such as host:port goes in $AWS_ENDPOINT_URL" if ":" in bucket else ""
            raise UsageError(
                f"{source} names an invalid S3 bucket {bucket!r} (bucket names are 3-63 lower-case letters, digits, "
                f"dots and hyphens{endpoint})."
            )
    if not (0 < args.timeout <= MAX_TIMEOUT_SECONDS and 0 < args.connect_timeout <= MAX_TIMEOUT_SECONDS):
        raise UsageError(
            f"--timeout and --connect-timeout must be positive numbers of seconds, at most {MAX_TIMEOUT_SECONDS:,}."
        )
    if args.retries < 0:
        raise UsageError("--retries must not be negative.")
    backoff = backoff_seconds(args.backoff)
    if args.work_dir is not None:
        if not (lake or "").startswith("s3://"):
            raise UsageError("--work-dir stages downloads for an S3 lake; a local lake stages beside itself.")
        if os.path.exists(args.work_dir) and not os.path.isdir(args.work_dir):
            raise UsageError(f"--work-dir {args.work_dir} is a file, not a folder.")
    return IngestConfig(
        portal=portal,
        lake=lake,
        years=parse_years(args.years) if args.years is not None else None,
        new_system=not args.no_new_system,
        dry_run=args.dry_run,
        force=args.force,
        quiet=args.quiet,
        discovery=args.discovery,
        allow_hosts=tuple(args.allow_host),
        kms_key_id=args.kms_key_id,
        work_dir=args.work_dir,
        connect_timeout=args.connect_timeout,
        timeout=args.timeout,
        retries=args.retries,
        backoff=backoff,
        progress=not args.quiet and sys.stderr.isatty(),
        max_file_bytes=max_file_bytes(args.max_file_bytes),
    )


def max_file_bytes(flag: str | None) -> int:
    """--max-file-bytes as a number of bytes, the default when not given; UsageError unless a whole number above 0."""
    if flag is None:
        return DEFAULT_MAX_FILE_BYTES
    if not (flag.isascii() and flag.isdigit() and int(flag) > 0):
        raise UsageError(
            f"--max-file-bytes must be a whole number of bytes above 0, like the default {DEFAULT_MAX_FILE_BYTES}, "
            f"not {flag!r}."
        )
    return int(flag)


def backoff_seconds(flag: float | None) -> float:
    """--backoff, else $BRONZE_BACKOFF, else the default; UsageError unless it is a number of seconds >= 0."""
    if flag is not None:
        source, seconds = "--backoff", flag
    else:
        source, text = "$BRONZE_BACKOFF", os.environ.get("BRONZE_BACKOFF", "").strip()
        try:
            seconds = float(text) if text else DEFAULT_BACKOFF_SECONDS
        except ValueError:
            raise UsageError(f"$BRONZE_BACKOFF must be a number of seconds, not {text!r}.") from None
    if not 0 <= seconds < math.inf:
        raise UsageError(f"{source} must be a non-negative number of seconds, not {seconds}.")
    return seconds


def configure_logging(quiet: bool) -> None:
    """Log lines to stderr: INFO by default, WARNING with --quiet (keeps handlers a host set up).

    urllib3's loggers get a filter that removes query strings (urllib3 logs the presigned URL when it retries), so
    presigned signatures never reach a log; ours one that escapes control characters (``printable``), since the
    lines carry the portal's URLs, ids and CSV headers.
    """
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    level = logging.WARNING if quiet else logging.INFO
    for name in ("ingestao_bronze", "bronze_storage"):
        logging.getLogger(name).setLevel(level)
        add_rewrite(logging.getLogger(name), printable)
    for name in URLLIB3_LOGGERS:
        add_rewrite(logging.getLogger(name), redact_query_strings)


def main(argv: list[str] | None = None) -> int:
    """Run the Bronze ingest from the command line.

    Parameters
    ----------
    argv : list of str, optional
        The flags (default ``sys.argv[1:]``); ``--help`` lists them.

    Returns
    -------
    int
        0 when every selected resource is landed or unchanged, 1 when some failed (the others landed) or another
        run holds the lake's run lock, 2 on a usage or configuration error (one sentence on stderr), or when stdout
        would not take the summary (the run done: a full disk, a closed pipe), 130 when interrupted (Ctrl-C), 143
        when stopped by SIGTERM.
        Whatever landed is announced as landed in a manifest (docs/bronze.md, "Exit codes").
    """
    try:
        config = parse_config(argv)
    except UsageError as error:
        print(f"ingestao_bronze.py: error: {error}", file=sys.stderr)
        return 2
    except SystemExit as exit_:  # --help
        return int(exit_.code or 0)
    configure_logging(config.quiet)
    previous_handler = stop_on_sigterm()
    try:
        code, _ = run(config)
    except RunLockHeld as error:
        print(f"ingestao_bronze.py: error: {error}", file=sys.stderr)
        return 1
    except (UsageError, StorageError) as error:
        print(f"ingestao_bronze.py: error: {error}", file=sys.stderr)
        return 2
    except StdoutRefused as refused:
        stdout_to_devnull()
        print(
            f"ingestao_bronze.py: error: Could not write {refused.what} to stdout ({refused.reason}); "
            f"{refused.outcome}.",
            file=sys.stderr,
        )
        return 2
    except Terminated:
        print(
            "ingestao_bronze.py: stopped by SIGTERM; what landed is announced in a manifest, "
            "nothing half-written is left.",
            file=sys.stderr,
        )
        return 143
    except KeyboardInterrupt:
        print(
            "ingestao_bronze.py: interrupted; what landed is announced in a manifest, "
            "nothing half-written is left.",
            file=sys.stderr,
        )
        return 130
    finally:
        if previous_handler is not None:
            signal.signal(signal.SIGTERM, previous_handler)
    return code


def stop_on_sigterm() -> Any:
    """Make SIGTERM (``kill``, ``docker stop``, systemd) stop the run as Ctrl-C does: what landed is announced, the
    staging folder and the run lock are removed on the way out. Returns the handler it replaced (None off the main
    thread, where no handler can be set), for ``main`` to give back."""

    def interrupt(signum: int, frame: Any) -> None:
        raise Terminated

    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, interrupt)


if __name__ == "__main__":
    sys.exit(main())
