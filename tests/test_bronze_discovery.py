"""Bronze: discovery from the real package_show JSON and the dataset page, selection, and the pure rules."""

from __future__ import annotations

import json
import logging
import string

import pytest

import ingestao_bronze as bronze
import silver_job
from bronze_helpers import FIXTURES, SAMPLE_BY_DATASET
from portal_standin import Portal, StandinResource

PACKAGE_SHOW = json.loads((FIXTURES / "ckan_package_show_311-service-requests_2026-09-27.json").read_text())
YEARS = list(range(2026, 2010, -1))


def test_package_show_selects_new_system_and_every_year_and_ignores_documents() -> None:
    resources = bronze.parse_package_show(PACKAGE_SHOW)

    assert [r.dataset for r in resources] == ["new_system"] + [f"legacy_{year}" for year in YEARS]
    assert all(r.url.endswith(".csv") for r in resources)
    new_system = resources[0]
    assert new_system.resource_id == "254adca6-64ab-4c5c-9fc0-a6da622be185"
    assert new_system.name == "311 Service Requests - NEW SYSTEM"
    assert new_system.fingerprint == (
        "2026-09-27T12:53:42.048698",
        488098,
        "cf344c9d30ef25448eb5daa0d2bd2ab7",
    )
    assert new_system.file_name == "tmptahr44h_.csv"


def test_package_show_reads_mixed_case_names_and_keeps_ids() -> None:
    by_dataset = {r.dataset: r for r in bronze.parse_package_show(PACKAGE_SHOW)}

    assert by_dataset["legacy_2025"].name == "311 Service Requests - 2025"
    assert by_dataset["legacy_2022"].name == "311 SERVICE REQUESTS - 2022"
    assert by_dataset["legacy_2022"].resource_id == "81a7b022-f8fc-4da5-80e4-b160058ca207"
    # The 2026 file is named tmpXXXX.csv: the dataset comes from the name, never the file name.
    assert by_dataset["legacy_2026"].file_name == "tmpye11svam.csv"


def test_null_names_fall_back_to_the_translated_title_and_are_not_csv() -> None:
    documents = [r for r in PACKAGE_SHOW["result"]["resources"] if r["name"] is None]

    assert len(documents) == 4
    assert bronze.resource_name(documents[0]) == "311 Service Requests Data Dictionary - NEW SYSTEM"
    assert all(bronze.dataset_for(bronze.resource_name(r)) is None for r in documents)


@pytest.mark.parametrize(
    ("name", "dataset"),
    [
        ("311 Service Requests - NEW SYSTEM", "new_system"),
        ("311 service requests - new system", "new_system"),
        ("311 SERVICE REQUESTS - 2022", "legacy_2022"),
        ("311 Service Requests - 2025 ", "legacy_2025"),
        ("311 Service Requests Data Dictionary - NEW SYSTEM", None),
        ("CRM Value Codex", None),
        ("311 Service Requests Data Transition Guide", None),
        ("311 Service Requests - 2022 Archive", None),  # the whole name, not a prefix of it
        ("Old 311 Service Requests - 2022", None),
        ("", None),
    ],
)
def test_dataset_comes_from_the_resource_name(name: str, dataset: str | None) -> None:
    assert bronze.dataset_for(name) == dataset


def test_package_show_without_success_is_rejected() -> None:
    with pytest.raises(ValueError):
        bronze.parse_package_show({"success": False, "error": {"message": "Not found"}})


def one_resource(**fields: object) -> dict:
    """A package_show document listing one 311 CSV resource, with ``fields`` over its real-looking ones."""
    resource = {"id": "r1", "name": "311 SERVICE REQUESTS - 2022", "format": "CSV", "url": "https://x/f.csv"}
    return {"success": True, "result": {"resources": [resource | fields]}}


@pytest.mark.parametrize(
    "document",
    [
        None,
        [],
        "x",
        {"success": True, "result": {"resources": {"id": "r1"}}},
        {"success": True, "result": {"resources": ["r1"]}},
        one_resource(name=123),
        one_resource(format=5),
        one_resource(name=None, name_translated="x"),
        one_resource(url=123),
        one_resource(size=1e999),
        one_resource(size="big"),
        {
            "success": True,
            "result": {"resources": [{"name": "311 SERVICE REQUESTS - 2022", "url": "https://x/f.csv"}]},
        },
    ],
    ids=lambda document: json.dumps(document)[:60],
)
def test_a_package_show_of_another_shape_is_a_value_error_discovery_falls_back_on(document: object) -> None:
    with pytest.raises(ValueError, match="package_show answered a document of another shape than CKAN's"):
        bronze.parse_package_show(document)


