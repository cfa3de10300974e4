"""Gold: the five Boston 311 tables people look at, built from the Silver service requests.

    spark-submit emr/gold_job.py --silver_path <lake>/silver/boston311 --gold_path <lake>/gold/boston311

The same file runs locally (``--master local[*]``), as an EMR 7.x step (``--deploy-mode cluster``,
script and arguments from S3) and as an EMR Serverless job run (``entryPoint``). It imports nothing
from the rest of the repository, so it can be copied to S3 on its own.

Top to bottom: the facts the tables depend on (time zone, grid size, percentile accuracy), the
shared base every table reads (``gold_base``: Silver's rows with Boston dates, keys and flags derived
once), one pure ``DataFrame -> DataFrame`` function per Gold table, the checks of the staged tables against
Silver's counts before publishing, then the reads and writes (Hadoop FileSystem helpers, ``read_silver``,
staging and publishing) and ``run_gold`` that drives them, then the command line. docs/gold.md explains every
table and rule.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import logging
import math
import operator
import os
import posixpath
import re
import signal
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import unquote, urlparse

from py4j.protocol import Py4JError, Py4JJavaError
from pyspark import StorageLevel
from pyspark.errors import PySparkException
from pyspark.sql import Column, DataFrame, Observation, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.utils import AnalysisException

if TYPE_CHECKING:
    from py4j.java_gateway import JavaObject

log = logging.getLogger(__name__)

# Month, year and week are Boston wall-clock time of opened_at; Silver stores UTC instants.
BOSTON_TZ = "America/New_York"
UNKNOWN = "Unknown"
# open_backlog's aged cases: open at the end of a week at least this many weeks after the week they opened in.
AGED_WEEKS = 52

SILVER_TABLE = "service_requests"
# The Silver columns Gold reads (docs/CONTRACTS.md); anything else in Silver is ignored.
SILVER_COLUMNS = (
    "case_id",
    "opened_at",
    "closed_at",
    "is_closed",
    "on_time",
    "hours_to_close",
    "department",
    "subject",
    "reason",
    "type",
    "source",
    "neighborhood",
    "latitude",
    "longitude",
)

PARTITION_COLUMNS = {"monthly_requests": ("year",)}
SHUFFLE_PARTITIONS = "spark.sql.shuffle.partitions"
RUNS_FOLDER = "_runs"
# The run summary's ``format_version`` (docs/CONTRACTS.md): raised by a breaking change to its shape (a field removed,
# renamed or retyped, a new value of an enum), not by a field added. Summaries written before it existed have none.
RUN_SUMMARY_FORMAT_VERSION = 1
STAGING_FOLDER = "_staging"
# A run's id is its UTC start; its staging folder is named ``<run id>-<8 hex>``.
RUN_ID_FORMAT = "%Y%m%dT%H%M%SZ"
# Written into a staging folder just before its swaps begin (a run that dies during them, SIGKILL included, leaves
# the previous tables it moved aside there) and into one a failed run keeps (a previous table that could not be
# put back): the next run that publishes all five tables deletes every other folder carrying it.
KEPT_NOTE = "_kept.txt"
# The hidden file a small text file (a run record, the note) is written to before it is renamed into place
WRITING_FILE = ".writing.tmp"
# A file moved aside while it is replaced is named "." + its name + this
PREVIOUS_ENDING = ".previous.tmp"
# A staging folder without the note belongs to a run still writing, or to one that died before publishing (Spark
# itself went down). The next complete publish deletes it once nothing in it has changed for this long and the run
# that made it began at least this long ago (a Gold run writes its staging folder within minutes), or at once when
# it holds the local run lock (no other run can be writing then).
ABANDONED_STAGING_HOURS = 24

# The group keys the tables take from Silver, written "Unknown" when null or blank (monthly_requests uses all six).
GROUP_KEYS = ("department", "subject", "reason", "type", "source", "neighborhood")

# percentile_approx's accuracy: the returned value's rank is within n / accuracy of the exact rank
# (so exact for groups of fewer than 10,000 closed cases). 10,000 is Spark's default, stated here.
PERCENTILE_ACCURACY = 10_000

# The map grid: ~250 m square cells. A degree of latitude is ~111.13 km everywhere; a degree of
# longitude shrinks with cos(latitude), taken once at Boston City Hall's latitude.
GRID_METERS = 250
METERS_PER_DEGREE_LATITUDE = 111_132
GRID_REFERENCE_LATITUDE = 42.36
GRID_LAT_STEP = GRID_METERS / METERS_PER_DEGREE_LATITUDE
GRID_LON_STEP = GRID_LAT_STEP / math.cos(math.radians(GRID_REFERENCE_LATITUDE))


class GoldInputError(Exception):
    """A problem with the job's input the user can fix; its message is one sentence."""


class GoldPublishError(Exception):
    """Publishing stopped half-way through the tables; its message is one sentence saying which tables are new.

    ``keep_staging`` is true when the staging folder still holds a previous table that could not be put back,
    so it must not be deleted.
    """

    def __init__(self, message: str, keep_staging: bool) -> None:
        super().__init__(message)
        self.keep_staging = keep_staging


class GoldInterrupted(Exception):
    """Ctrl-C or SIGTERM stopped the run before it published anything."""

    MESSAGE = "Gold interrupted before publishing: the previous tables are in place."
    TERMINATED = "Gold stopped by SIGTERM before publishing: the previous tables are in place."

    @classmethod
    def message(cls) -> str:
        """The sentence for the signal that stopped the run (``STOPPED_BY``)."""
        return cls.TERMINATED if stopped_exit() == TERMINATED_EXIT else cls.MESSAGE


# ---------------------------------------------------------------------------------------------
# Column helpers
# ---------------------------------------------------------------------------------------------


def boston_local(utc_column: str) -> Column:
    """The Boston wall-clock time of a UTC timestamp column (needs session time zone UTC)."""
    return F.from_utc_timestamp(F.col(utc_column), BOSTON_TZ)


def month_start(local_time: Column) -> Column:
    """The first day of the month of a local timestamp, as a date."""
    return F.trunc(F.to_date(local_time), "month")


def week_start(local_time: Column) -> Column:
    """The Monday that starts the week of a local timestamp, as a date."""
    return F.to_date(F.date_trunc("week", local_time))


def known_or_unknown(name: str) -> Column:
    """A group key with null or blank values written as 'Unknown', so totals still add up."""
    value = F.trim(F.col(name))
    is_missing = value.isNull() | (value == "")
    return F.when(is_missing, F.lit(UNKNOWN)).otherwise(value).alias(name)


def count_where(condition: Column) -> Column:
    """How many rows of the group satisfy condition (null counts as false); a bigint."""
    return F.count(F.when(condition, F.lit(True)))


def rate(numerator: Column, denominator: Column) -> Column:
    """numerator / denominator, or null when the denominator is zero."""
    return F.when(denominator > 0, numerator / denominator)


def grid_cell(coordinate: str, step: float) -> Column:
    """The centre of the grid cell a coordinate falls in, rounded to 6 decimals (~0.1 m)."""
    return F.round((F.floor(F.col(coordinate) / F.lit(step)) + F.lit(0.5)) * F.lit(step), 6)


def case_is_closed() -> Column:
    """Silver's is_closed, with an unknown status read as still open."""
    return F.coalesce(F.col("is_closed"), F.lit(False))


def closed_with_time() -> Column:
    """A closed case with a close time: the only kind whose on_time is judged. A closed case without one (NEW
    SYSTEM's void ``Error`` cases carry ``ONTIME`` but closed nothing) is neither on time nor late."""
    return case_is_closed() & F.col("closed_at").isNotNull()


def closed_on_time() -> Column:
    """A case closed (with a close time) whose on_time is true."""
    return closed_with_time() & F.col("on_time")


def closed_late() -> Column:
    """A case closed (with a close time) whose on_time is false (a null on_time is neither on time nor late)."""
    return closed_with_time() & ~F.col("on_time")


# ---------------------------------------------------------------------------------------------
# The five Gold tables: Silver service_requests -> shared base -> table
# ---------------------------------------------------------------------------------------------


