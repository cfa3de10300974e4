"""docs/troubleshooting.md quotes the messages as the code words them, and leaves none of the CLIs' messages out
unless this file says why.

The page's tables are read with markdown-it-py (as tests/test_docs_links.py reads the docs): the code spans of a row's
first cell are the phrases it quotes, ``…`` standing for what a message fills in. Two checks:

- every phrase occurs in the code: in a string literal of the stages' Python (an f-string's values and a
  ``%s``'s arguments match ``…``), or, for the alarms, in ``infra/boston311.yaml``; so a reworded message fails here
  until the page is updated;
- every message the CLIs can print — a user-facing exception built with a message (``UsageError(…)``,
  ``SilverError(…)``, …), a ``log.warning``/``log.error``/``parser.error`` call, a ``print(…, file=sys.stderr)`` —
  is matched by one of the page's phrases, or is listed in NOT_DOCUMENTED with the reason. A call whose message has
  no words of its own (``print(error, file=sys.stderr)``, ``parser.error(problem)``) relays a message made
  elsewhere, which is checked where it is made.
"""

from __future__ import annotations

import ast
import re
from functools import cache

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from conftest import REPO

PAGE = REPO / "docs" / "troubleshooting.md"
ALARMS = REPO / "infra" / "boston311.yaml"
SOURCES = [
    "scripts/run_pipeline.py",
    "scripts/lake.py",
    "scripts/ingestao_bronze.py",
    "scripts/bronze_storage.py",
    "scripts/restore_prefix.py",
    "scripts/command_line.py",
    "glue/silver_job.py",
    "emr/gold_job.py",
    "emr/submit.py",
    "quicksight/local_lake.py",
    "quicksight/dashboard.py",
    "quicksight/definitions.py",
    "quicksight/deploy.py",
    "quicksight/athena_sql.py",
]
# The exceptions whose message reaches the user as the stage's last sentence (main prints it).
USER_ERRORS = {
    "ArgumentTypeError",
    "BadArguments",
    "DashboardError",
    "DeployError",
    "GoldCheckError",
    "GoldInputError",
    "GoldPublishError",
    "PublishError",
    "ResourceError",
    "RunLockHeld",
    "RestoreError",
    "SilverError",
    "SqlError",
    "StageFailed",
    "StageInterrupted",
    "StageTerminated",
    "StorageError",
    "UsageError",
}
LOG_CALLS = {"warning", "error"}
# A phrase covers a message only with at least this many characters of its own ("HTTP … from", "failed: "), so that
# a word and an ellipsis ("query …") does not cover every message.
LEAST_COVERING = 6

CHECKOUT = "a guard against a broken checkout: the SQL ships with the code"
AWS_WORDS = "worded by AWS (the service's state and reason); the page's 'failed: ' row covers the deploy's AWS failures"
ARGPARSE = "argparse's refusal of a flag's value ('argument --…: …', exit 2), which names the flag; --help lists them"
PREFIX = "the prefix of a sentence made elsewhere (checked there); the page's stage intro names it"
# (file, a phrase of the message's literal text, why the page leaves it out)
NOT_DOCUMENTED = [
    ("quicksight/athena_sql.py", "Unknown SQL kind", CHECKOUT),
    ("quicksight/athena_sql.py", "SQL named", CHECKOUT),
    ("quicksight/athena_sql.py", "Expected one SQL statement", CHECKOUT),
    ("quicksight/athena_sql.py", "is not a CREATE statement", CHECKOUT),
    ("quicksight/athena_sql.py", "needs a value for the placeholder", CHECKOUT),
    ("quicksight/athena_sql.py", "has a malformed placeholder", CHECKOUT),
    ("quicksight/athena_sql.py", "has no local equivalent", CHECKOUT),
    ("quicksight/deploy.py", "one TBLPROPERTIES clause", CHECKOUT),
    (
        "quicksight/athena_sql.py",
        "cannot go into SQL",
        "deploy.py's flag checks, which the page quotes, come first",
    ),
    ("quicksight/deploy.py", "query ", AWS_WORDS),
    ("quicksight/deploy.py", " ended ", AWS_WORDS),
    ("emr/submit.py", "is not an s3://bucket/", ARGPARSE),
    ("emr/submit.py", "is not an EMR cluster id", ARGPARSE),
    ("emr/submit.py", "is not an AWS region", ARGPARSE),
    ("emr/submit.py", "is not an IAM role ARN", ARGPARSE),
    ("scripts/ingestao_bronze.py", "ingestao_bronze.py: error: {}", PREFIX),
    ("scripts/restore_prefix.py", "restore_prefix.py: error: {}", PREFIX),
    ("glue/silver_job.py", "silver_job: {}", PREFIX),
]


# ---------------------------------------------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------------------------------------------
def flat(text: str) -> str:
    """Text with each run of white space as one space (a message may wrap in the source and on the page)."""
    return re.sub(r"\s+", " ", text)


@cache
def page_phrases() -> list[tuple[str, str]]:
    """(section, phrase) for every code span in the first cell of a row of the page's tables."""
    tokens = MarkdownIt("commonmark").enable(["table"]).parse(PAGE.read_text(encoding="utf-8"))
    phrases, section, in_body, cell = [], "", False, 0
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.tag == "h2":
            section = tokens[index + 1].content
        elif token.type in ("tbody_open", "tbody_close"):
            in_body = token.type == "tbody_open"
        elif token.type == "tr_open":
            cell = 0
        elif token.type == "td_open":
            cell += 1
        elif in_body and cell == 1 and token.type == "inline":
            phrases += [(section, flat(child.content)) for child in code_spans(token)]
    return phrases


