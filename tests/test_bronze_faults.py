"""Bronze under every fault the stand-in can inject: retried where transient, refused where bad, nothing partial."""

from __future__ import annotations

import hashlib
import logging
import os
import re
from pathlib import Path

import pytest

from bronze_helpers import SAMPLE_BY_DATASET, by_dataset, data_keys, ingest, lake_files, manifests, state
from ingestao_bronze import Fetched
from lake import BRONZE_STATE
from portal_standin import Fault, Portal


def assert_nothing_partial(lake: Path) -> None:
    """Only whole landed files, manifests and the state: no staging folder, no temp or part files."""
    files = lake_files(lake)
    landed = {e["key"] for m in manifests(lake) for e in m["resources"] if e["status"] == "landed"}
    assert set(data_keys(files)) == landed
    assert all(not Path(f).name.startswith(".") and not f.endswith((".part", ".tmp")) for f in files)
    assert not (lake / "bronze/boston311/_staging").exists()
    assert (lake / BRONZE_STATE).exists()


def assert_landed_faithfully(lake: Path, dataset: str) -> None:
    entry = by_dataset(manifests(lake)[-1])[dataset]
    assert entry["status"] == "landed"
    assert (lake / entry["key"]).read_bytes() == SAMPLE_BY_DATASET[dataset].read_bytes()


def failure_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


# ---------------------------------------------------------------- transient: retried, then landed


@pytest.mark.parametrize("status", [500, 503, 429])
def test_server_errors_then_success_are_retried(
    portal: Portal, portal_url: str, tmp_path: Path, status: int
) -> None:
    rid = portal.resource_id("legacy_2022")
    portal.inject(rid, Fault("status", times=2, status=status, retry_after=0 if status == 429 else None))

    code = ingest(portal_url, tmp_path, "--years", "2022", "--no-new-system")

    assert code == 0
    assert portal.downloads[rid] == 3
    assert_landed_faithfully(tmp_path, "legacy_2022")


