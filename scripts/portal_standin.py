"""An offline stand-in for data.boston.gov: the 311 dataset page, ``package_show`` and CSV downloads.

Built from the real ``package_show`` response and the real samples in ``tests/fixtures`` (stdlib
only, loopback). Downloads answer 302 to a presigned-S3-like URL on the same server
(``/s3/<bucket>/<resource id>/<file>?X-Amz-Signature=...``) that supports HTTP Range, like the
real portal. Faults can be injected per resource (:class:`Fault`) and a resource's bytes can be
rewritten in place (new last_modified / size / hash), so tests can exercise every failure mode.

Which resources are served: the NEW SYSTEM CSV and the 2022, 2015 and 2011 CSVs (the years we
have real samples for) plus the two PDFs and two Google Docs links, in the real order and with
the real ids, names (null for documents, mixed case) and file names. The yearly CSVs without a
sample (2026-2023, 2021-2016, 2014-2012) are dropped rather than served with another year's rows.

    python scripts/portal_standin.py --port 8000     # serve until Ctrl-C
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import html
import json
import logging
import re
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from command_line import ArgumentParser

log = logging.getLogger(__name__)

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
PACKAGE_SHOW_FILE = FIXTURES / "ckan_package_show_311-service-requests_2026-09-27.json"
PACKAGE_NAME = "311-service-requests"
BUCKET = "boston-open-data-standin"
# The CSV resources we hold real rows for, by their real resource id.
SAMPLES = {
    "254adca6-64ab-4c5c-9fc0-a6da622be185": "new_system_api-export_2025-08_to_2026-02.csv",
    "81a7b022-f8fc-4da5-80e4-b160058ca207": "legacy_2022_old29col_qsv-sample100.csv",
    "c9509ab4-6f6d-4b97-979a-0cf2a10c922b": "legacy_2015_reissued30col_pandas-filtered_first2000.csv",
    "94b499d9-712a-4d2a-b790-7ceec5c9c4b1": "legacy_2011_old29col_raw_first3000.csv",
}
FAKE_PDF = b"%PDF-1.4\n% stand-in document\n%%EOF\n"
HTML_INSTEAD_OF_CSV = (
    b"<!DOCTYPE html>\n<html><head><title>Analyze Boston</title></head>"
    b"<body><h1>We'll be back soon</h1><p>The portal is under maintenance.</p></body></html>\n"
)
FAULT_KINDS = (
    "status",
    "foreign_redirect",
    "drop",
    "html",
    "empty",
    "lie",
    "slow",
    "no_range",
    "endless",
    "no_length",
)
# Where an ``endless`` body stops after all, so that a client with no size cap fails its test instead of filling the
# disk (far above any cap a test sets, far below a disk).
ENDLESS_BOUND = 64 * 1024 * 1024
# How often the command line's main thread wakes while it waits for Ctrl-C (see wait_for_ctrl_c).
CTRL_C_POLL_SECONDS = 0.2


@dataclass
class Fault:
    """One injected failure, applied to the next ``times`` requests of a resource (None = every one).

    kind: ``status`` (answer ``status``, e.g. 500 or 429 with ``retry_after``, at the portal URL),
    ``drop`` (close the connection after ``at`` bytes), ``html`` (an HTML page with status 200),
    ``empty`` (status 200, no body), ``lie`` (Content-Length ``extra`` bytes larger than the body),
    ``slow`` (the body in ``chunk``-byte pieces, ``delay`` seconds apart), ``no_range`` (ignore Range),
    ``foreign_redirect`` (the portal's 302 points at ``localhost`` instead of this server's address),
    ``endless`` (status 200 without Content-Length, the file then its rows again and again until the client hangs
    up, or ``ENDLESS_BOUND`` bytes), ``no_length`` (no Content-Length and ``Connection: close``, then only the body's
    first ``at`` bytes, all of it when ``at`` is past its end: a body cut short that ends as a whole one does).
    """

    kind: str
    times: int | None = 1
    status: int = 500
    retry_after: float | None = None
    at: int = 1000
    extra: int = 1000
    delay: float = 0.5
    chunk: int = 4096

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {', '.join(FAULT_KINDS)}")


@dataclass
class StandinResource:
    """A resource as package_show lists it, plus where its current bytes are on disk."""

    raw: dict[str, Any]
    path: Path | None = None
    host: str | None = None  # a foreign host for the download link (must be refused by the client)
    faults: list[Fault] = field(default_factory=list)

    @property
    def resource_id(self) -> str:
        return self.raw["id"]

    @property
    def file_name(self) -> str:
        return self.raw["url"].rsplit("/", 1)[-1]


def ckan_timestamp() -> str:
    """CKAN's timestamp form: ``2026-09-27T12:53:42.048698`` (UTC, no zone)."""
    return datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")


