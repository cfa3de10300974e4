"""The JSON the lake writes for other tools holds to its schemas (docs/schemas/, linked from docs/CONTRACTS.md).

An alarm, a notebook or a second pipeline reads Bronze's run manifests, Silver's quality reports and Gold's run
summaries; a field renamed, retyped or dropped breaks it silently. So the real outputs are held to the schemas: those
of the demo run and of the samples lake the suite builds anyway (no Spark run of their own), and Bronze runs against
the portal stand-in that make every status of a manifest entry (no Spark). The docs' examples are held to them too,
and each schema to the JSON Schema draft it names. Silver's unusual reports (rejects, empty files) are checked where
their fixtures are made, in test_silver_bad_input.py.
"""

from __future__ import annotations

import ast
import copy
import inspect
import json
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

import gold_job
import ingestao_bronze
import silver_job
from bronze_helpers import SAMPLE_BY_DATASET, by_dataset, cut_short, ingest, manifests
from conftest import REPO
from lake import BRONZE_MANIFESTS, GOLD_RUNS, GOLD_TABLES, SILVER_QUALITY
from portal_standin import Fault, Portal
from schema_helpers import (
    BRONZE_MANIFEST,
    GOLD_RUN_SUMMARY,
    SCHEMAS,
    SILVER_QUALITY_REPORT,
    file_errors,
    schema,
    schema_errors,
)

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
# each document others read: its schema and where the lake keeps it (the run's own file and, but for Bronze, latest.json)
DOCUMENTS = {
    BRONZE_MANIFEST: BRONZE_MANIFESTS,
    SILVER_QUALITY_REPORT: SILVER_QUALITY,
    GOLD_RUN_SUMMARY: GOLD_RUNS,
}
# each document's format_version as its writer declares it (docs/CONTRACTS.md)
WRITTEN_VERSIONS = {
    BRONZE_MANIFEST: ingestao_bronze.MANIFEST_FORMAT_VERSION,
    SILVER_QUALITY_REPORT: silver_job.REPORT_FORMAT_VERSION,
    GOLD_RUN_SUMMARY: gold_job.RUN_SUMMARY_FORMAT_VERSION,
}
# the pages that show these documents' examples
EXAMPLE_PAGES = ["docs/CONTRACTS.md", "docs/bronze.md", "docs/silver.md", "docs/gold.md"]


def documents_in(lake: Path, name: str) -> list[Path]:
    """Every JSON file of the document ``name`` in a lake, latest.json included."""
    paths = sorted((lake / DOCUMENTS[name]).glob("*.json"))
    assert paths, f"no {name} under {lake / DOCUMENTS[name]}"
    return paths


def latest_is_the_newest_run(lake: Path, name: str) -> None:
    """latest.json holds the same text as the newest <run_id>.json (a consumer may read either)."""
    folder = lake / DOCUMENTS[name]
    runs = sorted(path for path in folder.glob("*.json") if path.name != "latest.json")
    assert (folder / "latest.json").read_text() == runs[-1].read_text()


# ------------------------------------------------------------------------------------------------ the schemas


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_each_schema_is_a_valid_draft_2020_12_schema(name: str) -> None:
    document_schema = schema(name)
    assert document_schema["$schema"] == DRAFT_2020_12
    Draft202012Validator.check_schema(document_schema)
    # new fields are welcome (docs/CONTRACTS.md): a consumer validating with the schema must not break on one
    assert document_schema["additionalProperties"] is True


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_each_writer_declares_the_format_version_its_schema_describes(name: str) -> None:
    """A writer's constant and its schema's const cannot drift apart: a breaking change raises both or the test fails.
    Not required: the documents written before the field existed hold to the schema too."""
    version = schema(name)["properties"]["format_version"]
    assert version["type"] == "integer"
    assert version["const"] == WRITTEN_VERSIONS[name]
    assert "format_version" not in schema(name)["required"]


def versions_held(document: dict[str, Any], name: str) -> None:
    """``document`` (a real one, as its writer wrote it) carries its writer's version; without the field (as written
    before it existed) it still holds to its schema; of another version, or the version as text, it does not."""
    assert document["format_version"] == WRITTEN_VERSIONS[name]
    assert schema_errors(without(document, ["format_version"]), name) == []
    for other in (WRITTEN_VERSIONS[name] + 1, str(WRITTEN_VERSIONS[name])):
        assert schema_errors({**document, "format_version": other}, name) != [], other