def gold_base(silver: DataFrame) -> DataFrame:
    """Silver's rows as the five tables read them, every shared value derived once: the Boston year, month and week
    of opening, the week a case leaves the backlog, group keys with 'Unknown', closed / on-time / late flags (an
    unknown is_closed reads as still open) and the map grid cell of trusted coordinates."""
    opened_local = boston_local("opened_at")
    opened_week = week_start(opened_local)
    # A case leaves the backlog in the week it closed. A closed case without a closed_at (or one stamped before it
    # opened) closes in the week it opened, so it never counts as open.
    closed_week = F.when(
        closed_with_time(), F.greatest(week_start(boston_local("closed_at")), opened_week)
    ).when(case_is_closed(), opened_week)
    has_coordinates = F.col("latitude").isNotNull() & F.col("longitude").isNotNull()
    return silver.select(
        F.year(opened_local).alias("year"),
        month_start(opened_local).alias("month"),
        F.to_date(opened_local).alias("opened_date"),
        opened_week.alias("opened_week"),
        closed_week.alias("closed_week"),
        *(known_or_unknown(key) for key in GROUP_KEYS),
        case_is_closed().alias("is_closed"),
        closed_on_time().alias("is_closed_on_time"),
        closed_late().alias("is_closed_late"),
        "hours_to_close",
        F.when(has_coordinates, grid_cell("latitude", GRID_LAT_STEP)).alias("cell_lat"),
        F.when(has_coordinates, grid_cell("longitude", GRID_LON_STEP)).alias("cell_lon"),
    )


def closed_with_duration() -> Column:
    """A closed case whose hours to close are known: what every duration measure (sums, percentiles) is over."""
    return F.col("is_closed") & F.col("hours_to_close").isNotNull()


def located() -> Column:
    """A base row with a map grid cell (trusted coordinates): what geo_grid counts."""
    return F.col("cell_lat").isNotNull() & F.col("cell_lon").isNotNull()


def monthly_requests(base: DataFrame) -> DataFrame:
    """Requests per Boston month and (department, subject, reason, type, source, neighborhood); additive, but for
    ``last_opened_date`` (the Boston day of the group's latest opening), which rolls up with max: its max over a
    month says how far into the month the data reaches (a partial month ends before the month does)."""
    has_duration = closed_with_duration()
    return base.groupBy("month", "year", *GROUP_KEYS).agg(
        F.count(F.lit(1)).alias("requests_opened"),
        count_where(F.col("is_closed")).alias("requests_closed"),
        count_where(F.col("is_closed_on_time")).alias("closed_on_time"),
        count_where(F.col("is_closed_late")).alias("closed_late"),
        count_where(~F.col("is_closed")).alias("still_open"),
        F.coalesce(F.sum(F.when(has_duration, F.col("hours_to_close"))), F.lit(0.0)).alias(
            "sum_hours_to_close"
        ),
        count_where(has_duration).alias("closed_with_duration"),
        F.max("opened_date").alias("last_opened_date"),
    )


def resolution_times(base: DataFrame) -> DataFrame:
    """Closed cases per Boston year of opening, department and type: how long they took (over the closed cases with
    a duration, ``closed_with_duration`` of them), how often on time."""
    return (
        base.filter(F.col("is_closed"))
        .groupBy("year", "department", "type")
        .agg(
            F.count(F.lit(1)).alias("closed_cases"),
            count_where(closed_with_duration()).alias("closed_with_duration"),
            F.percentile_approx("hours_to_close", [0.5, 0.9], PERCENTILE_ACCURACY).alias("hours_percentiles"),
            F.avg("hours_to_close").alias("mean_hours"),
            count_where(F.col("is_closed_on_time")).alias("on_time_cases"),
            count_where(F.col("is_closed_late")).alias("late_cases"),
        )
        .select(
            "year",
            "department",
            "type",
            "closed_cases",
            "closed_with_duration",
            F.col("hours_percentiles")[0].alias("p50_hours"),
            F.col("hours_percentiles")[1].alias("p90_hours"),
            "mean_hours",
            rate(F.col("on_time_cases"), F.col("on_time_cases") + F.col("late_cases")).alias("on_time_rate"),
        )
    )


def neighborhood_scorecard(base: DataFrame) -> DataFrame:
    """Per Boston year and neighborhood: requests, median hours to close (and how many closed cases it is over),
    on-time rate, top type, share of city."""
    # The most requested type; a tie goes to the alphabetically first type, so reruns agree.
    type_rank = (
        Window.partitionBy("year", "neighborhood")
        .orderBy(F.desc("type_requests"), F.asc("type"))
        .rowsBetween(Window.unboundedPreceding, Window.currentRow)
    )
    top_types = (
        base.groupBy("year", "neighborhood", "type")
        .agg(F.count(F.lit(1)).alias("type_requests"))
        .withColumn("type_rank", F.row_number().over(type_rank))
        .filter(F.col("type_rank") == 1)
        .select("year", "neighborhood", F.col("type").alias("top_type"))
    )
    scores = base.groupBy("year", "neighborhood").agg(
        F.count(F.lit(1)).alias("requests"),
        count_where(closed_with_duration()).alias("closed_with_duration"),
        F.percentile_approx(
            F.when(closed_with_duration(), F.col("hours_to_close")), 0.5, PERCENTILE_ACCURACY
        ).alias("p50_hours"),
        count_where(F.col("is_closed_on_time")).alias("closed_on_time"),
        count_where(F.col("is_closed_late")).alias("closed_late"),
    )
    whole_year = Window.partitionBy("year").rowsBetween(Window.unboundedPreceding, Window.unboundedFollowing)
    return scores.join(top_types, on=["year", "neighborhood"], how="left").select(
        "year",
        "neighborhood",
        "requests",
        "closed_with_duration",
        "p50_hours",
        rate(F.col("closed_on_time"), F.col("closed_on_time") + F.col("closed_late")).alias("on_time_rate"),
        "top_type",
        (F.col("requests") / F.sum("requests").over(whole_year)).alias("share_of_city"),
    )


def open_backlog(base: DataFrame) -> DataFrame:
    """Cases open at the end of each Boston week (Monday start) per department, every week of the data, and of
    those the ones open for a year or more (``open_over_1y``: opened at least 52 weeks before the week)."""
    # +1 in the week a case opens, -1 in the week it closes: one pass over Silver yields both events,
    # summed per department and week; the running sum over the weeks is the backlog. A case still open 52
    # weeks after its opening week adds +1 to the aged backlog then, and -1 in the week it closes.
    aged_week = F.date_add(F.col("opened_week"), 7 * AGED_WEEKS)
    ages_open = F.col("closed_week").isNull() | (F.col("closed_week") > aged_week)
    aged = F.when(ages_open, F.lit(1)).otherwise(F.lit(0))
    events = F.array(
        F.struct(
            F.col("opened_week").alias("week_start"),
            F.lit(1).alias("opened"),
            F.lit(0).alias("closed"),
            F.lit(0).alias("aged"),
        ),
        F.struct(
            F.col("closed_week").alias("week_start"),
            F.lit(0).alias("opened"),
            F.lit(1).alias("closed"),
            (-aged).alias("aged"),
        ),
        F.struct(
            aged_week.alias("week_start"),
            F.lit(0).alias("opened"),
            F.lit(0).alias("closed"),
            aged.alias("aged"),
        ),
    )
    weekly_change = (
        base.filter(F.col("opened_week").isNotNull())
        .select("department", F.explode(events).alias("event"))
        .filter(F.col("event.week_start").isNotNull())
        .groupBy("department", F.col("event.week_start").alias("week_start"))
        .agg(
            F.sum("event.opened").alias("opened"),
            F.sum("event.closed").alias("closed"),
            F.sum("event.aged").alias("aged_change"),
        )
        .select(
            "department",
            "week_start",
            "opened",
            (F.col("opened") - F.col("closed")).alias("change"),
            "aged_change",
        )
    )
    # Every week from the first opening to the last, for every department (a few thousand rows).
    openings = weekly_change.filter(F.col("opened") > 0)
    calendar = openings.agg(
        F.min("week_start").alias("first_week"), F.max("week_start").alias("last_week")
    ).select(F.explode(F.sequence("first_week", "last_week", F.expr("INTERVAL 7 DAYS"))).alias("week_start"))
    department_weeks = weekly_change.select("department").distinct().crossJoin(calendar)
    to_date = (
        Window.partitionBy("department")
        .orderBy("week_start")
        .rowsBetween(Window.unboundedPreceding, Window.currentRow)
    )
    # Events after the last week fall outside the calendar: those cases were open (or not yet aged) at its end.
    return department_weeks.join(
        weekly_change.select("department", "week_start", "change", "aged_change"),
        on=["department", "week_start"],
        how="left",
    ).select(
        "week_start",
        "department",
        F.sum(F.coalesce(F.col("change"), F.lit(0))).over(to_date).cast("bigint").alias("open_cases"),
        F.sum(F.coalesce(F.col("aged_change"), F.lit(0))).over(to_date).cast("bigint").alias("open_over_1y"),
    )


