"""The command lines README.md and docs/*.md give are command lines the code accepts.

Every command of this project shown in a ``bash``/``sh`` code block or in an inline code span is checked against
the real entry point, without running it: argparse scripts through their own parser (``build_parser()``, and the
script's ``parse_args``/``parse_config`` where it checks more than flag names), the Glue job through its own
argument checking (``parse_args``: required names, the misspelling check, Glue-style parsing; then its override
parsing and no argument it would ignore), ``make`` lines against the Makefile's targets and variables (and their
``ARGS`` against the script the target runs), ``pytest`` lines against the test files they name.

How a line is read:

- fenced blocks tagged bash/sh/shell/console only (untagged blocks are file trees and sample output); a line
  ending in ``\\`` continues on the next one, ``#`` starts a comment, ``VAR=value`` prefixes are dropped;
- inline spans may wrap over lines (Markdown joins them); ``\\|`` in a table cell is ``|``;
- usage synopses are expanded, not skipped: ``[...]`` is optional and ``a | b`` (or ``a|b`` in one word) are
  alternatives, so a synopsis is checked once with none of its optional parts and once per alternative with all
  of them (each optional flag is real, and the required ones are enough on their own);
- placeholders (``…`` or ``PATH``, ``P``, ``KEY``, ``URL``, ``N``, ``DIR`` after a flag, ``<lake>``, ``LAKE_URI``,
  ``CODE_URI``, ``s3://…/``) become dummy values that the flag's type accepts;
- a ``…`` that is not a flag's value elides the rest: only the flag names (and the subcommand) are checked;
- a script named with no arguments (```emr/gold_job.py```, ```spark-submit emr/gold_job.py``` in prose) is a
  mention of the file, not a command, and is skipped;
- commands of other tools (``aws``, ``duckdb``, ``xdg-open``, ``export``, ``curl`` …) are skipped: they are not
  this project's to check. A python/spark-submit line naming a script of this repository that has no checker
  below fails, so a new entry point cannot be documented unchecked.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import importlib
import io
import re
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import DOCS, REPO

SHELL_BLOCKS = {"bash", "sh", "shell", "console"}
PYTHONS = {"python", "python3", ".venv/bin/python", "$(PY)"}
SPARK_SUBMITS = {"spark-submit", ".venv/bin/spark-submit"}
SPARK_SUBMIT_FLAGS = {"--verbose", "--supervise"}  # spark-submit options before the script that take no value
ELLIPSIS = {"…", "..."}
PLACEHOLDERS = ELLIPSIS | {"PATH", "P", "KEY", "URL", "N", "DIR", "HOST", "NAME"}
# A placeholder's dummy: by placeholder first (PATH is a local path), then by the flag it is the value of.
PLACEHOLDER_DUMMIES = {
    "PATH": "/tmp/docs-lake",
    "P": "/tmp/docs-lake/p",
    "DIR": "/tmp/docs-never-written",
    "N": "1000",
}
FLAG_DUMMIES = {
    "--lake": "s3://bucket/lake",
    "--portal": "http://127.0.0.1:8000",
    "--account-id": "123456789012",
    "--region": "us-east-1",
    "--principal-arn": "arn:aws:quicksight:us-east-1:123456789012:user/default/docs",
    "--athena-workgroup": "primary",
    "--database": "boston311",
    "--silver-location": "s3://bucket/lake/silver/boston311",
    "--gold-location": "s3://bucket/lake/gold/boston311",
    "--cluster-id": "j-2AXXXXXXGAPLF",
    "--application-id": "00fexample",
    "--execution-role-arn": "arn:aws:iam::123456789012:role/docs",
    "--log-uri": "s3://bucket/logs/",
    "--script": "s3://bucket/code/emr/gold_job.py",
    "--silver-path": "s3://bucket/lake/silver/boston311",
    "--gold-path": "s3://bucket/lake/gold/boston311",
    "--silver_path": "/tmp/docs-lake/silver/boston311",
    "--gold_path": "/tmp/docs-lake/gold/boston311",
    "--bronze_path": "/tmp/docs-lake/bronze/boston311",
    "--kms-key-id": "alias/lake",
    "--out": "/tmp/docs-never-written",
}
IN_WORD_PLACEHOLDERS = {
    "<lake>": "./lake",
    "LAKE_URI": "s3://bucket/lake",
    "CODE_URI": "s3://bucket/code",
    "s3://BUCKET/": "s3://bucket/",
}


@dataclass(frozen=True)
class DocCommand:
    """One command line as a doc shows it."""

    where: str  # "docs/gold.md:270"
    text: str  # the line as written (continuations joined)
    words: tuple[str, ...]  # shell words, VAR=value prefixes dropped


# ---------------------------------------------------------------------------------------------------------------
# Reading the docs
# ---------------------------------------------------------------------------------------------------------------
def strip_comment(line: str) -> str:
    """The line without its shell comment (a # at a word's start, outside quotes)."""
    quote = None
    for i, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line


def shell_words(text: str) -> list[str]:
    """Shell words of one command (comments dropped); the raw split when the quoting is not shell's."""
    try:
        return shlex.split(text, comments=True)
    except ValueError:
        return strip_comment(text).split()


def block_lines(lines: list[str]) -> Iterator[tuple[int, str]]:
    """The logical lines of the shell code blocks, with the line each starts on: a line ending in a backslash goes
    on, and so does a usage synopsis whose next line starts with an optional part (``   [--stages …]``)."""
    in_block, shell, logical = False, False, []
    for number, line in enumerate(lines, 1):
        if line.lstrip().startswith("```"):
            in_block = not in_block
            shell = in_block and line.strip().strip("`").strip().lower() in SHELL_BLOCKS
            continue
        code = strip_comment(line).rstrip() if in_block and shell else ""
        joins = logical and (logical[-1][1].endswith("\\") or code.lstrip().startswith("["))
        if joins and code.strip():
            start, text = logical[-1]
            logical[-1] = (start, text.removesuffix("\\").rstrip() + " " + code.strip())
        elif code.strip():
            logical.append((number, code.strip()))
        elif logical and logical[-1][1].endswith("\\"):  # a blank line ends a dangling continuation
            logical[-1] = (logical[-1][0], logical[-1][1].removesuffix("\\").rstrip())
    yield from logical


def block_commands(path: Path, lines: list[str]) -> Iterator[DocCommand]:
    """The commands of the shell code blocks (``a && b`` is two), with the line each starts on."""
    name = path.relative_to(REPO).as_posix()
    for start, text in block_lines(lines):
        for part in re.split(r"\s(?:&&|\|\||;)\s", text):
            if part.strip():
                yield DocCommand(f"{name}:{start}", part.strip(), tuple(shell_words(part)))


def span_commands(path: Path, lines: list[str]) -> Iterator[DocCommand]:
    """The inline code spans outside code blocks (a span may wrap over lines), with the line each starts on."""
    name = path.relative_to(REPO).as_posix()
    prose, in_block = [], False
    for line in lines:
        if line.lstrip().startswith("```"):
            in_block = not in_block
            prose.append("")
        else:
            prose.append("" if in_block else line)
    text = "\n".join(prose)
    for match in re.finditer(r"(`+)(?!`)(.+?)(?<!`)\1(?!`)", text, re.S):
        span = " ".join(match.group(2).replace("\\|", "|").split())
        number = text.count("\n", 0, match.start()) + 1
        yield DocCommand(f"{name}:{number}", span, tuple(shell_words(span)))


def without_assignments(words: tuple[str, ...]) -> tuple[str, ...]:
    """The words after the leading VAR=value prefixes (``JAVA_HOME=… PATH=… spark-submit``)."""
    index = 0
    while index < len(words) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[index]):
        index += 1
    return words[index:]


