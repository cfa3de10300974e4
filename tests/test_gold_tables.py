"""Each Gold table from a small hand-made Silver, with the right answer worked out by hand beside it."""

from __future__ import annotations

import math
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from chispa import assert_df_equality
from gold_helpers import random_silver, silver_frame, utc
from pyspark.sql import functions as F

import gold_job
import lake

pytestmark = pytest.mark.spark

PWD = {"department": "PWDx", "subject": "Public Works Department", "reason": "Highway Maintenance"}


def test_gold_table_names_match_the_lake_layout():
    assert gold_job.GOLD_TABLES == lake.GOLD_TABLES  # GOLD_TABLES is GOLD_BUILDERS' keys
    assert f"{lake.GOLD_PREFIX}/{gold_job.RUNS_FOLDER}" == lake.GOLD_RUNS


# --- monthly_requests -------------------------------------------------------------------------


def test_monthly_requests_by_boston_month_with_unknown_keys(spark):
    pothole = {**PWD, "type": "Pothole", "source": "Citizens Connect App", "neighborhood": "Dorchester"}
    silver = silver_frame(
        spark,
        [
            # 03:30 UTC on 1 March is 22:30 on 29 February in Boston (EST, UTC-5): a February request.
            {
                **pothole,
                "opened_at": utc("2024-03-01T03:30"),
                "closed_at": utc("2024-03-01T13:30"),
                "is_closed": True,
                "on_time": True,
                "hours_to_close": 10.0,
            },
            {
                **pothole,
                "opened_at": utc("2024-02-10T15:00"),
                "closed_at": utc("2024-02-11T21:00"),
                "is_closed": True,
                "on_time": False,
                "hours_to_close": 30.0,
            },
            # closed, but no duration and no on_time: counted closed, neither on time nor late
            {**pothole, "opened_at": utc("2024-02-12T15:00"), "is_closed": True},
            # closed without a close time but stamped on time (NEW SYSTEM's void Error cases): counted closed,
            # neither on time nor late
            {**pothole, "opened_at": utc("2024-02-13T15:00"), "is_closed": True, "on_time": True},
            # the same stamped late: neither late nor on time either
            {**pothole, "opened_at": utc("2024-02-14T15:00"), "is_closed": True, "on_time": False},
            # open and currently on time: not closed_on_time
            {**pothole, "opened_at": utc("2024-02-15T15:00"), "is_closed": False, "on_time": True},
            # open with a (stale) duration: still open, its hours are not summed
            {**pothole, "opened_at": utc("2024-02-16T15:00"), "is_closed": False, "hours_to_close": 500.0},
            # 05:30 UTC on 1 March is 00:30 in Boston: March. Blank and null keys become Unknown;
            # an unknown is_closed is read as still open.
            {
                "opened_at": utc("2024-03-01T05:30"),
                "reason": "",
                "source": "Constituent Call",
                "neighborhood": " ",
                "is_closed": None,
            },
            {
                "opened_at": utc("2023-12-31T12:00"),
                "closed_at": utc("2023-12-31T17:30"),
                "department": "BTDT",
                "subject": "Transportation - Traffic Division",
                "reason": "Signs & Signals",
                "type": "Sign Repair",
                "source": "Self Service",
                "neighborhood": "Back Bay",
                "is_closed": True,
                "on_time": True,
                "hours_to_close": 5.5,
            },
        ],
    )
    expected = spark.createDataFrame(
        [
            # the latest February opening is 22:30 on 29 February in Boston (03:30 UTC on 1 March)
            (date(2024, 2, 1), 2024, "PWDx", "Public Works Department", "Highway Maintenance", "Pothole",
             "Citizens Connect App", "Dorchester", 7, 5, 1, 1, 2, 40.0, 2, date(2024, 2, 29)),
            (date(2024, 3, 1), 2024, "Unknown", "Unknown", "Unknown", "Unknown",
             "Constituent Call", "Unknown", 1, 0, 0, 0, 1, 0.0, 0, date(2024, 3, 1)),
            (date(2023, 12, 1), 2023, "BTDT", "Transportation - Traffic Division", "Signs & Signals", "Sign Repair",
             "Self Service", "Back Bay", 1, 1, 1, 0, 0, 5.5, 1, date(2023, 12, 31)),
        ],
        "month date, year int, department string, subject string, reason string, type string, source string, "
        "neighborhood string, requests_opened long, requests_closed long, closed_on_time long, closed_late long, "
        "still_open long, sum_hours_to_close double, closed_with_duration long, last_opened_date date",
    )  # fmt: skip

    actual = gold_job.monthly_requests(gold_job.gold_base(silver))

    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_monthly_requests_add_up_to_silver_rows(spark):
    silver = random_silver(spark, cases=300, seed=7)
    totals = gold_job.monthly_requests(gold_job.gold_base(silver)).agg(
        F.sum("requests_opened").alias("opened"),
        F.sum("requests_closed").alias("closed"),
        F.sum("still_open").alias("open"),
        F.sum(F.col("closed_on_time") + F.col("closed_late")).alias("with_on_time"),
    )
    opened, closed, still_open, with_on_time = totals.first()
    assert opened == 300
    assert closed + still_open == 300
    assert with_on_time <= closed


