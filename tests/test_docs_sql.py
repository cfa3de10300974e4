"""The SQL that README.md and docs/*.md show is SQL that runs, on Athena and on the local DuckDB layer alike.

Every ``sql`` code block of the docs (docs/analysts.md's cookbook above all) is:

- run on the tiny hand-made lake's ``lake.duckdb`` (``serving_helpers.write_small_lake``), transpiled as the views are
  (``athena_sql.to_duckdb``), so a renamed view or column fails here and not in an analyst's hands, and as written,
  as an analyst pastes it into the duckdb CLI (with the one word docs/analysts.md says to change: DuckDB's
  ``quantile_disc`` for Athena's ``approx_percentile``), the two giving the same rows;
- read for what only Athena would refuse or answer differently, which DuckDB cannot show: a table or view that Athena
  does not have (the ``nq_*`` views are the local layer's; on Athena the named queries are saved queries), a function
  sqlglot does not know in Trino's dialect (a DuckDB-only ``make_date`` or ``strftime`` runs here and fails there), and
  a division of two exact numbers. Trino divides integers as integers (``SUM(a) / SUM(b)`` is 0 for a rate) and a
  decimal by the larger of the two scales (``SUM(a) * 1.0 / SUM(b)``, ``1.0`` being a DECIMAL(2, 1), gives 0.8 for
  0.8195), where DuckDB returns a double either way. So every division needs a double on one side:
  ``CAST(SUM(a) AS double) / SUM(b)``. The views and named queries Athena runs are held to the same rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
import sqlglot
from sqlglot import exp
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify

import athena_sql
import serving_helpers as helpers
from conftest import DOCS, REPO

# What Athena serves: the catalog's tables and the views (not the local layer's nq_* views).
ATHENA_RELATIONS = {*athena_sql.table_names(), *athena_sql.view_names()}
FLOATS = {exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT}


@dataclass(frozen=True)
class DocSql:
    """One ``sql`` code block of a doc."""

    where: str  # "docs/analysts.md:120"
    heading: str  # the heading the block stands under
    sql: str


def doc_sql(path: Path) -> list[DocSql]:
    """The ``sql`` code blocks of one Markdown file, each with its line and the heading above it."""
    blocks, heading, lines, start = [], "", None, 0
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if lines is None and line.startswith("#"):
            heading = line.lstrip("#").strip()
        elif lines is None and line.strip() == "```sql":
            lines, start = [], number + 1
        elif lines is not None and line.strip() == "```":
            where = f"{path.relative_to(REPO).as_posix()}:{start}"
            blocks.append(DocSql(where, heading, "\n".join(lines).strip().removesuffix(";")))
            lines = None
        elif lines is not None:
            lines.append(line)
    return blocks


BLOCKS = [block for path in DOCS for block in doc_sql(path)]
ATHENA_SQL = [
    (f"{kind}/{name}", athena_sql.load_sql(kind, name))
    for kind in ("views", "named_queries")
    for name in athena_sql.sql_names(kind)
]


@pytest.fixture(scope="module")
def db(small_lake: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the tiny lake's lake.duckdb."""
    with duckdb.connect(str(small_lake / "lake.duckdb"), read_only=True) as connection:
        yield connection


@pytest.fixture(scope="module")
def schema(db: duckdb.DuckDBPyConnection) -> dict[str, dict[str, str]]:
    """The columns and types of every table and view Athena has, as the local layer declares them."""
    columns: dict[str, dict[str, str]] = {}
    for table, column, kind in db.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns ORDER BY table_name, ordinal_position"
    ).fetchall():
        if table in ATHENA_RELATIONS:
            columns.setdefault(table, {})[column] = kind
    return columns


def run(db: duckdb.DuckDBPyConnection, sql: str) -> tuple[list[str], list[tuple]]:
    """Column names and rows of a Trino query on the local layer."""
    cursor = db.execute(athena_sql.to_duckdb(sql))
    return [column[0] for column in cursor.description], cursor.fetchall()


def relations(sql: str) -> set[str]:
    """The tables and views a query reads (its own WITH names left out)."""
    tree = sqlglot.parse_one(sql, read="trino")
    own = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    return {table.name for table in tree.find_all(exp.Table)} - own


def unknown_functions(sql: str) -> list[str]:
    """Functions sqlglot's Trino dialect does not know: they may run on DuckDB and fail on Athena."""
    return sorted({node.name for node in sqlglot.parse_one(sql, read="trino").find_all(exp.Anonymous)})


def decimal_literals_as_decimals(node: exp.Expression) -> exp.Expression:
    """A number with a decimal point in arithmetic as the DECIMAL Trino reads it (sqlglot types it DOUBLE)."""
    if (
        isinstance(node, exp.Literal)
        and node.is_number
        and "." in node.this
        and isinstance(node.parent, exp.Binary)
    ):
        whole, fraction = node.this.lstrip("-").split(".")
        return exp.cast(node.copy(), exp.DataType.build(f"DECIMAL({len(whole + fraction)}, {len(fraction)})"))
    return node


def exact_divisions(sql: str, schema: dict[str, dict[str, str]]) -> list[str]:
    """The divisions of a Trino query with no double on either side, which Athena computes in whole numbers or
    rounds to the operands' decimal places, each as written with its operands' types."""
    tree = sqlglot.parse_one(sql, read="trino").transform(decimal_literals_as_decimals)
    typed = annotate_types(qualify(tree, schema=schema, dialect="trino"), schema=schema, dialect="trino")
    return [
        f"{division.sql('trino')}  ({division.left.type.sql()} / {division.right.type.sql()})"
        for division in typed.find_all(exp.Div)
        if not {division.left.type.this, division.right.type.this} & FLOATS
    ]


