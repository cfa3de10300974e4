"""Every relative link in the project's Markdown leads somewhere: the file exists in the repository, and a
``#anchor`` names a heading of that file as GitHub would slug it.

The Markdown is read by markdown-it-py (CommonMark, with GitHub's tables), so a link inside a code span or a fenced
block is not a link, a reference-style link is one, and a heading's text is what GitHub renders: inline code keeps
its text, a link keeps its label, emphasis marks go. GitHub's slug of that text (its html-pipeline TOC filter,
mirrored by the github-slugger package): lower-case it; drop every character that is not a letter, a mark, a
decimal or letter number, a connector punctuation (``_``), ``-`` or a space; turn each space into ``-``. A slug
already taken gets ``-1``, ``-2`` … in order of appearance.

Checked: README.md and every other tracked (or new, not ignored) ``.md`` outside tests/fixtures/ — a link may still
point into tests/fixtures/. Links with a scheme (``https:``, ``mailto:``) are other sites' and are not checked.
"""

from __future__ import annotations

import subprocess
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from conftest import REPO

# Ruby's \p{Word} (what GitHub keeps) by Unicode category: letters, marks, Nd and Nl numbers, connector punctuation.
WORD_CATEGORIES = {"Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl", "Pc"}
NOT_CHECKED = ("tests/fixtures/", ".venv/")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading's rendered text, before any -N suffix for a repeat."""
    kept = (c for c in heading.lower() if c in "- " or unicodedata.category(c) in WORD_CATEGORIES)
    return "".join(kept).replace(" ", "-")


def unique_slugs(headings: Iterable[str]) -> list[str]:
    """The anchors of a file's headings in order: a repeated slug gets -1, -2 … (github-slugger's counting)."""
    taken: dict[str, int] = {}
    anchors = []
    for heading in headings:
        base = anchor = slug(heading)
        while anchor in taken:
            taken[base] += 1
            anchor = f"{base}-{taken[base]}"
        taken[anchor] = 0
        anchors.append(anchor)
    return anchors


def parser() -> MarkdownIt:
    """CommonMark with GitHub's tables and strikethrough: the parts of GFM that change where links are."""
    return MarkdownIt("commonmark").enable(["table", "strikethrough"])


def rendered_text(inline: Token) -> str:
    """A heading's text as GitHub renders it: the text of its words and code spans, without markup."""
    parts = []
    for child in inline.children or []:
        if child.type in {"text", "code_inline", "text_special"}:
            parts.append(child.content)
        elif child.type in {"softbreak", "hardbreak"}:
            parts.append("\n")
    return "".join(parts)


@dataclass(frozen=True)
class Link:
    """One relative link: where it is written and where it points."""

    source: Path
    line: int  # 1-based
    target: str  # as written, percent-decoded


def parse(path: Path) -> tuple[list[str], list[Link]]:
    """The anchors of a Markdown file's headings and its relative links and images."""
    tokens = parser().parse(path.read_text(encoding="utf-8"))
    headings, links = [], []
    for index, token in enumerate(tokens):
        if token.type == "heading_open":
            headings.append(rendered_text(tokens[index + 1]))
        if token.type != "inline":
            continue
        line = token.map[0] + 1 if token.map else 0
        for child in token.children or []:
            line += child.type in {"softbreak", "hardbreak"}
            target = child.attrGet("href") if child.type == "link_open" else child.attrGet("src")
            if (
                child.type in {"link_open", "image"}
                and isinstance(target, str)
                and not urlsplit(target).scheme
            ):
                links.append(Link(path, line, unquote(target)))
    return unique_slugs(headings), links


def files_under(root: Path) -> frozenset[str]:
    """Every path a repository holds (tracked, or new and not ignored), with every folder above one."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    folders = {parent.as_posix() for name in listed for parent in Path(name).parents if parent != Path(".")}
    return frozenset(listed) | folders


@cache
def repository_files() -> frozenset[str]:
    """This repository's paths, listed once per test run."""
    return files_under(REPO)


def markdown_files() -> list[Path]:
    """The Markdown this test checks: every .md of the repository outside test fixtures and the virtualenv."""
    names = sorted(
        name for name in repository_files() if name.endswith(".md") and not name.startswith(NOT_CHECKED)
    )
    return [REPO / name for name in names if (REPO / name).is_file()]