def test_dataset_page_built_from_the_real_package_lists_the_same_resources() -> None:
    portal = Portal.from_fixtures()
    base = "http://127.0.0.1:9"
    page = portal.dataset_page(base)

    from_page = bronze.parse_dataset_page(page, base + "/dataset/311-service-requests")
    from_api = bronze.parse_package_show(portal.package_show(base))

    assert [(r.resource_id, r.name, r.dataset, r.url) for r in from_page] == [
        (r.resource_id, r.name, r.dataset, r.url) for r in from_api
    ]
    assert [r.dataset for r in from_page] == ["new_system", "legacy_2022", "legacy_2015", "legacy_2011"]
    assert all(r.fingerprint == (None, None, None) for r in from_page)  # the page carries no metadata


def test_dataset_page_heading_without_title_uses_text_without_the_format_label() -> None:
    page = """<ul><li class="resource-item" data-id="abc">
      <a class="heading" href="/x">311 Service Requests - 2019<span class="format-label" data-format="csv">CSV</span></a>
      <a class="resource-url-analytics" href="/dataset/p/resource/abc/download/f.csv">Download</a></li>
      <li class="resource-item" data-id="pdf">
      <a class="heading" href="/y" title="311 Service Requests - 2018">x<span class="format-label" data-format="pdf">PDF</span></a>
      <a class="resource-url-analytics" href="/dataset/p/resource/pdf/download/f.pdf">Download</a></li></ul>"""

    resources = bronze.parse_dataset_page(page, "https://data.boston.gov/dataset/311-service-requests")

    assert [(r.resource_id, r.name, r.dataset, r.url) for r in resources] == [
        (
            "abc",
            "311 Service Requests - 2019",
            "legacy_2019",
            "https://data.boston.gov/dataset/p/resource/abc/download/f.csv",
        )
    ]


def test_select_by_years_and_new_system() -> None:
    resources = bronze.parse_package_show(PACKAGE_SHOW)

    chosen = bronze.select_resources(resources, bronze.parse_years("2019-2021,2025"), new_system=False)
    everything = bronze.select_resources(resources, None, new_system=True)

    assert [r.dataset for r in chosen] == ["legacy_2025", "legacy_2021", "legacy_2020", "legacy_2019"]
    assert len(everything) == 17
    assert bronze.years_not_offered(resources, bronze.parse_years("2009-2012,2025")) == [2009, 2010]
    assert bronze.years_not_offered(resources, None) == []


@pytest.mark.parametrize("spec", ["20x", "2023-2019", "2019-", "", "2019,,2020", "19-20"])
def test_bad_years_are_a_usage_error(spec: str) -> None:
    with pytest.raises(bronze.UsageError):
        bronze.parse_years(spec)


@pytest.mark.parametrize(
    ("dataset", "era"),
    [
        ("new_system", "new_system"),
        ("legacy_2022", "legacy29"),
        ("legacy_2015", "legacy30"),
        ("legacy_2011", "legacy29"),
    ],
)
def test_header_era_of_each_real_sample(dataset: str, era: str) -> None:
    assert bronze.header_era(SAMPLE_BY_DATASET[dataset].read_bytes()[:65536]) == era


def test_header_era_handles_a_bom_and_the_full_new_system_header() -> None:
    header = ",".join(sorted(bronze.NEW_SYSTEM_COLUMNS)).encode()

    assert bronze.header_era(b"\xef\xbb\xbf" + header + b"\r\n") == "new_system"


