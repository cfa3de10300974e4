"""Benchmark Gold: the Gold job on the synthetic Silver, the same five tables in DuckDB, and Silver's time.

    python bench/gold.py [--rows 4000000] [--seed 311] [--driver-memory 4g] [--out bench/out/gold] [--keep]

Synthetic Bronze (bench/synthetic_bronze.py) -> the Silver job (timed) -> the Gold job (timed per
table) -> DuckDB building the same five tables from the same Silver Parquet into Parquet (timed per
table), in one process, one after the other. Both engines read Silver once into memory first (the
job caches it; DuckDB loads a temporary table), shown as its own line. Prints seconds per table, the Spark / DuckDB ratio, and
Gold's time as a share of Silver's (target: Gold <= 25% of Silver). Row counts of both engines are
printed side by side as a cross-check. Data lives under bench/out/gold/ (or --out): that folder is
deleted when the run starts, --keep or not, and again at the end unless --keep. Timings depend on the
machine's load; the script prints the load average with them.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out" / "gold"
SCRATCH_MARK = ".bench-gold-scratch"  # in --out: the folder is this benchmark's to delete
for folder in ("bench", "glue", "emr"):
    sys.path.insert(0, str(REPO / folder))

import duckdb  # noqa: E402
from pyspark.sql import SparkSession  # noqa: E402

import gold_job  # noqa: E402
import silver_job  # noqa: E402
from synthetic_bronze import MIN_ROWS, write_synthetic_bronze  # noqa: E402

log = logging.getLogger("bench.gold")

# Silver's Gold columns loaded once, as the job caches them, then DuckDB's version of each Gold table, written as snappy Parquet like the job's. The rules are the
# job's (docs/gold.md): Boston local time of opened_at, 'Unknown' keys, on-time among cases closed with a close time.
# quantile_disc is exact and returns a value from the data, as percentile_approx does for small groups.
# Keys are trimmed of spaces only, as by the job's F.trim (and Silver's rule 1): DuckDB's one-argument trim also strips
# other Unicode spaces, so a key of a non-breaking space would be 'Unknown' here and a group of its own in the job.
DUCKDB_SILVER_TABLE = """
CREATE OR REPLACE TEMP TABLE silver AS
SELECT
    opened_at::TIMESTAMPTZ AS opened_at,
    closed_at::TIMESTAMPTZ AS closed_at,
    timezone('America/New_York', opened_at::TIMESTAMPTZ) AS opened_local,
    coalesce(is_closed, false) AS closed,
    CASE WHEN coalesce(is_closed, false) AND closed_at IS NOT NULL THEN on_time END AS judged_on_time,
    hours_to_close,
    coalesce(nullif(trim(department, ' '), ''), 'Unknown') AS department,
    coalesce(nullif(trim(subject, ' '), ''), 'Unknown') AS subject,
    coalesce(nullif(trim(reason, ' '), ''), 'Unknown') AS reason,
    coalesce(nullif(trim(type, ' '), ''), 'Unknown') AS type,
    coalesce(nullif(trim(source, ' '), ''), 'Unknown') AS source,
    coalesce(nullif(trim(neighborhood, ' '), ''), 'Unknown') AS neighborhood,
    latitude,
    longitude
FROM read_parquet('{silver_table}/**/*.parquet', hive_partitioning = true)
"""

DUCKDB_GOLD = {
    "monthly_requests": """
COPY (
    SELECT date_trunc('month', opened_local)::DATE AS month, year(opened_local)::INT AS year,
           department, subject, reason, type, source, neighborhood,
           count(*) AS requests_opened,
           count(*) FILTER (WHERE closed) AS requests_closed,
           count(*) FILTER (WHERE judged_on_time) AS closed_on_time,
           count(*) FILTER (WHERE NOT judged_on_time) AS closed_late,
           count(*) FILTER (WHERE NOT closed) AS still_open,
           coalesce(sum(hours_to_close) FILTER (WHERE closed), 0.0) AS sum_hours_to_close,
           count(hours_to_close) FILTER (WHERE closed) AS closed_with_duration,
           max(opened_local)::DATE AS last_opened_date
    FROM silver
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
) TO '{gold}/monthly_requests' (FORMAT parquet, COMPRESSION snappy, PARTITION_BY (year), OVERWRITE_OR_IGNORE)
""",
    "resolution_times": """
