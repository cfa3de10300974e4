"""The portal stand-in behaves like data.boston.gov where Bronze depends on it."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

import portal_standin
from bronze_helpers import SAMPLE_BY_DATASET
from portal_standin import Fault, Portal, serve


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def fetch(url: str, headers: dict[str, str] | None = None, method: str = "GET") -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with OPENER.open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture
def portal() -> Portal:
    return Portal.from_fixtures()


@pytest.fixture
def base(portal: Portal) -> Iterator[str]:
    with serve(portal) as url:
        yield url


def presigned_url(portal: Portal, base: str, dataset: str) -> str:
    status, headers, _ = fetch(portal.download_url(base, portal.resource(portal.resource_id(dataset))))
    assert status == 302
    return headers["Location"]


def test_package_show_keeps_the_real_shape(base: str) -> None:
    status, _, body = fetch(f"{base}/api/3/action/package_show?id=311-service-requests")

    resources = json.loads(body)["result"]["resources"]
    assert status == 200
    assert [r["name"] for r in resources] == [
        "311 Service Requests - NEW SYSTEM",
        None,
        None,
        None,
        None,
        "311 SERVICE REQUESTS - 2022",
        "311 SERVICE REQUESTS - 2015",
        "311 SERVICE REQUESTS - 2011",
    ]
    assert resources[3]["url"].startswith("https://docs.google.com/")
    assert (
        resources[0]["url"]
        == f"{base}/dataset/{resources[0]['package_id']}/resource/{resources[0]['id']}/download/tmptahr44h_.csv"
    )
    assert resources[0]["size"] == SAMPLE_BY_DATASET["new_system"].stat().st_size


def test_unknown_package_is_404(base: str) -> None:
    status, _, body = fetch(f"{base}/api/3/action/package_show?id=nope")

    assert status == 404 and json.loads(body)["success"] is False


def test_download_redirects_to_a_presigned_url_that_supports_range(portal: Portal, base: str) -> None:
    location = presigned_url(portal, base, "legacy_2022")
    sample = SAMPLE_BY_DATASET["legacy_2022"].read_bytes()

    whole = fetch(location)
    tail = fetch(location, {"Range": "bytes=40000-"})
    past_end = fetch(location, {"Range": f"bytes={len(sample)}-"})

    assert "X-Amz-Signature=" in location and "/s3/" in location
    assert whole[0] == 200 and whole[2] == sample
    assert tail[0] == 206 and tail[2] == sample[40000:]
    assert tail[1]["Content-Range"] == f"bytes 40000-{len(sample) - 1}/{len(sample)}"
    assert past_end[0] == 416


def test_presigned_path_refuses_head_and_unsigned_requests(portal: Portal, base: str) -> None:
    location = presigned_url(portal, base, "legacy_2022")

    assert fetch(location, method="HEAD")[0] == 403
    assert fetch(location.split("?", 1)[0])[0] == 403


def test_status_fault_then_success_and_rewrite(portal: Portal, base: str) -> None:
    rid = portal.resource_id("legacy_2022")
    portal.inject(rid, Fault("status", times=1, status=429, retry_after=3))
    url = portal.download_url(base, portal.resource(rid))
    before = dict(portal.resource(rid).raw)

    first, second = fetch(url), fetch(url)
    portal.rewrite(rid, b"case_enquiry_id,open_dt\n1,2\n")

    assert first[0] == 429 and first[1]["Retry-After"] == "3"
    assert second[0] == 302
    after = portal.resource(rid).raw
    assert after["size"] == 28 and after["hash"] != before["hash"]
    assert after["last_modified"] != before["last_modified"]
    assert fetch(presigned_url(portal, base, "legacy_2022"))[2] == b"case_enquiry_id,open_dt\n1,2\n"


def test_a_no_length_fault_sends_the_first_bytes_without_a_length_then_closes(
    portal: Portal, base: str
) -> None:
    rid = portal.resource_id("legacy_2022")
    portal.inject(rid, Fault("no_length", at=1000))
    portal.inject(rid, Fault("no_length", at=10**9))
    location = presigned_url(portal, base, "legacy_2022")
    sample = SAMPLE_BY_DATASET["legacy_2022"].read_bytes()

    cut, whole, as_usual = fetch(location), fetch(location), fetch(location)

    assert cut[0] == 200 and "Content-Length" not in cut[1] and cut[1]["Connection"] == "close"
    assert cut[2] == sample[:1000]  # read until the connection closed: nothing tells it from a whole body
    assert whole[0] == 200 and "Content-Length" not in whole[1] and whole[2] == sample
    assert as_usual[1]["Content-Length"] == str(len(sample))


def test_unknown_fault_kind_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        Fault("teapot")


def test_a_port_it_cannot_listen_on_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        portal_standin.main(["--port", "99999"])
    assert stopped.value.code == 2
    assert (
        capsys.readouterr().err.splitlines()[-1]
        == "portal_standin.py: error: --port must be 0-65535, got 99999"
    )
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert portal_standin.main(["--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert (
        err.startswith(f"portal_standin.py: error: cannot listen on 127.0.0.1:{port}: ")
        and "Traceback" not in err
    )
