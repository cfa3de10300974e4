"""The local query layer: a DuckDB file with the Athena catalog's tables, views and named queries.

``<lake>/lake.duckdb`` holds only views: one per Silver/Gold table over its Parquet files (typed as
the Athena DDL declares), then the dashboard views and the named queries (``nq_<name>``) from the
same SQL files Athena runs, transpiled from Trino to DuckDB. So
``duckdb lake/lake.duckdb -c "select * from v_monthly_requests limit 5"`` answers what Athena answers.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import logging
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import duckdb

import athena_sql
import lake as lake_layout
from command_line import ArgumentParser

try:
    import fcntl
except ImportError:  # pragma: no cover - not a POSIX system: builds are not kept apart
    fcntl = None

log = logging.getLogger(__name__)

NAMED_QUERY_PREFIX = "nq_"
# How many times the query layer is built when a table's folder changes under it (a Gold run publishing meanwhile)
BUILD_ATTEMPTS = 3
# The Silver folders under the Silver path, as the lake layout declares them.
SILVER_TABLE_DIR = lake_layout.SILVER_TABLE.removeprefix(f"{lake_layout.SILVER_PREFIX}/")
QUARANTINE_DIR = lake_layout.SILVER_QUARANTINE.removeprefix(f"{lake_layout.SILVER_PREFIX}/")


def named_query_view(name: str) -> str:
    """The DuckDB view name of a named query, e.g. ``nq_channel_mix_over_time``."""
    return f"{NAMED_QUERY_PREFIX}{name}"


def table_directory(table: str, silver_path: str, gold_path: str) -> str:
    """The folder holding one catalog table's Parquet files (same keys as the DDL's LOCATION)."""
    if table == athena_sql.SILVER_TABLE:
        return f"{silver_path.rstrip('/')}/{SILVER_TABLE_DIR}"
    if table == athena_sql.QUARANTINE_TABLE:
        return f"{silver_path.rstrip('/')}/{QUARANTINE_DIR}"
    return f"{gold_path.rstrip('/')}/{table.removeprefix('gold_')}"


def sql_literal(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def parquet_glob(directory: str) -> str:
    """The glob of every Parquet file under a folder at any depth, as Athena, Hive and Spark read a table: not the
    files whose name starts with ``_`` or ``.``, which they skip (a copy such as ``_backup.parquet``, macOS's
    ``._part-….parquet`` on a USB disk). The folder's own ``[``, ``*`` and ``?`` are escaped (``glob.escape``:
    ``lake [1]`` would otherwise be a character class that matches no file). DuckDB and Python's glob read it alike."""
    return f"{glob.escape(directory)}/**/[!._]*.parquet"


def parquet_files(directory: str) -> str:
    """The SQL literal of every Parquet file of a table under a folder (``parquet_glob``), for DuckDB."""
    return sql_literal(parquet_glob(directory))


def parquet_scan(directory: str, partitions: dict[str, str]) -> str:
    """A DuckDB read_parquet over every Parquet file under a folder, partition columns typed as the DDL says."""
    hive_types = ", ".join(
        f"{sql_literal(name)}: {sql_literal(athena_sql.DUCKDB_TYPES[hive_type])}"
        for name, hive_type in partitions.items()
    )
    options = "hive_partitioning = true, union_by_name = true"
    if hive_types:
        options += f", hive_types = {{{hive_types}}}"
    return f"read_parquet({parquet_files(directory)}, {options})"


def reads_as_declared(hive_type: str, parquet_type: str) -> bool:
    """True when a Parquet column of ``parquet_type`` reads as the DDL's ``hive_type`` (as Athena would read it)."""
    duckdb_type = athena_sql.DUCKDB_TYPES[hive_type]
    return parquet_type == duckdb_type or (
        hive_type == "timestamp" and parquet_type == "TIMESTAMP WITH TIME ZONE"
    )