# --- resolution_times -------------------------------------------------------------------------


def test_resolution_times_percentiles_mean_and_on_time_rate(spark):
    pothole = {"department": "PWDx", "type": "Pothole", "is_closed": True}
    silver = silver_frame(
        spark,
        [
            {**pothole, "opened_at": utc("2024-05-01T12:00"), "closed_at": utc("2024-05-01T13:00"), "hours_to_close": 1.0, "on_time": True},
            {**pothole, "opened_at": utc("2024-05-02T12:00"), "closed_at": utc("2024-05-02T14:00"), "hours_to_close": 2.0, "on_time": True},
            {**pothole, "opened_at": utc("2024-05-03T12:00"), "closed_at": utc("2024-05-03T15:00"), "hours_to_close": 3.0, "on_time": False},
            {**pothole, "opened_at": utc("2024-05-04T12:00"), "closed_at": utc("2024-05-04T16:00"), "hours_to_close": 4.0, "on_time": None},
            # 02:00 UTC on 1 January 2025 is 21:00 on 31 December 2024 in Boston: year 2024
            {**pothole, "opened_at": utc("2025-01-01T02:00"), "closed_at": utc("2025-01-05T06:00"),
             "hours_to_close": 100.0, "on_time": False},
            # closed without a close time (a void NEW SYSTEM Error case) yet ONTIME: neither on time nor late
            {**pothole, "opened_at": utc("2024-05-06T12:00"), "hours_to_close": None, "on_time": True},
            # open cases are not resolutions, whatever their other fields say
            {"department": "PWDx", "type": "Pothole", "opened_at": utc("2024-05-07T12:00"), "is_closed": False,
             "hours_to_close": 500.0, "on_time": True},
            {"type": "Sign", "opened_at": utc("2023-03-01T12:00"), "is_closed": True, "hours_to_close": 8.0},
            # a type whose only closed case has no duration: a row, closed but in no percentile
            {"department": "PWDx", "type": "Graffiti", "opened_at": utc("2024-05-08T12:00"), "is_closed": True,
             "hours_to_close": None},
        ],
    )  # fmt: skip
    # PWDx/Pothole/2024: 6 closed, 5 with a duration; hours 1, 2, 3, 4, 100 -> p50 is the 3rd of 5 (3.0), p90 the
    # 5th (100.0), mean 110 / 5 = 22.0; on time or late for 4 with a close time (T, T, F, F) -> 2 / 4 = 0.5.
    # Unknown/Sign/2023: one closed case with a duration, on_time unknown -> rate null.
    # PWDx/Graffiti/2024: 1 closed, 0 with a duration -> no percentile, no mean, no rate.
    expected = spark.createDataFrame(
        [
            (2024, "PWDx", "Pothole", 6, 5, 3.0, 100.0, 22.0, 0.5),
            (2023, "Unknown", "Sign", 1, 1, 8.0, 8.0, 8.0, None),
            (2024, "PWDx", "Graffiti", 1, 0, None, None, None, None),
        ],
        "year int, department string, type string, closed_cases long, closed_with_duration long, "
        "p50_hours double, p90_hours double, mean_hours double, on_time_rate double",
    )

    actual = gold_job.resolution_times(gold_job.gold_base(silver))

    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_resolution_times_p90_is_the_90th_percentile_not_the_maximum(spark):
    sign = {"department": "BTDT", "type": "Sign", "is_closed": True, "on_time": True}
    silver = silver_frame(
        spark,
        [
            {**sign, "opened_at": utc(f"2024-06-{day:02d}T12:00"), "closed_at": utc(f"2024-06-{day:02d}T12:00")
             + timedelta(hours=day), "hours_to_close": float(day)}
            for day in range(1, 11)
        ]
        # a closed case without a duration: a closed case, in no percentile
        + [{**sign, "opened_at": utc("2024-06-11T12:00"), "hours_to_close": None, "on_time": None}],
    )  # fmt: skip
    # hours 1..10: p50 is the 5th value (5.0), p90 the 9th (9.0), not the 10th (the maximum, or p95); 11 closed,
    # the percentiles over the 10 with a duration
    expected = spark.createDataFrame(
        [(2024, "BTDT", "Sign", 11, 10, 5.0, 9.0, 5.5, 1.0)],
        "year int, department string, type string, closed_cases long, closed_with_duration long, "
        "p50_hours double, p90_hours double, mean_hours double, on_time_rate double",
    )

    actual = gold_job.resolution_times(gold_job.gold_base(silver))

    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_resolution_times_percentiles_are_within_n_over_10000_ranks_on_a_large_group(spark):
    # docs/gold.md: the value returned is one of the group's, its rank within n / 10,000 of the exact rank. One group
    # of 20,001 closed cases taking 1, 2, ..., 20,001 hours (shuffled): exact p50 is 10,001, exact p90 18,001.
    case = silver_frame(
        spark,
        [{"opened_at": utc("2024-06-03T12:00"), "closed_at": utc("2024-06-04T12:00"), "is_closed": True,
          "department": "BTDT", "type": "Sign"}],
    )  # fmt: skip
    silver = (
        case.crossJoin(spark.range(1, 20_002))
        .withColumn("hours_to_close", ((F.col("id") * 7919) % 20_001 + 1).cast("double"))
        .drop("id")
    )
    row = gold_job.resolution_times(gold_job.gold_base(silver)).first()
    assert row["closed_cases"] == row["closed_with_duration"] == 20_001
    assert row["p50_hours"] == pytest.approx(10_001, abs=2)  # 20,001 / 10,000 = 2 ranks
    assert row["p90_hours"] == pytest.approx(18_001, abs=2)
    assert row["p50_hours"] == int(row["p50_hours"])  # one of the group's values, not interpolated