COPY (
    SELECT year(opened_local)::INT AS year, department, type,
           count(*) AS closed_cases,
           count(hours_to_close) AS closed_with_duration,
           quantile_disc(hours_to_close, 0.5) AS p50_hours,
           quantile_disc(hours_to_close, 0.9) AS p90_hours,
           avg(hours_to_close) AS mean_hours,
           count(*) FILTER (WHERE judged_on_time) / nullif(count(judged_on_time), 0) AS on_time_rate
    FROM silver
    WHERE closed
    GROUP BY 1, 2, 3
) TO '{gold}/resolution_times.parquet' (FORMAT parquet, COMPRESSION snappy)
""",
    "neighborhood_scorecard": """
COPY (
    WITH cases AS (
        SELECT year(opened_local)::INT AS year, neighborhood, type, closed, judged_on_time, hours_to_close FROM silver
    ),
    scores AS (
        SELECT year, neighborhood, count(*) AS requests,
               count(hours_to_close) FILTER (WHERE closed) AS closed_with_duration,
               quantile_disc(hours_to_close, 0.5) FILTER (WHERE closed) AS p50_hours,
               count(*) FILTER (WHERE judged_on_time) AS on_time_cases,
               count(*) FILTER (WHERE NOT judged_on_time) AS late_cases
        FROM cases GROUP BY 1, 2
    ),
    top_types AS (
        SELECT year, neighborhood, type AS top_type
        FROM (SELECT year, neighborhood, type, count(*) AS requests FROM cases GROUP BY 1, 2, 3)
        QUALIFY row_number() OVER (PARTITION BY year, neighborhood ORDER BY requests DESC, type) = 1
    )
    SELECT year, neighborhood, requests, closed_with_duration, p50_hours,
           on_time_cases / nullif(on_time_cases + late_cases, 0) AS on_time_rate,
           top_type,
           requests / sum(requests) OVER (PARTITION BY year) AS share_of_city
    FROM scores LEFT JOIN top_types USING (year, neighborhood)
) TO '{gold}/neighborhood_scorecard.parquet' (FORMAT parquet, COMPRESSION snappy)
""",
    "open_backlog": """
COPY (
    WITH cases AS (
        SELECT department,
               date_trunc('week', opened_local)::DATE AS opened_week,
               CASE WHEN closed AND closed_at IS NOT NULL
                        THEN greatest(date_trunc('week', timezone('America/New_York', closed_at))::DATE,
                                      date_trunc('week', opened_local)::DATE)
                    WHEN closed THEN date_trunc('week', opened_local)::DATE
               END AS closed_week
        FROM silver WHERE opened_at IS NOT NULL
    ),
    aging AS (  -- still open 52 weeks after the opening week: aged from then until the week it closes
        SELECT *, opened_week + INTERVAL {aged_days} DAY AS aged_week,
               closed_week IS NULL OR closed_week > opened_week + INTERVAL {aged_days} DAY AS ages
        FROM cases
    ),
    changes AS (
        SELECT department, week_start, sum(change) AS change, sum(aged) AS aged_change
        FROM (SELECT department, opened_week AS week_start, 1 AS change, 0 AS aged FROM cases
              UNION ALL
              SELECT department, closed_week, -1, CASE WHEN ages THEN -1 ELSE 0 END
              FROM aging WHERE closed_week IS NOT NULL
              UNION ALL
              SELECT department, aged_week::DATE, 0, 1 FROM aging WHERE ages)
        GROUP BY 1, 2
    ),
    calendar AS (
        SELECT unnest(generate_series(min(opened_week), max(opened_week), INTERVAL 7 DAY))::DATE AS week_start
        FROM cases
    )
    SELECT week_start, department,
           sum(coalesce(change, 0)) OVER (
               PARTITION BY department ORDER BY week_start ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
           )::BIGINT AS open_cases,
           sum(coalesce(aged_change, 0)) OVER (
               PARTITION BY department ORDER BY week_start ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
           )::BIGINT AS open_over_1y
    FROM (SELECT DISTINCT department FROM cases) CROSS JOIN calendar
    LEFT JOIN changes USING (department, week_start)
) TO '{gold}/open_backlog.parquet' (FORMAT parquet, COMPRESSION snappy)
""",
    "geo_grid": """
