"""SILVER_RULES_VERSION is bumped when Silver's rules change what Silver writes.

Each Bronze object's record in Silver's state keeps the rules version it was read with, so that a run after a rule
changed names the objects whose rows still hold the old rule's values (``test_silver_incremental.py``). That works
only if the version moves with the rules: this test keeps a digest of the rules' code beside the version it was
recorded for, and fails when the code changed and the pair was not brought up to date, asking for a decision.
The digest is of the code as Python 3.11's ``ast`` reads it (the project's one Python, as on Glue 5.0), so comments,
docstrings and layout do not count.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import json
import types
from pathlib import Path

import pytest

import silver_job

# (SILVER_RULES_VERSION, the digest of the rules' code) as last decided; see test_the_rules_version_moves_with_the_rules.
RECORDED_RULES = (5, "096e6b855fa5edbe")

JOB_SOURCE = Path(silver_job.__file__)


def defined_names(statement: ast.stmt) -> list[str]:
    """The module-level names a statement defines: a function, or a constant (``ERA_COLUMNS["legacy30"] = …`` adds
    to ERA_COLUMNS). Classes are not rules: they hold the job's I/O and errors."""
    if isinstance(statement, ast.FunctionDef):
        return [statement.name]
    targets = {ast.Assign: lambda s: s.targets, ast.AnnAssign: lambda s: [s.target]}.get(type(statement))
    names = []
    for target in targets(statement) if targets else []:
        while isinstance(target, ast.Subscript):
            target = target.value
        if isinstance(target, ast.Name):
            names.append(target.id)
    return names


def without_docstrings(statement: ast.stmt) -> ast.stmt:
    """A copy of the statement without the docstrings of its functions (they say what the code does, not do it)."""
    bare = copy.deepcopy(statement)
    for node in ast.walk(bare):
        is_documented = isinstance(node, ast.FunctionDef) and ast.get_docstring(node, clean=False) is not None
        if is_documented:
            node.body = node.body[1:] or [ast.Pass()]
    return bare


def rule_definitions(source: str) -> dict[str, str]:
    """Each definition Silver's rules consist of, as code without comments, docstrings or layout: the names
    SILVER_RULES declares and every module-level function and constant they use, followed to the end."""
    statements: dict[str, list[ast.stmt]] = {}
    for statement in ast.parse(source).body:
        for name in defined_names(statement):
            statements.setdefault(name, []).append(statement)
    unknown = [name for name in silver_job.SILVER_RULES if name not in statements]
    assert not unknown, (
        f"SILVER_RULES names {unknown}, which glue/silver_job.py does not define at module level"
    )
    definitions: dict[str, str] = {}
    waiting = list(silver_job.SILVER_RULES)
    while waiting:
        name = waiting.pop()
        if name in definitions:
            continue
        definitions[name] = "\n".join(ast.unparse(without_docstrings(s)) for s in statements[name])
        used = {node.id for s in statements[name] for node in ast.walk(s) if isinstance(node, ast.Name)}
        waiting += sorted(used & statements.keys())
    return definitions


def rules_digest(source: str) -> str:
    """A short digest of the rules' code (``rule_definitions``)."""
    definitions = json.dumps(rule_definitions(source), sort_keys=True)
    return hashlib.sha256(definitions.encode()).hexdigest()[:16]


def test_the_rules_version_moves_with_the_rules():
    version, digest = silver_job.SILVER_RULES_VERSION, rules_digest(JOB_SOURCE.read_text())
    recorded_version, recorded_digest = RECORDED_RULES
    if version == recorded_version:
        assert digest == recorded_digest, (
            f"Silver's rules changed since RECORDED_RULES in {__file__} (the code of SILVER_RULES and what it uses "
            "in glue/silver_job.py). If Silver can now write any value otherwise (a column of a row, a reject, a "
            "time-basis reading, which record of a case wins), bump SILVER_RULES_VERSION to "
            f"{version + 1} and record RECORDED_RULES = ({version + 1}, {digest!r}): every run then names the "
            "objects read with the old rules. If nothing Silver writes changes (a refactor, a renamed variable), "
            f"record RECORDED_RULES = ({version}, {digest!r})."
        )
    else:
        assert (version, digest) == RECORDED_RULES, (
            f"SILVER_RULES_VERSION is {version} and RECORDED_RULES in {__file__} says {recorded_version}: record "
            f"RECORDED_RULES = ({version}, {digest!r})."
        )