def test_bronze_lands_exactly_the_headers_silver_reads() -> None:
    # A file Bronze lands and Silver refuses stops every later Silver run, so the two must agree.
    legacy29 = bronze.LEGACY29_HEADER.split(",")
    new_system = sorted(bronze.NEW_SYSTEM_COLUMNS - bronze.NEW_SYSTEM_OPTIONAL)
    headers = [
        legacy29,
        bronze.LEGACY30_HEADER.split(","),
        sorted(bronze.NEW_SYSTEM_COLUMNS),
        new_system,
        [name.upper() for name in reversed(legacy29)],
        ["case_enquiry_id", "open_dt"],  # a case id and an open date are not enough
        ["case_enquiry_id", "open_dt", "extra"],
        [*legacy29, "extra"],
        [*new_system, "case_id"],  # a column twice
        [*sorted(bronze.NEW_SYSTEM_COLUMNS), "extra"],  # NEW SYSTEM plus a column Silver does not know
    ]
    for known, optional in bronze.HEADER_ERAS.values():  # every era whole, bare, one short and one over
        required = sorted(known - optional)
        headers += [sorted(known), required, required[1:], [*required, "case_origin"]]
        headers += [sorted(known - {name}) for name in optional]
    # the same facts on both sides, so a column added to one stage alone fails here
    assert {era: (set(known), set(optional)) for era, (known, optional) in bronze.HEADER_ERAS.items()} == {
        era: silver_job.era_header(era) for era in silver_job.ERA_COLUMNS
    }
    for header in headers:
        try:
            landed = bronze.header_era((",".join(header) + "\n").encode())
        except bronze.ResourceError:
            landed = None
        assert landed == silver_job.recognise_era(header), header


def test_the_example_unknown_column_is_in_no_era() -> None:
    # The refusal tests (the next one, and test_headers_overrides_and_paths_are_recognised in test_silver_rules.py)
    # and docs/silver.md's "A new column or header" take case_origin as the column no era has: once an era has it,
    # those tests fail with "DID NOT RAISE", so this one says why.
    eras = {era for era, (known, _) in bronze.HEADER_ERAS.items() if "case_origin" in known}
    eras |= {era for era in silver_job.ERA_COLUMNS if "case_origin" in silver_job.era_header(era)[0]}
    assert not eras, (
        f"case_origin is now a column of {', '.join(sorted(eras))}, and the refusal tests use it as a column no era "
        "has: give them another (tests/test_bronze_discovery.py, tests/test_silver_rules.py)"
    )


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (f"{bronze.LEGACY29_HEADER},case_origin", "(nearest legacy29: unknown column case_origin)"),
        (bronze.LEGACY29_HEADER.replace(",ward,", ","), "(nearest legacy29: missing ward)"),
        (
            bronze.LEGACY30_HEADER.replace("geom_4326", "the_geom"),
            "(nearest legacy30: unknown column the_geom; missing geom_4326)",
        ),
        ("id,name", "(starts 'id,name')"),
        (  # a third of a known header: too far from it to list what differs
            ",".join(bronze.LEGACY29_HEADER.split(",")[:10]),
            f"(starts {bronze.LEGACY29_HEADER[:60]!r})",
        ),
    ],
)
def test_a_header_near_a_known_era_is_refused_naming_the_columns_apart(header: str, message: str) -> None:
    with pytest.raises(bronze.ResourceError) as refused:
        bronze.header_era(f"{header}\n1,2\n".encode())
    assert str(refused.value) == f"the first record is not a known 311 header {message}"


@pytest.mark.parametrize(
    ("head", "reason"),
    [
        (b"", "empty"),
        (b"  \n", "empty"),
        (b"<!DOCTYPE html><html><body>Maintenance</body></html>", "HTML"),
        (b"\n<html>", "HTML"),
        (b"Service notice\n<html><body>Down for maintenance</body></html>", "HTML"),
        (b"id,name\n1,x\n", "not a known 311 header"),
        (b"case_enquiry_id,closed_dt\n1,2\n", "not a known 311 header"),
    ],
)
def test_header_era_refuses_what_is_not_a_311_csv(head: bytes, reason: str) -> None:
    with pytest.raises(bronze.ResourceError, match=reason):
        bronze.header_era(head)


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://data.boston.gov/dataset/x/download/f.csv", True),
        ("https://s3.amazonaws.com/bucket/f.csv?X-Amz-Signature=1", True),
        ("https://s3.amazonaws.com:443/bucket/f.csv", True),
        ("https://bucket.s3.amazonaws.com/f.csv", True),
        ("https://s3.us-east-1.amazonaws.com/bucket/f.csv", True),
        ("https://my.bucket.s3.us-east-1.amazonaws.com/f.csv", True),
        ("https://s3-us-west-2.amazonaws.com/bucket/f.csv", True),
        ("https://mirror.example.org/f.csv", False),
        ("https://s3.amazonaws.com.evil.example/f.csv", False),
        ("https://evil-s3.amazonaws.com.example/f.csv", False),
        ("https://ec2.amazonaws.com/f.csv", False),
        ("ftp://data.boston.gov/f.csv", False),
        ("file:///etc/passwd", False),
    ],
)
def test_host_allow_list(url: str, allowed: bool) -> None:
    allow = bronze.HostAllowList.for_portal("https://data.boston.gov")

    assert allow.allows(url) is allowed