COPY (
    SELECT year(opened_local)::INT AS year, type,
           round((floor(latitude / {lat_step}) + 0.5) * {lat_step}, 6) AS cell_lat,
           round((floor(longitude / {lon_step}) + 0.5) * {lon_step}, 6) AS cell_lon,
           count(*) AS requests
    FROM silver
    WHERE latitude IS NOT NULL AND longitude IS NOT NULL
    GROUP BY 1, 2, 3, 4
) TO '{gold}/geo_grid.parquet' (FORMAT parquet, COMPRESSION snappy)
""",
}


def build_parser() -> argparse.ArgumentParser:
    """The command line's flags (parse_args also checks --rows and --out)."""
    parser = argparse.ArgumentParser(prog="gold.py", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows", type=int, default=4_000_000, help="synthetic Bronze rows (default %(default)s)"
    )
    parser.add_argument("--seed", type=int, default=311, help="generator seed (default %(default)s)")
    parser.add_argument("--driver-memory", default="4g", help="Spark driver memory (default %(default)s)")
    parser.add_argument(
        "--out",
        type=Path,
        default=OUT,
        help="scratch folder, deleted at the start and, unless --keep, at the end (default %(default)s)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder afterwards")
    return parser


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.rows < MIN_ROWS:
        parser.error(f"--rows must be at least {MIN_ROWS}")
    out = args.out.resolve()
    if out.exists() and not (out.is_dir() and (not any(out.iterdir()) or (out / SCRATCH_MARK).exists())):
        parser.error(
            f"--out {args.out} holds something this benchmark did not make, and it deletes its folder: "
            "give a new or empty folder"
        )
    return args


