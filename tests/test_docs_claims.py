"""Claims in README.md and docs/*.md that the repository can check, held to it: a number that drifts from the code
is found here, not by a reader who acted on it.

- **Test counts.** A count of tests written beside the pytest command that runs them (``pytest … tests/test_x.py`` then
  ``76 tests`` or ``~250 tests`` in the same paragraph or code block) is what pytest collects for that command: exactly,
  or within a tenth for ``~N`` / ``about N``. A count with no pytest command before it (the whole suite's, measured on
  a date) is history and is not checked.
- **Constants.** A backticked name in the form of a constant (``RUN_LOCK_STALE_HOURS``: capitals, digits, at least one
  ``_`` between words) occurs in the repository's code, so a renamed or removed constant is not left cited; and where
  the text gives its value right after it (``RUN_LOCK_STALE_HOURS`` (12)), a module-level constant of that name has
  that value.

tests/test_docs_commands.py checks the commands and flags the docs quote, tests/test_troubleshooting.py the messages.
"""

from __future__ import annotations

import ast
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from conftest import DOCS, REPO

CODE_FOLDERS = ("scripts", "glue", "emr", "quicksight", "bench", "tests", "infra", ".ci")
CODE_SUFFIXES = {".py", ".yaml", ".yml", ".json", ".sql", ".toml", ".cfg", ""}
CODE_FILES = ("Makefile", "pyproject.toml", ".coveragerc")

COUNT = re.compile(r"(?P<about>~|about )?(?P<n>\d[\d,]*) tests\b")
PYTEST = re.compile(r"pytest\b(?!-)(?P<args>[^`\n#]*)")  # not a plugin's name (pytest-xdist)
ABOUT = 0.1  # how far a "~N tests" may be from the collected count, as a share of it
CONSTANT = re.compile(r"`(?P<name>[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)`")
CONSTANT_VALUE = re.compile(r"`(?P<name>[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)` \((?P<value>\d[\d,]*(?:\.\d+)?)\b")


def where(doc: Path, text: str, offset: int) -> str:
    return f"{doc.relative_to(REPO)}:{text.count(chr(10), 0, offset) + 1}"


@dataclass(frozen=True)
class CountClaim:
    where: str
    command: str
    claimed: int
    about: bool

    def __str__(self) -> str:
        return f"{self.where}: {'~' if self.about else ''}{self.claimed} tests"


def counts_in(doc: Path, text: str) -> list[CountClaim]:
    """The test counts of a doc that follow a pytest command in the same paragraph or code block."""
    found = []
    for count in COUNT.finditer(text):
        before = text[: count.start()].rsplit("\n\n", 1)[-1].rsplit("```", 1)[-1]
        commands = list(PYTEST.finditer(before))
        if not commands:
            continue
        claimed = int(count["n"].replace(",", ""))
        found.append(
            CountClaim(where(doc, text, count.start()), commands[-1]["args"], claimed, bool(count["about"]))
        )
    return found


def pytest_arguments(command: str) -> list[str]:
    """The test files (globs expanded) and the -k/-m selections of a pytest command line; other options dropped."""
    words = shlex.split(command.replace("\\\n", " "))
    kept: list[str] = []
    for i, word in enumerate(words):
        if word.startswith("tests/"):
            matches = sorted(str(p.relative_to(REPO)) for p in REPO.glob(word))
            assert matches, f"pytest names {word}, which matches no file"
            kept += matches
        elif word in ("-k", "-m") and i + 1 < len(words):
            kept += [word, words[i + 1]]
    return kept