def doc_commands() -> list[DocCommand]:
    """Every command of this project in README.md and docs/*.md (other tools' lines left out)."""
    found = []
    for path in DOCS:
        lines = path.read_text(encoding="utf-8").splitlines()
        for command in [*block_commands(path, lines), *span_commands(path, lines)]:
            words = without_assignments(command.words)
            if words and kind_of(words) is not None:
                found.append(DocCommand(command.where, command.text, words))
    return found


# ---------------------------------------------------------------------------------------------------------------
# What a command is
# ---------------------------------------------------------------------------------------------------------------
def script_key(word: str) -> str | None:
    """The repository script a word names (``./emr/gold_job.py``, ``s3://…/gold_job.py``, ``run_pipeline.py``),
    as its path in the repository, or the word itself when it is a .py file that is not ours."""
    if not word.endswith(".py"):
        return None
    path = re.sub(r"^\./", "", word)
    if (REPO / path).is_file():
        return path
    same_name = [key for key in CHECKERS if key.rsplit("/", 1)[-1] == path.rsplit("/", 1)[-1]]
    return same_name[0] if len(same_name) == 1 else path


def kind_of(words: tuple[str, ...], bare: bool = False) -> str | None:
    """make, pytest or a script path (the command is ours); None for another tool's line or, unless ``bare`` (a
    synopsis read without its optional parts), a script named with no arguments (a mention of the file)."""
    least = 1 if bare else 2
    head = words[0]
    if head == "make":
        return "make"
    if head in PYTHONS:
        if words[1:3] == ("-m", "pytest"):
            return "pytest"
        script = script_key(words[1]) if len(words) > 1 else None
        return script if script and len(words) > least else None
    if head in SPARK_SUBMITS:
        script, _ = spark_submit_script(words)
        return script if script and len(script_arguments(words)) >= least - 1 else None
    if head.startswith("tests/") and head.endswith(".py") and len(words) > 1 and words[1].startswith("-"):
        return "pytest"
    script = script_key(head)
    if script and (REPO / script).is_file() or script in CHECKERS:
        return script if len(words) >= least else None  # a bare path in prose names the file
    return None