def test_the_schemas_folder_holds_the_documents_and_nothing_else() -> None:
    assert sorted(path.name for path in SCHEMAS.iterdir()) == sorted(
        f"{name}.schema.json" for name in DOCUMENTS
    )


def test_contracts_links_every_schema() -> None:
    contracts = (REPO / "docs" / "CONTRACTS.md").read_text()
    for name in DOCUMENTS:
        assert f"](schemas/{name}.schema.json)" in contracts, name


def json_examples() -> list[Any]:
    """Every ```json block of the pages that show the documents, as pytest params (page, line, text) named page:line."""
    found = []
    for page in EXAMPLE_PAGES:
        text = (REPO / page).read_text()
        for match in re.finditer(r"^```json\n(.*?)^```", text, re.S | re.M):
            line = text.count("\n", 0, match.start()) + 1
            found.append(pytest.param(page, line, match.group(1), id=f"{page}:{line}"))
    return found


def test_the_docs_show_an_example_of_each_document() -> None:
    shown = {document_named(json.loads(param.values[2])) for param in json_examples()}
    assert shown == set(DOCUMENTS)


def document_named(example: dict[str, Any]) -> str:
    """The document whose every required field an example carries (a block that is none of them fails the test)."""
    names = [name for name in DOCUMENTS if set(schema(name)["required"]) <= set(example)]
    assert len(names) == 1, (
        f"a ```json example that is not exactly one of {sorted(DOCUMENTS)}: {sorted(example)}"
    )
    return names[0]


@pytest.mark.parametrize(("page", "line", "text"), json_examples())
def test_every_documented_example_is_complete_json_and_holds_to_its_schema(
    page: str, line: int, text: str
) -> None:
    # a shortened example ("...", a | b) would teach a consumer a shape no run writes
    example = json.loads(text)
    assert schema_errors(example, document_named(example)) == [], f"{page}:{line}"


# ------------------------------------------------------------------------------------------------ Bronze


