"""The code docs/limits.md lists as "Duplicated on purpose" is held in step: each single-file job (the Glue console
upload, the EMR entry point) and Bronze carry their own copy of a few helpers, since none can import another's. A
copy changed on one side only fails here, with the two copies named."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from py4j.protocol import Py4JJavaError

import deploy
import gold_job
import ingestao_bronze as bronze
import silver_job
import submit
from conftest import REPO
from silver_helpers import LEGACY29_HEADER

SILVER, GOLD = REPO / "glue" / "silver_job.py", REPO / "emr" / "gold_job.py"


def body(path: Path, name: str) -> str:
    """A function's code as Python reads it (its signature and statements, its docstring and comments left out)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    (function,) = [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.name == name]
    statements = function.body
    if statements and isinstance(statements[0], ast.Expr) and isinstance(statements[0].value, ast.Constant):
        statements = statements[1:]
    return ast.dump(ast.Module(body=[*statements], type_ignores=[])) + ast.dump(function.args)


@pytest.mark.parametrize(
    "name",
    ["cancel_on_interrupt", "forward_java_signals", "stopped_exit", "one_line", "rename_over", "literal"],
)
def test_the_two_jobs_hold_the_same_code(name):
    assert body(SILVER, name) == body(GOLD, name), (
        f"{name} differs between glue/silver_job.py and emr/gold_job.py"
    )


COMMAND_LINE = REPO / "scripts" / "command_line.py"
STANDALONE = {"silver": SILVER, "gold": GOLD, "submit": REPO / "emr" / "submit.py"}


@pytest.mark.parametrize("copy", list(STANDALONE))
@pytest.mark.parametrize("name", ["help_to_stdout", "stdout_to_devnull"])
def test_the_files_that_import_nothing_of_the_repository_print_help_as_the_others_do(name, copy):
    """scripts/command_line.py's --help that a refusing stdout ends in one sentence, copied where it cannot be
    imported: the two jobs and emr/submit.py."""
    assert body(STANDALONE[copy], name) == body(COMMAND_LINE, name), f"{name} differs in {STANDALONE[copy]}"


def test_gold_and_submit_parse_alike():
    """Their OneLineArgumentParser: usage errors and a refused --help, each one sentence and exit 2."""
    for name in ("error", "print_help"):
        assert body(GOLD, name) == body(REPO / "emr" / "submit.py", name), name


def test_the_two_aws_tools_tell_an_error_in_one_line_alike():
    """emr/submit.py runs from its own folder, importing nothing of the repository: its one_line is deploy.py's."""
    assert body(REPO / "emr" / "submit.py", "one_line") == body(REPO / "quicksight" / "deploy.py", "one_line")


@pytest.mark.parametrize(
    "name",
    [
        "DISK_FULL",
        "OUT_OF_MEMORY",
        "INTERRUPTED_EXIT",
        "TERMINATED_EXIT",
        "WRITING_FILE",
        "PREVIOUS_ENDING",
        "GLOB_CHARACTERS",
    ],
)
def test_the_two_jobs_hold_the_same_constants(name):
    assert getattr(silver_job, name) == getattr(gold_job, name), name


@pytest.mark.parametrize(
    "folder",
    ["open_year=2022", "open_year=22", "open_year=20222", "open_month=1", "open_month=12", "open_month=01",
     "open_month=13", "open_month=0", "open_month=1 copy", "open_year=2022 (1)"],
)  # fmt: skip
def test_the_two_jobs_tell_silvers_month_folders_alike(folder):
    """Silver's folder names, declared in each job: Silver's table check and Gold's copied-month check."""
    pattern = silver_job.YEAR_FOLDER if folder.startswith("open_year=") else silver_job.MONTH_FOLDER
    assert bool(pattern.fullmatch(folder)) is not bool(gold_job.SILVER_FOLDER_COPY.fullmatch(folder))


class JavaError(Py4JJavaError):
    """A Py4JJavaError carrying Java's text without a JVM behind it."""

    def __init__(self, text: str):
        Exception.__init__(self, text)
        self.java_exception = text


