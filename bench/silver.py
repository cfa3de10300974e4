"""Benchmark the Silver job against a bare Spark CSV->Parquet conversion, the Spark floor and DuckDB.

Generates deterministic synthetic Bronze (bench/synthetic_bronze.py) under bench/out/, runs the four contenders
(Silver, the bare conversion, the Spark floor -- parse, one row per case, month partitions, no rules -- and DuckDB)
one after the other in separate processes on the same files, and prints time, rows/s, peak memory (RSS of the
process tree) and the ratios. Usage: ``python bench/silver.py [--rows 1000000,4000000] [--keep]``.
Figures depend on the machine's load: run it on a quiet machine and say how loaded it was.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "bench"), str(REPO / "glue"), str(REPO / "quicksight")]

import silver_job  # noqa: E402
from local_lake import sql_literal  # noqa: E402
from synthetic_bronze import MIN_ROWS, write_synthetic_bronze  # noqa: E402

OUT = REPO / "bench" / "out" / "silver"
TARGET_RATIO = 1.5

BARE_SPARK = textwrap.dedent(
    """
    import sys
    from pyspark.sql import SparkSession
    spark = SparkSession.builder.appName("bare-csv-to-parquet").getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    groups, target = __import__("json").loads(sys.argv[1]), sys.argv[2]
    for index, paths in enumerate(groups):
        (spark.read.option("header", True).option("multiLine", True).option("escape", '"').csv(paths)
         .write.mode("overwrite").parquet(f"{target}/group={index}"))
    """
)

# The least any Silver must do, with none of its rules: parse, keep one row per case (the newest file's, then the
# later row), write partitioned by month. Whatever Silver adds (types, time basis, mappings, quarantine, evidence,
# checks) comes on top of this, so Silver / bare can never be lower than floor / bare on the same machine. One row per
# case the cheapest way measured (as Silver does it): the duplicated cases are found from a pass over two narrow
# columns and broadcast, instead of ranking whole rows in a window (1M rows: 31.5 s vs 34.6-36.6 s, same rows).
SPARK_FLOOR = textwrap.dedent(
    """
    import sys
    from pyspark.sql import SparkSession, functions as F
    spark = SparkSession.builder.appName("spark-floor").getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    groups, target = __import__("json").loads(sys.argv[1]), sys.argv[2]
    frames = [
        spark.read.option("header", True).option("multiLine", True).option("escape", '"').csv(group["paths"])
        .withColumn("_case", F.col(group["case_column"]))
        .withColumn("_month", F.substring(group["opened_column"], 1, 7))
        .withColumn("_file", F.input_file_name())
        for group in groups
    ]
    records = frames[0]
    for frame in frames[1:]:
        records = records.unionByName(frame, allowMissingColumns=True)
    records = records.withColumn("_row", F.monotonically_increasing_id())
    newest = F.max(F.struct("_file", "_row")).alias("_newest")
    duplicated = (
        records.select("_case", "_file", "_row").groupBy("_case").agg(F.count("*").alias("_n"), newest)
        .filter("_n > 1").select(F.col("_case").alias("_duplicated"), "_newest")
    )
    one_per_case = (
        records.join(F.broadcast(duplicated), records["_case"].eqNullSafe(duplicated["_duplicated"]), "left")
        .filter(F.col("_newest").isNull()
                | ((F.col("_newest._file") == F.col("_file")) & (F.col("_newest._row") == F.col("_row"))))
        .drop("_duplicated", "_newest", "_row")
    )
    one_per_case.write.mode("overwrite").partitionBy("_month").parquet(target)
    """
)

# The core of Silver's cleaning in DuckDB, for scale: era columns, blanks, stamps with a time basis per file (the
# era's default unless one is given; a file's records from a dated override's month on with its), the department,
# channel, status, neighbourhood and reason mappings, NEW SYSTEM subjects in the legacy wording, zip, ward,
# precinct, street names, the City Hall placeholder and bounding box, the rejects, one row per case, month
# partitions. Written from docs/silver.md's rules, not from the job's code.
# Not in it: per-file time-basis evidence (tests/test_silver_differential.py re-derives the decision in Python and
# hands the readings in), Bronze's manifests (the test reads their ingest times and hands them in; else each file's
# ingest_date folder's day), malformed-record capture (DuckDB skips such rows), quarantine, report and conservation
# check. tests/test_silver_differential.py holds what it does to Silver's values, case by case.
DUCKDB_SQL = """
-- Spark's reader trims every whitespace around an unquoted field (a tab too), and Silver then spaces: both here
create or replace macro blank(v) as nullif(trim(v, ' ' || chr(9)), '');
-- a zero-offset label is dropped; any other offset or zone makes the stamp unparsable (DuckDB's cast would drop it)
create or replace macro stamp(v) as case
    when translate(blank(v), '0123456789 :.T', '') = '--' or regexp_matches(blank(v), '(Z|UTC|[+-]00(:?00)?)$')
    then try_cast(regexp_replace(blank(v), '\\s*(Z|UTC|[+-]00(:?00)?)$', '') as timestamp) end;
-- a Boston wall time as UTC; a time of the hour lived twice in its first pass (EDT) as Spark reads it, where DuckDB
-- reads the second (EST): the earlier of the two readings
create or replace macro to_utc(ts) as least(timezone('UTC', ts at time zone 'America/New_York'),
    timezone('UTC', (ts - interval 1 hour) at time zone 'America/New_York') + interval 1 hour);
-- rule 2's three readings: Boston wall clock, the wall clock shifted back by the UTC offset, a true UTC instant
create or replace macro instant(ts, reading) as case reading
    when 'wall_clock' then to_utc(ts) when 'shifted_back' then to_utc(to_utc(ts)) when 'utc' then ts end;
-- a coordinate is a finite number (NaN and infinity are no place)
create or replace macro coordinate(v) as case when isfinite(try_cast(v as double)) then try_cast(v as double) end;
-- rule 6: missing (either not given), unparsable (given, no number), the placeholder, outside the box, else ok
create or replace macro location_quality(lat, lon) as case
    when lat is null or lon is null then 'missing'
    when coordinate(lat) is null or coordinate(lon) is null then 'unparsable'
    when coordinate(lat) = 42.3594 and coordinate(lon) = -71.0587 then 'city_hall_placeholder'
    when not (coordinate(lat) between 42.20 and 42.42 and coordinate(lon) between -71.20 and -70.90)
        then 'outside_boston'
    else 'ok' end;
-- rule 6: the street alone, in every era: INTERSECTION / Intersection of (any case) or a house number (digits with at
-- most one letter, or a range of two such, 227-227A or 227 - 227A) before it is dropped; 3rd St stays
create or replace macro street_alone(v) as nullif(trim(regexp_replace(v,
    '^((?i:intersection of|intersection)\\s+|[0-9]+[A-Za-z]?(\\s*-\\s*[0-9]+[A-Za-z]?)?\\s+)', '')), '');
-- a ward as two digits ("Ward 7", "7" and "07" are 07), else null
create or replace macro ward_number(v) as
    lpad(nullif(regexp_extract(v, '^(?i)(ward\\s*)?(\\d{{1,2}})$', 2), ''), 2, '0');
create or replace macro in_repeated_hour(ts) as to_utc(ts + interval 1 hour) = to_utc(ts) + interval 2 hour;
create or replace table departments as select lower(value) as key, kind, nullif(department, '') as department
    from read_csv('{mappings}/departments.csv', all_varchar = true);
create or replace table channels as select lower(value) as key, source from read_csv('{mappings}/channels.csv', all_varchar = true);
create or replace table statuses as select lower(value) as key, is_closed = 'true' as is_closed
    from read_csv('{mappings}/statuses.csv', all_varchar = true);
create or replace table neighborhoods as select lower(value) as key, neighborhood
    from read_csv('{mappings}/neighborhoods.csv', all_varchar = true);
create or replace table reasons as select lower(value) as key, reason
    from read_csv('{mappings}/reasons.csv', all_varchar = true);
create or replace table legacy_subjects as select lower(value) as key, nullif(legacy_subject, '') as subject
    from read_csv('{mappings}/departments.csv', all_varchar = true) where kind = 'name';
create or replace table raw as {union};
create or replace table cleaned as
with typed as (
    select * exclude (ingested_given),
        stamp(opened_raw) as opened_s, stamp(closed_raw) as closed_s, stamp(target_raw) as target_s,
        -- the ingest time given for the file (a Bronze manifest's), else its ingest_date folder's day at 00:00 UTC
        coalesce(ingested_given, try_cast(regexp_extract(filename, 'ingest_date=([^/]+)', 1) as timestamp))
            as ingested_at,
        regexp_extract(filename, 'dataset=([^/]+)/ingest_date=[^/]+/[^/]+$', 1) as dataset,
        case era when 'new_system' then 'new' else 'legacy' end as source_system
    from raw
), instants as (
    select *,
        instant(opened_s, time_basis) as opened_at,
        -- a close written before its opening is kept only in the hour lived twice: read in the hour's second pass
        case when closed_s < opened_s then instant(closed_s + interval 1 hour, time_basis) - interval 1 hour
            else instant(closed_s, time_basis) end as closed_at,
        instant(target_s, time_basis) as target_at
    from typed
)
select i.* exclude (subject, reason, street_name),
    coalesce(dc.department, dn.department, dr.department, i.department_raw) as department,
    coalesce(ch.source, i.source_raw) as source,
    coalesce(nb.neighborhood, i.neighborhood_raw) as neighborhood,
    coalesce(st.is_closed, i.closed_at is not null) as is_closed,
    case upper(on_time_raw) when 'ONTIME' then true when 'OVERDUE' then false end as on_time,
    lpad(nullif(regexp_extract(zipcode_raw, '^(\\d{{4,5}})(\\.0*)?(-\\d{{4}})?$', 1), ''), 5, '0') as zipcode,
    ward_number(ward_raw) as ward,
    -- rule 6: four digits ward+precinct; three lost the leading zero; one or two are the precinct within the ward
    case when regexp_full_match(precinct_raw, '[0-9]{{3,4}}') then lpad(precinct_raw, 4, '0')
        when regexp_full_match(precinct_raw, '[0-9]{{1,2}}') then
            ward_number(ward_raw) || lpad(precinct_raw, 2, '0') end as precinct,
    street_alone(i.street_name) as street_name,
    location_quality(latitude_raw, longitude_raw) as location_quality,
    case when location_quality(latitude_raw, longitude_raw) = 'ok' then coordinate(latitude_raw) end as latitude,
    case when location_quality(latitude_raw, longitude_raw) = 'ok' then coordinate(longitude_raw) end as longitude,
    -- NEW SYSTEM's subject and reason in the legacy wording; unmapped values as written
    case era when 'new_system' then coalesce(ls.subject, i.subject) else i.subject end as subject,
    case era when 'new_system' then coalesce(rs.reason, i.reason) else i.reason end as reason,
    case
        when case_id is null then 'missing_case_id'
        when opened_s is null then 'unparsable_opened_at'
        when closed_raw is not null and closed_s is null then 'unparsable_closed_at'
        when target_raw is not null and target_s is null then 'unparsable_target_at'
        -- on the stamps as written, but a close in the second pass of the hour lived twice
        when closed_s < opened_s and not (closed_s > opened_s - interval 1 hour and in_repeated_hour(opened_s)
            and in_repeated_hour(closed_s)) then 'closed_before_opened'
    end as reject_reason
from instants as i
left join departments as dc on dc.kind = 'code' and dc.key = lower(i.department_raw)
left join departments as dn on dn.kind = 'name' and dn.key = lower(i.subject)
left join departments as dr on dr.kind = 'name' and dr.key = lower(i.department_raw)
left join channels as ch on ch.key = lower(i.source_raw)
left join statuses as st on st.key = lower(i.status_raw)
left join neighborhoods as nb on nb.key = lower(i.neighborhood_raw)
left join legacy_subjects as ls on ls.key = lower(i.department_raw)
left join reasons as rs on rs.key = lower(i.type);
copy (
    select *, date_part('year', timezone('America/New_York', timezone('UTC', opened_at))) as open_year,
        date_part('month', timezone('America/New_York', timezone('UTC', opened_at))) as open_month,
        case when is_closed and closed_at >= opened_at then epoch(closed_at - opened_at) / 3600 end as hours_to_close
    from cleaned where reject_reason is null
    qualify row_number() over (partition by case_id order by ingested_at desc, filename desc, row_position desc) = 1
) to '{target}' (format parquet, partition_by (open_year, open_month), compression snappy, overwrite_or_ignore);
"""


def measured(command: list[str], log_file: Path, env: dict | None = None) -> dict:
    """Run a command (output to a log file); wall seconds, peak RSS (MB) of its whole process tree, and for a JVM
    started with ``-XX:+CITime`` the CPU seconds HotSpot spent compiling (printed by the JVM as it exits)."""
    started = time.perf_counter()
    with open(log_file, "w") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        figures = _watch(process, started, log_file)
    jit = re.search(r"Total compilation time\s*:\s*([\d.]+) s", log_file.read_text(errors="replace"))
    return {**figures, "jit_seconds": float(jit.group(1)) if jit else None}


def _watch(process: subprocess.Popen, started: float, log_file: Path) -> dict:
    """Poll a running process tree for its peak RSS until it ends."""
    watched, peak = psutil.Process(process.pid), 0
    while process.poll() is None:
        try:
            tree = [watched, *watched.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.2)
    if process.returncode != 0:
        raise SystemExit(f"{process.args[0]} failed; see {log_file}:\n{log_file.read_text()[-3000:]}")
    return {"seconds": time.perf_counter() - started, "peak_mb": peak / 2**20}


def spark_env() -> dict:
    """Environment for spark-submit from the virtualenv, Java 17."""
    venv_bin = Path(sys.executable).parent
    java = os.environ.get("JAVA_HOME") or "/usr/lib/jvm/java-17-openjdk-amd64"
    return dict(
        os.environ, JAVA_HOME=java, PYSPARK_PYTHON=sys.executable, PATH=f"{venv_bin}:{os.environ['PATH']}"
    )


def spark_submit(script: Path, args: list[str], driver_memory: str) -> list[str]:
    """The spark-submit command line used for every Spark contender (same settings)."""
    spark = str(Path(sys.executable).parent / "spark-submit")
    # -XX:+CITime: the JVM reports its JIT compile time at exit (on 2 cores it is a large share of a short run)
    settings = ["--master", "local[*]", "--driver-memory", driver_memory, "--driver-java-options", "-XX:+CITime",
                "--conf", "spark.ui.enabled=false",
                "--conf", "spark.driver.host=127.0.0.1", "--conf", "spark.driver.bindAddress=127.0.0.1",
                "--conf", "spark.sql.session.timeZone=UTC"]  # fmt: skip
    return [spark, *settings, str(script), *args]


def file_header(path: str) -> list[str]:
    """A file's header, its column names trimmed and in lower case (as Silver compares them)."""
    with open(path, encoding="utf-8-sig") as handle:
        return [c.strip().lower() for c in handle.readline().strip().split(",")]


def header_groups(files: list[str]) -> dict[str, list[str]]:
    """Era -> files, from each file's header (as Silver recognises it)."""
    groups: dict[str, list[str]] = {}
    for path in files:
        groups.setdefault(silver_job.recognise_era(file_header(path)), []).append(path)
    return groups


def source_columns(era: str) -> dict[str, str]:
    """Silver's canonical column -> the era's header column, as silver_job reads them (NEW SYSTEM aliases too)."""
    source_of = {canonical: source for source, canonical in silver_job.ERA_COLUMNS[era].items()}
    if era == "new_system":
        source_of.update(
            {alias: source_of[target] for alias, target in silver_job.NEW_SYSTEM_ALIASES.items()}
        )
    return source_of


def floor_groups(groups: dict[str, list[str]]) -> list[dict]:
    """Per era its files and the header's case-id and opening-time columns (for the Spark floor)."""
    floor = []
    for era, paths in groups.items():
        source_of = source_columns(era)
        floor.append(
            {"paths": paths, "case_column": source_of["case_id"], "opened_column": source_of["opened_raw"]}
        )
    return floor


# Each era's time-basis reading when the evidence decides nothing (docs/silver.md, rule 2).
ERA_DEFAULT_READING = {"legacy29": "wall_clock", "legacy30": "shifted_back", "new_system": "wall_clock"}


def duckdb_union(
    groups: dict[str, list[str]],
    readings: dict[str, str] | None = None,
    reading_from: dict[str, dict[str, str]] | None = None,
    ingested_at: dict[str, str] | None = None,
) -> str:
    """One SELECT per era mapping its columns to Silver's canonical names, unioned; each file's time-basis reading
    (``readings``: path -> reading) or its era's default as ``time_basis``, and for a file with dated overrides
    (``reading_from``: path -> {"YYYY-MM": reading}) the reading of the latest such month at or before the month its
    record's opening stamp names as written (docs/silver.md rule 2, "A file whose time basis changes part-way"); a
    file's ingest time given in ``ingested_at`` (path -> ISO time in UTC, ``Z``, as Bronze's manifests write it) as
    ``ingested_given``, else null (the SQL then takes the ingest_date folder's day)."""
    readings, reading_from, ingested_at = readings or {}, reading_from or {}, ingested_at or {}
    selects = []
    for era, paths in groups.items():
        mapping = source_columns(era)
        given = " ".join(
            f"when {sql_literal(p)} then {sql_literal(readings[p])}" for p in paths if p in readings
        )
        default = sql_literal(ERA_DEFAULT_READING[era])
        reading = f"case filename {given} else {default} end" if given else default
        # the month the opening stamp names as written; a later dated month is asked first
        month = f"strftime(stamp({mapping['opened_raw']}), '%Y-%m')"
        dated = " ".join(
            f"when filename = {sql_literal(p)} and {month} >= {sql_literal(start)} then {sql_literal(r)}"
            for p in paths
            for start, r in sorted(reading_from.get(p, {}).items(), reverse=True)
        )
        reading = f"case {dated} else {reading} end" if dated else reading
        times = " ".join(
            f"when {sql_literal(p)} then {sql_literal(ingested_at[p].removesuffix('Z'))}::timestamp"
            for p in paths
            if p in ingested_at
        )
        given = f"case filename {times} end" if times else "null::timestamp"
        # a column the era maps but none of these files has (one the era may lack) is null, as Silver reads it
        present = {column for path in paths for column in file_header(path)}
        columns = ", ".join(
            f"blank({mapping[c]}) as {c}" if mapping.get(c) in present else f"null::varchar as {c}"
            for c in silver_job.RAW_COLUMNS
        )
        file_list = ", ".join(sql_literal(p) for p in paths)
        selects.append(
            f"select '{era}' as era, filename, {reading} as time_basis, row_number() over () as row_position, "
            f"{given} as ingested_given, {columns} "
            f"from read_csv([{file_list}], all_varchar = true, header = true, filename = true, ignore_errors = true, "
            # each file's own header and dialect: a file with a BOM or CRLF among others, NEW SYSTEM's column order
            "union_by_name = true)"
        )
    return " union all ".join(selects)


def duckdb_silver_sql(
    groups: dict[str, list[str]],
    target: Path,
    readings: dict[str, str] | None = None,
    reading_from: dict[str, dict[str, str]] | None = None,
    ingested_at: dict[str, str] | None = None,
) -> str:
    """The DuckDB cleaning of the files (era -> paths, ``header_groups``) into month partitions under ``target``,
    each file read with its time-basis reading in ``readings`` (path -> reading), else its era's default, and a
    file's records from a dated override's month on with its reading (``reading_from``, as ``duckdb_union``); each
    file's ingest time, which orders the dedupe, from ``ingested_at`` (path -> ISO time, as ``duckdb_union``), else
    its ingest_date folder's day."""
    return DUCKDB_SQL.format(
        mappings=REPO / "glue" / "mappings",
        union=duckdb_union(groups, readings, reading_from, ingested_at),
        target=target,
    )


def run_size(rows: int, driver_memory: str, keep: bool) -> dict:
    """Generate one size and time the four contenders on it."""
    folder = OUT / f"rows_{rows}"
    shutil.rmtree(folder, ignore_errors=True)
    bronze = folder / "bronze" / "boston311"
    started = time.perf_counter()
    generated = write_synthetic_bronze(str(bronze), rows)
    print(
        f"\n== {rows:,} rows: generated {generated['bytes'] / 2**20:.0f} MB of CSV in {time.perf_counter() - started:.0f} s"
    )
    groups = header_groups(generated["files"])

    silver = measured(
        spark_submit(REPO / "glue" / "silver_job.py", ["--JOB_NAME", "bench", "--bronze_path", str(bronze),
                     "--silver_path", str(folder / "silver")], driver_memory),
        folder / "silver.log", spark_env(),
    )  # fmt: skip
    report = json.loads((folder / "silver" / "_quality" / "latest.json").read_text())
    bare_script = folder / "bare_spark.py"
    bare_script.write_text(BARE_SPARK)
    bare = measured(
        spark_submit(bare_script, [json.dumps(list(groups.values())), str(folder / "bare")], driver_memory),
        folder / "bare.log",
        spark_env(),
    )
    floor_script = folder / "spark_floor.py"
    floor_script.write_text(SPARK_FLOOR)
    floor = measured(
        spark_submit(floor_script, [json.dumps(floor_groups(groups)), str(folder / "floor")], driver_memory),
        folder / "floor.log",
        spark_env(),
    )
    sql = duckdb_silver_sql(groups, folder / "duck")
    sql_file = folder / "duckdb_silver.sql"
    sql_file.write_text(sql)
    duck = measured(
        [sys.executable, "-c", f"import duckdb; duckdb.connect().execute(open({str(sql_file)!r}).read())"],
        folder / "duckdb.log",
    )
    if not keep:
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "rows": generated["rows"],
        "silver": silver,
        "bare": bare,
        "floor": floor,
        "duckdb": duck,
        "report": report,
    }


def show(result: dict) -> None:
    """Print one size's figures and ratios."""
    rows = result["rows"]
    print(f"{'contender':<28}{'seconds':>9}{'rows/s':>12}{'peak MB':>10}{'JIT CPU s':>11}")
    for name, key in (
        ("Silver job (spark-submit)", "silver"),
        ("bare Spark CSV->Parquet", "bare"),
        ("Spark floor (no rules)", "floor"),
        ("DuckDB core cleaning", "duckdb"),
    ):
        figures = result[key]
        jit = "-" if figures["jit_seconds"] is None else f"{figures['jit_seconds']:.1f}"
        print(
            f"{name:<28}{figures['seconds']:>9.1f}{rows / figures['seconds']:>12,.0f}{figures['peak_mb']:>10,.0f}"
            f"{jit:>11}"
        )
    ratio = result["silver"]["seconds"] / result["bare"]["seconds"]
    print(
        f"Silver / bare Spark = {ratio:.2f}x (target <= {TARGET_RATIO}x: {'met' if ratio <= TARGET_RATIO else 'NOT met'})"
    )
    floor = result["floor"]["seconds"]
    print(
        f"Spark floor / bare = {floor / result['bare']['seconds']:.2f}x (parse, one row per case, month partitions, "
        "the cheapest way measured: what any Silver does at least)"
    )
    print(
        f"Silver / floor      = {result['silver']['seconds'] / floor:.2f}x (what Silver's rules and checks cost)"
    )
    print(f"Silver / DuckDB     = {result['silver']['seconds'] / result['duckdb']['seconds']:.2f}x")
    totals = result["report"]["totals"]
    print(f"Silver report: {totals} in {result['report']['seconds']} s inside the job (without JVM start)")


def build_parser() -> argparse.ArgumentParser:
    """The command line's flags (main checks --rows)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows", default="1000000,4000000", help="comma-separated sizes (default: 1M and 4M)"
    )
    parser.add_argument("--driver-memory", default="4g", help="Spark driver memory for every Spark contender")
    parser.add_argument(
        "--keep", action="store_true", help="keep the generated data and outputs under bench/out/"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark for each requested size."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        sizes = [int(size) for size in args.rows.split(",")]
    except ValueError:
        parser.error(f"--rows must be whole numbers separated by commas, got {args.rows!r}")
    if min(sizes) < MIN_ROWS:
        parser.error(f"--rows must be at least {MIN_ROWS} each, got {args.rows!r}")
    print(
        f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} (shared machines skew every figure)"
    )
    for rows in sizes:
        show(run_size(rows, args.driver_memory, args.keep))
    if not args.keep:
        shutil.rmtree(OUT, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
