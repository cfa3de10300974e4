"""How Silver uses the Spark session it is given: the rules planned once above the union of the files, and the
settings that would change another job's plan given back afterwards (the session may be shared with Gold or other
jobs; the UTC time zone, dynamic overwrite and Parquet settings stay, as every stage wants them)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from pyspark.sql import functions as F

import silver_job
from silver_helpers import land_legacy29, legacy29_row

pytestmark = pytest.mark.spark

OTHER_RULE = "org.apache.spark.sql.catalyst.optimizer.CombineUnions"


def settings(spark) -> dict[str, str | None]:
    return {key: spark.conf.get(key, None) for key in silver_job.SESSION_SETTINGS}


@contextmanager
def session_restored(spark) -> Iterator[None]:
    """The settings Silver may change, put back as they were when the block ends."""
    before = settings(spark)
    try:
        yield
    finally:
        for key, value in before.items():
            spark.conf.unset(key) if value is None else spark.conf.set(key, value)


def optimized_plan(df) -> list[str]:
    """The optimized logical plan, one operator per line, tree markers stripped."""
    text = df._jdf.queryExecution().optimizedPlan().toString()
    return [line.lstrip(" :+-") for line in text.splitlines()]


def test_rules_and_anti_join_stay_above_the_union_of_files(spark):
    files = [spark.range(3).withColumn("file", F.lit(name)) for name in ("a.csv", "b.csv")]
    dropped = spark.range(1).withColumnRenamed("id", "row")
    rules = (
        files[0]
        .unionByName(files[1])
        .join(F.broadcast(dropped), F.col("id") == F.col("row"), "left_anti")
        .select((F.col("id") * 2).alias("doubled"), F.upper("file").alias("file"))
    )
    with session_restored(spark):
        silver_job.configure(spark)
        plan = optimized_plan(rules)
    # one projection and one anti-join over the union, not one copy of each per file
    assert plan[0].startswith("Project")
    assert plan[1].startswith("Join LeftAnti")
    assert plan[2].startswith("Union")
    assert sum(line.startswith("Project [(id") for line in plan) == 1
    assert sum(line.startswith("Join") for line in plan) == 1


def test_run_gives_the_session_settings_back(spark, tmp_path: Path):
    bronze, silver = tmp_path / "bronze" / "boston311", tmp_path / "silver" / "boston311"
    land_legacy29(bronze, "legacy_2022", "2026-11-20", [legacy29_row("101004000001", "2022-01-10 09:00:00")])
    with session_restored(spark):
        spark.conf.set(silver_job.EXCLUDED_RULES, OTHER_RULE)
        before = settings(spark)
        report = silver_job.run_silver(spark, str(bronze), str(silver))
        after = settings(spark)
    assert report["totals"]["rows_written"] == 1
    assert after == before
    assert after[silver_job.EXCLUDED_RULES] == OTHER_RULE


def test_configure_keeps_rules_the_session_already_excludes(spark):
    with session_restored(spark):
        spark.conf.set(silver_job.EXCLUDED_RULES, f" {OTHER_RULE} ")
        silver_job.configure(spark)
        excluded = spark.conf.get(silver_job.EXCLUDED_RULES).split(",")
    assert excluded == [OTHER_RULE, *silver_job.UNION_PUSHDOWN_RULES]


def test_configure_sets_what_silver_relies_on_without_any_submit_conf(spark):
    """On Glue the job is given no Spark --conf (glue/job_definition.json): the session Glue builds has Spark's
    defaults, static partition overwrite among them, which would delete every month a run does not rewrite."""
    relied_on = {
        "spark.sql.sources.partitionOverwriteMode": "dynamic",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
        "spark.sql.codegen.hugeMethodLimit": "8000",
        # Spark 3.5.0 (EMR 7.0/7.1) let ragged CSV records past the quarantine without it (docs/silver.md)
        silver_job.CSV_COLUMN_PRUNING: "false",
    }
    before = {key: spark.conf.get(key, None) for key in relied_on}
    try:
        spark.conf.set("spark.sql.sources.partitionOverwriteMode", "static")  # Spark's default
        spark.conf.set("spark.sql.session.timeZone", "America/New_York")
        spark.conf.unset("spark.sql.parquet.outputTimestampType")
        spark.conf.unset("spark.sql.codegen.hugeMethodLimit")
        spark.conf.unset(silver_job.CSV_COLUMN_PRUNING)  # Spark's default: true
        with session_restored(spark):
            silver_job.configure(spark)
            configured = {key: spark.conf.get(key) for key in relied_on}
    finally:
        for key, value in before.items():
            spark.conf.unset(key) if value is None else spark.conf.set(key, value)
    assert configured == relied_on