# --- neighborhood_scorecard -------------------------------------------------------------------


def test_neighborhood_scorecard(spark):
    silver = silver_frame(
        spark,
        [
            {"opened_at": utc("2024-04-01T12:00"), "neighborhood": "Roxbury", "type": "Pothole",
             "is_closed": True, "closed_at": utc("2024-04-01T22:00"), "hours_to_close": 10.0, "on_time": True},
            {"opened_at": utc("2024-04-02T12:00"), "neighborhood": "Roxbury", "type": "Sign",
             "is_closed": True, "closed_at": utc("2024-04-03T08:00"), "hours_to_close": 20.0, "on_time": False},
            # open: its (inconsistent) hours must not reach the median
            {"opened_at": utc("2024-04-03T12:00"), "neighborhood": "Roxbury", "type": "Pothole",
             "is_closed": False, "hours_to_close": 999.0},
            {"opened_at": utc("2024-04-04T12:00"), "neighborhood": "Dorchester", "type": "Sign",
             "is_closed": True, "closed_at": utc("2024-04-04T16:00"), "hours_to_close": 4.0, "on_time": True},
            # a 1-1 tie between types goes to the alphabetically first one
            {"opened_at": utc("2024-04-05T12:00"), "neighborhood": None, "type": "Sign", "is_closed": False},
            {"opened_at": utc("2024-04-06T12:00"), "neighborhood": "", "type": "Graffiti",
             "is_closed": True, "hours_to_close": 6.0},
            {"opened_at": utc("2023-06-01T12:00"), "neighborhood": "Roxbury", "type": "Pothole", "is_closed": False},
            # closed without a duration (a void Error case): a request, not in closed_with_duration or the median
            {"opened_at": utc("2023-06-02T12:00"), "neighborhood": "Roxbury", "type": "Pothole", "is_closed": True},
        ],
    )  # fmt: skip
    # 2024 has 6 requests: Roxbury 3 (share 1/2, median of its 2 closed, 10 and 20, is 10, 1 of 2 on time),
    # Dorchester 1 (1/6), Unknown 2 (1/3, median 6, no known on_time). 2023: Roxbury alone, 2 requests, none closed with a duration.
    expected = spark.createDataFrame(
        [
            (2024, "Roxbury", 3, 2, 10.0, 0.5, "Pothole", 0.5),
            (2024, "Dorchester", 1, 1, 4.0, 1.0, "Sign", 1 / 6),
            (2024, "Unknown", 2, 1, 6.0, None, "Graffiti", 1 / 3),
            (2023, "Roxbury", 2, 0, None, None, "Pothole", 1.0),
        ],
        "year int, neighborhood string, requests long, closed_with_duration long, p50_hours double, "
        "on_time_rate double, top_type string, share_of_city double",
    )

    actual = gold_job.neighborhood_scorecard(gold_job.gold_base(silver))

    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