def md5_of(path: Path) -> str:
    """CKAN's 32-hex ``hash`` of a file."""
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        while block := handle.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


class Portal:
    """The stand-in's state: the package, the bytes of each resource, faults and request counters."""

    def __init__(self, package: dict[str, Any], resources: list[StandinResource]) -> None:
        self.package = package
        self.resources = resources
        self.package_show_enabled = True
        self.dataset_page_enabled = True
        self.port = 0
        self.downloads: Counter[str] = Counter()  # portal download URL hits, by resource id
        self.s3_gets: Counter[str] = Counter()  # presigned URL hits, by resource id
        self.range_starts: list[tuple[str, int]] = []  # (resource id, first byte) of each Range request
        self.paths: list[str] = []  # every path requested, in order
        self._lock = threading.Lock()
        self._work_dir: str | None = None

    @classmethod
    def from_fixtures(cls, fixtures: Path = FIXTURES) -> Portal:
        """The real package_show, keeping documents and the CSVs we have samples for."""
        document = json.loads((fixtures / PACKAGE_SHOW_FILE.name).read_text(encoding="utf-8"))
        package = {k: v for k, v in document["result"].items() if k != "resources"}
        resources = []
        for raw in document["result"]["resources"]:
            if (raw.get("format") or "").upper() == "CSV":
                if raw["id"] not in SAMPLES:
                    continue
                path = fixtures / SAMPLES[raw["id"]]
                resource = StandinResource(copy.deepcopy(raw), path)
                resource.raw.update(size=path.stat().st_size, hash=md5_of(path))
            else:
                resource = StandinResource(copy.deepcopy(raw))
            resources.append(resource)
        return cls(package, resources)

    # ------------------------------------------------------------ changing what is served

    def resource(self, resource_id: str) -> StandinResource:
        """The resource with this id (KeyError if none)."""
        for resource in self.resources:
            if resource.resource_id == resource_id:
                return resource
        raise KeyError(resource_id)

    def resource_id(self, dataset: str) -> str:
        """The id of the CSV for ``new_system`` or ``legacy_<year>`` (by name, as the client does)."""
        for resource in self.resources:
            name = resource.raw.get("name") or ""
            if dataset == "new_system" and re.search(r"new system", name, re.I):
                return resource.resource_id
            if dataset.startswith("legacy_") and name.rstrip().endswith(dataset.removeprefix("legacy_")):
                return resource.resource_id
        raise KeyError(dataset)

    def add_csv(
        self, name: str, source: Path | bytes, *, file_name: str | None = None, host: str | None = None
    ) -> str:
        """Add a CSV resource (first in the list, like NEW SYSTEM); ``host`` makes its link foreign."""
        resource_id = f"standin-{hashlib.sha1(name.encode()).hexdigest()[:12]}"
        file_name = file_name or f"{re.sub(r'[^a-z0-9]+', '_', name.lower()).strip('_')}.csv"
        raw = {
            "id": resource_id,
            "package_id": self.package["id"],
            "name": name,
            "name_translated": {},
            "format": "CSV",
            "url": f"https://data.boston.gov/dataset/{self.package['id']}/resource/{resource_id}/download/{file_name}",
            "url_type": "upload",
            "last_modified": ckan_timestamp(),
            "state": "active",
        }
        resource = StandinResource(raw, None, host=host)
        self.resources.insert(0, resource)
        self._store(resource, source)
        return resource_id

    def remove(self, resource_id: str) -> None:
        """Stop listing a resource."""
        self.resources.remove(self.resource(resource_id))

    def rewrite(self, resource_id: str, source: Path | bytes, *, file_name: str | None = None) -> None:
        """Replace a resource's bytes in place: new last_modified, size and hash (optionally a new file name)."""
        resource = self.resource(resource_id)
        if file_name:
            resource.raw["url"] = resource.raw["url"].rsplit("/", 1)[0] + "/" + file_name
        self._store(resource, source)
        resource.raw["last_modified"] = ckan_timestamp()

    def inject(self, resource_id: str, fault: Fault) -> None:
        """Queue a fault for a resource's next requests."""
        with self._lock:
            self.resource(resource_id).faults.append(fault)

    def _store(self, resource: StandinResource, source: Path | bytes) -> None:
        if isinstance(source, bytes):
            if self._work_dir is None:
                self._work_dir = tempfile.mkdtemp(prefix="portal-standin-")
            path = Path(self._work_dir) / f"{resource.resource_id}-{time.monotonic_ns()}.bin"
            path.write_bytes(source)
        else:
            path = Path(source)
        resource.path = path
        resource.raw.update(size=path.stat().st_size, hash=md5_of(path))

    def take_fault(self, resource_id: str, kinds: tuple[str, ...]) -> Fault | None:
        """The first pending fault of one of ``kinds`` for a resource, consumed once."""
        with self._lock:
            resource = self.resource(resource_id)
            for fault in resource.faults:
                if fault.kind in kinds:
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            resource.faults.remove(fault)
                    return fault
        return None

    def close(self) -> None:
        """Remove the files written by ``rewrite`` / ``add_csv``."""
        if self._work_dir:
            shutil.rmtree(self._work_dir, ignore_errors=True)
            self._work_dir = None

    # ------------------------------------------------------------ what is served

    def download_url(self, base: str, resource: StandinResource) -> str:
        """The resource's link as this server publishes it (foreign host when set)."""
        if not (resource.raw.get("url") or "").startswith("https://data.boston.gov/"):
            return resource.raw["url"]  # Google Docs links stay as they are
        if resource.host:
            base = f"http://{resource.host}:{self.port}"
        # the id percent-encoded, so that a test can list an id with a "/" in it
        path = f"/dataset/{self.package['id']}/resource/{quote(resource.resource_id, safe='')}/download/{resource.file_name}"
        return base + path

    def package_show(self, base: str) -> dict[str, Any]:
        """The package_show document, with resource URLs pointing at this server."""
        resources = []
        for position, resource in enumerate(self.resources):
            raw = copy.deepcopy(resource.raw)
            raw["url"] = self.download_url(base, resource)
            if "original_url" in raw:
                raw["original_url"] = raw["url"]
            raw["position"] = position
            resources.append(raw)
        result = {**self.package, "resources": resources, "num_resources": len(resources)}
        return {"help": f"{base}/api/3/action/help_show?name=package_show", "success": True, "result": result}

    def dataset_page(self, base: str) -> str:
        """The dataset page, shaped like CKAN's: li.resource-item[data-id], a.heading, format label, download."""
        items = []
        for resource in self.resources:
            raw = resource.raw
            title = html.escape(
                raw.get("name") or (raw.get("name_translated") or {}).get("en") or "Unnamed resource"
            )
            fmt = (raw.get("format") or "").strip()
            label = fmt.lower() or "data"
            rid = resource.resource_id
            items.append(
                f"""      <li class="resource-item" data-id="{rid}" id="resource-{rid}">
        <a class="heading" href="/dataset/{PACKAGE_NAME}/resource/{rid}" title="{title}">
          {title}<span class="format-label" property="dc:format" data-format="{label}">{html.escape(fmt or "Data")}</span>
        </a>
        <p class="description"></p>
        <div class="dropdown btn-group">
          <a href="#" class="btn btn-primary dropdown-toggle" data-bs-toggle="dropdown">Explore</a>
          <ul class="dropdown-menu">
            <li><a class="dropdown-item" href="/dataset/{PACKAGE_NAME}/resource/{rid}">Preview</a></li>
            <li><a class="dropdown-item resource-url-analytics" href="{html.escape(self.download_url(base, resource))}"
                   target="_blank" rel="noreferrer">Download</a></li>
          </ul>
        </div>
      </li>"""
            )
        return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{html.escape(self.package.get("title", "311 Service Requests"))} - Analyze Boston</title></head>