def test_retry_after_is_honoured(
    portal: Portal, portal_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import urllib3.util.retry

    waits: list[float] = []
    monkeypatch.setattr(urllib3.util.retry.time, "sleep", waits.append)
    rid = portal.resource_id("legacy_2022")
    portal.inject(rid, Fault("status", times=1, status=429, retry_after=7))

    code = ingest(portal_url, tmp_path, "--years", "2022", "--no-new-system")

    assert code == 0
    assert 7 in waits  # the backoff base is 0 here, so the only wait of 7 s is the server's Retry-After


def test_connection_dropped_mid_body_resumes_with_range(
    portal: Portal, portal_url: str, tmp_path: Path
) -> None:
    rid = portal.resource_id("legacy_2011")
    portal.inject(rid, Fault("drop", at=300_000))

    code = ingest(portal_url, tmp_path, "--years", "2011", "--no-new-system")

    assert code == 0
    assert portal.range_starts == [(rid, 300_000)]
    assert portal.s3_gets[rid] == 2
    assert_landed_faithfully(tmp_path, "legacy_2011")


def test_server_ignoring_range_restarts_from_zero(portal: Portal, portal_url: str, tmp_path: Path) -> None:
    rid = portal.resource_id("legacy_2011")
    portal.inject(rid, Fault("drop", at=300_000))
    portal.inject(rid, Fault("no_range"))

    code = ingest(portal_url, tmp_path, "--years", "2011", "--no-new-system")

    assert code == 0
    assert portal.s3_gets[rid] == 2
    assert_landed_faithfully(tmp_path, "legacy_2011")


def test_a_file_re_issued_while_its_transfer_was_down_lands_whole_as_re_issued(
    portal: Portal, portal_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The resume asks for the rest of the file it began (If-Range, its ETag): a file the City re-issued meanwhile,
    of the same size, landed as the old file's first 300,000 bytes joined to the new one's rest, with exit 0."""
    import ingestao_bronze

    rid = portal.resource_id("legacy_2011")
    portal.inject(rid, Fault("drop", at=300_000))
    header, *rows = SAMPLE_BY_DATASET["legacy_2011"].read_bytes().splitlines(keepends=True)
    reissued = header + b"".join(reversed(rows))
    opened = ingestao_bronze.Fetcher.open

    def re_issued_before_the_resume(self, url: str, start: int, validator: str | None = None):
        if start:
            portal.rewrite(rid, reissued)
        return opened(self, url, start, validator)

    monkeypatch.setattr(ingestao_bronze.Fetcher, "open", re_issued_before_the_resume)

    assert ingest(portal_url, tmp_path, "--years", "2011", "--no-new-system") == 0

    entry = by_dataset(manifests(tmp_path)[-1])["legacy_2011"]
    assert (tmp_path / entry["key"]).read_bytes() == reissued
    assert entry["sha256"] == hashlib.sha256(reissued).hexdigest()
    assert (
        portal.s3_gets[rid] == 2 and portal.range_starts == []
    )  # the resume was answered with the whole file


def test_slow_body_within_the_timeout_lands(portal: Portal, portal_url: str, tmp_path: Path) -> None:
    rid = portal.resource_id("legacy_2022")
    portal.inject(rid, Fault("slow", delay=0.05, chunk=16_384))

    code = ingest(portal_url, tmp_path, "--years", "2022", "--no-new-system")

    assert code == 0
    assert_landed_faithfully(tmp_path, "legacy_2022")


# ---------------------------------------------------------------- bad: refused, reported, not landed


def run_with_bad_resource(
    portal: Portal, portal_url: str, lake: Path, dataset: str, fault: Fault, *flags: str
) -> tuple[int, dict]:
    portal.inject(portal.resource_id(dataset), fault)
    code = ingest(portal_url, lake, *flags)
    return code, by_dataset(manifests(lake)[-1])


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (Fault("html", times=None), "an HTML page was served instead of a CSV"),
        (Fault("empty", times=None), "the body is empty"),
        (
            Fault("lie", times=None, extra=5000),
            "truncated body: received 47,701 of the 52,701 bytes announced",
        ),
        (Fault("status", times=None, status=500), "HTTP 500 from 127.0.0.1 after 2 retries"),
        (Fault("drop", times=None, at=10_000), "transfer interrupted 3 times"),
        (
            Fault("foreign_redirect", times=None),
            "refused to fetch from 'localhost': host not on the allow-list",
        ),
    ],
    ids=[
        "html",
        "empty",
        "lying-content-length",
        "500-forever",
        "dropped-every-time",
        "redirect-to-foreign-host",
    ],
)
def test_bad_resource_is_refused_while_the_good_ones_land(
    portal: Portal,
    portal_url: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    fault: Fault,
    message: str,
) -> None:
    code, entries = run_with_bad_resource(portal, portal_url, tmp_path, "legacy_2022", fault)

    assert code == 1
    assert entries["legacy_2022"]["status"] == "failed"
    assert message in entries["legacy_2022"]["error"]
    assert entries["legacy_2022"]["key"] is None and entries["legacy_2022"]["sha256"] is None
    for dataset in ("new_system", "legacy_2015", "legacy_2011"):
        assert_landed_faithfully(tmp_path, dataset)
    [line] = failure_lines(caplog)
    assert line.startswith("legacy_2022 (311 SERVICE REQUESTS - 2022): ") and message in line
    assert "\n" not in line
    assert_nothing_partial(tmp_path)


CAP_ADVICE = "(if the file is real, raise the cap with --max-file-bytes)"


def listed_at_3_gib(portal: Portal, rid: str) -> None:
    portal.resource(rid).raw["size"] = 3 * 2**30


def announced_too_long(portal: Portal, rid: str) -> None:
    portal.resource(rid).raw["size"] = None  # the portal does not say; the server's Content-Length does
    portal.inject(rid, Fault("lie", times=None, extra=3_000_000))


def endless(portal: Portal, rid: str) -> None:
    portal.inject(rid, Fault("endless", times=None))


@pytest.mark.parametrize(
    ("serve_oversize", "flags", "message", "body_requests"),
    [
        (
            listed_at_3_gib,
            [],  # the default cap
            "the portal lists 3,221,225,472 bytes, more than the cap of 2,147,483,648 bytes; not downloaded ",
            0,
        ),
        (
            announced_too_long,
            ["--max-file-bytes", "2000000"],
            "the server announces 3,047,701 bytes, more than the cap of 2,000,000 bytes; not downloaded ",
            1,
        ),
        (
            endless,
            ["--max-file-bytes", "2000000"],
            # the bytes with the first chunk past the cap: the chunk's size is urllib3's to choose
            r"the body reached [\d,]+ bytes, more than the cap of 2,000,000 bytes; download stopped, nothing landed ",
            1,
        ),
    ],
    ids=["portal-size-over-the-cap", "content-length-over-the-cap", "body-without-end"],
)
def test_a_file_over_the_size_cap_is_refused_while_the_next_ones_land(
    portal: Portal,
    portal_url: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    serve_oversize,
    flags: list[str],
    message: str,
    body_requests: int,
) -> None:
    rid = portal.resource_id("legacy_2022")  # listed before 2015 and 2011
    serve_oversize(portal, rid)

    code = ingest(portal_url, tmp_path, *flags)

    entries = by_dataset(manifests(tmp_path)[-1])
    failed = entries["legacy_2022"]
    assert code == 1
    assert failed["status"] == "failed" and failed["key"] is None and failed["sha256"] is None
    assert re.match(message, failed["error"]) and failed["error"].endswith(CAP_ADVICE)
    assert portal.s3_gets[rid] == body_requests  # refused at once: neither retried nor resumed
    for dataset in ("new_system", "legacy_2015", "legacy_2011"):
        assert_landed_faithfully(tmp_path, dataset)
    [line] = failure_lines(caplog)
    assert line == f"legacy_2022 (311 SERVICE REQUESTS - 2022): {failed['error']}"
    assert rid not in state(tmp_path)["resources"]  # the next run tries it again
    assert_nothing_partial(tmp_path)


def test_stalled_body_times_out_and_is_not_landed(
    portal: Portal, portal_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    code, entries = run_with_bad_resource(
        portal,
        portal_url,
        tmp_path,
        "legacy_2022",
        Fault("slow", times=None, delay=1.0, chunk=8192),
        "--timeout",
        "0.2",
        "--retries",
        "1",
        "--years",
        "2022",
    )

    assert code == 1
    assert "timed out" in entries["legacy_2022"]["error"]
    assert_nothing_partial(tmp_path)


def test_a_failed_resource_is_fetched_again_on_the_next_run(
    portal: Portal, portal_url: str, tmp_path: Path
) -> None:
    run_with_bad_resource(portal, portal_url, tmp_path, "legacy_2022", Fault("html"))

    code = ingest(portal_url, tmp_path)

    entries = by_dataset(manifests(tmp_path)[-1])
    assert code == 0
    assert entries["legacy_2022"]["status"] == "landed"
    assert {entries[d]["status"] for d in entries if d != "legacy_2022"} == {"unchanged"}


def test_link_to_a_foreign_host_is_refused_without_a_connection(
    portal: Portal, portal_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # 'localhost' reaches this very server, so any fetch would show up in its counters.
    rid = portal.add_csv("311 SERVICE REQUESTS - 2019", SAMPLE_BY_DATASET["legacy_2022"], host="localhost")

    code = ingest(portal_url, tmp_path)

    entries = by_dataset(manifests(tmp_path)[-1])
    assert code == 1
    assert entries["legacy_2019"]["status"] == "failed"
    assert entries["legacy_2019"]["url"].startswith("http://localhost:")
    assert "refused to fetch from 'localhost'" in entries["legacy_2019"]["error"]
    assert portal.downloads[rid] == 0 and portal.s3_gets[rid] == 0
    assert not [p for p in portal.paths if rid in p]
    assert len(data_keys(lake_files(tmp_path))) == 4
    assert_nothing_partial(tmp_path)


def test_foreign_host_from_the_page_is_refused_too(portal: Portal, portal_url: str, tmp_path: Path) -> None:
    portal.package_show_enabled = False
    rid = portal.add_csv("311 SERVICE REQUESTS - 2019", SAMPLE_BY_DATASET["legacy_2022"], host="localhost")

    code = ingest(portal_url, tmp_path, "--years", "2019", "--no-new-system")

    assert code == 1
    assert manifests(tmp_path)[-1]["discovery"] == "dataset_page"
    assert portal.downloads[rid] == 0


def test_allow_host_lets_a_known_mirror_through(portal: Portal, portal_url: str, tmp_path: Path) -> None:
    portal.add_csv("311 SERVICE REQUESTS - 2019", SAMPLE_BY_DATASET["legacy_2022"], host="localhost")

    code = ingest(portal_url, tmp_path, "--years", "2019", "--no-new-system", "--allow-host", "localhost")

    assert code == 0
    assert (tmp_path / by_dataset(manifests(tmp_path)[-1])["legacy_2019"]["key"]).read_bytes() == (
        SAMPLE_BY_DATASET["legacy_2022"].read_bytes()
    )


def test_a_size_that_differs_from_the_portal_listing_is_logged_and_landed_as_served(
    portal: Portal, portal_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    portal.resource(portal.resource_id("legacy_2022")).raw["size"] = 1234

    code = ingest(portal_url, tmp_path, "--years", "2022", "--no-new-system")

    assert code == 0
    assert_landed_faithfully(tmp_path, "legacy_2022")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert (
        "legacy_2022: the portal lists 1,234 bytes but the download has 47,701 (landed as served)" in warnings
    )


def test_a_body_without_a_length_shorter_than_the_portal_lists_is_refused_and_fetched_again(
    portal: Portal, portal_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """No Content-Length and the connection closed half-way looks like a whole body: it landed, torn last row and all,
    with exit 0, and the next run called it unchanged (the state kept the portal's listing beside the short file)."""
    rid = portal.resource_id("legacy_2011")
    portal.inject(rid, Fault("no_length", at=605_858))

    code = ingest(portal_url, tmp_path)

    failed = by_dataset(manifests(tmp_path)[-1])["legacy_2011"]
    assert code == 1
    assert failed["status"] == "failed" and failed["key"] is None and failed["sha256"] is None
    assert failed["error"] == (
        "the server announced no length and sent 605,858 of the 1,211,717 bytes the portal lists: refused as "
        "possibly cut short; a re-run tries again"
    )
    [line] = failure_lines(caplog)
    assert line == f"legacy_2011 (311 SERVICE REQUESTS - 2011): {failed['error']}"
    for dataset in ("new_system", "legacy_2022", "legacy_2015"):
        assert_landed_faithfully(tmp_path, dataset)
    assert rid not in state(tmp_path)["resources"]
    assert_nothing_partial(tmp_path)

    assert ingest(portal_url, tmp_path) == 0  # the next run fetches it again, whole
    assert_landed_faithfully(tmp_path, "legacy_2011")


def test_a_body_without_a_length_longer_than_the_portal_lists_is_refused(
    portal: Portal, portal_url: str, tmp_path: Path
) -> None:
    rid = portal.resource_id("legacy_2022")
    portal.resource(rid).raw["size"] = 1234
    portal.inject(rid, Fault("no_length", at=10**9))

    assert ingest(portal_url, tmp_path, "--years", "2022", "--no-new-system") == 1

    assert by_dataset(manifests(tmp_path)[-1])["legacy_2022"]["error"] == (
        "the server announced no length and sent 47,701 bytes, more than the 1,234 the portal lists: refused as "
        "nothing shows where the body ends; a re-run tries again"
    )
    assert_nothing_partial(tmp_path)


def test_a_body_without_a_length_lands_when_it_has_the_size_the_portal_lists(
    portal: Portal, portal_url: str, tmp_path: Path
) -> None:
    portal.inject(portal.resource_id("legacy_2011"), Fault("no_length", at=10**9))

    assert ingest(portal_url, tmp_path, "--years", "2011", "--no-new-system") == 0

    assert_landed_faithfully(tmp_path, "legacy_2011")


def test_a_body_without_a_length_lands_as_served_when_the_portal_lists_no_size(
    portal: Portal, portal_url: str, tmp_path: Path
) -> None:
    """Nothing to compare it with (the dataset page lists no size either): landed as served, as before."""
    rid = portal.resource_id("legacy_2011")
    portal.resource(rid).raw["size"] = None
    portal.inject(rid, Fault("no_length", at=605_858))

    assert ingest(portal_url, tmp_path, "--years", "2011", "--no-new-system") == 0

    entry = by_dataset(manifests(tmp_path)[-1])["legacy_2011"]
    assert entry["status"] == "landed" and entry["bytes"] == 605_858
    assert (tmp_path / entry["key"]).read_bytes() == SAMPLE_BY_DATASET["legacy_2011"].read_bytes()[:605_858]


def test_a_body_without_a_length_resumed_with_a_content_range_total_lands_whole(
    portal: Portal, portal_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A break the client notices (a reset) is resumed, and the 206's Content-Range total announces the length: the
    file is checked against it, not against the portal's listing."""
    import ingestao_bronze

    rid = portal.resource_id("legacy_2011")
    portal.resource(rid).raw["size"] = 1234  # a stale listing
    portal.inject(rid, Fault("no_length", at=605_858))
    opened = ingestao_bronze.Fetcher.open

    def reset_at_the_end_of_the_first_body(self, url: str, start: int, validator: str | None = None):
        response = opened(self, url, start, validator)
        if not start:
            stream = response.raw.stream

            def broken(*args, **kwargs):
                yield from stream(*args, **kwargs)
                raise ConnectionResetError("reset by peer")

            monkeypatch.setattr(response.raw, "stream", broken)
        return response

    monkeypatch.setattr(ingestao_bronze.Fetcher, "open", reset_at_the_end_of_the_first_body)

    assert ingest(portal_url, tmp_path, "--years", "2011", "--no-new-system") == 0

    assert portal.range_starts == [(rid, 605_858)]
    assert_landed_faithfully(tmp_path, "legacy_2011")


# ---------------------------------------------------------------- resume: what a 206 must say


class FakeResponse:
    """Just what Fetcher reads of a requests response: a body that may break after its bytes."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes, broken: bool = False) -> None:
        self.status_code, self.headers, self.url, self.is_redirect = (
            status,
            headers,
            "http://p.test/f.csv",
            status in (301, 302, 303, 307, 308),
        )
        self._body, self._broken = body, broken
        self.raw = self

    def stream(self, amount: int, decode_content: bool = False):
        from urllib3.exceptions import ProtocolError

        yield self._body
        if self._broken:
            raise ProtocolError("Connection broken: reset by peer")

    def close(self) -> None:
        pass


class FakeHttp:
    """Answers each GET with the next response, recording the Range asked for."""

    def __init__(self, *responses: FakeResponse) -> None:
        self.responses, self.ranges, self.headers = list(responses), [], []

    def get(self, url: str, headers: dict[str, str], **_: object) -> FakeResponse:
        self.ranges.append(headers.get("Range"))
        self.headers.append(headers)
        return self.responses.pop(0)


class NoProgress:
    total = None

    def reset(self, total: int | None = None) -> None:
        self.total = total

    def update(self, n: int) -> None:
        pass


def fetched_with(http: FakeHttp, tmp_path: Path, backoff: float = 0, max_bytes: int = 10**6) -> Fetched:
    """What ``Fetcher.fetch`` gives for the body ``http`` serves: its sha256, size and non_utf8_at."""
    import ingestao_bronze

    fetcher = ingestao_bronze.Fetcher(
        http, ingestao_bronze.HostAllowList.for_portal("http://p.test"), 2, 5, 2, backoff, max_bytes
    )
    return fetcher.fetch("http://p.test/f.csv", str(tmp_path / "f.part"), NoProgress())


def fetch_with(http: FakeHttp, tmp_path: Path, backoff: float = 0, max_bytes: int = 10**6) -> tuple[str, int]:
    """The sha256 and size ``Fetcher.fetch`` gives for the body ``http`` serves."""
    fetched = fetched_with(http, tmp_path, backoff, max_bytes)
    return fetched.sha256, fetched.size


def broken_after_300_of_1000() -> FakeResponse:
    return FakeResponse(200, {"Content-Length": "1000", "ETag": '"v1"'}, b"a" * 300, broken=True)


def test_a_resume_that_starts_at_another_offset_is_refused(tmp_path: Path) -> None:
    import ingestao_bronze

    http = FakeHttp(
        broken_after_300_of_1000(), FakeResponse(206, {"Content-Range": "bytes 0-999/1000"}, b"a" * 1000)
    )

    with pytest.raises(ingestao_bronze.ResourceError, match="resumed at the wrong offset"):
        fetch_with(http, tmp_path)
    assert http.ranges == [None, "bytes=300-"]


def test_a_resume_that_ends_before_the_announced_total_is_refused_as_truncated(tmp_path: Path) -> None:
    import ingestao_bronze

    http = FakeHttp(
        broken_after_300_of_1000(), FakeResponse(206, {"Content-Range": "bytes 300-499/1000"}, b"b" * 200)
    )

    with pytest.raises(
        ingestao_bronze.ResourceError, match="truncated body: received 500 of the 1,000 bytes"
    ):
        fetch_with(http, tmp_path)


def test_a_resume_that_completes_the_body_gives_the_sha256_of_the_whole(tmp_path: Path) -> None:
    http = FakeHttp(
        broken_after_300_of_1000(), FakeResponse(206, {"Content-Range": "bytes 300-999/1000"}, b"b" * 700)
    )

    sha256, size = fetch_with(http, tmp_path)

    assert (sha256, size) == (hashlib.sha256(b"a" * 300 + b"b" * 700).hexdigest(), 1000)
    assert (tmp_path / "f.part").read_bytes() == b"a" * 300 + b"b" * 700


def test_a_resume_that_runs_past_the_announced_total_is_refused(tmp_path: Path) -> None:
    import ingestao_bronze

    http = FakeHttp(
        broken_after_300_of_1000(), FakeResponse(206, {"Content-Range": "bytes 300-999/1000"}, b"b" * 800)
    )

    with pytest.raises(ingestao_bronze.ResourceError, match="received 1,100 of the 1,000 bytes announced"):
        fetch_with(http, tmp_path)


def test_a_restart_from_zero_keeps_only_the_new_body(tmp_path: Path) -> None:
    # The server ignored the Range and sent the whole file again, now shorter (replaced meanwhile): none of the
    # first attempt's bytes may stay behind the new ones.
    http = FakeHttp(broken_after_300_of_1000(), FakeResponse(200, {"Content-Length": "200"}, b"b" * 200))

    sha256, size = fetch_with(http, tmp_path)

    assert (sha256, size) == (hashlib.sha256(b"b" * 200).hexdigest(), 200)
    assert (tmp_path / "f.part").read_bytes() == b"b" * 200


def test_where_a_resumed_body_stops_being_utf8_counts_from_the_files_first_byte(tmp_path: Path) -> None:
    first = FakeResponse(200, {"Content-Length": "1000", "ETag": '"v1"'}, b"a" * 299 + b"\xc3", broken=True)
    # the resume completes the character the break cut (an e-acute), then has a Latin-1 one at the file's byte 310
    rest = b"\xa9" + b"b" * 9 + b"\xe9" + b"b" * 689
    http = FakeHttp(first, FakeResponse(206, {"Content-Range": "bytes 300-999/1000", "ETag": '"v1"'}, rest))

    assert fetched_with(http, tmp_path).non_utf8_at == 310


def test_a_restart_from_zero_forgets_where_the_first_attempt_stopped_being_utf8(tmp_path: Path) -> None:
    first = FakeResponse(
        200, {"Content-Length": "1000", "ETag": '"v1"'}, b"caf\xe9" + b"a" * 296, broken=True
    )
    http = FakeHttp(first, FakeResponse(200, {"Content-Length": "200"}, "café".encode() + b"b" * 195))

    assert fetched_with(http, tmp_path).non_utf8_at is None


def test_a_resume_asks_for_the_rest_of_the_same_file(tmp_path: Path) -> None:
    http = FakeHttp(
        broken_after_300_of_1000(),
        FakeResponse(206, {"Content-Range": "bytes 300-999/1000", "ETag": '"v1"'}, b"b" * 700),
    )

    assert fetch_with(http, tmp_path)[1] == 1000
    assert [headers.get("If-Range") for headers in http.headers] == [None, '"v1"']


def test_a_resume_answered_with_another_files_bytes_is_refused(tmp_path: Path) -> None:
    import ingestao_bronze

    http = FakeHttp(  # a server that ignores If-Range: the new version's bytes from the same offset
        broken_after_300_of_1000(),
        FakeResponse(206, {"Content-Range": "bytes 300-999/1000", "ETag": '"v2"'}, b"b" * 700),
    )

    with pytest.raises(
        ingestao_bronze.ResourceError,
        match=re.escape(
            'the file changed on the server during the download ("v1", then "v2"); nothing landed'
        ),
    ):
        fetch_with(http, tmp_path)


def test_a_file_with_a_weak_etag_is_resumed_by_its_date(tmp_path: Path) -> None:
    date = "Tue, 24 Nov 2026 10:00:00 GMT"
    http = FakeHttp(
        FakeResponse(
            200, {"Content-Length": "1000", "ETag": 'W/"v1"', "Last-Modified": date}, b"a" * 300, True
        ),
        FakeResponse(206, {"Content-Range": "bytes 300-999/1000", "Last-Modified": date}, b"b" * 700),
    )

    assert fetch_with(http, tmp_path)[1] == 1000
    assert http.headers[1]["If-Range"] == date


def test_a_file_nothing_tells_apart_from_its_next_version_is_fetched_again_whole(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    http = FakeHttp(
        FakeResponse(200, {"Content-Length": "1000"}, b"a" * 300, broken=True),  # no ETag, no Last-Modified
        FakeResponse(200, {"Content-Length": "1000"}, b"b" * 1000),
    )

    sha256, size = fetch_with(http, tmp_path)

    assert http.ranges == [None, None]
    assert (sha256, size) == (hashlib.sha256(b"b" * 1000).hexdigest(), 1000)
    assert "names no ETag or Last-Modified to resume against; restarting it" in caplog.text


def test_resumes_back_off_exponentially(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ingestao_bronze

    waits: list[float] = []
    monkeypatch.setattr(ingestao_bronze.time, "sleep", waits.append)
    http = FakeHttp(
        broken_after_300_of_1000(),
        FakeResponse(206, {"Content-Range": "bytes 300-999/1000"}, b"b" * 100, broken=True),
        FakeResponse(206, {"Content-Range": "bytes 400-999/1000"}, b"c" * 600),
    )

    assert fetch_with(http, tmp_path, backoff=1.5)[1] == 1000
    assert waits == [1.5, 3.0]


def test_the_wait_before_a_resume_doubles_up_to_urllib3s_longest() -> None:
    import ingestao_bronze

    waits = [ingestao_bronze.resume_wait(1.5, n) for n in (1, 2, 3, 8, 9, 5000)]
    assert waits == [
        1.5,
        3.0,
        6.0,
        120,
        120,
        120,
    ]  # --retries 15 waited 13.6 hours on a link that always drops
    assert ingestao_bronze.resume_wait(1e300, 1) == 120  # was an OverflowError in time.sleep


def test_a_malformed_link_or_redirect_fails_its_resource_not_the_run(tmp_path: Path) -> None:
    import ingestao_bronze

    fetcher = ingestao_bronze.Fetcher(
        FakeHttp(FakeResponse(302, {"Location": "http://[::1/evil.csv"}, b"")),
        ingestao_bronze.HostAllowList.for_portal("http://p.test"),
        2,
        5,
        2,
        0,
    )
    with pytest.raises(
        ingestao_bronze.ResourceError, match=r"refused to fetch a malformed URL \(Invalid IPv6 URL\)"
    ):
        fetcher.fetch("http://[bad/x.csv", str(tmp_path / "f.part"), NoProgress())
    with pytest.raises(ingestao_bronze.ResourceError, match="malformed URL"):  # the redirect's Location
        fetcher.fetch("http://p.test/f.csv", str(tmp_path / "f.part"), NoProgress())


def test_urls_reach_the_log_without_query_string_nor_credentials() -> None:
    import ingestao_bronze

    assert (
        ingestao_bronze.safe_url("https://user:secret@p.test/f.csv?X-Amz-Signature=s#x")
        == "https://p.test/f.csv"
    )
    assert (
        ingestao_bronze.safe_url("http://[bad/x.csv?sig=1") == "http://[bad/x.csv"
    )  # malformed: told, not raised


def test_every_request_asks_for_the_bytes_as_stored(tmp_path: Path) -> None:
    # Bronze lands the bytes as served (decode_content=False): a gzip transfer encoding would land gzip.
    http = FakeHttp(
        broken_after_300_of_1000(), FakeResponse(206, {"Content-Range": "bytes 300-999/1000"}, b"b" * 700)
    )

    fetch_with(http, tmp_path)

    assert [headers.get("Accept-Encoding") for headers in http.headers] == ["identity", "identity"]


def test_a_redirect_loop_is_given_up(tmp_path: Path) -> None:
    import ingestao_bronze

    loop = [FakeResponse(302, {"Location": "http://p.test/again.csv"}, b"") for _ in range(20)]
    http = FakeHttp(*loop)

    with pytest.raises(ingestao_bronze.ResourceError, match="more than 5 redirects"):
        fetch_with(http, tmp_path)
    assert len(http.headers) == 6


class EndlessResponse(FakeResponse):
    """A 200 without Content-Length whose body never ends, counting the chunks read of it."""

    def __init__(self) -> None:
        super().__init__(200, {}, b"")
        self.chunks_read = 0

    def stream(self, amount: int, decode_content: bool = False):
        while True:
            self.chunks_read += 1
            yield b"x" * 100


def test_a_body_without_end_is_read_no_further_than_the_cap(tmp_path: Path) -> None:
    import ingestao_bronze

    endless = EndlessResponse()

    with pytest.raises(
        ingestao_bronze.ResourceError,
        match="the body reached 1,100 bytes, more than the cap of 1,000 bytes; download stopped",
    ):
        fetch_with(FakeHttp(endless), tmp_path, max_bytes=1000)
    assert endless.chunks_read == 11
    assert (tmp_path / "f.part").stat().st_size == 1000  # the chunk past the cap is never written


def test_a_file_of_exactly_the_cap_is_fetched(tmp_path: Path) -> None:
    http = FakeHttp(FakeResponse(200, {"Content-Length": "1000"}, b"a" * 1000))

    assert fetch_with(http, tmp_path, max_bytes=1000)[1] == 1000


def test_a_resume_whose_total_is_over_the_cap_is_refused_before_its_body(tmp_path: Path) -> None:
    import ingestao_bronze

    http = FakeHttp(
        # no Content-Length: the size is learnt on resuming
        FakeResponse(200, {"ETag": '"v1"'}, b"a" * 300, broken=True),
        FakeResponse(206, {"Content-Range": "bytes 300-4999/5000"}, b"b" * 4700),
    )

    with pytest.raises(
        ingestao_bronze.ResourceError,
        match="the server announces 5,000 bytes, more than the cap of 1,000 bytes; download stopped, nothing landed",
    ):
        fetch_with(http, tmp_path, max_bytes=1000)
    assert (tmp_path / "f.part").read_bytes() == b"a" * 300


def test_https_downloads_are_retried_like_http() -> None:
    import ingestao_bronze

    session = ingestao_bronze.http_session(3, 0.5)

    for url in ("http://data.boston.gov/x.csv", "https://data.boston.gov/x.csv"):
        retry = session.get_adapter(url).max_retries
        assert (retry.total, retry.backoff_factor) == (3, 0.5), url
        assert set(retry.status_forcelist) == {429, 500, 502, 503, 504}, url


def test_a_staging_file_that_cannot_be_written_is_a_storage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A full disk while the body streams in: never a staged file shorter than the sha256 that is recorded for it.
    import ingestao_bronze

    class FullDisk:
        def __init__(self, path: str, mode: str) -> None:
            self.written = 0

        def write(self, chunk: bytes) -> None:
            if self.written + len(chunk) > 500:
                raise OSError(28, "No space left on device")
            self.written += len(chunk)

        def flush(self) -> None:
            pass

        def close(self) -> None:
            pass

    monkeypatch.setattr(ingestao_bronze, "open", FullDisk, raising=False)
    http = FakeHttp(FakeResponse(200, {"Content-Length": "1000"}, b"a" * 1000))

    with pytest.raises(ingestao_bronze.StorageError, match="No space left on device"):
        fetch_with(http, tmp_path)


@pytest.mark.parametrize(
    ("fault", "flags"),
    [(Fault("html", times=None), []), (Fault("endless", times=None), ["--max-file-bytes", "2000000"])],
    ids=["html", "over-the-size-cap"],
)
def test_the_download_of_a_refused_resource_is_deleted_at_once(
    portal: Portal,
    portal_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fault: Fault,
    flags: list[str],
) -> None:
    # Not only when the run ends: a 190 MB file refused early must not hold the disk while the others download.
    import ingestao_bronze

    fetch = ingestao_bronze.Fetcher.fetch
    staged_before_each_fetch: list[list[str]] = []

    def recording_fetch(
        self: object, url: str, destination: str, progress: object, **options: object
    ) -> tuple[str, int]:
        staged_before_each_fetch.append(sorted(os.listdir(os.path.dirname(destination))))
        return fetch(self, url, destination, progress, **options)

    monkeypatch.setattr(ingestao_bronze.Fetcher, "fetch", recording_fetch)
    portal.inject(portal.resource_id("legacy_2022"), fault)

    assert ingest(portal_url, tmp_path, *flags) == 1

    assert staged_before_each_fetch == [[], [], [], []]


def test_control_characters_from_the_portal_reach_the_terminal_escaped(
    portal: Portal,
    portal_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A refused header names its unknown columns: an ANSI escape or a backspace in one is written out, not acted on."""
    legacy29 = SAMPLE_BY_DATASET["legacy_2011"].read_bytes()
    header, _, rows = legacy29.partition(b"\n")
    hostile = header.rstrip(b"\r") + b",\x1b[2J\x1b[32mok\x08\x08,x\xc2\x9b1m\r\n" + rows
    portal.add_csv("311 SERVICE REQUESTS - 2023", hostile)

    assert ingest(portal_url, tmp_path / "lake", "--years", "2023", "--no-new-system") == 1

    shown = capsys.readouterr().out + caplog.text
    assert (
        "unknown column \\x1b[2j\\x1b[32mok\\x08\\x08, x\\x9b1m" in shown
    )  # (column names are read lower-case)
    assert not {"\x1b", "\x08", "\x9b"} & set(shown)


def test_a_dry_run_shows_a_resource_name_with_control_characters_escaped(
    portal: Portal, portal_url: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    # a carriage return, which the name's pattern takes as a space: on a terminal it would rub out the line
    portal.add_csv("311 SERVICE\rREQUESTS - 2023", SAMPLE_BY_DATASET["legacy_2011"].read_bytes())

    assert ingest(portal_url, tmp_path / "lake", "--years", "2023", "--no-new-system", "--dry-run") == 0

    out = capsys.readouterr().out
    assert "311 SERVICE\\rREQUESTS - 2023" in out and "\r" not in out