# --- open_backlog -----------------------------------------------------------------------------


def test_open_backlog_by_week_and_department(spark):
    pwd = {"department": "PWDx"}
    silver = silver_frame(
        spark,
        [
            # opened and closed in the week of Mon 1 Jan: never open at a week's end
            {**pwd, "opened_at": utc("2024-01-01T15:00"), "closed_at": utc("2024-01-03T15:00"), "is_closed": True},
            # open at the end of week 1 Jan, closed in week 8 Jan
            {**pwd, "opened_at": utc("2024-01-02T15:00"), "closed_at": utc("2024-01-09T15:00"), "is_closed": True},
            # opened in week 8 Jan, still open
            {**pwd, "opened_at": utc("2024-01-10T15:00"), "is_closed": False},
            # 03:00 UTC Mon 8 Jan is Sun 7 Jan 22:00 in Boston (week 1 Jan); 04:00 UTC Mon 15 Jan is
            # Sun 14 Jan 23:00 (week 8 Jan): open at the end of week 1 Jan only
            {**pwd, "opened_at": utc("2024-01-08T03:00"), "closed_at": utc("2024-01-15T04:00"), "is_closed": True},
            # closed with no closing time: closes in the week it opened
            {**pwd, "opened_at": utc("2024-01-16T15:00"), "is_closed": True},
            # no department; opened in the last week, closed after it: open at the end of week 22 Jan
            {"opened_at": utc("2024-01-22T15:00"), "closed_at": utc("2024-02-20T15:00"), "is_closed": True},
            # closed_at before opened_at (a data glitch): never open, never negative
            {"opened_at": utc("2024-01-03T15:00"), "closed_at": utc("2023-12-20T15:00"), "is_closed": True},
        ],
    )  # fmt: skip
    weeks = [date(2024, 1, 1), date(2024, 1, 8), date(2024, 1, 15), date(2024, 1, 22)]
    # PWDx: week 1 Jan +3 -1 = 2; week 8 Jan +1 -2 = 1; week 15 Jan +1 -1 = 1; week 22 Jan 1.
    # Unknown: +1 -1 in week 1 Jan, then 0, 0, and the last week's opening -> 1.
    # None of them is open a year later: open_over_1y is 0 throughout.
    expected = spark.createDataFrame(
        [(week, "PWDx", count, 0) for week, count in zip(weeks, [2, 1, 1, 1], strict=True)]
        + [(week, "Unknown", count, 0) for week, count in zip(weeks, [0, 0, 0, 1], strict=True)],
        "week_start date, department string, open_cases long, open_over_1y long",
    )

    actual = gold_job.open_backlog(gold_job.gold_base(silver))

    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_open_backlog_counts_cases_open_a_year_or_more(spark):
    pwd = {"department": "PWDx"}
    silver = silver_frame(
        spark,
        [
            # opened in the week of Mon 2 Jan 2023, never closed: aged from the week of Mon 1 Jan 2024 (52 weeks on)
            {**pwd, "opened_at": utc("2023-01-04T15:00"), "is_closed": False},
            # opened in the same week, closed in the week it turns a year old: never aged
            {**pwd, "opened_at": utc("2023-01-05T15:00"), "closed_at": utc("2024-01-03T15:00"), "is_closed": True},
            # opened in the same week, closed the week after: aged for the week of 1 Jan 2024 only
            {**pwd, "opened_at": utc("2023-01-06T15:00"), "closed_at": utc("2024-01-10T15:00"), "is_closed": True},
            # the last opening, which ends the calendar at the week of 15 Jan 2024
            {**pwd, "opened_at": utc("2024-01-16T15:00"), "is_closed": False},
        ],
    )  # fmt: skip
    backlog = {
        row["week_start"]: (row["open_cases"], row["open_over_1y"])
        for row in gold_job.open_backlog(gold_job.gold_base(silver)).collect()
    }
    assert backlog[date(2023, 1, 2)] == (3, 0)
    assert backlog[date(2023, 12, 25)] == (3, 0)
    assert backlog[date(2024, 1, 1)] == (2, 2)  # one closed in the week it aged; two a year old and open
    assert backlog[date(2024, 1, 8)] == (1, 1)
    assert backlog[date(2024, 1, 15)] == (2, 1)