def spark_submit_script(words: tuple[str, ...]) -> tuple[str | None, int]:
    """The script spark-submit runs and its index (spark-submit's own options come before it)."""
    index = 1
    while index < len(words):
        word = words[index]
        if word.endswith(".py"):
            return script_key(word), index
        index += 1 if word in SPARK_SUBMIT_FLAGS or "=" in word or not word.startswith("-") else 2
    return None, index


def script_arguments(words: tuple[str, ...]) -> tuple[str, ...]:
    """The words after the script."""
    if words[0] in PYTHONS:
        return words[2:]
    if words[0] in SPARK_SUBMITS:
        return words[spark_submit_script(words)[1] + 1 :]
    return words[1:]


# ---------------------------------------------------------------------------------------------------------------
# Synopses and placeholders
# ---------------------------------------------------------------------------------------------------------------
def word_alternatives(word: str) -> list[str]:
    """``./lake|s3://bucket`` -> both; ``s3://bucket[/prefix]`` -> without and with the optional part."""
    inner = re.fullmatch(r"(.+?)\[([^\[\]]+)\](.*)", word)
    if inner:
        return [inner.group(1) + inner.group(3), inner.group(1) + inner.group(2) + inner.group(3)]
    if "|" in word and not word.startswith("|"):
        return [part for part in word.split("|") if part]
    return [word]


def parse_synopsis(words: tuple[str, ...]) -> list:
    """Words -> items: ("word", alternatives) or ("group", [alternative, …]) with each alternative a list of items."""
    stack: list[list[list]] = [[[]]]  # per open group: its alternatives, each a list of items
    for word in words:
        opens = len(word) - len(word.lstrip("["))
        word = word[opens:]
        for _ in range(opens):
            stack.append([[]])
        closes = len(word) - len(word.rstrip("]")) if len(stack) > 1 else 0
        closes = min(closes, len(stack) - 1)
        word = word[: len(word) - closes] if closes else word
        if word == "|" and len(stack) > 1:
            stack[-1].append([])
        elif word:
            stack[-1][-1].append(("word", word_alternatives(word)))
        for _ in range(closes):
            group = stack.pop()
            stack[-1][-1].append(("group", group))
    while len(stack) > 1:  # an unclosed bracket: take what it holds as optional
        group = stack.pop()
        stack[-1][-1].append(("group", group))
    return stack[0][0]


def widest(items: list) -> int:
    """The most alternatives any word or group offers."""
    most = 1
    for kind, value in items:
        if kind == "word":
            most = max(most, len(value))
        else:
            most = max(most, len(value), *(widest(alternative) for alternative in value))
    return most


def render(items: list, choice: int, optional: bool) -> list[str]:
    """One reading of a synopsis: alternative ``choice`` everywhere (the last when fewer), optional parts in or out."""
    words = []
    for kind, value in items:
        if kind == "word":
            words.append(value[min(choice, len(value) - 1)])
        elif optional:
            words.extend(render(value[min(choice, len(value) - 1)], choice, optional))
    return words