def test_the_rules_are_the_value_shaping_code_and_not_the_jobs_io():
    definitions = rule_definitions(JOB_SOURCE.read_text())
    # reached through the rules that use them: a constant changes values as much as a function does
    used = {"normalise_zipcode", "lookup", "BOSTON_BOX", "CITY_HALL", "ZERO_OFFSET_LABELS", "WALL_CLOCK_OF"}
    assert used <= definitions.keys()
    assert "ERA_COLUMNS['legacy30']" in definitions["ERA_COLUMNS"]  # both statements that define it
    io = {"run_silver", "plan_bronze_files", "read_state", "_publish", "summary", "SILVER_RULES_VERSION"}
    assert not io & definitions.keys()


def is_job_function(name: str) -> bool:
    """Whether the name is a function glue/silver_job.py defines (not one it imports)."""
    value = getattr(silver_job, name, None)
    return isinstance(value, types.FunctionType) and value.__module__ == silver_job.__name__


def test_every_transform_the_run_chains_is_a_rule():
    """A step added to the run's chain (``.transform(new_rule)`` in run_silver) is a rule, so SILVER_RULES must reach
    it: run_silver itself is the job's I/O and is not digested."""
    source = JOB_SOURCE.read_text()
    definitions = rule_definitions(source)
    run = next(s for s in ast.parse(source).body if isinstance(s, ast.FunctionDef) and s.name == "run_silver")
    chained = {
        node.id
        for call in ast.walk(run)
        if isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and call.func.attr == "transform"
        for node in ast.walk(call.args[0])
        if isinstance(node, ast.Name) and is_job_function(node.id)
    }
    assert {"screen", "mark_duplicates", "clean_blanks", "to_silver"} <= chained
    missing = sorted(chained - definitions.keys())
    assert not missing, (
        f"run_silver chains {missing}, which SILVER_RULES in glue/silver_job.py does not reach: add it"
    )


def edited(old: str, new: str) -> str:
    """The job's source with one piece of text replaced."""
    source = JOB_SOURCE.read_text()
    assert source.count(old) == 1, old
    return source.replace(old, new)


@pytest.mark.parametrize(
    "old, new",
    [
        pytest.param('"lat": (42.20, 42.42)', '"lat": (42.20, 42.43)', id="a constant a rule uses"),
        pytest.param('F.lpad(digits, 5, "0")', 'F.lpad(digits, 5, "9")', id="a helper a rule calls"),
        pytest.param('"open_month",\n]', '"open_month",\n    "extra",\n]', id="an output column"),
        pytest.param(""".option("escape", '"')""", """.option("escape", "\\\\")""", id="the CSV reader"),
    ],
)
def test_a_changed_rule_changes_the_digest(old: str, new: str):
    assert rules_digest(edited(old, new)) != rules_digest(JOB_SOURCE.read_text())


@pytest.mark.parametrize(
    "old, new",
    [
        pytest.param("# placeholder coordinates", "# where older exports put unplaced cases", id="a comment"),
        pytest.param('"""Five-digit zip: ', '"""A zip of five digits: ', id="a docstring"),
        pytest.param("BUSINESS_HOURS = (8, 16)", "BUSINESS_HOURS = (\n    8,\n    16,\n)", id="the layout"),
        pytest.param('f"  rejects: {report', 'f"  rejected: {report', id="the log's summary"),
    ],
)
def test_comments_docstrings_layout_and_other_code_leave_the_digest_alone(old: str, new: str):
    assert rules_digest(edited(old, new)) == rules_digest(JOB_SOURCE.read_text())
