"""The JSON Schemas of the documents the lake writes for other tools to read (docs/schemas/), for the tests that hold
real outputs to them (tests/test_json_contracts.py, and the tests whose fixtures make an unusual one)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from conftest import REPO

SCHEMAS = REPO / "docs" / "schemas"
# The schema of each consumer-facing document, by the name docs/schemas/<name>.schema.json gives it
BRONZE_MANIFEST = "bronze-manifest"
SILVER_QUALITY_REPORT = "silver-quality-report"
GOLD_RUN_SUMMARY = "gold-run-summary"


def schema(name: str) -> dict[str, Any]:
    """The schema docs/schemas/<name>.schema.json."""
    return json.loads((SCHEMAS / f"{name}.schema.json").read_text())


def schema_errors(document: Any, name: str) -> list[str]:
    """Where and why ``document`` breaks the schema ``name`` (formats checked too), one line each; [] when it holds."""
    validator = Draft202012Validator(schema(name), format_checker=Draft202012Validator.FORMAT_CHECKER)
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}"
        for error in sorted(
            validator.iter_errors(document), key=lambda error: list(map(str, error.absolute_path))
        )
    ]


def file_errors(path: Path, name: str) -> list[str]:
    """``schema_errors`` of the JSON file at ``path``, each line naming the file."""
    return [f"{path.name}: {line}" for line in schema_errors(json.loads(path.read_text()), name)]