def code_spans(inline: Token) -> list[Token]:
    """The inline code spans of a cell."""
    return [child for child in inline.children or [] if child.type == "code_inline"]


def pattern(phrase: str) -> re.Pattern[str]:
    """A phrase as a pattern: its words as written, ``…`` for any text a message fills in."""
    return re.compile(".*?".join(re.escape(part) for part in phrase.split("…")))


def covers(phrase: str) -> bool:
    """Whether a phrase has a stretch of words long enough to name a message."""
    return sum(len(part.strip()) for part in phrase.split("…")) >= LEAST_COVERING


# ---------------------------------------------------------------------------------------------------------------
# The code
# ---------------------------------------------------------------------------------------------------------------
def literal(node: ast.AST) -> str | None:
    """A string literal's text, an f-string's values as ``{}``; None for anything else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
    return None


@cache
def tree(source: str) -> ast.Module:
    """The parsed source of a file of the repository."""
    return ast.parse((REPO / source).read_text(encoding="utf-8"))


@cache
def code_literals() -> list[str]:
    """Every string literal of the stages' Python, white space flattened."""
    return [
        flat(text)
        for source in SOURCES
        for node in ast.walk(tree(source))
        if (text := literal(node)) is not None
    ]


def called_name(call: ast.Call) -> str:
    """The name a call calls: ``UsageError`` for ``UsageError(…)``, ``warning`` for ``log.warning(…)``."""
    return call.func.id if isinstance(call.func, ast.Name) else getattr(call.func, "attr", "")


def is_message(call: ast.Call) -> bool:
    """A user-facing exception built, a warning or error logged, a parser error, or a print to stderr."""
    name = called_name(call)
    if name in USER_ERRORS or (name in LOG_CALLS and isinstance(call.func, ast.Attribute)):
        return True
    to_stderr = any(
        keyword.arg == "file" and ast.unparse(keyword.value) == "sys.stderr" for keyword in call.keywords
    )
    return name == "print" and to_stderr


@cache
def message_sites() -> list[tuple[str, int, str]]:
    """(file, line, the message's literal text) of every message call with words of its own."""
    sites = []
    for source in SOURCES:
        for node in ast.walk(tree(source)):
            if isinstance(node, ast.Call) and is_message(node):
                text = flat(" ".join(t for arg in node.args if (t := literal(arg)) is not None))
                if len(re.sub(r"\{\}|%[-.\d]*[a-z]|\W", "", text)) >= 4:  # words, not only '{}: {}'
                    sites.append((source, node.lineno, text))
    return sites


# ---------------------------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------------------------
PHRASES = page_phrases()


@pytest.mark.parametrize("section, phrase", PHRASES, ids=[phrase for _, phrase in PHRASES])
def test_every_phrase_the_page_quotes_is_in_the_code(section: str, phrase: str) -> None:
    found = pattern(phrase)
    if section.startswith("Alarms"):
        assert found.search(flat(ALARMS.read_text(encoding="utf-8"))), f"{phrase!r} is not in {ALARMS.name}"
    else:
        assert any(found.search(text) for text in code_literals()), (
            f"docs/troubleshooting.md ({section}) quotes {phrase!r}, which no message of the code says any more: "
            "update the page to the message's new wording"
        )


def test_every_message_of_the_clis_is_on_the_page_or_left_out_with_a_reason() -> None:
    covering = [pattern(phrase) for _, phrase in PHRASES if covers(phrase)]
    missing = [
        f"{source}:{line}: {text}"
        for source, line, text in message_sites()
        if not any(found.search(text) for found in covering)
        and not any(source == file and part in text for file, part, _ in NOT_DOCUMENTED)
    ]
    assert not missing, (
        "messages docs/troubleshooting.md does not quote; add a row (or, with a reason, an entry to NOT_DOCUMENTED):\n"
        + "\n".join(missing)
    )


def test_every_message_left_out_is_still_in_the_code() -> None:
    texts = {(source, text) for source, _, text in message_sites()}
    stale = [
        (file, part) for file, part, _ in NOT_DOCUMENTED if not any(file == s and part in t for s, t in texts)
    ]
    assert not stale, f"NOT_DOCUMENTED names messages the code no longer has: {stale}"


def test_the_page_is_read() -> None:
    """The reader keeps finding the tables (a change of the page's format would otherwise check nothing)."""
    sections = {section for section, _ in PHRASES}
    assert len(PHRASES) >= 150, len(PHRASES)
    for stage in ("The pipeline runner", "Bronze", "Silver", "Gold", "Serving", "Restoring", "Alarms"):
        assert any(section.startswith(stage) for section in sections), stage
    assert len(message_sites()) >= 150, len(message_sites())


@pytest.mark.parametrize(
    "phrase, message, matches",
    [
        ("The bucket … does not exist", "The bucket {} does not exist.", True),
        ("the portal's new file has … bytes, ", "%s: the portal's new file has %s bytes, %d %% fewer", True),
        ("The bucket does not exist", "The bucket {} does not exist.", False),  # reworded
        ("Gold's check failed", "Gold's check of {} failed, so nothing was published: {}.", False),
    ],
)
def test_a_phrase_matches_the_message_it_quotes_and_no_rewording(
    phrase: str, message: str, matches: bool
) -> None:
    assert bool(pattern(phrase).search(message)) is matches
