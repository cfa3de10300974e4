"""The Pythons AWS runs the two jobs on, checked without them (neither is installable here): Gold on EMR 7's
Python 3.9, Silver on Glue 5.0's Python 3.11 with only what Glue installs beside it. The versions and their
sources: docs/infra.md, "The runtimes AWS runs". No Spark: a second or two."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from conftest import REPO

GOLD = REPO / "emr" / "gold_job.py"
SILVER = REPO / "glue" / "silver_job.py"
# EMR 7's python3 (7.1.0 and later also ship a 3.11 that a job must ask for; the Gold job run asks for none)
EMR_7_PYTHON = (3, 9)
# what EMR and Glue install beside the standard library that the jobs import (each job ships as one file)
EMR_PROVIDES = {"pyspark", "py4j"}
GLUE_PROVIDES = {"pyspark", "py4j", "awsglue"}
# vermin's own command (the package has no __main__), run by this Python
VERMIN = [sys.executable, "-c", "import sys, vermin; sys.exit(vermin.main())"]
# names whose `X | Y` is a type union, which Python 3.9 cannot evaluate (TypeError at run time)
TYPES = {"bool", "bytes", "dict", "float", "frozenset", "int", "list", "set", "str", "tuple", "type"}


def imported(tree: ast.AST) -> set[str]:
    """The top-level packages a module imports, at any depth (the jobs import some inside functions)."""
    return {
        (node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import) or (isinstance(node, ast.ImportFrom) and not node.level)
        for alias in node.names
    }


def vermin(path: Path, python: tuple[int, int]) -> subprocess.CompletedProcess[str]:
    """vermin's verdict on whether ``path`` runs on ``python``: the standard-library modules, functions and keyword
    arguments each version added, and syntax; annotations are counted as if evaluated (`list[str]` needs 3.9)."""
    target = ".".join(map(str, python))
    return subprocess.run(
        [*VERMIN, f"--target={target}-", "--violations", "--eval-annotations", "--no-tips", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


def runtime_unions(tree: ast.AST) -> list[int]:
    """Lines where ``X | Y`` of types is evaluated: outside annotations (strings under ``from __future__ import
    annotations``), with a known type or ``None`` on one side, or as the class argument of isinstance/issubclass."""
    in_annotations = {
        id(inner)
        for node in ast.walk(tree)
        for annotation in (getattr(node, "annotation", None), getattr(node, "returns", None))
        if annotation is not None
        for inner in ast.walk(annotation)
    }

    def a_type(node: ast.AST) -> bool:
        if isinstance(node, ast.Subscript):
            node = node.value
        return (isinstance(node, ast.Name) and node.id in TYPES) or (
            isinstance(node, ast.Constant) and node.value is None
        )

    found = []
    for node in ast.walk(tree):
        if id(node) in in_annotations:
            continue
        if (
            isinstance(node, ast.BinOp)
            and isinstance(node.op, ast.BitOr)
            and (a_type(node.left) or a_type(node.right))
        ):
            found.append(node.lineno)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("isinstance", "issubclass")
            and len(node.args) == 2
            and isinstance(node.args[1], ast.BinOp)
        ):
            found.append(node.lineno)
    return sorted(set(found))


def test_gold_parses_as_python_3_9_and_imports_only_the_standard_library_and_pyspark():
    """EMR 7 runs the script by itself on Python 3.9."""
    source = GOLD.read_text()
    tree = ast.parse(source, feature_version=EMR_7_PYTHON)
    assert imported(tree) <= set(sys.stdlib_module_names) | EMR_PROVIDES, imported(tree)


def test_gold_calls_nothing_python_3_9_lacks():
    """datetime.UTC, zip(strict=), itertools.pairwise, int.bit_count and the like: vermin knows what each Python added."""
    result = vermin(GOLD, EMR_7_PYTHON)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_check_with_vermin_finds_what_python_3_9_lacks(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import itertools\n"
        "from datetime import UTC\n\n\n"
        "def f(a, b):\n"
        "    return list(zip(a, b, strict=True)), list(itertools.pairwise(a)), (5).bit_count(), UTC\n"
    )
    result = vermin(probe, EMR_7_PYTHON)
    assert result.returncode != 0
    for needs_3_10_or_later in ("zip(strict)", "itertools.pairwise", "int.bit_count", "datetime.UTC"):
        assert needs_3_10_or_later in result.stdout, result.stdout


def test_gold_keeps_its_annotations_strings_and_evaluates_no_type_union():
    """``float | None`` in an annotation is fine on 3.9 only as a string; vermin's own check of unions is unstable
    (it took ``fcntl.LOCK_EX | fcntl.LOCK_NB`` for one), hence this narrower one."""
    tree = ast.parse(GOLD.read_text())
    assert any(
        isinstance(node, ast.ImportFrom)
        and node.module == "__future__"
        and "annotations" in {a.name for a in node.names}
        for node in tree.body
    )
    assert runtime_unions(tree) == []


def test_the_union_check_finds_unions_evaluated_at_run_time():
    tree = ast.parse(
        "from __future__ import annotations\n"
        "Maybe = dict[str, int] | None\n"
        "def f(x: int | None) -> str | None:\n"
        "    y: list[str] | None = None\n"
        "    return isinstance(x, A | B) or flags(LOCK_EX | LOCK_NB)\n"
    )
    assert runtime_unions(tree) == [2, 5]


def test_silver_imports_only_the_standard_library_pyspark_and_awsglue():
    """Glue 5.0 runs the script by itself (Python 3.11, which the suite runs on): nothing pip-installed beyond what
    Glue provides, so the job needs no --additional-python-modules."""
    assert imported(ast.parse(SILVER.read_text())) <= set(sys.stdlib_module_names) | GLUE_PROVIDES