<body>
  <div class="module-content">
    <h1 class="heading">{html.escape(self.package.get("title", "311 Service Requests"))}</h1>
    <section id="dataset-resources" class="resources">
      <h2>Data and Resources</h2>
      <ul class="resource-list">
{chr(10).join(items)}
      </ul>
    </section>
  </div>
</body>
</html>
"""


class StandinServer(ThreadingHTTPServer):
    """A threading HTTP server that carries the Portal."""

    daemon_threads = True
    allow_reuse_address = True
    portal: Portal


class StandinHandler(BaseHTTPRequestHandler):
    """Routes: dataset page, package_show, portal download (302), presigned S3 path (Range)."""

    protocol_version = "HTTP/1.1"
    server: StandinServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("%s %s", self.address_string(), format % args)

    @property
    def portal(self) -> Portal:
        return self.server.portal

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def do_HEAD(self) -> None:
        """HEAD is not supported on presigned S3 URLs (nor needed here)."""
        self._send(403, b"", "text/plain")

    def do_GET(self) -> None:
        """Dispatch a GET to the route it names."""
        parts = urlsplit(self.path)
        with self.portal._lock:
            self.portal.paths.append(parts.path)
        try:
            self._route(parts.path, parse_qs(parts.query))
        except (TimeoutError, BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away (or timed out): nothing to answer

    def _route(self, path: str, query: dict[str, list[str]]) -> None:
        download = re.fullmatch(r"/dataset/[^/]+/resource/([^/]+)/download/([^/]+)", path)
        presigned = re.fullmatch(rf"/s3/{BUCKET}/([^/]+)/([^/]+)", path)
        if path == "/api/3/action/package_show":
            self._package_show(query.get("id", [""])[0])
        elif path.rstrip("/") == f"/dataset/{PACKAGE_NAME}" and self.portal.dataset_page_enabled:
            self._send(200, self.portal.dataset_page(self.base).encode(), "text/html; charset=utf-8")
        elif download:
            self._download(unquote(download.group(1)))
        elif presigned:
            self._presigned(unquote(presigned.group(1)), query)
        else:
            self._send(404, b"<html><body>Not found</body></html>", "text/html")

    def _package_show(self, package: str) -> None:
        if not self.portal.package_show_enabled:
            self._send(
                500, b'{"success": false, "error": {"message": "Internal Server Error"}}', "application/json"
            )
        elif package not in (PACKAGE_NAME, self.portal.package["id"]):
            body = {"success": False, "error": {"message": "Not found", "__type": "Not Found Error"}}
            self._send(404, json.dumps(body).encode(), "application/json")
        else:
            body = json.dumps(self.portal.package_show(self.base), indent=1).encode()
            self._send(200, body, "application/json;charset=utf-8")

    def _download(self, resource_id: str) -> None:
        try:
            resource = self.portal.resource(resource_id)
        except KeyError:
            self._send(404, b"Not found", "text/plain")
            return
        with self.portal._lock:
            self.portal.downloads[resource_id] += 1
        fault = self.portal.take_fault(resource_id, ("status", "foreign_redirect"))
        if fault is not None and fault.kind == "status":
            headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
            self._send(fault.status, f"stand-in fault: HTTP {fault.status}\n".encode(), "text/plain", headers)
            return
        if resource.path is None:
            self._send(200, FAKE_PDF, "application/pdf")
            return
        signature = hashlib.sha256(f"{resource_id}{time.time_ns()}".encode()).hexdigest()
        base = f"http://localhost:{self.portal.port}" if fault is not None else self.base
        location = (
            f"{base}/s3/{BUCKET}/{quote(resource_id, safe='')}/{quote(resource.file_name)}"
            f"?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=STANDIN%2F20260927%2Fus-east-1%2Fs3%2Faws4_request"
            f"&X-Amz-Date=20260927T125342Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature={signature}"
        )
        self._send(302, b"", "text/plain", {"Location": location})

    def _presigned(self, resource_id: str, query: dict[str, list[str]]) -> None:
        if "X-Amz-Signature" not in query:
            self._send(403, b"<Error><Code>AccessDenied</Code></Error>", "application/xml")
            return
        try:
            resource = self.portal.resource(resource_id)
        except KeyError:
            resource = None
        if resource is None or resource.path is None:
            self._send(404, b"<Error><Code>NoSuchKey</Code></Error>", "application/xml")
            return
        with self.portal._lock:
            self.portal.s3_gets[resource_id] += 1
        fault = self.portal.take_fault(
            resource_id, ("drop", "html", "empty", "lie", "slow", "no_range", "endless", "no_length")
        )
        kind = None if fault is None else fault.kind
        if kind == "endless":
            self._endless(resource.path)
            return
        if kind == "html":
            self._send(200, HTML_INSTEAD_OF_CSV, "text/html; charset=utf-8")
            return
        if kind == "empty":
            self._send(200, b"", "text/csv")
            return
        size = resource.path.stat().st_size
        start, status = 0, 200
        etag = f'"{resource.raw.get("hash", "")}"'
        range_header = self.headers.get("Range")
        if_range = self.headers.get("If-Range")
        # as S3 does: a Range with an If-Range naming another version of the file gets the whole file
        if range_header and kind != "no_range" and if_range in (None, etag):
            match = re.fullmatch(r"bytes=(\d+)-", range_header.strip())
            if match:
                start, status = int(match.group(1)), 206
                with self.portal._lock:
                    self.portal.range_starts.append((resource_id, start))
                if start >= size:
                    self._send(416, b"", "application/xml", {"Content-Range": f"bytes */{size}"})
                    return
        length = size - start
        headers = {"Accept-Ranges": "bytes", "ETag": etag}
        if status == 206:
            headers["Content-Range"] = f"bytes {start}-{size - 1}/{size}"
        announced = length + (fault.extra if kind == "lie" else 0)
        self.send_response(status)
        self.send_header("Content-Type", "text/csv")
        if kind != "no_length":  # without it, the client can only read until the connection closes
            self.send_header("Content-Length", str(announced))
        for name, value in headers.items():
            self.send_header(name, value)
        if kind in ("drop", "lie", "no_length"):
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        with open(resource.path, "rb") as body:
            if kind in ("drop", "no_length"):
                body.seek(start)
                self.wfile.write(body.read(min(fault.at, length)))
            elif kind == "slow":
                body.seek(start)
                while block := body.read(fault.chunk):
                    self.wfile.write(block)
                    time.sleep(fault.delay)
            else:
                self.connection.sendfile(body, start, length)

    def _endless(self, path: Path) -> None:
        """A body without end: no Content-Length, the file, then its rows over and over until the client hangs up
        (or ``ENDLESS_BOUND`` bytes)."""
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        body = path.read_bytes()
        rows = body.partition(b"\n")[2] or body
        self.wfile.write(body)
        sent = len(body)
        while sent < ENDLESS_BOUND:
            self.wfile.write(rows)
            sent += len(rows)

    def _send(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)


@contextmanager
def serve(portal: Portal | None = None, port: int = 0, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve the stand-in on loopback in a background thread; yields the base URL (port 0 = a free port)."""
    portal = portal or Portal.from_fixtures()
    server = StandinServer((host, port), StandinHandler)
    server.portal = portal
    portal.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{portal.port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        portal.close()


def build_parser() -> argparse.ArgumentParser:
    """The command line: --port and --host."""
    parser = ArgumentParser(
        prog="portal_standin.py", description="Serve an offline stand-in of data.boston.gov's 311 dataset."
    )
    parser.add_argument(
        "--port", type=int, default=8000, help="port to listen on, 0 = any free port (default 8000)"
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, loopback only)"
    )
    return parser


