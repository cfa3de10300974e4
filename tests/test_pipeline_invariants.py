"""Invariants of Gold over the four real samples run through Silver, in one Spark session."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pyspark.sql import functions as F

pytestmark = pytest.mark.spark


def read(spark, lake: Path, table: str):
    """A Gold table, or the Silver table when table == 'silver'."""
    if table == "silver":
        return spark.read.parquet(str(lake / "silver" / "boston311" / "service_requests"))
    return spark.read.parquet(str(lake / "gold" / "boston311" / table))


def test_monthly_requests_add_up_to_silver(spark, gold_lake):
    silver_rows = read(spark, gold_lake, "silver").count()
    monthly = read(spark, gold_lake, "monthly_requests")
    totals = monthly.agg(
        F.sum("requests_opened").alias("opened"),
        F.sum("requests_closed").alias("closed"),
        F.sum("still_open").alias("open"),
    ).first()
    assert silver_rows > 10_000
    assert totals["opened"] == silver_rows
    assert totals["closed"] + totals["open"] == silver_rows


def test_every_group_key_is_filled(spark, gold_lake):
    monthly = read(spark, gold_lake, "monthly_requests")
    for key in ("department", "subject", "reason", "type", "source", "neighborhood"):
        assert monthly.filter(F.col(key).isNull()).count() == 0, key


def test_rates_are_within_zero_and_one(spark, gold_lake):
    for table in ("resolution_times", "neighborhood_scorecard"):
        rates = read(spark, gold_lake, table).filter(F.col("on_time_rate").isNotNull())
        assert rates.count() > 0
        assert rates.filter((F.col("on_time_rate") < 0) | (F.col("on_time_rate") > 1)).count() == 0, table


def test_on_time_counts_only_cases_closed_with_a_close_time(spark, gold_lake):
    silver = read(spark, gold_lake, "silver")
    # The NEW SYSTEM sample's void cases: status Error, closed, stamped ONTIME, never closed.
    void = silver.filter(F.col("status_detail") == "Error")
    assert void.count() > 0
    assert void.filter(~F.col("is_closed") | F.col("closed_at").isNotNull() | ~F.col("on_time")).count() == 0
    judged = silver.filter(F.col("is_closed") & F.col("closed_at").isNotNull() & F.col("on_time").isNotNull())
    monthly = read(spark, gold_lake, "monthly_requests").agg(
        F.sum("closed_on_time").alias("on_time"), F.sum("closed_late").alias("late")
    )
    assert tuple(monthly.first()) == (
        judged.filter(F.col("on_time")).count(),
        judged.filter(~F.col("on_time")).count(),
    )


def test_backlog_is_never_negative(spark, gold_lake):
    backlog = read(spark, gold_lake, "open_backlog")
    assert backlog.count() > 0
    assert backlog.filter(F.col("open_cases") < 0).count() == 0
    assert (
        backlog.filter((F.col("open_over_1y") < 0) | (F.col("open_over_1y") > F.col("open_cases"))).count()
        == 0
    )
    assert backlog.agg(F.max("open_over_1y")).first()[0] > 0  # the 2015 cases never closed


@pytest.mark.parametrize("table", ["neighborhood_scorecard", "resolution_times"])
def test_closed_with_duration_is_monthly_requests_per_year(spark, gold_lake, table):
    """One count in three tables: the closed cases with a duration a year's medians (by neighborhood, by department
    and type) are over, each year of opening."""
    per_year = read(spark, gold_lake, table).groupBy("year").agg(F.sum("closed_with_duration").alias("n"))
    monthly = (
        read(spark, gold_lake, "monthly_requests")
        .groupBy("year")
        .agg(F.sum("closed_with_duration").alias("n"))
    )
    assert sorted(per_year.collect()) == sorted(monthly.collect())
    assert per_year.agg(F.sum("n")).first()[0] > 0


def test_resolution_times_counts_closed_cases_without_a_duration_apart(spark, gold_lake):
    """The samples' void NEW SYSTEM cases (closed, no close date) are closed cases outside every percentile."""
    totals = read(spark, gold_lake, "resolution_times").agg(
        F.sum("closed_cases").alias("closed"), F.sum("closed_with_duration").alias("with_duration")
    )
    closed, with_duration = totals.first()
    silver = read(spark, gold_lake, "silver").filter(F.col("is_closed"))
    assert closed == silver.count()
    assert with_duration == silver.filter(F.col("hours_to_close").isNotNull()).count() < closed


def test_neighborhood_shares_sum_to_one_per_year(spark, gold_lake):
    shares = (
        read(spark, gold_lake, "neighborhood_scorecard")
        .groupBy("year")
        .agg(F.sum("share_of_city").alias("s"))
    )
    for row in shares.collect():
        assert row["s"] == pytest.approx(1.0, abs=1e-9), row["year"]


def test_gold_checked_its_staged_tables_against_silver(spark, gold_lake):
    """The checks before publishing passed on the samples, with Silver's own figures: every table adds up to Silver's
    rows (closed, with coordinates...) year by year, and the backlog stays within each department's cases."""
    import gold_job

    summary = json.loads((gold_lake / "gold" / "boston311" / "_runs" / "latest.json").read_text())
    checks = {(check["table"], check["check"].split()[0]): check for check in summary["checks"]["passed"]}
    silver = read(spark, gold_lake, "silver")
    located = silver.filter(F.col("latitude").isNotNull() & F.col("longitude").isNotNull())
    assert len(checks) == len(gold_job.GOLD_CHECKS)
    opened = checks[("monthly_requests", "requests_opened")]
    assert opened["gold"] == opened["silver"] == silver.count()
    assert opened["groups"] >= 4  # one per year of opening: 2011, 2015, 2022 and the NEW SYSTEM's years
    assert checks[("resolution_times", "closed_cases")]["gold"] == silver.filter(F.col("is_closed")).count()
    assert checks[("geo_grid", "requests")]["gold"] == located.count() < silver.count()
    for (table, figure), check in checks.items():
        if check["check"].split()[1] == "=":
            assert check["gold"] == check["silver"], (table, figure)
    assert checks[("open_backlog", "peak_open")]["gold"] <= checks[("open_backlog", "peak_open")]["silver"]