def geo_grid(base: DataFrame) -> DataFrame:
    """Requests per Boston year, type and ~250 m grid cell, for maps; only rows with trusted coordinates."""
    return (
        base.filter(located())
        .groupBy("year", "type", "cell_lat", "cell_lon")
        .agg(F.count(F.lit(1)).alias("requests"))
    )


# Each Gold table and the function that builds it, in the order they are written and published. GOLD_TABLES is
# its keys: the same names, same order as GOLD_TABLES in scripts/lake.py (a test keeps the two equal; this file
# must stay importable on its own on EMR).
GOLD_BUILDERS = {
    "monthly_requests": monthly_requests,
    "resolution_times": resolution_times,
    "neighborhood_scorecard": neighborhood_scorecard,
    "open_backlog": open_backlog,
    "geo_grid": geo_grid,
}
GOLD_TABLES = tuple(GOLD_BUILDERS)


# ---------------------------------------------------------------------------------------------
# Checks before publishing: the staged tables reconciled with Silver's counts
# ---------------------------------------------------------------------------------------------


class GoldCheckError(Exception):
    """A staged table disagrees with Silver's counts (a lost or doubled group, a wrong join or filter); its message
    is one sentence naming the table and the two numbers. Nothing is published."""


# What silver_counts counts per Boston year of opening and department (besides the first and last opening week),
# as a failed check names it.
SILVER_COUNTS = {
    "rows": "cases opened in {group}",
    "closed": "closed cases opened in {group}",
    "still_open": "open cases opened in {group}",
    "closed_on_time": "cases opened in {group} and closed on time",
    "closed_late": "cases opened in {group} and closed late",
    "closed_with_duration": "cases opened in {group} and closed with a duration",
    "located": "cases opened in {group} with coordinates",
}


class GoldCheck(NamedTuple):
    """One reconciliation of a staged table with Silver, group by group: ``figure`` (per group, from
    ``staged_figures``) ``relation`` Silver's ``silver_figure`` (per year from ``totals_by``, per department from
    ``backlog_expected``). ``failure`` is the clause
    that says it failed, with ``{group}``, ``{gold}`` and ``{silver}`` to fill in; by default "its <figure> for
    <group> add up to <gold>, but Silver's count of <what SILVER_COUNTS says> is <silver>"."""

    table: str
    figure: str
    relation: str  # "=", "<=" or ">=": gold <relation> silver
    silver_figure: str
    per: str  # "year" or "department"
    failure: str = ""

    def clause(self) -> str:
        """The failure clause, with {group}, {gold} and {silver} to fill in."""
        if self.failure:
            return self.failure
        counted = SILVER_COUNTS[self.silver_figure]
        return f"its {self.figure} for {{group}} add up to {{gold}}, but Silver's count of {counted} is {{silver}}"


# Every check holds by construction of docs/gold.md's rules: each Silver row lands in exactly one group of every
# table (geo_grid: each row with coordinates), the backlog's calendar runs from the first to the last opening week
# for every department, and a case is open in it only between its opening and closing weeks.
GOLD_CHECKS = (
    GoldCheck("monthly_requests", "requests_opened", "=", "rows", "year"),
    GoldCheck("monthly_requests", "requests_closed", "=", "closed", "year"),
    GoldCheck("monthly_requests", "still_open", "=", "still_open", "year"),
    GoldCheck("monthly_requests", "closed_on_time", "=", "closed_on_time", "year"),
    GoldCheck("monthly_requests", "closed_late", "=", "closed_late", "year"),
    GoldCheck("monthly_requests", "closed_with_duration", "=", "closed_with_duration", "year"),
    GoldCheck("resolution_times", "closed_cases", "=", "closed", "year"),
    GoldCheck("resolution_times", "closed_with_duration", "=", "closed_with_duration", "year"),
    GoldCheck("neighborhood_scorecard", "requests", "=", "rows", "year"),
    GoldCheck("neighborhood_scorecard", "closed_with_duration", "=", "closed_with_duration", "year"),
    GoldCheck(
        "open_backlog", "weeks", "=", "weeks", "department",
        "its weeks for {group} number {gold}, but Silver's first to last opening week span {silver}",
    ),
    GoldCheck(
        "open_backlog", "impossible_weeks", "=", "impossible_weeks", "department",
        "its weeks for {group} with a negative count or more open_over_1y than open_cases number {gold}, where "
        "there should be {silver}",
    ),
    GoldCheck(
        "open_backlog", "peak_open", "<=", "rows", "department",
        "its open_cases for {group} reach {gold}, above {silver}, Silver's count of all the cases of {group}",
    ),
    GoldCheck(
        "open_backlog", "open_at_end", ">=", "still_open", "department",
        "its open_cases for {group} in the last week are {gold}, below {silver}, Silver's count of the cases of "
        "{group} still open",
    ),
    GoldCheck("geo_grid", "requests", "=", "located", "year"),
)  # fmt: skip

RELATIONS = {"=": operator.eq, "<=": operator.le, ">=": operator.ge}


def silver_counts(base: DataFrame) -> DataFrame:
    """Silver's counts per Boston year of opening and department, from the base with the same flags the tables use:
    a few hundred rows, computed by the pass that fills the base's cache (so no second read of Silver)."""
    return base.groupBy("year", "department").agg(
        F.count(F.lit(1)).alias("rows"),
        count_where(F.col("is_closed")).alias("closed"),
        count_where(~F.col("is_closed")).alias("still_open"),
        count_where(F.col("is_closed_on_time")).alias("closed_on_time"),
        count_where(F.col("is_closed_late")).alias("closed_late"),
        count_where(closed_with_duration()).alias("closed_with_duration"),
        count_where(located()).alias("located"),
        F.min("opened_week").alias("first_week"),
        F.max("opened_week").alias("last_week"),
    )


def totals_by(counts: list[dict], key: str) -> dict:
    """Silver's counts (``silver_counts`` rows as dicts) summed per ``year`` or ``department``."""
    totals: dict = {}
    for group in counts:
        into = totals.setdefault(group[key], {})
        for measure in SILVER_COUNTS:
            into[measure] = into.get(measure, 0) + group[measure]
    return totals


def sums_by(table: DataFrame, key: str, measures: tuple[str, ...]) -> dict:
    """``{key value: {measure: sum}}`` of a small table."""
    totals = table.groupBy(key).agg(*(F.sum(measure).alias(measure) for measure in measures)).collect()
    return {row[key]: {measure: row[measure] or 0 for measure in measures} for row in totals}


def staged_figures(spark: SparkSession, staging: str) -> dict[str, dict]:
    """What the checks compare, read back from the staged Parquet (small tables): per year the sums of every count,
    and per department open_backlog's weeks, its peak, its last week's backlog and its impossible weeks."""

    def staged(table: str) -> DataFrame:
        return spark.read.parquet(literal(f"{staging}/{table}"))

    is_negative = (F.col("open_cases") < 0) | (F.col("open_over_1y") < 0)
    is_impossible = is_negative | (F.col("open_over_1y") > F.col("open_cases"))
    backlog = (
        staged("open_backlog")
        .groupBy("department")
        .agg(
            F.count(F.lit(1)).alias("weeks"),
            F.max("open_cases").alias("peak_open"),
            F.max_by("open_cases", "week_start").alias("open_at_end"),
            count_where(is_impossible).alias("impossible_weeks"),
        )
        .collect()
    )
    per_year: dict[str, list[str]] = {}
    for check in GOLD_CHECKS:
        if check.per == "year":
            per_year.setdefault(check.table, []).append(check.figure)
    figures = {table: sums_by(staged(table), "year", tuple(measures)) for table, measures in per_year.items()}
    figures["open_backlog"] = {row["department"]: row.asDict() for row in backlog}
    return figures


def backlog_expected(counts: list[dict]) -> dict:
    """What open_backlog's checks hold each department to: Silver's counts (``silver_counts`` rows as dicts) of its
    cases with an opening week, the ones the backlog counts; as many weeks as its calendar has, Silver's first to
    last opening week; and no impossible week."""
    opened = [group for group in counts if group["first_week"] is not None]
    if not opened:
        return {}
    first_week = min(group["first_week"] for group in opened)
    last_week = max(group["last_week"] for group in opened)
    weeks = (last_week - first_week).days // 7 + 1
    departments = totals_by(opened, "department")
    return {
        department: {**totals, "weeks": weeks, "impossible_weeks": 0}
        for department, totals in departments.items()
    }