def test_open_backlog_matches_a_direct_count_every_week(spark):
    silver = random_silver(spark, cases=400, seed=11, weeks=90)
    backlog = {
        (row["week_start"], row["department"]): (row["open_cases"], row["open_over_1y"])
        for row in gold_job.open_backlog(gold_job.gold_base(silver)).collect()
    }

    boston = ZoneInfo("America/New_York")
    cases = silver.select("department", "opened_at", "closed_at", "is_closed").collect()
    local_dates = [row["opened_at"].astimezone(boston).date() for row in cases]
    first_week = min(local_dates) - timedelta(days=min(local_dates).weekday())
    last_week = max(local_dates) - timedelta(days=max(local_dates).weekday())
    weeks = [first_week + timedelta(days=7 * n) for n in range((last_week - first_week).days // 7 + 1)]
    departments = {row["department"] or "Unknown" for row in cases}

    assert len(weeks) > 10
    assert set(backlog) == {(week, department) for week in weeks for department in departments}
    for week in weeks:
        week_end = week + timedelta(days=7)
        for department in departments:
            open_then = [
                row["opened_at"].astimezone(boston).date()
                for row in cases
                if (row["department"] or "Unknown") == department
                and row["opened_at"].astimezone(boston).date() < week_end
                and not (row["is_closed"] and row["closed_at"].astimezone(boston).date() < week_end)
            ]
            # aged: its opening week starts 52 weeks or more before this week
            aged = [
                opened
                for opened in open_then
                if opened - timedelta(days=opened.weekday()) <= week - timedelta(weeks=52)
            ]
            assert backlog[(week, department)] == (len(open_then), len(aged)), (week, department)
    assert max(aged for _, aged in backlog.values()) > 0  # the data does reach the aged case
    assert min(min(counts) for counts in backlog.values()) >= 0


# --- geo_grid ---------------------------------------------------------------------------------


def test_geo_grid_cells_of_about_250_metres(spark):
    silver = silver_frame(
        spark,
        [
            {
                "opened_at": utc("2024-07-01T12:00"),
                "type": "Pothole",
                "latitude": 42.3601,
                "longitude": -71.0589,
            },
            # ~14 m away: the same cell
            {
                "opened_at": utc("2024-07-02T12:00"),
                "type": "Pothole",
                "latitude": 42.3602,
                "longitude": -71.0590,
            },
            # ~330 m north: the next row of cells
            {
                "opened_at": utc("2024-07-03T12:00"),
                "type": "Pothole",
                "latitude": 42.3631,
                "longitude": -71.0589,
            },
            # untrusted coordinates (Silver nulls them) are left out
            {
                "opened_at": utc("2024-07-04T12:00"),
                "type": "Pothole",
                "latitude": None,
                "longitude": -71.0589,
            },
            {"opened_at": utc("2024-07-05T12:00"), "type": "Pothole", "latitude": 42.3601, "longitude": None},
            {"opened_at": utc("2023-07-01T12:00"), "type": None, "latitude": 42.3400, "longitude": -71.0800},
        ],
    )
    # lat step 250 / 111132 = 0.0022495771 deg; lon step = that / cos(42.36 deg) = 0.0030443879 deg.
    # 42.3601 / 0.0022495771 = 18830.25 -> cell 18830, centre 18830.5 * step = 42.360661;
    # 42.3631 -> 18831.58 -> 42.362911; -71.0589 / 0.0030443879 = -23340.95 -> cell -23341, centre
    # -23340.5 * step = -71.057535; 42.34 -> 42.340415; -71.08 -> -23347.88 -> -71.078846.
    expected = spark.createDataFrame(
        [
            (2024, "Pothole", 42.360661, -71.057535, 2),
            (2024, "Pothole", 42.362911, -71.057535, 1),
            (2023, "Unknown", 42.340415, -71.078846, 1),
        ],
        "year int, type string, cell_lat double, cell_lon double, requests long",
    )

    actual = gold_job.geo_grid(gold_job.gold_base(silver))

    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_grid_cells_are_250_metres_on_both_axes_at_boston():
    metres_per_degree_longitude = gold_job.METERS_PER_DEGREE_LATITUDE * math.cos(math.radians(42.36))
    cell_height = gold_job.GRID_LAT_STEP * gold_job.METERS_PER_DEGREE_LATITUDE
    cell_width = gold_job.GRID_LON_STEP * metres_per_degree_longitude
    assert cell_height == pytest.approx(250)
    assert cell_width == pytest.approx(250)