def spark_session(driver_memory: str) -> SparkSession:
    """A local SparkSession on every core, as `spark-submit --master local[*]` would give the jobs."""
    spark = (
        SparkSession.builder.master("local[*]")
        .appName("bench-gold")
        .config("spark.driver.memory", driver_memory)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.sources.partitionOverwriteMode", "dynamic")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def duckdb_table_files(gold: Path, table: str) -> str:
    """The Parquet files duckdb_gold writes a table to, as a read_parquet pattern."""
    return (
        f"{gold}/{table}/**/*.parquet" if table in gold_job.PARTITION_COLUMNS else f"{gold}/{table}.parquet"
    )


def duckdb_gold(
    silver_table: Path, gold: Path, con: duckdb.DuckDBPyConnection | None = None
) -> dict[str, dict]:
    """Build the five tables with DuckDB from the Silver Parquet; seconds and rows per table. In a connection of its
    own, or in ``con``, which is left open with Silver loaded as the SQL reads it (the temporary table ``silver``)."""
    gold.mkdir(parents=True, exist_ok=True)
    own_connection = con is None
    con = duckdb.connect() if con is None else con
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    started = time.perf_counter()
    con.execute(DUCKDB_SILVER_TABLE.format(silver_table=silver_table))
    results = {"read Silver once": {"seconds": time.perf_counter() - started, "rows": None}}
    for table, sql in DUCKDB_GOLD.items():
        started = time.perf_counter()
        con.execute(
            sql.format(
                gold=gold,
                lat_step=gold_job.GRID_LAT_STEP,
                lon_step=gold_job.GRID_LON_STEP,
                aged_days=7 * gold_job.AGED_WEEKS,
            )
        )
        seconds = time.perf_counter() - started
        rows = con.execute(
            f"SELECT count(*) FROM read_parquet('{duckdb_table_files(gold, table)}')"
        ).fetchone()[0]
        results[table] = {"seconds": seconds, "rows": rows}
    if own_connection:
        con.close()
    return results


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    out = args.out.resolve()
    shutil.rmtree(out, ignore_errors=True)  # empty, or made by an earlier run (parse_args checked)
    out.mkdir(parents=True)
    (out / SCRATCH_MARK).touch()
    bronze, silver, gold, duck_gold = out / "bronze", out / "silver", out / "gold", out / "duckdb_gold"
    try:
        started = time.perf_counter()
        generated = write_synthetic_bronze(str(bronze), args.rows, seed=args.seed)
        bronze_seconds = time.perf_counter() - started
        print(
            f"synthetic Bronze: {generated.get('rows', args.rows):,} rows in {bronze_seconds:.1f} s",
            flush=True,
        )

        spark = spark_session(args.driver_memory)
        started = time.perf_counter()
        silver_job.run_silver(spark, str(bronze), str(silver))
        silver_seconds = time.perf_counter() - started
        silver_rows = spark.read.parquet(str(silver / "service_requests")).count()
        print(f"Silver job: {silver_rows:,} rows in {silver_seconds:.1f} s", flush=True)

        # Silver sizes the session's shuffle partitions to its input; Gold runs in its own
        # spark-submit in production, so it gets Spark's default back here.
        spark.conf.unset("spark.sql.shuffle.partitions")
        started = time.perf_counter()
        gold_rows = gold_job.run_gold(spark, str(silver), str(gold))
        gold_seconds = time.perf_counter() - started
        run_summary = json.loads((gold / "_runs" / "latest.json").read_text())
        spark_tables = {"read Silver once": {"seconds": run_summary["inputs"]["read_seconds"]}}
        spark_tables.update(run_summary["tables"])
        spark.stop()

        started = time.perf_counter()
        duck_tables = duckdb_gold(silver / "service_requests", duck_gold)
        duck_seconds = time.perf_counter() - started

        load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
        print()
        print(f"Gold on {silver_rows:,} Silver rows, {os.cpu_count()} cores, load average {load}")
        print(
            f"{'table':<24}{'Spark s':>9}{'DuckDB s':>10}{'Spark/DuckDB':>14}{'rows Spark':>12}{'rows DuckDB':>13}"
        )
        for step in ("read Silver once", *gold_job.GOLD_TABLES):
            spark_s, duck_s = spark_tables[step]["seconds"], duck_tables[step]["seconds"]
            line = f"{step:<24}{spark_s:>9.1f}{duck_s:>10.1f}{spark_s / duck_s:>14.1f}"
            if step in gold_rows:
                same = "" if gold_rows[step] == duck_tables[step]["rows"] else "  (rows differ)"
                line += f"{gold_rows[step]:>12,}{duck_tables[step]['rows']:>13,}{same}"
            print(line)
        # the staged tables read back and reconciled with Silver before publishing; DuckDB has nothing to compare
        checks = run_summary["checks"]
        print(f"{'checks before publishing':<24}{checks['seconds']:>9.1f}")
        print(
            f"{'all of Gold (wall)':<24}{gold_seconds:>9.1f}{duck_seconds:>10.1f}{gold_seconds / duck_seconds:>14.1f}"
        )
        print()
        share = gold_seconds / silver_seconds
        verdict = "meets" if share <= 0.25 else "misses"
        print(
            f"Silver job {silver_seconds:.1f} s; Gold {gold_seconds:.1f} s = {share:.0%} of Silver ({verdict} the <= 25% target)"
        )
    finally:
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