def reconcile(counts: list[dict], staged: dict[str, dict]) -> list[dict]:
    """Compare the staged tables' figures (``staged_figures``) with Silver's counts (``silver_counts`` rows as
    dicts), group by group; GoldCheckError at the first that fails. Returns one entry per check for the run summary:
    the table, its figure, the relation, Silver's figure, how many groups were compared and the two totals."""
    expected = {"year": totals_by(counts, "year"), "department": backlog_expected(counts)}
    results = []
    for check in GOLD_CHECKS:
        gold_groups, silver_groups = staged[check.table], expected[check.per]
        groups = sorted(set(gold_groups) | set(silver_groups), key=lambda group: (group is None, str(group)))
        gold_total = silver_total = 0
        for group in groups:
            gold = gold_groups.get(group, {}).get(check.figure) or 0
            silver = silver_groups.get(group, {}).get(check.silver_figure, 0)
            if not RELATIONS[check.relation](gold, silver):
                name = "an unknown year" if group is None else group
                raise GoldCheckError(
                    f"Gold's check of {check.table} failed, so nothing was published: "
                    f"{check.clause().format(group=name, gold=gold, silver=silver)}."
                )
            gold_total, silver_total = gold_total + gold, silver_total + silver
        results.append(
            {
                "table": check.table,
                "check": f"{check.figure} {check.relation} Silver's {check.silver_figure}, per {check.per}",
                "groups": len(groups),
                "gold": gold_total,
                "silver": silver_total,
            }
        )
    return results


def check_staged_tables(spark: SparkSession, staging: str, counts: list[dict]) -> dict:
    """Reconcile the staged tables with Silver's counts before anything is published (GoldCheckError when one
    disagrees); the checks' figures and seconds, for the run summary."""
    started = time.monotonic()
    results = reconcile(counts, staged_figures(spark, staging))
    seconds = round(time.monotonic() - started, 3)
    for result in results:
        log.info(
            "Gold check %s: %s: %d vs %d over %d groups",
            result["table"],
            result["check"],
            result["gold"],
            result["silver"],
            result["groups"],
        )
    log.info("Gold: %d checks of the staged tables against Silver passed in %.1f s", len(results), seconds)
    return {"passed": results, "seconds": seconds}


# ---------------------------------------------------------------------------------------------
# Reads and writes (local folders, HDFS and S3 alike, through Hadoop's FileSystem)
# ---------------------------------------------------------------------------------------------


# What Hadoop's paths take for a pattern (SparkHadoopUtil.isGlobPath), escaped by ``literal``
GLOB_CHARACTERS = re.compile(r"[\\\[\]{}*?]")


def literal(path: str) -> str:
    """A path for Spark's readers, its glob characters escaped: a reader takes ``[ ] { } * ?`` as a pattern, so a lake
    under ``lake [2026]`` read nothing, or the file of a folder beside it (``lake 2``) in its place."""
    return GLOB_CHARACTERS.sub(r"\\\g<0>", path)


def hadoop_path(spark: SparkSession, uri: str) -> JavaObject:
    """A Hadoop Path for a local path or URI."""
    return spark._jvm.org.apache.hadoop.fs.Path(uri)


def filesystem(spark: SparkSession, uri: str) -> JavaObject:
    """The Hadoop FileSystem that holds uri (local, HDFS, or S3 through EMRFS / S3A)."""
    return hadoop_path(spark, uri).getFileSystem(spark._jsc.hadoopConfiguration())


def path_exists(spark: SparkSession, uri: str) -> bool:
    """True when a file or folder exists at uri."""
    return bool(filesystem(spark, uri).exists(hadoop_path(spark, uri)))


def delete_path(spark: SparkSession, uri: str) -> None:
    """Delete a file or folder tree if it exists."""
    filesystem(spark, uri).delete(hadoop_path(spark, uri), True)


def delete_if_empty(spark: SparkSession, uri: str) -> None:
    """Delete a folder if it exists and holds nothing."""
    fs, path = filesystem(spark, uri), hadoop_path(spark, uri)
    if fs.exists(path) and len(fs.listStatus(path)) == 0:
        fs.delete(path, False)


def move_path(spark: SparkSession, source: str, target: str) -> None:
    """Rename source to target (target must not exist); raise when the file system refuses."""
    fs = filesystem(spark, source)
    target_path = hadoop_path(spark, target)
    fs.mkdirs(target_path.getParent())
    if not fs.rename(hadoop_path(spark, source), target_path):
        raise OSError(f"could not move {source} to {target}")


def write_text(spark: SparkSession, uri: str, text: str) -> None:
    """Write a small UTF-8 text file at uri, replacing it, never leaving it half-written.

    On S3 an object appears only once its upload is complete, so it is written in place. Elsewhere (a local disk,
    HDFS) the text goes to the folder's hidden ``WRITING_FILE`` first, which ``rename_over`` then renames over the
    file: a run killed while writing left a run record empty for good, and one killed now leaves the previous file
    (or its copy aside, see ``rename_over``) and the hidden file, which the next write into that folder takes over.
    One run at a time writes into a Gold folder (``one_run_at_a_time``; on EMR, ``emr/submit.py``).
    """
    fs, path = filesystem(spark, uri), hadoop_path(spark, uri)
    if str(fs.getUri().getScheme()).startswith("s3"):
        write_file(fs, path, text)
        return
    folder = path.getParent()
    temporary = spark._jvm.org.apache.hadoop.fs.Path(folder, WRITING_FILE)  # not a path re-parsed
    previous = spark._jvm.org.apache.hadoop.fs.Path(folder, f".{path.getName()}{PREVIOUS_ENDING}")
    write_file(fs, temporary, text)
    if not rename_over(fs, temporary, path, previous):
        raise OSError(f"could not move {temporary.toString()} to {uri}")


def rename_over(fs: JavaObject, source: JavaObject, target: JavaObject, previous: JavaObject) -> bool:
    """Rename a file over another; False, with the target as it was, when the file system refuses.

    Where the file system replaces a file in one rename (Hadoop's raw local file system on POSIX) the target is never
    missing. Where it refuses to rename onto a file (HDFS, and a local disk as pyspark starts Spark: Hive's
    ProxyLocalFileSystem serves ``file:``), the target is moved aside to ``previous`` and the rename is tried again,
    and when that is refused too, the target is put back. A run that dies between those two renames (or a put-back
    refused) leaves the file only as ``previous``, which the next write of the file deletes.
    """
    if not fs.rename(source, target):
        if not fs.exists(target):
            return False
        fs.delete(previous, False)  # left by a run that died after renaming the file into place
        if not fs.rename(target, previous):
            return False
        if not fs.rename(source, target):
            fs.rename(previous, target)
            return False
    fs.delete(previous, False)
    return True


def write_file(fs: JavaObject, path: JavaObject, text: str) -> None:
    """Create (replace) one file with the text."""
    stream = fs.create(path, True)
    try:
        stream.write(bytearray(text.encode("utf-8")))
    finally:
        stream.close()


def last_change(spark: SparkSession, folder: JavaObject) -> float:
    """Seconds since the epoch of the newest file under a folder (the folder's own time when it holds none)."""
    fs = filesystem(spark, str(folder))
    newest = fs.getFileStatus(folder).getModificationTime()
    files = fs.listFiles(folder, True)
    while files.hasNext():
        newest = max(newest, files.next().getModificationTime())
    return newest / 1000


def staging_started(name: str) -> float | None:
    """Seconds since the epoch when the run that named a staging folder ``<run id>-<8 hex>`` began; None for another
    name."""
    try:
        started = datetime.strptime(name.split("-", 1)[0], RUN_ID_FORMAT)
    except ValueError:
        return None
    return started.replace(tzinfo=timezone.utc).timestamp()


def idle_hours(spark: SparkSession, folder: JavaObject) -> float:
    """How long nothing in an earlier run's staging folder has changed, in hours.

    Its age is that of its newest file, and never less than its name says: an object store may give a folder that
    holds no file yet (a run writing its first table) no time at all (0, 1970), which would read as abandoned."""
    idle_since = max(last_change(spark, folder), staging_started(folder.getName()) or 0)
    return (time.time() - idle_since) / 3600


def reason_to_delete(spark: SparkSession, folder: JavaObject, sole_writer: bool) -> str | None:
    """Why an earlier run's staging folder may be deleted (one of the log's phrases), or None while it may still be in
    use."""
    if filesystem(spark, str(folder)).exists(folder.suffix(f"/{KEPT_NOTE}")):
        return "kept by an earlier run"
    if sole_writer:
        return "left by a run that stopped before publishing"
    idle = idle_hours(spark, folder)
    if idle >= ABANDONED_STAGING_HOURS:
        return f"left by a run that stopped before publishing (unchanged for {idle:.0f} hours)"
    return None