def broken(link: Link, root: Path, files: frozenset[str]) -> str | None:
    """Why a relative link leads nowhere, or None when it leads where it says."""
    where = f"{link.source.relative_to(root).as_posix()}:{link.line}: {link.target}"
    parts = urlsplit(link.target)
    if parts.path.startswith("/"):  # GitHub reads a leading / as the repository's root
        file = root / parts.path.lstrip("/")
    else:
        file = link.source.parent / parts.path if parts.path else link.source
    name = file.resolve().relative_to(root.resolve()).as_posix()
    if name not in files:
        return f"{where}: no file {name} in the repository"
    if parts.fragment and name.endswith(".md") and parts.fragment not in parse(file)[0]:
        return f"{where}: no heading of {name} has that anchor"
    return None


def problems_in(paths: Iterable[Path], root: Path, files: frozenset[str]) -> list[str]:
    """Every relative link of these files that leads nowhere, one line each."""
    links = (link for path in paths for link in parse(path)[1])
    return [problem for link in links if (problem := broken(link, root, files))]


@pytest.mark.parametrize("doc", markdown_files(), ids=lambda path: path.relative_to(REPO).as_posix())
def test_every_relative_link_leads_to_a_file_and_a_heading(doc: Path) -> None:
    """A file renamed, a heading reworded or a section moved to another doc leaves no dead link behind."""
    problems = problems_in([doc], REPO, repository_files())

    assert not problems, "\n".join(problems)


def test_the_docs_are_checked() -> None:
    """The list of files is not empty by accident (the README and the stage docs are in it)."""
    names = {str(path.relative_to(REPO)) for path in markdown_files()}

    assert {"README.md", "docs/silver.md", "docs/gold.md", "docs/infra.md"} <= names
    assert not any(name.startswith("tests/fixtures/") for name in names)


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        # headings of these docs, with GitHub's anchor written out by hand
        (
            "Bronze — `scripts/ingestao_bronze.py` ([details](docs/bronze.md))",
            "bronze--scriptsingestao_bronzepy-details",
        ),
        (
            "Lake layout (local folder or `s3://bucket[/prefix]`, same keys)",
            "lake-layout-local-folder-or-s3bucketprefix-same-keys",
        ),
        ("What it costs to run (an estimate, us-east-1)", "what-it-costs-to-run-an-estimate-us-east-1"),
        ("1. `monthly_requests` — the additive fact table", "1-monthly_requests--the-additive-fact-table"),
        ("Libraries → what they do for us", "libraries--what-they-do-for-us"),
        ("Silver ≤ 1.5× bare Spark", "silver--15-bare-spark"),
        (
            "Athena / DuckDB names (database `boston311` by default)",
            "athena--duckdb-names-database-boston311-by-default",
        ),
        ("Tests (no AWS, no network)", "tests-no-aws-no-network"),
        ("Don't *emphasise* __this__ & that!", "dont-emphasise-this--that"),
        ("Café naïve, ½ and x²", "café-naïve--and-x"),
    ],
)
def test_slug_follows_github(heading: str, anchor: str) -> None:
    """GitHub's rule on the awkward characters: backticks, em dashes, parentheses, slashes, ≤, ×, →, emphasis."""
    text = rendered_text(parser().parseInline(heading)[0])

    assert slug(text) == anchor


def test_repeated_headings_are_numbered_in_order() -> None:
    """Three "Tests" headings are tests, tests-1, tests-2; a literal "Tests 1" heading does not collide."""
    assert unique_slugs(["Tests", "Tests", "Tests 1", "Tests"]) == [
        "tests",
        "tests-1",
        "tests-1-1",
        "tests-2",
    ]


def test_a_broken_link_or_anchor_is_found(tmp_path: Path) -> None:
    """The checker fails on a missing file and on a missing heading, in the same file and in another; it does not
    read a link in a code span, nor check another site's."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "other.md").write_text("# Other\n\n## Its part (`x`)\n", encoding="utf-8")
    readme = tmp_path / "README.md"
    readme.write_text(
        "# Title\n\n## Run it\n\n"
        "[ok](#run-it) [ok](docs/other.md#its-part-x) [ok](docs/) [ok](/docs/other.md)\n"
        "[gone](#running-it) [gone](docs/nowhere.md) [gone](docs/other.md#its-part)\n\n"
        "`[in code](docs/nowhere.md)` [web](https://example.org/x.md#y)\n",
        encoding="utf-8",
    )
    files = frozenset({"README.md", "docs", "docs/other.md"})

    assert problems_in([readme], tmp_path, files) == [
        "README.md:6: #running-it: no heading of README.md has that anchor",
        "README.md:6: docs/nowhere.md: no file docs/nowhere.md in the repository",
        "README.md:6: docs/other.md#its-part: no heading of docs/other.md has that anchor",
    ]