def test_allow_host_flag_extends_the_list() -> None:
    allow = bronze.HostAllowList.for_portal("https://data.boston.gov", ["Mirror.Example.org"])

    assert allow.allows("https://mirror.example.org/f.csv")


def test_a_second_different_ingest_on_one_day_gets_a_distinct_key() -> None:
    key = bronze.landing_key("legacy_2024", "2026-11-25", "lagan_311_open_data_2024_rvsd3.csv")

    assert (
        key
        == "bronze/boston311/dataset=legacy_2024/ingest_date=2026-11-25/lagan_311_open_data_2024_rvsd3.csv"
    )
    assert bronze.distinct_key(key, "20261125T172233Z") == (
        "bronze/boston311/dataset=legacy_2024/ingest_date=2026-11-25/lagan_311_open_data_2024_rvsd3.20261125T172233Z.csv"
    )
    # a portal file name without an extension takes the run id as one
    assert bronze.distinct_key("bronze/boston311/dataset=new_system/ingest_date=2026-11-25/export", "r1") == (
        "bronze/boston311/dataset=new_system/ingest_date=2026-11-25/export.r1"
    )


class KeysOnly:
    """A case-sensitive store (as S3 is) holding today's objects: key -> sha256."""

    def __init__(self, objects: dict[str, str]) -> None:
        self.objects = objects

    def keys_in(self, folder: str) -> list[str]:
        return sorted(k for k in self.objects if k.rpartition("/")[0] == folder)

    def stored_sha256(self, key: str) -> str | None:
        return self.objects.get(key)


@pytest.mark.parametrize(
    ("today", "landed_as"),
    [
        ({}, "Lagan_2024.csv"),  # nothing today: the name as the portal gives it
        ({"lagan_2024_b.csv": "b"}, "Lagan_2024.csv"),  # another file, not a twin: the name is kept
        ({"Lagan_2024.csv": "b"}, "Lagan_2024.R1.csv"),  # the same name, other bytes
        ({"LAGAN_2024.csv": "b"}, "Lagan_2024.R1.csv"),  # one file on a case-insensitive disk
        ({"lagan_2024.csv": "b", "lagan_2024.r1.csv": "c"}, None),  # both taken: a random suffix
    ],
)
def test_a_name_that_differs_from_one_of_todays_only_in_case_is_taken_on_every_store(
    today: dict[str, str], landed_as: str | None
) -> None:
    folder = "bronze/boston311/dataset=legacy_2024/ingest_date=2026-11-25"
    store = KeysOnly({f"{folder}/{name}": sha256 for name, sha256 in today.items()})

    key, already_there = bronze.free_key(store, f"{folder}/Lagan_2024.csv", "a", "R1")

    assert not already_there
    if landed_as is None:
        assert key.casefold() not in {k.casefold() for k in store.objects}
        assert key.startswith(f"{folder}/Lagan_2024.R1-")
    else:
        assert key == f"{folder}/{landed_as}"


def test_bytes_landed_today_under_a_name_that_differs_only_in_case_are_not_landed_again() -> None:
    folder = "bronze/boston311/dataset=legacy_2024/ingest_date=2026-11-25"
    store = KeysOnly({f"{folder}/LAGAN_2024.csv": "b", f"{folder}/lagan_2024.R0.csv": "a"})

    assert bronze.free_key(store, f"{folder}/Lagan_2024.csv", "a", "R1") == (
        f"{folder}/lagan_2024.R0.csv",
        True,
    )


def test_unchanged_on_portal_needs_known_and_equal_metadata() -> None:
    resource = bronze.PortalResource("id", "311 SERVICE REQUESTS - 2022", "legacy_2022", "u", None, 10, "h")
    landed = {"portal_last_modified": None, "portal_size": 10, "portal_hash": "h"}
    page_only = bronze.PortalResource("id", "311 SERVICE REQUESTS - 2022", "legacy_2022", "u")

    assert bronze.unchanged_on_portal(resource, landed)
    assert not bronze.unchanged_on_portal(resource, {**landed, "portal_size": 11})
    assert not bronze.unchanged_on_portal(resource, None)
    assert not bronze.unchanged_on_portal(
        page_only, {"portal_last_modified": None, "portal_size": None, "portal_hash": None}
    )


