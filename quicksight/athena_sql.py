"""The Athena SQL under ``quicksight/athena/``, written once: rendered for Athena, transpiled for DuckDB.

The files are written in Athena's dialects (Hive DDL for tables, Trino SQL for views and named
queries). ``load_sql`` renders their ``${...}`` placeholders (``string.Template``) and drops the
comment lines; ``to_duckdb`` transpiles Trino to DuckDB with sqlglot, so the same files run on
Athena and on the local lake.
"""

from __future__ import annotations

import logging
import re
import string
import sys
from pathlib import Path

import sqlglot
from sqlglot import exp

try:
    import lake
except ImportError:  # run as a script (python quicksight/...): the lake layout lives in scripts/
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
    import lake

log = logging.getLogger(__name__)

ATHENA_DIR = Path(__file__).resolve().parent / "athena"
SQL_KINDS = ("ddl", "views", "named_queries")
DEFAULT_DATABASE = "boston311"
DATABASE_DDL = "database"

SILVER_TABLE = "silver_service_requests"
QUARANTINE_TABLE = "silver_quarantine"
GOLD_TABLES = tuple(f"gold_{name}" for name in lake.GOLD_TABLES)
TABLES = (SILVER_TABLE, QUARANTINE_TABLE, *GOLD_TABLES)

# Hive DDL type -> DuckDB type, for the local query layer's casts.
DUCKDB_TYPES = {
    "string": "VARCHAR",
    "int": "INTEGER",
    "bigint": "BIGINT",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "timestamp": "TIMESTAMP",
    "date": "DATE",
}
_COMMENT_LINE = re.compile(r"^\s*--.*$\n?", re.MULTILINE)
# What a placeholder's value may hold: the database goes in as a bare name, a location inside a '...' literal, where
# a quote would end it and a backslash escape its closing quote (Hive reads backslash escapes).
_DATABASE_NAME = re.compile(r"[A-Za-z0-9_]+")
_LITERAL_BREAKERS = re.compile(r"['\\]")


class SqlError(ValueError):
    """A SQL file that is missing, or a placeholder left without a value."""


def sql_folder(kind: str) -> Path:
    """The folder of one kind of SQL file: ``ddl``, ``views`` or ``named_queries``."""
    if kind not in SQL_KINDS:
        raise SqlError(f"Unknown SQL kind {kind!r}; expected one of {', '.join(SQL_KINDS)}.")
    return ATHENA_DIR / kind


def sql_path(kind: str, name: str) -> Path:
    """The file of one DDL, view or named query."""
    return sql_folder(kind) / f"{name}.sql"


def sql_names(kind: str) -> list[str]:
    """The names (file stems) of every SQL file of one kind, sorted."""
    return sorted(path.stem for path in sql_folder(kind).glob("*.sql"))


def view_names() -> list[str]:
    """The dashboard views, e.g. ``v_monthly_requests``."""
    return sql_names("views")


def named_query_names() -> list[str]:
    """The analysts' named queries, e.g. ``ontime_rate_by_department_month``."""
    return sql_names("named_queries")


def table_names() -> list[str]:
    """The Silver tables (with the quarantine) and the Gold tables, in creation order (the database DDL is
    ``load_sql("ddl", "database")``)."""
    return list(TABLES)


def render(template: str, params: dict[str, str], source: str = "SQL") -> str:
    """Fill ``${name}`` placeholders; a placeholder without a value is one clear error."""
    try:
        return string.Template(template).substitute(params)
    except KeyError as missing:
        raise SqlError(f"{source} needs a value for the placeholder ${{{missing.args[0]}}}.") from None
    except ValueError as bad:
        raise SqlError(f"{source} has a malformed placeholder: {bad}.") from None