def staging_folders(spark: SparkSession, gold_path: str) -> list[JavaObject]:
    """The staging folders under ``<gold_path>/_staging``, by name; none when the root is absent or unreadable."""
    staging_root = f"{gold_path}/{STAGING_FOLDER}"
    try:
        fs = filesystem(spark, staging_root)
        statuses = fs.listStatus(hadoop_path(spark, staging_root))
    except Exception as error:  # the root is absent (FileNotFoundException) or unreadable
        log.debug("Gold: no staging folders under %s: %s", staging_root, error)
        return []
    return sorted((status.getPath() for status in statuses), key=lambda folder: folder.getName())


def delete_left_staging(spark: SparkSession, gold_path: str, own_staging: str, sole_writer: bool) -> None:
    """After a complete publish, delete the staging folders earlier runs left (never this run's own,
    ``own_staging``): those marked with ``KEPT_NOTE``, whose previous tables are replaced now, and unmarked ones of
    runs that died before publishing, when ``sole_writer`` (this run holds the local lock) or unchanged for
    ``ABANDONED_STAGING_HOURS``. A folder that cannot be deleted is logged and left for the next run; it never
    fails this one."""
    own = own_staging.rstrip("/").rsplit("/", 1)[-1]
    for folder in staging_folders(spark, gold_path):  # one that fails is logged; the others are still tried
        if folder.getName() == own:
            continue
        try:
            why = reason_to_delete(spark, folder, sole_writer)
        except Exception as error:  # gone meanwhile or unreadable
            log.warning("Gold: could not look into %s (%s); the next run tries again", folder, error)
            continue
        if why is None:
            continue
        try:
            delete_path(spark, str(folder))
            if path_exists(spark, str(folder)):
                raise OSError("the file system refused")
        except Exception as error:
            log.warning("Gold: could not delete %s, %s (%s); the next run tries again", folder, why, error)
            continue
        log.info("Gold: deleted %s, %s: the tables are replaced now", folder, why)


def put_back_tables_left_aside(spark: SparkSession, gold_path: str, sole_writer: bool) -> None:
    """Before a run reads anything, put back a table a dead run left aside: killed between the two moves of its
    swap (``publish_tables``), it left the previous table in ``<staging>/_replaced/<table>`` and no live one,
    so readers found no table until a run published again (a failing run never did).

    Only from a folder of a run certainly gone: this run holds the local lock (``sole_writer``), or the folder is
    unchanged for ``ABANDONED_STAGING_HOURS`` (on S3 a live run may be between its two moves). A table that cannot
    be put back is logged and left for the publish; it never fails the run."""
    for folder in staging_folders(spark, gold_path):
        gone = True if sole_writer else None  # is the folder's run certainly gone? Read once, when needed
        for table in GOLD_TABLES:
            live, aside = f"{gold_path}/{table}", f"{folder}/_replaced/{table}"
            try:
                if path_exists(spark, live) or not path_exists(spark, aside):
                    continue
                if gone is None:
                    gone = idle_hours(spark, folder) >= ABANDONED_STAGING_HOURS
                if not gone:
                    continue  # maybe a run between its two moves
                move_path(spark, aside, live)
            except Exception as error:
                log.warning(
                    "Gold: could not put %s back from %s (%s); this run's publish replaces it",
                    table,
                    aside,
                    error,
                )
            else:
                log.warning(
                    "Gold: %s was missing (a run stopped while swapping it in): put back from %s",
                    table,
                    aside,
                )


def no_silver_table(table_path: str) -> str:
    """The sentence for a Silver path without its table, asked both before Spark starts and when reading it."""
    return (
        f"No Silver table at {table_path}: run the Silver job first or check --silver_path (a Silver run that "
        "wrote no rows makes none: its _quality/latest.json says what it read and quarantined)."
    )


# A partition folder of Silver's table named otherwise than Silver writes it (open_year=2022, open_month=1): a copy
# such as open_month=01 or "open_month=1 copy", which Spark reads as more rows of the month.
SILVER_FOLDER_COPY = re.compile(r"open_year=(?!\d{4}$).*|open_month=(?!(?:[1-9]|1[0-2])$).*", re.ASCII)


def read_silver(spark: SparkSession, silver_path: str) -> DataFrame:
    """The Silver service requests with the columns Gold needs; GoldInputError when absent or unusable."""
    table_path = f"{silver_path.rstrip('/')}/{SILVER_TABLE}"
    if not path_exists(spark, table_path):
        raise GoldInputError(no_silver_table(table_path))
    try:
        silver = spark.read.parquet(literal(table_path))
    except AnalysisException as error:
        log.debug("reading %s failed: %s", table_path, error)
        raise GoldInputError(
            f"The Silver table at {table_path} holds no Parquet data: run the Silver job first."
        ) from None
    missing = [name for name in SILVER_COLUMNS if name not in silver.columns]
    if missing:
        raise GoldInputError(f"The Silver table at {table_path} lacks the columns {', '.join(missing)}.")
    copied = next(
        (
            folder
            for path in silver.inputFiles()  # URIs: a space in a name is %20
            for folder in unquote(path).split("/")
            if SILVER_FOLDER_COPY.fullmatch(folder)
        ),
        None,
    )
    if copied:  # Spark reads open_month=01 as month 1: a copied month folder's cases were counted twice
        raise GoldInputError(
            f"The Silver table at {table_path} holds a folder {copied}, which Silver does not write (open_year=YYYY, "
            "open_month=M without a leading zero): a copy of a month would be counted twice; move it out of the table."
        )
    return silver.select(*SILVER_COLUMNS)


def write_table(table: DataFrame, path: str, partition_by: tuple[str, ...]) -> int:
    """Write one Gold table as snappy Parquet (one file per partition value, or one file in all); return its row
    count, observed while writing (no second read)."""
    written = Observation()
    arranged = table.repartition(*partition_by) if partition_by else table.coalesce(1)
    counted = arranged.observe(written, F.count(F.lit(1)).alias("rows"))
    writer = counted.write.mode("overwrite").option("compression", "snappy")
    if partition_by:
        writer = writer.partitionBy(*partition_by)
    writer.parquet(path)
    return written.get["rows"]


def write_staged_tables(base: DataFrame, staging: str) -> dict[str, dict]:
    """Build every Gold table from the base (``gold_base``) and write it under the staging folder; rows and
    seconds per table."""
    tables = {}
    for table in GOLD_TABLES:
        started = time.monotonic()
        staged = f"{staging}/{table}"
        rows = write_table(GOLD_BUILDERS[table](base), staged, PARTITION_COLUMNS.get(table, ()))
        tables[table] = {"rows": rows, "seconds": round(time.monotonic() - started, 3)}
        log.info("Gold %s: %d rows in %.1f s", table, rows, tables[table]["seconds"])
    return tables


def publish_tables(spark: SparkSession, staging: str, gold_path: str) -> None:
    """Swap each fully written staged table in for the live one, one table at a time in GOLD_TABLES order.

    The live table is moved aside to ``<staging>/_replaced/<table>``, then the staged one is moved in. When that
    second move fails, whatever of the new table reached the live folder is deleted and the old table moved back
    (``put_back``), and GoldPublishError says which tables are already new; it asks to keep the staging folder
    when the old table is still in it.
    """
    published: list[str] = []
    for table in GOLD_TABLES:
        live, staged, replaced = f"{gold_path}/{table}", f"{staging}/{table}", f"{staging}/_replaced/{table}"
        moving_in = False
        try:
            if path_exists(spark, live):
                move_path(spark, live, replaced)
            moving_in = True
            move_path(spark, staged, live)
        except BaseException as error:  # an interrupt between the two moves too: the old table must go back
            if moving_in:
                put_back(spark, live, replaced)
            raise publish_stopped(spark, table, published, error, replaced) from error
        published.append(table)


def put_back(spark: SparkSession, live: str, replaced: str) -> None:
    """Undo a swap whose second move failed: delete what of the new table reached ``live`` (an S3 rename copies
    file by file) and move the old table, if there was one, back from ``replaced``. A failure here is logged;
    the old table then stays in ``replaced``."""
    try:
        delete_path(spark, live)
        if path_exists(spark, replaced):
            move_path(spark, replaced, live)
    except Exception as error:
        log.error("Gold: could not put the previous %s back from %s: %s", live, replaced, error)