def test_dataset_page_with_all_21_real_resources_selects_the_same_17_csvs_as_package_show() -> None:
    result = PACKAGE_SHOW["result"]
    package = {k: v for k, v in result.items() if k != "resources"}
    portal = Portal(package, [StandinResource(raw) for raw in result["resources"]])
    base = "http://127.0.0.1:9"

    from_page = bronze.parse_dataset_page(portal.dataset_page(base), base + "/dataset/311-service-requests")

    assert [(r.resource_id, r.name, r.dataset) for r in from_page] == [
        (r.resource_id, r.name, r.dataset) for r in bronze.parse_package_show(PACKAGE_SHOW)
    ]
    assert {r.name for r in from_page} >= {"311 Service Requests - 2025", "311 SERVICE REQUESTS - 2011"}


def test_a_csv_with_another_name_is_ignored_with_a_warning_by_both_discovery_methods(
    caplog: pytest.LogCaptureFixture,
) -> None:
    portal = Portal.from_fixtures()
    portal.add_csv("311 Service Requests - Archive", SAMPLE_BY_DATASET["legacy_2022"])
    base = "http://127.0.0.1:9"

    with caplog.at_level(logging.WARNING, logger="ingestao_bronze"):
        from_api = bronze.parse_package_show(portal.package_show(base))
        from_page = bronze.parse_dataset_page(
            portal.dataset_page(base), base + "/dataset/311-service-requests"
        )

    assert (
        [r.dataset for r in from_api]
        == [r.dataset for r in from_page]
        == [
            "new_system",
            "legacy_2022",
            "legacy_2015",
            "legacy_2011",
        ]
    )
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert all(
        "its name '311 Service Requests - Archive' is not a 311 year or NEW SYSTEM" in w for w in warnings
    )


def test_network_errors_are_described_without_query_strings() -> None:
    import requests

    error = requests.ConnectionError("Max retries exceeded with url: /f.csv?X-Amz-Signature=SECRET (refused)")

    assert bronze.short_reason(error) == "Max retries exceeded with url: /f.csv?<redacted> (refused)"


def test_only_a_host_never_reached_skips_the_dataset_page() -> None:
    import requests
    from urllib3.exceptions import MaxRetryError, NameResolutionError, NewConnectionError, ProtocolError

    refused = MaxRetryError(
        None, "/api/3/action/package_show", NewConnectionError(None, "Connection refused")
    )
    no_dns = MaxRetryError(None, "/api", NameResolutionError("data.boston.gov", None, OSError("no name")))
    dropped = ProtocolError("Connection aborted.", ConnectionResetError())  # reached the host, which hung up
    assert bronze.host_unreachable(requests.ConnectionError(refused))
    assert bronze.host_unreachable(requests.ConnectionError(no_dns))
    assert bronze.host_unreachable(requests.ConnectTimeout())
    assert not bronze.host_unreachable(requests.ConnectionError(dropped))
    assert not bronze.host_unreachable(requests.exceptions.SSLError(refused))
    assert not bronze.host_unreachable(requests.HTTPError("500"))


@pytest.mark.parametrize(
    ("format_label", "url", "csv"),
    [
        ("CSV", "https://data.boston.gov/datastore/dump/abc", True),  # the label wins over the URL
        (" csv ", "https://data.boston.gov/dataset/x/download/f", True),
        ("PDF", "https://data.boston.gov/dataset/x/download/f.csv", False),
        (None, "https://data.boston.gov/dataset/x/download/F.CSV", True),
        ("", "https://data.boston.gov/dataset/x/download/f.pdf", False),
    ],
)
def test_a_csv_is_known_by_its_format_label_else_by_its_url(format_label, url: str, csv: bool) -> None:
    assert bronze.is_csv(format_label, url) is csv


def test_a_csv_resource_without_a_url_is_not_selected() -> None:
    document = {
        "success": True,
        "result": {
            "resources": [
                {"id": "no-url", "name": "311 SERVICE REQUESTS - 2022", "format": "CSV", "url": ""},
                {"id": "null-url", "name": "311 SERVICE REQUESTS - 2021", "format": "CSV", "url": None},
            ]
        },
    }

    assert bronze.parse_package_show(document) == []


def test_listed_names_at_most_five_then_the_count() -> None:
    assert bronze.listed(["a", "b", "c", "d", "e"]) == "a, b, c, d, e"
    assert bronze.listed(["a", "b", "c", "d", "e", "f"]) == "a, b, c, d, e, … (6 in all)"