def test_bronze_manifests_of_every_entry_status_hold_to_the_schema(
    portal: Portal, portal_url: str, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    assert ingest(portal_url, lake) == 0  # everything landed
    portal.rewrite(portal.resource_id("legacy_2022"), cut_short("legacy_2022", 0.5))  # landed, shrunk
    new_system = portal.resource_id("new_system")
    portal.rewrite(new_system, SAMPLE_BY_DATASET["new_system"])  # changed on the portal: downloaded, and
    portal.inject(new_system, Fault("status", times=None, status=500))  # failed
    assert ingest(portal_url, lake) == 1  # the other two unchanged

    second = by_dataset(manifests(lake)[1])
    assert {dataset: entry["status"] for dataset, entry in second.items()} == {
        "legacy_2022": "landed",
        "new_system": "failed",
        "legacy_2015": "unchanged",
        "legacy_2011": "unchanged",
    }
    assert second["legacy_2022"]["shrunk_from_bytes"] is not None
    for path in documents_in(lake, BRONZE_MANIFEST):
        assert file_errors(path, BRONZE_MANIFEST) == []
        versions_held(json.loads(path.read_text()), BRONZE_MANIFEST)


def test_a_bronze_manifest_from_the_dataset_page_holds_to_the_schema(
    portal: Portal, portal_url: str, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    portal.package_show_enabled = False

    assert ingest(portal_url, lake) == 0

    [manifest] = manifests(lake)
    assert manifest["discovery"] == "dataset_page"
    assert {entry["portal_size"] for entry in manifest["resources"]} == {None}  # the page lists no metadata
    assert schema_errors(manifest, BRONZE_MANIFEST) == []


def test_the_bronze_schema_tells_apart_what_each_status_carries(portal_url: str, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    ingest(portal_url, lake)
    [manifest] = manifests(lake)
    landed = manifest["resources"][0]

    failed_with_a_key = {**landed, "status": "failed", "error": "HTTP 500"}
    landed_without_a_key = {**landed, "key": None}
    unknown_status = {**landed, "status": "skipped"}
    for entry in (failed_with_a_key, landed_without_a_key, unknown_status):
        assert schema_errors({**manifest, "resources": [entry]}, BRONZE_MANIFEST) != [], entry


# ------------------------------------------------------------------------------------------------ Silver and Gold


@pytest.mark.spark
@pytest.mark.parametrize("name", [SILVER_QUALITY_REPORT, GOLD_RUN_SUMMARY])
def test_the_samples_lake_reports_hold_to_their_schemas(gold_lake: Path, name: str) -> None:
    """The samples copied into Bronze by hand (no manifest): Silver takes each file's ingest time from its folder."""
    for path in documents_in(gold_lake, name):
        assert file_errors(path, name) == []
        versions_held(json.loads(path.read_text()), name)
    latest_is_the_newest_run(gold_lake, name)


@pytest.mark.spark
@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_the_demo_runs_documents_hold_to_their_schemas(demo_lake: tuple[Path, Any], name: str) -> None:
    """make demo: Bronze from the stand-in, Silver reading its manifest, Gold."""
    lake, _ = demo_lake
    for path in documents_in(lake, name):
        assert file_errors(path, name) == []
        versions_held(json.loads(path.read_text()), name)
    if name != BRONZE_MANIFEST:
        latest_is_the_newest_run(lake, name)
    if name == SILVER_QUALITY_REPORT:
        report = json.loads((lake / SILVER_QUALITY / "latest.json").read_text())
        assert {entry["ingested_at_from"] for entry in report["files"]} == {"manifest"}
        assert {entry["non_utf8_at"] for entry in report["files"]} == {None}  # the City's samples are UTF-8


@pytest.mark.spark
@pytest.mark.parametrize("name", [SILVER_QUALITY_REPORT, GOLD_RUN_SUMMARY])
def test_the_reports_write_their_times_as_the_manifest_does(gold_lake: Path, name: str) -> None:
    """UTC to the second with Z in every document (Silver's report wrote +00:00 before 2026-11-27, which its schema
    still takes for the reports kept from then)."""
    utc_second = Draft202012Validator(
        schema(BRONZE_MANIFEST)["$defs"]["utc_second"], format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    document = json.loads((gold_lake / DOCUMENTS[name] / "latest.json").read_text())
    for field in ("started_at", "finished_at"):
        assert utc_second.is_valid(document[field]), (field, document[field])


@pytest.mark.spark
def test_only_a_report_from_before_the_format_version_ends_its_times_in_plus_zero(gold_lake: Path) -> None:
    # kept reports written before 2026-11-27 have no format_version and times like 2026-11-25T17:40:11+00:00; a
    # report with format_version writes Z
    report = json.loads((gold_lake / SILVER_QUALITY / "latest.json").read_text())
    plus_zero = {field: report[field].replace("Z", "+00:00") for field in ("started_at", "finished_at")}
    assert schema_errors(without({**report, **plus_zero}, ["format_version"]), SILVER_QUALITY_REPORT) == []
    assert schema_errors({**report, **plus_zero}, SILVER_QUALITY_REPORT) != []


def without(document: dict[str, Any], path: list[str]) -> dict[str, Any]:
    """A deep copy of ``document`` with the field at ``path`` removed."""
    changed = copy.deepcopy(document)
    parent = changed
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    return changed


def retyped(document: dict[str, Any], path: list[str]) -> dict[str, Any]:
    """A deep copy of ``document`` with the field at ``path`` made text ("3") or, when it is text, an object."""
    changed = copy.deepcopy(document)
    parent = changed
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = {} if isinstance(parent[path[-1]], str) else str(parent[path[-1]])
    return changed


@pytest.mark.spark
@pytest.mark.parametrize(
    ("name", "field"),
    [
        (SILVER_QUALITY_REPORT, ["totals", "rows_read"]),
        (SILVER_QUALITY_REPORT, ["files", 0, "ingested_at"]),
        (SILVER_QUALITY_REPORT, ["reject_share_guard", "files_over"]),
        (SILVER_QUALITY_REPORT, ["unknown_mapping_totals", "reason"]),
        (GOLD_RUN_SUMMARY, ["tables", "geo_grid", "rows"]),
        (GOLD_RUN_SUMMARY, ["checks", "passed", 0, "silver"]),
        (GOLD_RUN_SUMMARY, ["inputs", "silver_rows"]),
    ],
)
def test_a_dropped_or_retyped_field_breaks_the_schema(gold_lake: Path, name: str, field: list) -> None:
    """The schemas bind: what a consumer reads, dropped or retyped, is caught (every top-level field too)."""
    document = json.loads((gold_lake / DOCUMENTS[name] / "latest.json").read_text())
    assert schema_errors(without(document, field), name) != []
    assert schema_errors(retyped(document, field), name) != []
    for top in schema(name)["required"]:
        assert schema_errors(without(document, [top]), name) != [], top
    assert schema_errors({**document, "a_field_added_later": 1}, name) == []


@pytest.mark.spark
def test_a_quality_report_from_before_the_months_check_still_holds(gold_lake: Path) -> None:
    # reports stay in the lake: one written before time_basis.months (2026-11-27) holds to the schema, and a months
    # field retyped does not
    report = json.loads((gold_lake / SILVER_QUALITY / "latest.json").read_text())
    assert schema_errors(without(report, ["files", 0, "time_basis", "months"]), SILVER_QUALITY_REPORT) == []
    assert schema_errors(retyped(report, ["files", 0, "time_basis", "months"]), SILVER_QUALITY_REPORT) != []


def string_results(function: Any, call: str, argument: int) -> list[str]:
    """The text constants a function's own code passes as ``argument`` to every call of ``call`` (``F.when(c, "x")``)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    return [
        node.args[argument].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and getattr(node.func, "attr", getattr(node.func, "id", None)) == call
        and len(node.args) > argument
        and isinstance(node.args[argument], ast.Constant)
    ]


def test_the_schemas_closed_lists_are_the_codes():
    """A value the code writes and the schema does not list breaks every consumer that validates; the lists are held
    to the constants and code that make them, not only to the values some fixture happens to produce."""
    report = schema(SILVER_QUALITY_REPORT)["$defs"]
    assert report["reading"]["enum"] == list(silver_job.READINGS)
    overridden = schema(SILVER_QUALITY_REPORT)["properties"]["time_basis_overrides"]["propertyNames"][
        "pattern"
    ]
    assert overridden == f"^({silver_job.OVERRIDE_NAME.pattern})(@{silver_job.OVERRIDE_MONTH.pattern})?$"
    assert set(report["era"]["enum"]) == {*silver_job.ERA_COLUMNS, "empty"}
    assert report["mapping_kind"]["enum"] == list(silver_job.UNKNOWN_VALUE_KINDS)
    reasons = string_results(silver_job.flag_rejects, "when", 1)
    assert sorted(report["rejects_by_reason"]["propertyNames"]["enum"]) == sorted(reasons)
    decided = ast.parse(textwrap.dedent(inspect.getsource(silver_job.decide_time_basis)))
    bases = {
        value.value
        for node in ast.walk(decided)
        if isinstance(node, ast.Dict)
        for key, value in zip(node.keys, node.values, strict=True)
        if isinstance(key, ast.Constant) and key.value == "basis" and isinstance(value, ast.Constant)
    }
    assert set(report["time_basis"]["properties"]["basis"]["enum"]) == bases
    month_bases = report["time_basis"]["properties"]["months"]["properties"]["read_otherwise"]
    assert set(month_bases["additionalProperties"]["properties"]["basis"]["enum"]) == bases - {
        "override",
        "era_default",
    }
    summary = schema(GOLD_RUN_SUMMARY)
    listed = {"$defs.table.enum": summary["$defs"]["table"]["enum"]}
    listed["tables.required"] = summary["properties"]["tables"]["required"]
    for where, tables in listed.items():
        assert tables == list(GOLD_TABLES), (
            f"{where} of docs/schemas/{GOLD_RUN_SUMMARY}.schema.json lists the Gold tables {tables}, the job writes "
            f"{list(GOLD_TABLES)}: make both lists the job's (docs/gold.md, 'Adding a Gold table')"
        )
    manifest = json.dumps(schema(BRONZE_MANIFEST))
    assert f'"header_era": {{"enum": {json.dumps([*ingestao_bronze.HEADER_ERAS, None])}}}' in manifest