@cache
def collected(arguments: tuple[str, ...]) -> int:
    """How many tests pytest collects for these arguments (collection only: nothing runs)."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *arguments],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    summary = re.search(r"(\d+)(?:/\d+)? tests? (?:collected|selected)", done.stdout)
    assert summary, f"pytest collected nothing for {arguments}: {done.stdout[-500:]}{done.stderr[-500:]}"
    return int(summary[1])


def count_holds(claimed: int, about: bool, actual: int) -> bool:
    return abs(claimed - actual) <= ABOUT * actual if about else claimed == actual


def all_test_counts() -> list[CountClaim]:
    return [claim for doc in DOCS for claim in counts_in(doc, doc.read_text(encoding="utf-8"))]


@pytest.mark.parametrize("claim", all_test_counts(), ids=str)
def test_a_test_count_beside_a_pytest_command_is_what_it_collects(claim: CountClaim) -> None:
    actual = collected(tuple(pytest_arguments(claim.command)))
    assert count_holds(claim.claimed, claim.about, actual), (
        f"{claim.where} says {'~' if claim.about else ''}{claim.claimed} tests for `pytest{claim.command}`, "
        f"which collects {actual}: update the count"
    )


def test_the_test_counts_are_found() -> None:
    assert len(all_test_counts()) >= 2, "the docs' test counts are no longer found: check COUNT and PYTEST"


@pytest.mark.parametrize(
    ("text", "counts"),
    [
        ("```bash\npytest -q tests/test_x.py\n# ~250 tests; about 25 s\n```", [(250, True)]),
        ("`pytest tests/test_a.py tests/test_b.py -q`\n— 76 tests (about 10 s)", [(76, False)]),
        ("the suite (1,353 tests on 2026-11-27) took 8 min", []),  # no command before it: history
        ("`pytest tests/test_x.py` runs it.\n\nThe suite has 1,353 tests.", []),  # another paragraph
        # a plugin's name, not a command
        ("on two workers (pytest-xdist), the suite of 1,682 tests took 13 min", []),
    ],
)
def test_a_count_is_read_only_beside_its_command(text: str, counts: list[tuple[int, bool]]) -> None:
    assert [(c.claimed, c.about) for c in counts_in(REPO / "README.md", text)] == counts


@pytest.mark.parametrize(
    ("claimed", "about", "actual", "holds"),
    [(76, False, 83, False), (83, False, 83, True), (250, True, 280, False), (280, True, 300, True)],
)
def test_a_drifted_test_count_is_refused(claimed: int, about: bool, actual: int, holds: bool) -> None:
    assert count_holds(claimed, about, actual) is holds


@cache
def code_text() -> str:
    files = [REPO / name for name in CODE_FILES]
    for folder in CODE_FOLDERS:
        files += [p for p in (REPO / folder).rglob("*") if p.is_file() and p.suffix in CODE_SUFFIXES]
    return "\n".join(
        p.read_text(encoding="utf-8", errors="replace") for p in files if "fixtures" not in p.parts
    )


@cache
def module_constants() -> dict[str, list[object]]:
    """Every module-level ``NAME = <literal or arithmetic on literals>`` of the repository's Python, by name."""
    found: dict[str, list[object]] = {}
    for folder in CODE_FOLDERS:
        for path in (REPO / folder).rglob("*.py"):
            for node in ast.parse(path.read_text(encoding="utf-8")).body:
                if (
                    isinstance(node, ast.Assign)
                    and len(node.targets) == 1
                    and isinstance(node.targets[0], ast.Name)
                ):
                    value = literal(node.value)
                    if value is not None:
                        found.setdefault(node.targets[0].id, []).append(value)
    return found


def literal(node: ast.expr) -> object:
    """A constant expression's value (``2 * 1024**3``, ``10_000``), else None."""
    if not all(
        isinstance(n, ast.Constant | ast.BinOp | ast.UnaryOp | ast.operator | ast.unaryop)
        for n in ast.walk(node)
    ):
        return None
    return eval(compile(ast.Expression(node), "<constant>", "eval"), {"__builtins__": {}})  # literals only


def cited_constants() -> list[tuple[str, str]]:
    """(where, name) of every backticked constant-like name in the docs."""
    return [
        (where(doc, text, m.start()), m["name"])
        for doc in DOCS
        for text in [doc.read_text(encoding="utf-8")]
        for m in CONSTANT.finditer(text)
    ]


def test_a_constant_the_docs_cite_is_in_the_code() -> None:
    cited = cited_constants()
    assert len(cited) > 50, "the docs' constants are no longer found: check CONSTANT"
    missing = [f"{at} `{name}`" for at, name in cited if not re.search(rf"\b{name}\b", code_text())]
    assert not missing, "the docs cite names no code of the repository has:\n" + "\n".join(missing)


def constant_values(text: str) -> list[tuple[str, float]]:
    return [(m["name"], float(m["value"].replace(",", ""))) for m in CONSTANT_VALUE.finditer(text)]


def cited_values() -> list[tuple[str, str, float]]:
    return [
        (where(doc, text, m.start()), name, value)
        for doc in DOCS
        for text in [doc.read_text(encoding="utf-8")]
        for m in CONSTANT_VALUE.finditer(text)
        for name, value in constant_values(m[0])
    ]


@pytest.mark.parametrize(("at", "name", "value"), cited_values(), ids=lambda v: str(v))
def test_a_constant_the_docs_give_a_value_has_that_value(at: str, name: str, value: float) -> None:
    values = module_constants().get(name)
    if values is None:
        pytest.skip(f"{name} is not a module-level literal (checked to exist by the test above)")
    assert value in values, f"{at} gives `{name}` as {value:g}; the code has {values}"


def test_a_cited_value_is_read() -> None:
    assert constant_values("taken over once it is `RUN_LOCK_STALE_HOURS` (12) hours old") == [
        ("RUN_LOCK_STALE_HOURS", 12.0)
    ]
    assert constant_values("`ABANDONED_STAGING_HOURS` (24; a Gold run") == [("ABANDONED_STAGING_HOURS", 24.0)]
    assert module_constants()["RUN_LOCK_STALE_HOURS"] == [12]
    assert module_constants()["DEFAULT_MAX_FILE_BYTES"] == [2 * 1024**3]
    assert len(cited_values()) >= 2, (
        "the docs' cited constant values are no longer found: check CONSTANT_VALUE"
    )