def note_kept_staging(spark: SparkSession, staging: str, message: str) -> None:
    """Mark a staging folder the run keeps, so that the next complete run deletes it; the note is the error's
    sentence. When even the note cannot be written, the next complete run treats the folder as one a run left
    before publishing (``delete_left_staging``), logged."""
    try:
        write_text(spark, f"{staging}/{KEPT_NOTE}", message + "\n")
    except Exception as error:
        log.error(
            "Gold: could not mark %s as kept (%s): the next complete Gold run deletes it (on S3 once it is %d hours "
            "old)",
            staging,
            error,
            ABANDONED_STAGING_HOURS,
        )


def publish_stopped(
    spark: SparkSession, table: str, published: list[str], error: BaseException, replaced: str
) -> GoldPublishError:
    """The error of a publish that stopped at table, after the tables in published were swapped in."""
    try:
        old_table_aside = path_exists(spark, replaced)
    except Exception:
        old_table_aside = True  # cannot tell: keep the staging folder
    reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
    if published:
        new = f"{', '.join(published)} {'is' if len(published) == 1 else 'are'} already new"
    else:
        new = "no table is new yet"
    if old_table_aside:
        return GoldPublishError(
            f"Publishing Gold stopped at {table} ({reason}): {new}, the tables after {table} are unchanged, "
            f"and the previous {table} could not be put back: what is left of it is kept in {replaced}; "
            f"rerun Gold to rebuild every table from Silver.",
            keep_staging=True,
        )
    return GoldPublishError(
        f"Publishing Gold stopped at {table} ({reason}): {new}, {table} and the tables after it are unchanged; "
        f"rerun Gold to rebuild every table.",
        keep_staging=False,
    )


def stage_check_and_publish(
    spark: SparkSession, base: DataFrame, counts: list[dict], gold_path: str, run_id: str, sole_writer: bool
) -> tuple[dict[str, dict], dict]:
    """Write every table under a staging folder of the run's own, check them against Silver's counts and swap them
    in; the tables' rows and seconds and the checks' figures, for the run summary.

    Every table is first written in full under ``<gold_path>/_staging/<run>/``; only when all five
    are written, and reconciled with Silver's counts (``check_staged_tables``; GoldCheckError when one disagrees),
    are they swapped into ``<gold_path>/<table>/`` one by one (``publish_tables``). So a run that fails while
    computing, writing or checking leaves every previous table as it was. A run
    that fails during the swaps raises GoldPublishError: the tables swapped before the failure are
    new, the table whose swap failed is put back as it was and the later ones are untouched (the
    tables then come from two runs until Gold is rerun); the staging folder is kept only when a
    previous table could not be put back, marked with ``KEPT_NOTE`` so that the next complete publish
    deletes it (``delete_left_staging``); the note is written before the first swap, so a run that dies
    during the swaps leaves a folder the next complete publish deletes too. A run that dies before its swaps
    leaves an unmarked folder: the next complete publish deletes it when ``sole_writer`` (the caller holds the
    local run lock, ``one_run_at_a_time``) or once it is ``ABANDONED_STAGING_HOURS`` old.
    """
    staging = f"{gold_path}/{STAGING_FOLDER}/{run_id}-{uuid.uuid4().hex[:8]}"
    keep_staging = False
    try:
        tables = write_staged_tables(base, staging)
        checks = check_staged_tables(spark, staging, counts)  # GoldCheckError: nothing is published
        if INTERRUPTED.is_set():  # the last moment to stop with the previous tables all in place
            raise GoldInterrupted(GoldInterrupted.message())
        # marked first: should the process die between two moves, the next complete run deletes the folder
        note_kept_staging(spark, staging, f"Gold run {run_id} began swapping its tables in from here.")
        publish_tables(spark, staging, gold_path)
        delete_left_staging(spark, gold_path, staging, sole_writer)
    except GoldPublishError as error:
        keep_staging = error.keep_staging  # it holds a previous table that could not be put back
        if keep_staging:
            note_kept_staging(spark, staging, str(error))
        raise
    finally:
        if not keep_staging:
            delete_path(spark, staging)
            delete_if_empty(spark, f"{gold_path}/{STAGING_FOLDER}")
    return tables, checks


def run_gold(spark: SparkSession, silver_path: str, gold_path: str, sole_writer: bool = False) -> dict:
    """Build the five Gold tables from Silver and publish them (``stage_check_and_publish``); return the rows
    written per table. A run that fails while reading Silver leaves every previous table as it was.
    ``<gold_path>/_runs/latest.json`` (and a copy named after the run) records rows and seconds per table, the
    inputs and the checks' figures, after a complete publish only.

    The session time zone is set to UTC and stays so (every Boston date depends on it);
    ``spark.sql.shuffle.partitions`` is changed for the run and always given back.
    """
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    started = time.monotonic()
    started_at = datetime.now(timezone.utc)
    run_id = started_at.strftime(RUN_ID_FORMAT)
    gold_path = gold_path.rstrip("/")
    put_back_tables_left_aside(spark, gold_path, sole_writer)

    # The five tables scan Silver six times: read it once and keep the shared base (gold_base: Boston dates,
    # 'Unknown' keys, flags, grid cells, derived once) cached, spilling to disk when memory is short, instead of
    # re-reading storage and re-deriving each time. The cache level is Spark's own default for DataFrames
    # (MEMORY_AND_DISK_DESER); PySpark's MEMORY_AND_DISK also serializes the cached batches (measured 10-20 %
    # slower to fill and to scan). Many small Silver files would make hundreds of tiny partitions and as many
    # tasks in every stage, so the input is coalesced to two partitions per core (a no-op when it already has
    # fewer); Gold's aggregates are small, so their shuffles get as many partitions, not Spark's 200. The
    # setting is changed only once Silver is known to be usable, and given back whatever happens next.
    input_partitions = 2 * max(spark.sparkContext.defaultParallelism, 1)
    shuffle_partitions = spark.conf.get(SHUFFLE_PARTITIONS, None)
    silver = read_silver(spark, silver_path)
    base = gold_base(silver).coalesce(input_partitions).persist(StorageLevel.MEMORY_AND_DISK_DESER)
    try:
        spark.conf.set(SHUFFLE_PARTITIONS, str(input_partitions))
        # Silver's counts per year and department for the checks before publishing: this first aggregate fills
        # the cache, as a count would, so the checks cost no second pass over Silver.
        counts = [group.asDict() for group in silver_counts(base).collect()]
        silver_rows = sum(group["rows"] for group in counts)
        read_seconds = round(time.monotonic() - started, 3)
        if silver_rows == 0:
            raise GoldInputError(
                f"The Silver table under {silver_path} has no rows, so there is nothing to build."
            )
        undated = sum(group["rows"] for group in counts if group["year"] is None)
        # published under month NULL before: a Parquet file Silver did not write, or of another schema
        if undated:
            strangers = silver.where(F.col("opened_at").isNull()).select(F.input_file_name()).distinct()
            files = ", ".join(row[0] for row in strangers.limit(3).collect())
            raise GoldInputError(
                f"The Silver table under {silver_path} holds {undated} rows without an opened_at, which Silver never "
                f"writes: a file of another table or schema lies in it ({files}); move it out of the table, then run "
                "Gold again."
            )
        log.info("Gold run %s: %d Silver rows from %s", run_id, silver_rows, silver_path)
        tables, checks = stage_check_and_publish(spark, base, counts, gold_path, run_id, sole_writer)
    finally:
        base.unpersist()
        if shuffle_partitions is None:
            spark.conf.unset(SHUFFLE_PARTITIONS)
        else:
            spark.conf.set(SHUFFLE_PARTITIONS, shuffle_partitions)

    summary = {
        "format_version": RUN_SUMMARY_FORMAT_VERSION,
        "run_id": run_id,
        "started_at": started_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "finished_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "seconds": round(time.monotonic() - started, 3),
        "inputs": {
            "silver_path": silver_path,
            "silver_table": SILVER_TABLE,
            "silver_rows": silver_rows,
            "read_seconds": read_seconds,
        },
        "gold_path": gold_path,
        "tables": tables,
        "checks": checks,
        "percentile_accuracy": PERCENTILE_ACCURACY,
        "grid": {"meters": GRID_METERS, "lat_step": GRID_LAT_STEP, "lon_step": GRID_LON_STEP},
    }
    text = json.dumps(summary, indent=2) + "\n"
    try:
        write_text(spark, f"{gold_path}/{RUNS_FOLDER}/{run_id}.json", text)
        write_text(spark, f"{gold_path}/{RUNS_FOLDER}/latest.json", text)
    except OSError as error:  # a rename refused (returned false): one sentence, not a traceback
        raise GoldPublishError(
            f"Gold published every table but could not write its run record ({error}): "
            f"{gold_path}/{RUNS_FOLDER}/latest.json is missing or names an earlier run until Gold is rerun.",
            keep_staging=False,
        ) from error
    return {table: info["rows"] for table, info in tables.items()}


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