def wait_for_ctrl_c() -> None:
    """Block the main thread until Ctrl-C (SIGINT) raises KeyboardInterrupt, waking every ``CTRL_C_POLL_SECONDS``.

    Not one wait without end (``threading.Event().wait()``, as before): Python's own handler only marks the signal,
    and the main thread acts on the mark when it next runs Python. A SIGINT that lands after the thread has let go
    of the interpreter lock but before it sleeps on the lock it waits for, or that another thread takes (POSIX lets
    the kernel pick any thread), woke nothing, and the stand-in served on until a second Ctrl-C; under load that
    window is wide enough to hit. Each slice ends in Python, so such a signal is acted on a slice late at most.
    """
    while True:
        time.sleep(CTRL_C_POLL_SECONDS)


def main(argv: list[str] | None = None) -> int:
    """Serve the stand-in until Ctrl-C."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be 0-65535, got {args.port}")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        with serve(port=args.port, host=args.host) as url:
            print(f"Portal stand-in at {url} (dataset page {url}/dataset/{PACKAGE_NAME}); Ctrl-C to stop.")
            print(f"Try: python scripts/ingestao_bronze.py --portal {url} --lake /tmp/lake", flush=True)
            wait_for_ctrl_c()
    except OSError as error:
        print(
            f"portal_standin.py: error: cannot listen on {args.host}:{args.port}: {error.strerror}.",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print("stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