def column_expression(name: str, hive_type: str, parquet_type: str | None) -> str:
    """One column of a table view: the Parquet column cast to the DDL's type, or a typed NULL when absent."""
    duckdb_type = athena_sql.DUCKDB_TYPES[hive_type]
    quoted = f'"{name}"'
    if parquet_type is None:
        return f"CAST(NULL AS {duckdb_type}) AS {quoted}"
    if parquet_type == duckdb_type:
        return quoted
    if hive_type == "timestamp" and parquet_type == "TIMESTAMP WITH TIME ZONE":
        # Spark writes UTC instants; Athena shows them as UTC wall-clock time, whatever the session zone.
        return f"timezone('UTC', {quoted}) AS {quoted}"
    return f"CAST({quoted} AS {duckdb_type}) AS {quoted}"


def table_view_sql(table: str, scan: str | None, parquet_types: dict[str, str]) -> str:
    """CREATE VIEW for one catalog table: the DDL's columns in order; empty (but typed) when scan is None."""
    declared = {**athena_sql.table_columns(table), **athena_sql.partition_columns(table)}
    columns = ",\n  ".join(
        column_expression(name, hive_type, parquet_types.get(name)) for name, hive_type in declared.items()
    )
    source = f"FROM {scan}" if scan else "WHERE false"
    return f'CREATE OR REPLACE VIEW "{table}" AS SELECT\n  {columns}\n{source}'


def parquet_types(connection: duckdb.DuckDBPyConnection, scan: str) -> dict[str, str]:
    """Column name -> DuckDB type of a Parquet scan."""
    return {row[0]: row[1] for row in connection.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()}


def files_having_columns(connection: duckdb.DuckDBPyConnection, directory: str) -> tuple[int, dict[str, int]]:
    """How many Parquet files lie under a folder, and how many of them have each top-level column."""
    schema = f"parquet_schema({parquet_files(directory)})"
    files = connection.execute(f"SELECT count(DISTINCT file_name) FROM {schema}").fetchone()[0]
    having = connection.execute(
        f"SELECT name, count(DISTINCT file_name) FROM {schema} GROUP BY name"
    ).fetchall()
    return files, dict(having)


def has_parquet(folder: str) -> bool:
    """True when a local folder holds a Parquet file a table reads (``parquet_glob``), partition folders included."""
    return bool(glob.glob(parquet_glob(folder), recursive=True))


def tables_with_files(
    silver_path: str, gold_path: str, tables: Iterable[str] = athena_sql.TABLES
) -> list[str]:
    """Those of the catalog's tables that have Parquet files in a local lake: in their own folders, not in what a
    killed run left in a staging folder beside them."""
    return [table for table in tables if has_parquet(table_directory(table, silver_path, gold_path))]


def until_written_again(stage: str, gold_path: str) -> str:
    """Until when a column an older version's files lack reads as NULL, and what writes it: Gold rewrites every table
    on each run; Silver only the months of the Bronze objects it reads, so its own warning says how to read them all
    again (a re-read, or for a lake from before its rules version a rebuild)."""
    if stage == "Silver":
        return (
            "until Silver reads their Bronze objects again, which each Silver run's warning gives the command for "
            "(docs/limits.md, 'Upgrading an existing lake')"
        )
    return f"until Gold runs again: {lake_layout.rerun_command(gold_path, lake_layout.GOLD_PREFIX, 'gold,serve')}"


