"""No dead code: vulture (configured in pyproject.toml's [tool.vulture]) finds no function, class, method, constant,
attribute, parameter, import or unreachable branch that nothing uses in scripts/, glue/, emr/, quicksight/, bench/
and tests/. What is used where it cannot see (pytest's fixtures and marks, the standard library's hooks, stand-ins
that take what they replace) is named in tests/vulture_whitelist.py, and a name there must still need to be. No
Spark: about two seconds."""

from __future__ import annotations

import ast
import subprocess
import sys

from conftest import REPO

WHITELIST = REPO / "tests" / "vulture_whitelist.py"


def vulture(*args: str) -> subprocess.CompletedProcess[str]:
    """vulture run from the repository, so that it reads pyproject.toml (paths, confidence)."""
    return subprocess.run(
        [sys.executable, "-m", "vulture", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def whitelisted() -> set[str]:
    """The names the whitelist uses (``used.name``)."""
    tree = ast.parse(WHITELIST.read_text(encoding="utf-8"))
    return {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "used"
    }


def test_vulture_finds_nothing_unused() -> None:
    completed = vulture()
    found = completed.stdout.strip()
    assert completed.returncode == 0 and not found, (
        "vulture finds these unused: remove them (and what the docs say of them), or, when something uses them "
        f"where vulture cannot see, name them in {WHITELIST.relative_to(REPO)} with what uses them:\n"
        f"{found}\n{completed.stderr}"
    )


def test_every_whitelisted_name_is_still_reported_without_the_whitelist() -> None:
    completed = vulture("--exclude", WHITELIST.name)
    reported = {line.split("'")[1] for line in completed.stdout.splitlines() if "'" in line}
    stale = sorted(whitelisted() - reported)
    assert not stale, (
        f"{WHITELIST.relative_to(REPO)} names {stale}, which vulture no longer reports as unused without it: "
        "remove them from it, so that it hides nothing else"
    )