FAILURES = [
    "java.io.IOException: No space left on device\n\tat java.io.FileOutputStream.writeBytes(Native Method)",
    "Job aborted due to stage failure: Task 3 …\nCaused by: java.lang.OutOfMemoryError: Java heap space\n\tat x",
    "java.lang.OutOfMemoryError",
    "Job aborted due to stage failure: Task 0 in stage 1.0 failed 1 times: ArithmeticException",
    "",
    # a line announcing a list: the sentence cut it off, and the folder it names with it
    "Conflicting directory structures detected. Suspicious paths:\n\tfile:/l/s/open_year=2022\n\tfile:/l/s/backup"
    '\n\nIf provided paths are partition directories, please set "basePath" in the options',
]


def test_a_line_that_announces_a_list_keeps_the_list():
    assert silver_job.one_line(RuntimeError(FAILURES[-1])) == (
        "Conflicting directory structures detected. Suspicious paths: file:/l/s/open_year=2022, file:/l/s/backup"
    )


@pytest.mark.parametrize("text", FAILURES)
def test_the_two_jobs_say_the_same_of_a_failure(text):
    """ran_out's words and one_line's line, but for the platform each job advises on (Glue's worker type, EMR's
    executor or driver memory)."""
    advice = {"on Glue: a larger worker type": "ON_AWS", "on EMR: more executor or driver memory": "ON_AWS"}

    def said(job) -> tuple:
        answer = job.ran_out(RuntimeError(text), "/lake/x")
        if answer is None:
            return None, job.one_line(RuntimeError(text)), job.one_line(JavaError(text))
        cause, words = answer
        for spelled, common in advice.items():
            words = words.replace(spelled, common)
        return cause, words

    assert said(silver_job) == said(gold_job)
    if "OutOfMemoryError" in text:  # each names its own platform
        assert "Glue" in silver_job.ran_out(RuntimeError(text), "/lake/x")[1]
        assert "EMR" in gold_job.ran_out(RuntimeError(text), "/lake/x")[1]


HEADERS = [
    LEGACY29_HEADER,
    [*LEGACY29_HEADER, "case_origin"],
    [column for column in LEGACY29_HEADER if column not in ("ward", "precinct")],
    [*LEGACY29_HEADER[:-8], *(f"extra_{n}" for n in range(7))],
    ["foo", "bar"],
    [f"not_a_311_column_{n}" for n in range(12)],  # its first line cut short in the sentence
    [column.upper() for column in LEGACY29_HEADER],
]


@pytest.mark.parametrize("header", HEADERS, ids=range(len(HEADERS)))
def test_bronze_and_silver_name_a_header_in_the_same_words(header):
    first_line = ",".join(header)
    columns = {name.strip().lower() for name in header}
    assert bronze.header_difference(columns, first_line) == silver_job.header_difference(header, first_line)
    names = [f"c{n}" for n in range(len(header))]
    assert bronze.listed(names) == silver_job.listed(names)
    assert bronze.listed(names, most=2) == silver_job.listed(names, most=2)


def test_bronze_and_silver_skip_the_same_spark_copies():
    assert silver_job.SPARK_COPYING_SUFFIX == bronze.SPARK_COPYING_SUFFIX


def test_silver_reads_the_manifest_format_bronze_writes():
    assert silver_job.BRONZE_MANIFEST_FORMAT_VERSION == bronze.MANIFEST_FORMAT_VERSION


def test_emr_submit_and_quicksight_deploy_call_aws_with_the_same_settings():
    """Timeouts and retries of every boto3 client the two command-line tools make."""
    import boto3

    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")
    ours = submit.aws_client("emr", session, "us-east-1").meta.config
    theirs = deploy.make_clients("us-east-1", session).athena.meta.config
    for setting in ("connect_timeout", "read_timeout", "retries"):
        assert getattr(ours, setting) == getattr(theirs, setting), setting