def create_table_view(
    connection: duckdb.DuckDBPyConnection, table: str, silver_path: str, gold_path: str
) -> int | None:
    """Create one table's view; returns its row count, or None (an empty view) when it has no Parquet files."""
    directory = table_directory(table, silver_path, gold_path)
    if not has_parquet(directory):
        # An empty quarantine is the normal case (nothing rejected); any other empty table is worth a warning.
        level = logging.INFO if table == athena_sql.QUARANTINE_TABLE else logging.WARNING
        log.log(level, "%s: no Parquet files under %s; its view is created empty.", table, directory)
        connection.execute(table_view_sql(table, None, {}))
        return None
    scan = parquet_scan(directory, athena_sql.partition_columns(table))
    types = parquet_types(connection, scan)
    declared = athena_sql.table_columns(table)
    stage = (
        "Silver" if table in (athena_sql.SILVER_TABLE, athena_sql.QUARANTINE_TABLE) else "Gold"
    )  # writes it
    wrong = [
        f"{name} is {types[name]} where the DDL says {hive_type}"
        for name, hive_type in declared.items()
        if name in types and not reads_as_declared(hive_type, types[name])
    ]
    if wrong:  # Athena fails such a query (HIVE_BAD_DATA); a cast here would fail later, in the dashboard
        # Gold rewrites every table on each run; a Silver run rewrites only the months of the objects it reads
        rebuild = (
            "rebuild them by reading every Bronze object again, as a Silver run rewrites only the months of the "
            "objects it reads (docs/limits.md, 'Upgrading an existing lake')"
            if stage == "Silver"
            else f"rebuild them by running {stage} again"
        )
        raise ValueError(
            f"{table}: the Parquet files under {directory} do not match the Athena DDL ({'; '.join(wrong)}); "
            f"{rebuild}."
        )
    missing = [name for name in declared if name not in types]
    if missing:
        log.warning(
            "%s: the Parquet files lack %s (written by an older version); they read as NULL (as on Athena) %s.",
            table,
            ", ".join(missing),
            until_written_again(stage, gold_path),
        )
    # Files written before a column was added can sit beside newer ones (an incremental Silver run rewrites only the
    # months it touches): the union has the column, so the warning above is silent, and their rows read it as NULL.
    files, having = files_having_columns(connection, directory)
    for name in declared:
        if 0 < having.get(name, 0) < files:
            log.warning(
                "%s: %d of its %d Parquet files lack %s (written before the column was added); their rows read it "
                "as NULL (as on Athena) %s.",
                table,
                files - having[name],
                files,
                name,
                until_written_again(stage, gold_path),
            )
    connection.execute(table_view_sql(table, scan, types))
    return connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]


def build_views(building: Path, silver_path: str, gold_path: str) -> dict:
    """Write the table views, the dashboard views and the named queries into a new DuckDB file; what it holds."""
    summary: dict = {"tables": {}, "views": [], "named_queries": []}
    with duckdb.connect(str(building)) as connection:
        for table in athena_sql.table_names():
            summary["tables"][table] = create_table_view(connection, table, silver_path, gold_path)
        for view in athena_sql.view_names():
            connection.execute(athena_sql.to_duckdb(athena_sql.load_sql("views", view)))
            summary["views"].append(view)
        for name in athena_sql.named_query_names():
            query = athena_sql.to_duckdb(athena_sql.load_sql("named_queries", name))
            connection.execute(f'CREATE OR REPLACE VIEW "{named_query_view(name)}" AS {query}')
            summary["named_queries"].append(named_query_view(name))
        # Into the file itself now, failing here if it cannot be written: the checkpoint DuckDB makes on closing
        # fails silently (a full disk) and leaves the views in a .wal file beside it, which the move left behind.
        connection.execute("CHECKPOINT")
    return summary


def write_ahead_log(database: Path) -> Path:
    """DuckDB's write-ahead log of a database file, beside it: what a connection wrote and has not yet checkpointed
    into the file, read into it by the next connection."""
    return database.with_name(database.name + ".wal")


@contextlib.contextmanager
def one_build_at_a_time(folder: Path) -> Iterator[None]:
    """Builds of a query layer in one folder run one after the other (``make run`` twice at once, or this script by
    hand beside it): a ``flock`` on the folder, released by the system when the process ends, however it ends. Two
    at once shared the building file beside the target, and one or both failed."""
    if fcntl is None:  # pragma: no cover - not a POSIX system
        yield
        return
    handle = os.open(folder, os.O_RDONLY)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("Another build of the query layer in %s is under way: waiting for it to end.", folder)
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)