class OneLineArgumentParser(argparse.ArgumentParser):
    """argparse that reports bad usage as one sentence on stderr and exits with 2, and so a --help that stdout
    refuses (``help_to_stdout``)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        """Print one sentence and exit 2."""
        self.exit(2, f"{self.prog}: {message} (see --help).\n")

    def print_help(self, file=None) -> None:  # noqa: ANN001 - argparse's signature
        """The help on stdout, as argparse prints it; SystemExit(2) after one sentence when stdout refuses it."""
        if file is not None:
            super().print_help(file)
        elif not help_to_stdout(self.format_help(), f"{self.prog}:"):
            self.exit(2)


# A copy of scripts/command_line.py's (this file imports nothing of the repository; held equal by a test).
def help_to_stdout(text: str, prefix: str) -> bool:
    """Write a ``--help`` text to stdout, flushed now; True when it went, else False after one sentence on stderr
    (``prefix`` begins it, e.g. ``"dashboard.py: error:"``) saying why stdout refused it: a full disk, a pipe whose
    reader is gone, or no stdout at all."""
    if sys.stdout is None:
        reason = "stdout is closed"
    else:
        try:
            sys.stdout.write(text)
            sys.stdout.flush()
            return True
        except OSError as error:  # BrokenPipeError too
            reason = error.strerror or str(error)
            stdout_to_devnull()
    print(f"{prefix} Could not write the help to stdout ({reason}); nothing was run.", file=sys.stderr)
    return False


def stdout_to_devnull() -> None:
    """After stdout refused a write, point its file descriptor at the null device (Python's advice for a closed pipe,
    "Note on SIGPIPE" in the signal module's docs): what is left in its buffer is flushed as the process ends, which
    would fail again ("Exception ignored … BrokenPipeError", exit 120). Nothing to do for a stdout that is no file
    (none at all, a test's capture)."""
    try:
        descriptor = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both of the last two
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, descriptor)
    finally:
        os.close(devnull)


def path_argument(text: str) -> str:
    """The argparse type of --silver_path and --gold_path: a blank value (often an unset shell variable) is refused;
    taken as it is, a blank Gold path puts the five tables at the root of the file system."""
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty (an unset variable?): give a folder or s3://bucket/prefix")
    return text


def build_parser() -> argparse.ArgumentParser:
    """The command line: --silver_path and --gold_path."""
    parser = OneLineArgumentParser(
        prog="gold_job.py",
        description="Build the five Boston 311 Gold tables from the Silver service requests.",
    )
    parser.add_argument(
        "--silver_path",
        required=True,
        type=path_argument,
        help="Silver root, e.g. s3://bucket/silver/boston311",
    )
    parser.add_argument(
        "--gold_path", required=True, type=path_argument, help="Gold root, e.g. s3://bucket/gold/boston311"
    )
    return parser


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse --silver_path and --gold_path."""
    return build_parser().parse_args(argv)


def local_path(uri: str) -> str | None:
    """The file-system path of a local path or ``file:`` URI; None for any other scheme (s3://, hdfs://)."""
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return parsed.path
    return uri if parsed.scheme == "" else None


def comparable_path(uri: str) -> str:
    """A path or URI as a folder to compare with another: local ones absolute with links resolved, others (s3://)
    normalised, each ending with ``/``."""
    local = local_path(uri)
    if local is not None:
        return os.path.join(os.path.realpath(local), "")
    parsed = urlparse(uri)
    # repeated slashes are one to Hadoop (s3://b//lake is s3://b/lake); posixpath keeps a leading "//"
    path = posixpath.normpath(re.sub("/+", "/", "/" + parsed.path))
    return f"{parsed.scheme}://{parsed.netloc}{path}".rstrip("/") + "/"


def overlapping_paths_problem(silver_path: str, gold_path: str) -> str | None:
    """The sentence refusing a Gold path that is the Silver path, lies inside it or holds it, else None: Gold
    writes its tables there and deletes what a stopped run left in its ``_staging``, which took Silver's files (its
    moved-aside months: rows lost for good) or put Gold's tables inside Silver's table."""
    silver, gold = comparable_path(silver_path), comparable_path(gold_path)
    if silver.startswith(gold) or gold.startswith(silver):
        return (
            f"--gold_path {gold_path} and --silver_path {silver_path} overlap (one is, or lies inside, the other): "
            "Gold writes and deletes under its path, so give it a folder of its own, e.g. <lake>/gold/boston311."
        )
    return None


def local_input_problem(silver_path: str, gold_path: str) -> str | None:
    """For local paths, the one-sentence problem with them (checked before Spark starts), else None: no Silver
    table, or a Gold path that is (or lies under) a file."""
    silver_local = local_path(silver_path)
    if silver_local is not None:
        table_path = os.path.join(silver_local, SILVER_TABLE)
        if not os.path.isdir(table_path):
            return no_silver_table(table_path)
    gold_local = local_path(gold_path)
    if gold_local is not None:
        existing = os.path.abspath(gold_local)
        while not os.path.exists(existing):
            existing = os.path.dirname(existing)
        if not os.path.isdir(existing):
            return f"--gold_path {gold_path} cannot be a folder: {existing} is a file."
    return None


@contextlib.contextmanager
def one_run_at_a_time(gold_path: str) -> Iterator[bool]:
    """Hold an exclusive lock on a local Gold folder for the run (made when missing, removed again if still empty);
    GoldInputError at once when another Gold run holds it. Yields whether the lock is held (false on S3 and other
    stores, where there is no local folder to lock).

    Two runs publishing into one folder swap the same tables: a move into a folder the other run has just put in
    place lands inside it (``resolution_times/resolution_times/``) and every reader counts its rows twice. On EMR,
    ``emr/submit.py`` submits no second run on a Gold path; a local run has only this lock (``flock`` on the
    folder itself, released by the system when the process dies, however it dies).
    """
    local = local_path(gold_path)
    try:
        import fcntl
    except ImportError:  # not a POSIX system
        fcntl = None
    if local is None or fcntl is None:
        yield False
        return
    folder = os.path.abspath(local)
    made, missing = [], folder  # the folders this run makes (parents included), deepest first
    while not os.path.exists(missing):
        made.append(missing)
        missing = os.path.dirname(missing)
    try:
        os.makedirs(folder, exist_ok=True)
        handle = os.open(folder, os.O_RDONLY)
    except OSError as error:
        raise GoldInputError(f"Cannot use --gold_path {gold_path}: {error.strerror or error}.") from None
    locked = False
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise GoldInputError(
                f"Another Gold run is writing {gold_path}; wait for it to end, then run Gold again."
            ) from None
        locked = True
        yield True
    finally:
        # removed only while still empty (a run that wrote nothing leaves no folder behind), and only by the lock's
        # holder before it lets go: a run refused the lock removed the folder the holder made (both found none)
        for path in made if locked else []:
            try:
                os.rmdir(path)
            except OSError:
                break
        os.close(handle)


INTERRUPTED = threading.Event()
INTERRUPTED_EXIT = 130  # the shell's code for a process stopped by Ctrl-C (128 + SIGINT)
TERMINATED_EXIT = 143  # and by SIGTERM (128 + 15): kill, timeout, systemd, docker stop
STOPPED_BY: list[int] = []  # the signal that set INTERRUPTED (none when a test sets it: taken as Ctrl-C)


def stopped_exit() -> int:
    """The exit code of a run a signal stopped: 143 after SIGTERM, 130 after Ctrl-C."""
    return TERMINATED_EXIT if STOPPED_BY[:1] == [signal.SIGTERM] else INTERRUPTED_EXIT


def cancel_on_interrupt(spark: SparkSession):
    """Make Ctrl-C (SIGINT) and SIGTERM cancel the running Spark jobs and stop the run before it swaps its tables
    in (``stage_check_and_publish``); a publish once begun is finished.

    PySpark's own handler calls into the JVM from inside the call it interrupts, which breaks py4j's connection
    (a screen of "reentrant call" traces); this one cancels from another thread. A second Ctrl-C stops at once; a
    second SIGTERM changes nothing (SIGKILL stops at once). Under spark-submit Spark's Java gets the signal too, and
    would end the run before it says why: ``forward_java_signals`` has it hand both to this process instead. Returns
    a function that puts the handlers it replaced back (None off the main thread), for ``main``.
    """

    def cancel_all_jobs() -> None:
        try:
            spark.sparkContext.cancelAllJobs()
        except Exception:  # the JVM's own Ctrl-C handling may have stopped the context: no job is left
            log.debug("Spark's context had already stopped: no job left to cancel")

    def stop(signum: int) -> None:
        if INTERRUPTED.is_set():
            return
        STOPPED_BY.append(signum)
        INTERRUPTED.set()
        if signum == signal.SIGTERM:
            log.warning("Stopping on SIGTERM: cancelling the Spark jobs.")
        else:
            log.warning("Interrupted: cancelling the Spark jobs (Ctrl-C again to stop at once).")
        threading.Thread(target=cancel_all_jobs, daemon=True).start()

    pressed = []  # the Ctrl-Cs this process was sent (the ones Java hands on do not count)

    def handler(signum, frame) -> None:
        if signum == signal.SIGINT:
            if pressed:
                raise KeyboardInterrupt
            pressed.append(signum)
        stop(signum)

    INTERRUPTED.clear()
    STOPPED_BY.clear()
    if threading.current_thread() is not threading.main_thread():
        return None  # only the main thread may set a handler (and receives the signal)
    previous = {signum: signal.signal(signum, handler) for signum in (signal.SIGINT, signal.SIGTERM)}
    java_back = forward_java_signals(spark, stop)

    def put_back() -> None:
        java_back()
        for signum, replaced in previous.items():
            signal.signal(signum, replaced)

    return put_back


def forward_java_signals(spark: SparkSession, stop):
    """In a local run, have Spark's Java hand Ctrl-C and SIGTERM to ``stop`` (in this process, through py4j's
    callback server) rather than run its shutdown hooks and exit; a function that gives Java its handlers back.

    Under spark-submit this Python is a child of Spark's Java: ``kill`` or ``timeout`` on spark-submit's process id
    reaches only the Java, and a terminal's Ctrl-C reaches both. Java's own handler stopped the context and exited
    at once (exit 143 or 130 and its shutdown lines), cutting the run off wherever it was, its last sentence lost
    with Java's end of the pipe. Not on a cluster (Glue, EMR), whose own signals are left as they are, nor for a
    signal Java ignores (pyspark starts its Java with Ctrl-C ignored); on any failure nothing changes.
    """

    class Forwarder:
        """A Java ``sun.misc.SignalHandler`` written in Python: Java calls ``handle`` from its signal thread."""

        def handle(self, java_signal) -> None:
            stop(signal.Signals[f"SIG{java_signal.getName()}"])

        class Java:
            implements = ["sun.misc.SignalHandler"]

    replaced = {}
    try:
        context = spark.sparkContext
        if context.master.startswith("local"):
            from pyspark.java_gateway import ensure_callback_server_started

            ensure_callback_server_started(context._gateway)
            java_signal = context._jvm.sun.misc.Signal
            forwarder = Forwarder()
            for name in ("INT", "TERM"):
                replaced[name] = java_signal.handle(java_signal(name), forwarder)
    except Exception as error:  # no Java gateway (a test's stand-in), or Java refused a signal
        log.debug("Spark's Java keeps its own signal handlers: %s", one_line(error))

    def give_back() -> None:
        for name, handler in replaced.items():
            try:
                java_signal.handle(java_signal(name), handler)
            except Exception:  # Java has gone already: nothing to give back
                log.debug("Spark's Java had stopped: its %s handler was not given back", name)

    return give_back


def one_line(error: BaseException) -> str:
    """An error's text fit for one sentence: the first line of Java's message (a Py4JJavaError's) or of Python's,
    at most 300 characters, with the first three lines of a list the line announces (at most 400 in all); the error's
    type when it has no text."""
    text = str(error.java_exception) if isinstance(error, Py4JJavaError) else str(error)
    lines = text.strip().splitlines() or [type(error).__name__]
    # a line announcing a list: Spark's "Conflicting directory structures detected. Suspicious paths:"
    if lines[0].endswith(":"):
        listed = [line.strip() for line in itertools.takewhile(str.strip, lines[1:4])]
        return f"{lines[0]} {', '.join(listed)}"[:400]
    return lines[0][:300]


# What a Spark failure's text says when the machine ran out of disk or memory: a Py4JJavaError's text is Java's whole
# trace, "Caused by" lines too, where Spark's first line ("Job aborted due to stage failure: …") hides it.
DISK_FULL = "No space left on device"
OUT_OF_MEMORY = re.compile(r"java\.lang\.OutOfMemoryError(: [^\n\t]+)?")


def ran_out(error: BaseException, written: str) -> tuple[str, str] | None:
    """What ran out and what to do, when a Spark failure is a full disk or memory (the sentence's "Spark failed
    (…); …"); None for any other failure. ``written``: the folder the job writes."""
    text = str(error)
    if DISK_FULL in text:
        # Java's temporary folder holds Spark's shuffles and spills and the native libraries it unpacks
        # (snappy's: moving SPARK_LOCAL_DIRS alone off a full /tmp failed on "no snappyjava in java.library.path")
        scratch = "Java's temporary folder (/tmp, unless JAVA_TOOL_OPTIONS=-Djava.io.tmpdir=FOLDER moves it)"
        where = f"the one under {written} or the one under {scratch}"
        return DISK_FULL, f"a disk is full, {where}: free space there"
    memory = OUT_OF_MEMORY.search(text)
    if memory:
        more = "a local run: SPARK_DRIVER_MEMORY, e.g. 8g; on EMR: more executor or driver memory"
        return memory.group(0), f"Spark ran out of memory: give it more ({more})"
    return None


def main(argv: list[str] | None = None) -> int:
    """Run the Gold job from the command line; 0 on success, 1 on an input problem, a Spark failure, a publish
    that stopped half-way or a run record that could not be written, 2 on bad usage, 130 when Ctrl-C stopped it
    before publishing, 143 when SIGTERM did.

    Parameters
    ----------
    argv
        ``--silver_path P --gold_path P`` (default: ``sys.argv[1:]``).
    """
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("py4j").setLevel(logging.WARNING)
    problem = overlapping_paths_problem(args.silver_path, args.gold_path) or local_input_problem(
        args.silver_path, args.gold_path
    )
    if problem:
        print(problem, file=sys.stderr)
        return 1
    try:
        with one_run_at_a_time(args.gold_path) as sole_writer:
            return run_from_command_line(args, sole_writer)
    except GoldInputError as error:  # another run holds the Gold folder, or it cannot be made
        print(error, file=sys.stderr)
        return 1


def run_from_command_line(args: argparse.Namespace, sole_writer: bool) -> int:
    """Run the job in a session of its own (or the running one) and report; main's exit code. ``sole_writer``:
    the run holds the local Gold folder's lock."""
    session_was_running = SparkSession.getActiveSession() is not None
    try:
        spark = (
            SparkSession.builder.appName("boston311-gold")
            .config("spark.sql.session.timeZone", "UTC")
            .getOrCreate()
        )
    except (Py4JError, PySparkException) as error:  # e.g. a Java newer than Spark 3.5 supports (22+)
        print(
            f"Gold stopped: Spark did not start ({one_line(error)}); Spark 3.5 needs Java 17 "
            f"(JAVA_HOME is {os.environ.get('JAVA_HOME') or 'not set'}). Nothing was written.",
            file=sys.stderr,
        )
        return 1
    put_handlers_back = cancel_on_interrupt(spark)
    try:
        rows = run_gold(spark, args.silver_path, args.gold_path, sole_writer)
    except (GoldInputError, GoldCheckError, GoldPublishError) as error:
        print(error, file=sys.stderr)
        return 1
    except GoldInterrupted as error:
        print(error, file=sys.stderr)
        return stopped_exit()
    except (Py4JError, PySparkException) as error:  # e.g. a damaged Silver Parquet file
        if INTERRUPTED.is_set():  # the cancelled Spark job
            print(GoldInterrupted.message(), file=sys.stderr)
            return stopped_exit()
        cause, advice = ran_out(error, args.gold_path) or (one_line(error), "see Spark's log above")
        print(f"Gold stopped: Spark failed ({cause}); {advice}.", file=sys.stderr)
        return 1
    finally:
        if put_handlers_back is not None:
            put_handlers_back()
        if not session_was_running:
            spark.stop()
    written = ", ".join(f"{table} {count}" for table, count in rows.items())
    print(f"Gold: wrote {written} rows under {args.gold_path.rstrip('/')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