@pytest.mark.parametrize(
    ("url", "resource_id"),
    [
        ("https://data.boston.gov/download/..%2F..%2Fx.csv", "r1"),
        ("https://data.boston.gov/download/a%2Fb.csv", "r1"),
        ("https://data.boston.gov/download/%2e%2e%2f", "r1"),
        ("https://data.boston.gov/download/%2Fetc%2Fpasswd", "r1"),
        ("https://data.boston.gov/download/x%00y%0A%1B[2J.csv", "r1"),
        ("https://data.boston.gov/download/_hidden.csv", "r1"),
        ("https://data.boston.gov/download/" + "n" * 1000 + ".csv", "r1"),
        (
            "https://data.boston.gov/download/",
            "/../../../../etc/cron.d/x",
        ),  # no file name: the id's, made safe
        ("https://data.boston.gov/download/..", "../.." + "i" * 1000),
    ],
)
def test_a_file_name_from_the_portal_is_one_safe_part_of_a_key(url: str, resource_id: str) -> None:
    name = bronze.PortalResource(resource_id, "311 SERVICE REQUESTS - 2023", "legacy_2023", url).file_name

    assert name and set(name) <= set(string.ascii_letters + string.digits + "._-")
    assert name[0] not in "._"  # never "..", never hidden from Hadoop
    assert len(name) <= bronze.MAX_FILE_NAME
    assert not name.startswith("n") or name.endswith(".csv")  # a long name keeps its extension


def test_two_long_names_with_one_start_keep_distinct_file_names() -> None:
    start = "https://data.boston.gov/download/" + "n" * 400
    first, second = (
        bronze.PortalResource("r1", "n", "legacy_2023", f"{start}{end}.csv").file_name for end in ("a", "b")
    )

    assert first != second and first.endswith(".csv") and second.endswith(".csv")


def landed_record(dataset: str, size: int, ingested_at: str) -> dict:
    """A resource's record in Bronze's state, as far as the shrink warning reads it."""
    return {
        "dataset": dataset,
        "bytes": size,
        "ingested_at": ingested_at,
        "key": f"{dataset}/{ingested_at}.csv",
    }


def test_a_shrink_is_a_landing_under_90_percent_of_the_bytes_before() -> None:
    before = landed_record("legacy_2022", 1000, "2026-11-20T06:00:00Z")

    assert bronze.shrunk_from(899, before) == 1000
    assert bronze.shrunk_from(900, before) is None  # 90 % exactly is no shrink
    assert bronze.shrunk_from(10, None) is None  # a first landing
    # a record from before the state kept bytes
    assert bronze.shrunk_from(10, {"dataset": "legacy_2022"}) is None


def test_a_new_resource_is_compared_with_the_newest_withdrawn_file_of_its_own_dataset() -> None:
    new = bronze.PortalResource("new", "311 SERVICE REQUESTS - 2022", "legacy_2022", "https://x/new_2022.csv")
    landed = {
        "older": landed_record("legacy_2022", 100, "2026-11-01T06:00:00Z"),
        "newest": landed_record("legacy_2022", 200, "2026-11-20T06:00:00Z"),
        "other_year": landed_record("legacy_2023", 300, "2026-11-25T06:00:00Z"),
        "twin": landed_record("legacy_2022", 400, "2026-11-26T06:00:00Z"),  # still listed: another file
    }

    assert bronze.shrink_baseline(new, landed, {"new", "twin"}) == landed["newest"]
    assert bronze.shrink_baseline(new, {"other_year": landed["other_year"]}, {"new"}) is None


def test_a_name_of_the_longest_length_is_kept_and_one_longer_is_shortened() -> None:
    longest = "n" * (bronze.MAX_FILE_NAME - 4) + ".csv"

    assert bronze.key_file_name(longest) == longest
    shortened = bronze.key_file_name("n" + longest)
    assert len(shortened) == bronze.MAX_FILE_NAME and shortened != longest and shortened.endswith(".csv")


def test_without_a_file_name_the_key_is_named_after_the_resource_id() -> None:
    resource = bronze.PortalResource(
        "7f3c9a10-0000-4000-8000-000000000001",
        "311 SERVICE REQUESTS - 2023",
        "legacy_2023",
        "https://x/download/",
    )

    assert resource.file_name == "7f3c9a10-0000-4000-8000-000000000001.csv"