def build_local_query_layer(duckdb_path: str, silver_path: str, gold_path: str) -> dict:
    """Create or replace the DuckDB file of views over a local lake; returns what it holds.

    The file is built beside the target and moved into place, so a failure never leaves half a file.
    The summary is ``{"tables": {table: rows or None}, "views": [...], "named_queries": [...]}``,
    rows None meaning the table had no Parquet files (its view is empty).

    A Gold run publishing meanwhile moves each table aside, then its new copy in (``make run`` twice at once, or this
    script by hand): a table folder read in between is absent for that moment. So a build that found a folder gone
    while it read it, or an empty one that has files once it is done, is made again (``BUILD_ATTEMPTS`` in all):
    without that the table's view stayed empty until the serve stage ran again, or the build failed.
    """
    for path in (duckdb_path, silver_path, gold_path):
        if path.startswith("s3://"):
            raise ValueError(f"The local query layer reads a local lake; {path} is on S3 (use Athena there).")
    target = Path(duckdb_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    building = target.with_name(target.name + ".building")
    wal = write_ahead_log(building)
    with one_build_at_a_time(target.parent):
        try:
            if target.is_dir():
                raise IsADirectoryError(f"{target} is a folder, not a DuckDB file")
            for attempt in range(1, BUILD_ATTEMPTS + 1):
                building.unlink(missing_ok=True)
                wal.unlink(missing_ok=True)  # a log a failed build left would be read into this one
                try:
                    summary = build_views(building, silver_path, gold_path)
                # a folder gone between the look for its files and their read
                except duckdb.IOException as error:
                    if attempt == BUILD_ATTEMPTS or "No files found" not in str(error):
                        raise
                    log.info(
                        "A table's files went while they were read (a Gold run swapping it in): building again."
                    )
                    continue
                appeared = [
                    table
                    for table, rows in summary["tables"].items()
                    if rows is None and has_parquet(table_directory(table, silver_path, gold_path))
                ]
                if not appeared or attempt == BUILD_ATTEMPTS:
                    break
                log.info(
                    "%s: its files came while the views were built (a Gold run): building again.",
                    ", ".join(appeared),
                )
            # The file's own log, left by a session killed after a write (the docs open it read-write): it belongs
            # to the file being replaced, and DuckDB read it into the new one (a stale view kept, or every build
            # failing).
            write_ahead_log(target).unlink(missing_ok=True)
            os.replace(building, target)
        # a damaged Parquet file, a folder in the way, a full disk, Ctrl-C: none half-built
        except BaseException:
            building.unlink(missing_ok=True)
            wal.unlink(missing_ok=True)
            raise
    log.info(
        "Wrote %s: %d table views, %d views, %d named queries.",
        target,
        len(summary["tables"]),
        len(summary["views"]),
        len(summary["named_queries"]),
    )
    return summary


def build_parser() -> argparse.ArgumentParser:
    """The command line: --lake."""
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--lake",
        default=None,
        type=lake_layout.lake_argument,
        help="lake root (default $LAKE_ROOT or ./lake)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Build ``<lake>/lake.duckdb`` from the lake's Silver and Gold.

    Parameters
    ----------
    argv
        ``--lake PATH`` (default ``$LAKE_ROOT`` or ``./lake``).

    Returns
    -------
    int
        0 on success, 2 when the lake cannot be read.
    """
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    root = lake_layout.Lake.from_uri(args.lake)
    # the pipeline on this very lake: a bare make run builds ./lake, whatever lake was asked for
    pipeline = lake_layout.make_run_command(root.root)
    if not root.is_s3 and not os.path.isdir(root.root):
        print(f"The lake {root.root} does not exist; run the pipeline first ({pipeline}).", file=sys.stderr)
        return 2
    if not root.is_s3 and not tables_with_files(root.silver, root.gold):
        print(
            f"The lake {root.root} holds no Silver or Gold tables; run the pipeline first ({pipeline}).",
            file=sys.stderr,
        )
        return 2
    try:
        summary = build_local_query_layer(root.duckdb, root.silver, root.gold)
    except (ValueError, OSError, duckdb.Error) as error:  # DuckDB's errors go on with the SQL and a caret
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        print(f"Could not build the local query layer: {first_line}", file=sys.stderr)
        return 2
    for table, rows in summary["tables"].items():
        print(f"{table}: {'no Parquet files (empty view)' if rows is None else f'{rows} rows'}")
    print(
        f"{root.duckdb}: views {', '.join(summary['views'])}; named queries {', '.join(summary['named_queries'])}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