def block_under(heading: str) -> DocSql:
    """docs/analysts.md's query under a heading."""
    [block] = [
        block for block in BLOCKS if block.where.startswith("docs/analysts.md") and block.heading == heading
    ]
    return block


def test_the_docs_show_sql_and_the_analysts_page_a_cookbook() -> None:
    """The reader keeps finding the blocks (a change of the docs' format would otherwise check nothing)."""
    assert len([block for block in BLOCKS if block.where.startswith("docs/analysts.md")]) >= 10
    assert any(block.where.startswith("docs/gold.md") for block in BLOCKS)


@pytest.mark.parametrize("block", BLOCKS, ids=[block.where for block in BLOCKS])
def test_the_docs_sql_runs_on_the_local_layer_as_written_and_transpiled(
    block: DocSql, db: duckdb.DuckDBPyConnection
) -> None:
    columns, rows = run(db, block.sql)
    as_written = db.execute(re.sub(r"\bapprox_percentile\b", "quantile_disc", block.sql))
    assert [column[0] for column in as_written.description] == columns
    assert sorted(as_written.fetchall(), key=repr) == sorted(rows, key=repr)  # a block without ORDER BY too


@pytest.mark.parametrize("block", BLOCKS, ids=[block.where for block in BLOCKS])
def test_the_docs_sql_reads_only_what_athena_has_with_functions_it_knows(block: DocSql) -> None:
    assert relations(block.sql) <= ATHENA_RELATIONS, (
        f"{block.where}: {relations(block.sql) - ATHENA_RELATIONS}"
    )
    assert unknown_functions(block.sql) == [], block.where


@pytest.mark.parametrize(
    "where, sql",
    [(block.where, block.sql) for block in BLOCKS] + ATHENA_SQL,
    ids=[block.where for block in BLOCKS] + [name for name, _ in ATHENA_SQL],
)
def test_every_division_has_a_double_on_one_side(where: str, sql: str, schema: dict) -> None:
    assert exact_divisions(sql, schema) == [], f"{where}: cast one side to double"


@pytest.mark.parametrize(
    "sql, refused",
    [
        ("SELECT SUM(closed_on_time) / SUM(closed_late) FROM v_monthly_requests", True),
        ("SELECT SUM(closed_on_time) * 1.0 / NULLIF(SUM(closed_late), 0) FROM v_monthly_requests", True),
        ("SELECT COUNT(*) / 2 FROM v_open_backlog", True),
        (
            "SELECT CAST(SUM(closed_on_time) AS double) / NULLIF(SUM(closed_late), 0) FROM v_monthly_requests",
            False,
        ),
        ("SELECT SUM(sum_hours_to_close) / SUM(closed_with_duration) / 24 FROM v_monthly_requests", False),
        ("SELECT approx_percentile(hours_to_close, 0.5) / 24 FROM silver_service_requests", False),
    ],
)
def test_a_division_athena_would_round_is_found(sql: str, refused: bool, schema: dict) -> None:
    assert bool(exact_divisions(sql, schema)) is refused


@pytest.mark.parametrize(
    "sql, problem",
    [
        ("SELECT make_date(open_year, open_month, 1) FROM silver_service_requests", "make_date"),
        ("SELECT * FROM nq_channel_mix_over_time", "nq_channel_mix_over_time"),
    ],
)
def test_what_only_duckdb_has_is_found(sql: str, problem: str) -> None:
    assert problem in unknown_functions(sql) or problem in relations(sql) - ATHENA_RELATIONS


def test_the_kpi_query_gives_the_dashboards_kpis(db: duckdb.DuckDBPyConnection) -> None:
    """On the tiny lake the dashboard's KPIs are February 2024 against January (tests/test_dashboard_browser.py)."""
    columns, rows = run(db, block_under("The last complete month, as the dashboard's KPIs").sql)
    got = [dict(zip(columns, row, strict=True)) for row in rows]
    assert [(row["month"].isoformat(), row["requests"], row["still_open"]) for row in got] == [
        ("2024-02-01", 25, 6),
        ("2024-01-01", 15, 2),
    ]
    # February (serving_helpers.SMALL_MONTHLY): 396 hours over 16 closed cases with a duration, 10 of 19 on time
    assert got[0]["average_delay_days"] == pytest.approx(396 / 16 / 24)
    assert got[0]["on_time_rate"] == pytest.approx(10 / 19)


def test_the_on_time_query_gives_each_years_rate_and_change(db: duckdb.DuckDBPyConnection) -> None:
    columns, rows = run(db, block_under("Which departments' on-time rate fell?").sql)
    got = {(row[0], row[1]): dict(zip(columns, row, strict=True)) for row in rows}
    # PWDx: 2023 7 of 7 on time; 2024 6 + 5 + 1 = 12 of 8 + 5 + 4 = 17
    assert got[("PWDx", 2024)]["on_time_rate"] == pytest.approx(12 / 17)
    assert got[("PWDx", 2024)]["change_from_previous_year"] == pytest.approx(12 / 17 - 1)
    assert got[("PWDx", 2023)]["change_from_previous_year"] is None


def test_the_numbers_in_the_cookbook_are_the_tiny_lakes(db: duckdb.DuckDBPyConnection) -> None:
    """Two answers worked out by hand from serving_helpers, so a query that runs but answers wrong fails too."""
    _, rows = run(db, block_under("How big is the open backlog, and is it shrinking?").sql)
    assert rows == [
        (helpers.SMALL_BACKLOG[2][0], 9, 3, 6, None)
    ]  # 8 January 2024: 2 + 7 open, 1 + 2 of a year
    columns, rows = run(db, block_under("Which neighbourhoods are slowest?").sql)
    assert [row[:2] for row in rows] == [(2024, "Dorchester")]  # Roxbury's 6 cases are too few to rank