def load_sql(kind: str, name: str, **params: str) -> str:
    """The rendered Athena text of one file (comment lines and a trailing ``;`` removed).

    Placeholders: ``database``, ``silver_location``, ``gold_location`` (locations without a trailing
    slash, e.g. ``s3://bucket/silver/boston311``); ``database`` defaults to ``boston311``.
    """
    path = sql_path(kind, name)
    if not path.is_file():
        raise SqlError(f"There is no {kind} SQL named {name!r} (looked for {path}).")
    params = {"database": DEFAULT_DATABASE, **params}
    params = {key: value.rstrip("/") if key.endswith("_location") else value for key, value in params.items()}
    for key, value in params.items():
        if key == "database" and not _DATABASE_NAME.fullmatch(value):
            raise SqlError(
                f"The database name {value!r} cannot go into SQL: use letters, digits and underscores."
            )
        if key.endswith("_location") and _LITERAL_BREAKERS.search(value):
            raise SqlError(f"The {key} {value!r} cannot go into SQL: it holds a quote or a backslash.")
    text = _COMMENT_LINE.sub("", path.read_text(encoding="utf-8"))
    return render(text, params, f"{kind}/{name}.sql").strip().rstrip(";").strip()


def _exact_percentile(node: exp.Expression) -> exp.Expression:
    """Trino's ``approx_percentile`` as DuckDB's exact ``quantile_disc`` (see ``to_duckdb``)."""
    if isinstance(node, exp.ApproxQuantile):
        if node.args.get("weight") is not None or node.args.get("accuracy") is not None:
            raise SqlError(
                f"approx_percentile with a weight or an accuracy has no local equivalent: {node.sql()}"
            )
        return exp.Anonymous(this="QUANTILE_DISC", expressions=[node.this, node.args["quantile"]])
    return node


def to_duckdb(sql: str) -> str:
    """Transpile one Trino (Athena engine v3) statement to DuckDB.

    ``approx_percentile`` becomes DuckDB's exact ``quantile_disc``, not its ``approx_quantile``: Athena's
    quantile digest and Gold's ``percentile_approx`` return one of the group's values, as ``quantile_disc``
    does, while DuckDB's t-digest interpolates (it put the median of 2.35 h and 1,624 h at 813 h). The local
    lake is small enough to sort.
    """
    trees = sqlglot.parse(sql, read="trino")
    if len(trees) != 1 or trees[0] is None:
        raise SqlError(f"Expected one SQL statement, got {len(trees)}.")
    return trees[0].transform(_exact_percentile).sql(dialect="duckdb")


def parse_ddl(name: str) -> exp.Create:
    """The sqlglot tree of one table's DDL (Hive dialect), rendered with dummy locations."""
    sql = load_sql("ddl", name, silver_location="s3://bucket/silver", gold_location="s3://bucket/gold")
    tree = sqlglot.parse_one(sql, read="hive")
    if not isinstance(tree, exp.Create):
        raise SqlError(f"ddl/{name}.sql is not a CREATE statement.")
    return tree


def _column_types(columns: list[exp.ColumnDef]) -> dict[str, str]:
    """Column name -> Hive type name (lower case) of a list of column definitions."""
    return {column.name: column.args["kind"].sql(dialect="hive").lower() for column in columns}


def table_columns(name: str) -> dict[str, str]:
    """The data columns of one table as its DDL declares them: name -> Hive type (``string``, ``bigint`` …)."""
    return _column_types(list(parse_ddl(name).this.expressions))


def partition_columns(name: str) -> dict[str, str]:
    """The partition columns of one table as its DDL declares them (empty when unpartitioned)."""
    partitioned = parse_ddl(name).find(exp.PartitionedByProperty)
    if partitioned is None:
        return {}
    return _column_types(list(partitioned.this.expressions))


def table_properties(name: str) -> dict[str, str]:
    """The TBLPROPERTIES of one table's DDL (rendered with dummy locations)."""
    return {
        prop.name: prop.args["value"].name
        for prop in parse_ddl(name).find_all(exp.Property)
        if type(prop) is exp.Property
    }