def variants(words: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Every reading of a command to check: the synopsis without its optional parts, then with them, once per
    alternative (just the command when it has neither)."""
    items = parse_synopsis(words)
    readings = [tuple(render(items, 0, optional=False))]
    readings += [tuple(render(items, choice, optional=True)) for choice in range(widest(items))]
    return list(dict.fromkeys(readings))


def fill_placeholders(argv: tuple[str, ...]) -> tuple[list[str], bool]:
    """Placeholders -> dummies; also whether a ``…`` elides the rest (then only flag names can be checked)."""
    filled, elided = [], False
    for index, word in enumerate(argv):
        previous = argv[index - 1] if index else ""
        if word in PLACEHOLDERS and previous.startswith("-") and previous not in PLACEHOLDERS:
            filled.append(PLACEHOLDER_DUMMIES.get(word) or FLAG_DUMMIES.get(previous, "dummy"))
            continue
        if word in ELLIPSIS:
            elided = True
            continue
        for placeholder, dummy in IN_WORD_PLACEHOLDERS.items():
            word = word.replace(placeholder, dummy)
        filled.append(re.sub(r"^s3://(…|\.\.\.)/", "s3://bucket/", word))
    return filled, elided


# ---------------------------------------------------------------------------------------------------------------
# Checkers: argv (after the script, dummies in) -> the problem, or None
# ---------------------------------------------------------------------------------------------------------------
def usage_error(call: Callable[[], object]) -> str | None:
    """Run a parse; its error message (argparse's stderr, a UsageError, a SystemExit) or None when it passes."""
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
            call()
    except SystemExit as stop:
        if stop.code not in (0, None):
            return stderr.getvalue().strip() or f"exit {stop.code}"
    except Exception as error:  # the scripts' own usage errors (UsageError, BadArguments, SilverError …)
        return f"{type(error).__name__}: {error}"
    return None


def unknown_flags(parser: argparse.ArgumentParser, argv: list[str]) -> str | None:
    """For an elided command: every flag named is one of the parser's (of its subcommand's, when one is named)."""
    subcommands = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]
    if subcommands:
        positionals = [word for word in argv if not word.startswith("-")]
        if not positionals or positionals[0] not in subcommands[0].choices:
            return f"no subcommand among {sorted(subcommands[0].choices)}"
        parser = subcommands[0].choices[positionals[0]]
    known = set(parser._option_string_actions)
    unknown = [
        word.split("=")[0] for word in argv if word.startswith("-") and word.split("=")[0] not in known
    ]
    return f"unknown flag(s) {', '.join(unknown)}" if unknown else None


def argparse_checker(module: str, full: Callable | None = None) -> Callable[[list[str], bool], str | None]:
    """A checker through ``module.build_parser()``; ``full(module, argv)`` parses and checks a whole command line
    (default: the parser alone)."""

    def check(argv: list[str], elided: bool) -> str | None:
        loaded = importlib.import_module(module)
        if elided:
            return unknown_flags(loaded.build_parser(), argv)
        parse = (
            (lambda: full(loaded, argv))
            if full is not None
            else lambda: loaded.build_parser().parse_args(argv)
        )
        # argparse takes --year for --years: a doc must spell the flag out
        return usage_error(parse) or unknown_flags(loaded.build_parser(), argv)

    return check


def run_pipeline_args(module, argv: list[str]) -> None:
    """run_pipeline.parse_args, minus its look at this machine (Java, installed packages): flags only."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(module, "java_problem", lambda: None)
        patch.setattr(module, "missing_packages", lambda stages: [])
        patch.delenv("SPARK_DRIVER_MEMORY", raising=False)
        module.parse_args(argv)


def bronze_config(module, argv: list[str]) -> None:
    """ingestao_bronze.parse_config: the flags and what they say together, no network, no lake."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("LAKE_ROOT", raising=False)
        patch.delenv("BRONZE_BACKOFF", raising=False)
        module.parse_config(argv)


def deploy_config(module, argv: list[str]) -> None:
    """deploy.parse_args then config_from_args (the values' checks), no AWS call."""
    module.config_from_args(module.parse_args(argv))


def check_silver_job(argv: list[str], elided: bool) -> str | None:
    """The Glue job's own checking, as main does before Spark: parse_args (required names, misspellings, Glue-style
    values), the overrides, the reject share and the field limit; and no argument the job would ignore (locally it
    only warns)."""
    silver_job = importlib.import_module("silver_job")
    argv = ["silver_job.py", *argv]
    if elided:
        known = {*silver_job.REQUIRED_ARGS, *silver_job.OPTIONAL_ARGS, "job-bookmark-option"}
        unknown = sorted(silver_job.given_names(argv) - known)
        return f"unknown argument(s) --{', --'.join(unknown)}" if unknown else None

    def main_checks() -> None:
        args = silver_job.parse_args(argv)
        silver_job.parse_overrides(args.get("time_basis_override"))
        silver_job.parse_max_reject_share(args.get("max_reject_share"))
        silver_job.parse_max_field_chars(args.get("max_field_chars"))

    problem = usage_error(main_checks)
    ignored = silver_job.ignored_arguments(argv)
    return problem or (f"argument(s) the job ignores: --{', --'.join(ignored)}" if ignored else None)


def check_crash_drill(argv: list[str], elided: bool) -> str | None:
    """The crash-point drill takes stage names only (tests/crash_helpers.py's main)."""
    unknown = [stage for stage in argv if stage not in importlib.import_module("crash_helpers").VIEWS]
    return f"no stage {', '.join(unknown)}" if unknown else None


CHECKERS: dict[str, Callable[[list[str], bool], str | None]] = {
    "scripts/run_pipeline.py": argparse_checker("run_pipeline", run_pipeline_args),
    "scripts/ingestao_bronze.py": argparse_checker("ingestao_bronze", bronze_config),
    "scripts/portal_standin.py": argparse_checker("portal_standin"),
    "scripts/restore_prefix.py": argparse_checker("restore_prefix"),
    "glue/silver_job.py": check_silver_job,
    "emr/gold_job.py": argparse_checker("gold_job", lambda module, argv: module.parse_args(argv)),
    "emr/submit.py": argparse_checker("submit", lambda module, argv: module.parse_args(argv)),
    "quicksight/deploy.py": argparse_checker("deploy", deploy_config),
    "quicksight/dashboard.py": argparse_checker("dashboard"),
    "quicksight/definitions.py": argparse_checker("definitions"),
    "quicksight/local_lake.py": argparse_checker("local_lake"),
    "bench/ingest.py": argparse_checker("ingest"),
    "bench/silver.py": argparse_checker("silver"),
    "bench/gold.py": argparse_checker("gold", lambda module, argv: module.parse_args(argv)),
    "bench/synthetic_bronze.py": argparse_checker("synthetic_bronze"),
    "tests/crash_helpers.py": check_crash_drill,
    "tests/test_dashboard_browser.py": argparse_checker("test_dashboard_browser"),
}


def check_pytest(argv: list[str]) -> str | None:
    """Every test file or glob named exists; a one-word ``-k`` names a test in them."""
    files, problems, keyword = [], [], None
    words = iter(argv)
    for word in words:
        if word in ("-k", "-m", "-p", "-o", "-c", "--rootdir"):
            value = next(words, "")
            keyword = value if word == "-k" else keyword
        elif not word.startswith("-"):
            matched = sorted(glob.glob(str(REPO / word.split("::")[0])))
            files += matched
            if not matched:
                problems.append(f"no test file {word}")
    named = keyword and re.fullmatch(r"\w+", keyword) and files
    if named and not any(re.search(rf"def test_\w*{keyword}", Path(file).read_text()) for file in files):
        problems.append(f"no test matches -k {keyword}")
    return "; ".join(problems) or None


MAKEFILE = (REPO / "Makefile").read_text()
MAKE_TARGETS = set(re.findall(r"^([A-Za-z0-9_.-]+)\s*:(?!=)", MAKEFILE, re.M))


def make_recipe(target: str) -> list[str]:
    """The recipe lines of a Makefile target."""
    match = re.search(rf"^{re.escape(target)}\s*:.*\n((?:\t.*\n?)*)", MAKEFILE, re.M)
    return [line.strip() for line in match.group(1).splitlines()] if match else []


def check_make(argv: list[str], elided: bool) -> str | None:
    """Targets exist; the variables set are the Makefile's; ARGS and PYTEST_ARGS suit what the target runs."""
    targets = [word for word in argv if "=" not in word and not word.startswith("-")]
    assignments = dict(word.split("=", 1) for word in argv if "=" in word and not word.startswith("-"))
    problems = [f"no make target {target!r}" for target in targets if target not in MAKE_TARGETS]
    problems += [
        f"the Makefile does not use {name}"
        for name in assignments
        if not re.search(
            rf"\$\({re.escape(name)}\)|^{re.escape(name)}\s*[?:]?=|origin {name}\)", MAKEFILE, re.M
        )
    ]
    for target in targets if not problems else []:
        for line in make_recipe(target):
            if "ARGS" in assignments and "$(ARGS)" in line:
                command = line.replace("$(LAKE_ARG)", "./lake").replace("$(ARGS)", "\0")
                words = [
                    arg
                    for word in shlex.split(command)
                    for arg in (shlex.split(assignments["ARGS"]) if word == "\0" else [word])
                ]
                problem = check_words(tuple(words), elided=False)
                problems += [f"ARGS for {target}: {problem}"] if problem else []
            if "PYTEST_ARGS" in assignments and "$(PYTEST_ARGS)" in line:
                problem = check_pytest(shlex.split(assignments["PYTEST_ARGS"]))
                problems += [problem] if problem else []
    return "; ".join(problems) or None


def check_words(words: tuple[str, ...], elided: bool) -> str | None:
    """One reading of a command, placeholders filled: the problem its entry point finds, or None."""
    kind = kind_of(words, bare=True)
    if kind == "make":
        return check_make(list(words[1:]), elided)
    if kind == "pytest":
        return check_pytest(list(words[3:] if words[0] in PYTHONS else words))
    checker = CHECKERS.get(kind or "")
    if checker is None:
        return f"no checker for {kind}: add one to CHECKERS in tests/test_docs_commands.py"
    return checker(list(script_arguments(words)), elided)


def check(command: DocCommand) -> list[str]:
    """Every reading of the command that its entry point refuses, with the reason."""
    problems, words = [], command.words
    if len(words) > 1 and words[-1] in ELLIPSIS and words[-2].endswith("]"):
        # "[--force] [--kms-key-id KEY] …": more optional flags; the ones shown make a complete command
        words = words[:-1]
    for reading in variants(words):
        filled, elided = fill_placeholders(reading)
        if (
            kind_of(command.words) not in ("make", "pytest")
            and command.words[0] not in PYTHONS | SPARK_SUBMITS
        ):
            elided = True  # a script path without its launcher, in prose: it points at flags of the script
        if command.words[0] == "make":
            elided = elided or not [
                word for word in filled[1:] if "=" not in word and not word.startswith("-")
            ]
        problem = check_words(tuple(filled), elided)
        if problem:
            problems.append(f"{shlex.join(filled)}\n      -> {problem}")
    return problems


COMMANDS = doc_commands()


@pytest.mark.parametrize("command", COMMANDS, ids=[command.where for command in COMMANDS])
def test_the_docs_command_is_one_its_entry_point_accepts(command: DocCommand) -> None:
    problems = check(command)
    assert not problems, f"{command.where}: `{command.text}` is refused:\n    " + "\n    ".join(problems)


def test_the_docs_show_commands_of_every_kind() -> None:
    """The reader keeps finding the commands (a change of the docs' format would otherwise check nothing)."""
    kinds = {kind_of(command.words) for command in COMMANDS}
    assert len(COMMANDS) >= 60, len(COMMANDS)
    for kind in (
        "make",
        "pytest",
        "scripts/run_pipeline.py",
        "scripts/ingestao_bronze.py",
        "glue/silver_job.py",
        "emr/gold_job.py",
        "emr/submit.py",
        "quicksight/deploy.py",
        "bench/gold.py",
    ):
        assert kind in kinds, kind


@pytest.mark.parametrize(
    "line",
    [
        'make run ARGS="--year 2024"',
        "make demo LAKES=/tmp/x",
        "make bench-silverr",
        'make test PYTEST_ARGS="tests/test_no_such_file.py"',
        ".venv/bin/python scripts/run_pipeline.py [--lake ./lake] [--stage ingest]",
        ".venv/bin/python scripts/ingestao_bronze.py --lake s3://b/lake --kms-key KEY",
        "spark-submit glue/silver_job.py --JOB_NAME silver --bronze_path P --silver_path P --time_basis_overide x=utc",
        "spark-submit glue/silver_job.py --bronze_path P",
        "spark-submit glue/silver_job.py --bronze_path P --silver_path P --max_reject_share 5",
        "spark-submit glue/silver_job.py --bronze_path P --silver_path P --max_field_chars 1e6",
        "spark-submit emr/gold_job.py --silver-path P --gold_path P",
        "python emr/submit.py step …  --cluster j-1",
        "python emr/submit.py serverless --application-id … --script s3://b/g.py --silver-path s3://b/s --gold-path s3://b/g",
        "python quicksight/deploy.py --account-id … --region … --principal-arn … --athena-workgroup … --lake s3://b/l",
        "python bench/gold.py [--rows N] [--driver-mem 4g]",
        "python scripts/no_such_script.py --flag",
        "tests/test_silver_bad_input.py -k no_such_test_name",
    ],
)
def test_a_drifted_command_is_refused(line: str) -> None:
    words = without_assignments(tuple(shell_words(line)))
    assert check(DocCommand("example.md:1", line, words))
