"""One small inline test per Silver rule: a few rows (one with None) and the expected value beside the input."""

from __future__ import annotations

from datetime import datetime

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

import silver_job as S

pytestmark = pytest.mark.spark


def frame(spark, columns: str, rows: list[tuple]):
    """A DataFrame from a DDL schema string and rows."""
    return spark.createDataFrame(rows, columns)


def check(actual, expected) -> None:
    """chispa equality, order-free, nullability ignored."""
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


@pytest.fixture(scope="module")
def mappings():
    return S.load_mappings(None)


def test_blank_and_space_become_null(spark):
    # (CR and tabs around unquoted fields are trimmed by the CSV reader: see test_silver_bad_input's CRLF case)
    rows = [("a", " x "), ("b", " "), ("c", ""), ("d", None), ("e", "  Closed  ")]
    df = frame(spark, "id string, value string", rows).select(
        "id", S.blank_to_null(F.col("value")).alias("value")
    )
    expected = frame(
        spark, "id string, value string", [("a", "x"), ("b", None), ("c", None), ("d", None), ("e", "Closed")]
    )
    check(df, expected)


def test_time_basis_readings_give_true_utc_instants(spark):
    # the same Boston moment, 2022-01-19 11:42:16 EST = 16:42:16 UTC, as each era writes it
    rows = [
        ("wall_clock", "2022-01-19 11:42:16", datetime(2022, 1, 19, 16, 42, 16)),
        ("shifted_back", "2022-01-19 06:42:16", datetime(2022, 1, 19, 16, 42, 16)),
        # EDT: the value is the wall clock shifted back 4 hours
        ("shifted_back", "2022-07-19 07:42:16", datetime(2022, 7, 19, 15, 42, 16)),
        ("utc", "2022-01-19 16:42:16.5+00", datetime(2022, 1, 19, 16, 42, 16, 500000)),
        ("wall_clock", "2022-07-19 11:42:16+00", datetime(2022, 7, 19, 15, 42, 16)),  # EDT
        # the hour Boston lives twice (2022-11-06 01:30 EDT = 05:30 UTC, 01:30 EST = 06:30 UTC): a UTC stamp is
        # already the instant, never taken through the ambiguous wall clock
        ("utc", "2022-11-06 05:30:00+00", datetime(2022, 11, 6, 5, 30)),
        ("utc", "2022-11-06 06:30:00+00", datetime(2022, 11, 6, 6, 30)),
        ("wall_clock", None, None),
        ("utc", "not a date", None),
    ]
    df = frame(spark, "reading string, stamp string, expected timestamp", rows)
    actual = df.select(
        "reading", "stamp", S.true_instant(S.parse_stamp(F.col("stamp")), F.col("reading")).alias("expected")
    )
    check(actual, df)


def test_stamps_with_an_offset_or_zone_other_than_zero_are_unparsable(spark):
    # wherever the offset stands: the stamp's date and time need not have their full width
    rows = [
        ("2022-01-19 11:42:16", datetime(2022, 1, 19, 11, 42, 16)),
        ("2022-1-9 1:42:16", datetime(2022, 1, 9, 1, 42, 16)),
        ("2022-01-19T11:42:16Z", datetime(2022, 1, 19, 11, 42, 16)),
        ("2026-02-02 15:58:24+00", datetime(2026, 2, 2, 15, 58, 24)),
        ("2022-01-19 11:42:16 UTC", datetime(2022, 1, 19, 11, 42, 16)),
        ("2022-01-19 11:42:16+00:00", datetime(2022, 1, 19, 11, 42, 16)),
        ("2022-01-19T11:42:16+0000", datetime(2022, 1, 19, 11, 42, 16)),
        ("2022-01-19 11:42:16-00", datetime(2022, 1, 19, 11, 42, 16)),
        ("2022-01-19 11:42-05:00", None),
        ("2022-1-9 11:42:16-05:00", None),
        ("2022-01-19 1:42:16-05:00", None),
        ("2022-01-19 11:42:16 EST", None),
        ("2022-01-19 11:42:16 America/New_York", None),
        (None, None),
    ]
    df = frame(spark, "stamp string, parsed timestamp", rows)
    check(df.select("stamp", S.parse_stamp(F.col("stamp")).alias("parsed")), df)


def test_closed_date_text_is_read_as_boston_wall_clock(spark):
    rows = [
        (
            "Case Closed. Closed date : Wed Jan 19 11:42:16 EST 2022 Resolved",
            datetime(2022, 1, 19, 11, 42, 16),
        ),
        ("Case Closed. Closed date : 2015-07-30 12:41:05.417 VIOLFND", datetime(2015, 7, 30, 12, 41, 5)),
        ("Case Closed. Closed date : Sat Jul 02 09:05:00 EDT 2022 Noted", datetime(2022, 7, 2, 9, 5, 0)),
        ("Case Closed Case Resolved replaced fuse", None),
        (None, None),
    ]
    df = frame(spark, "closure_reason string, stamp timestamp", rows)
    actual = df.select("closure_reason", S.closed_text_stamp(F.col("closure_reason")).alias("stamp"))
    check(actual, df)


def test_zip_ward_precinct_are_normalised(spark):
    rows = [
        ("2135.0", "Ward 18", "1805", "02135", "18", "1805"),
        ("02113", "03", "0303", "02113", "03", "0303"),
        ("02121", "14", "01", "02121", "14", "1401"),  # NEW SYSTEM: precinct within the ward
        ("02118-1234", "3", "306", "02118", "03", "0306"),
        ("2135", "3", "306", "02135", "03", "0306"),  # a number that lost its leading zero
        ("213", "3", "306", None, "03", "0306"),  # too short to be a zip
        # too long to be a zip; a one-digit NEW SYSTEM precinct is padded within its ward
        ("021355", "14", "1", None, "14", "1401"),
        ("n/a", " ", None, None, None, None),
        (None, None, "07", None, None, None),
    ]
    schema = "zipcode_raw string, ward_raw string, precinct_raw string, zipcode string, ward string, precinct string"
    df = frame(spark, schema, rows)
    actual = df.select(
        "zipcode_raw", "ward_raw", "precinct_raw",
        S.normalise_zipcode(F.col("zipcode_raw")).alias("zipcode"),
        S.normalise_ward(F.col("ward_raw")).alias("ward"),
        S.normalise_precinct(F.col("precinct_raw"), S.normalise_ward(F.col("ward_raw"))).alias("precinct"),
    )  # fmt: skip
    check(actual, df)


def test_street_name_is_the_street_alone_in_every_era(spark):
    # legacy location_street_name carries the house number or INTERSECTION; NEW SYSTEM street_name does not
    rows = [
        ("42 Cross St", "Cross St"),
        ("227-227A Main St", "Main St"),
        ("2D Brewer St", "Brewer St"),
        ("400-404 E Third St", "E Third St"),
        ("INTERSECTION Groveland St & River St", "Groveland St & River St"),
        ("Intersection of Elm St & Sedgwick St", "Elm St & Sedgwick St"),  # any case, with 'of'
        ("INTERSECTION Public Alley No. 718 & Worcester Sq", "Public Alley No. 718 & Worcester Sq"),
        ("Pier 4 Blvd", "Pier 4 Blvd"),  # NEW SYSTEM: a number inside the name is kept
        ("Florida St & Ashmont St", "Florida St & Ashmont St"),  # NEW SYSTEM, unchanged
        ("3rd St", "3rd St"),  # a name that starts with a digit is not a number
        ("12", "12"),  # a number alone: nothing after it to keep
        (None, None),
    ]
    df = frame(spark, "street_raw string, street_name string", rows)
    actual = df.select("street_raw", S.normalise_street_name(F.col("street_raw")).alias("street_name"))
    check(actual, df)


def test_placeholder_and_out_of_town_coordinates_are_nulled_with_a_reason(spark):
    rows = [
        ("42.3634", "-71.0566", 42.3634, -71.0566, "ok"),
        ("42.3594", "-71.0587", None, None, "city_hall_placeholder"),
        ("42.3594", "-71.0566", 42.3594, -71.0566, "ok"),  # City Hall's latitude alone is no placeholder
        ("40.7128", "-74.0060", None, None, "outside_boston"),
        ("42.3634", "-74.0060", None, None, "outside_boston"),  # latitude in the box, longitude not
        ("42.4100", "-70.9100", 42.41, -70.91, "ok"),  # near the box's north-east corner
        ("42.4300", "-71.0566", None, None, "outside_boston"),  # just north of it
        ("42.4200", "-70.9000", 42.42, -70.9, "ok"),  # the box's edges are inside it (docs: lat 42.20-42.42)
        ("42.2000", "-71.2000", 42.2, -71.2, "ok"),
        ("abc", "-71.0566", None, None, "unparsable"),
        # text Spark's cast reads as a double but no decimal number (pandas writes a missing value as nan)
        ("nan", "nan", None, None, "unparsable"),
        ("42.3634", "-Infinity", None, None, "unparsable"),
        ("NaN", "-71.0566", None, None, "unparsable"),
        ("42.3634d", "-71.0566", None, None, "unparsable"),
        ("42.3634", "-0x1.1cp6", None, None, "unparsable"),
        ("+42.3634", "-7.10566e1", 42.3634, -71.0566, "ok"),  # a sign or an exponent is still a number
        (None, None, None, None, "missing"),
        # one of the two not given: missing, whichever it is (a latitude alone was unparsable before version 3)
        ("42.3634", None, None, None, "missing"),
        (None, "-71.0566", None, None, "missing"),
    ]
    schema = "latitude_raw string, longitude_raw string, latitude double, longitude double, location_quality string"
    df = frame(spark, schema, rows)
    raw = df.select(
        "latitude_raw",
        "longitude_raw",
        *[
            F.lit(None).cast("string").alias(c)
            for c in ("zipcode_raw", "ward_raw", "precinct_raw", "street_name")
        ],
    )
    actual = raw.transform(S.normalise_location).select(*df.columns)
    check(actual, df)


def test_departments_channels_and_statuses_are_harmonised(spark, mappings):
    schema = (
        "source_era string, department_raw string, subject string, source_raw string, status_raw string, "
        "on_time_raw string, closed_at timestamp, neighborhood_raw string, "
        "department string, source string, is_closed boolean, on_time boolean, neighborhood string"
    )
    closed = datetime(2022, 1, 1, 12)
    rows = [
        ("legacy29", "PWDx", "Property Management", "Constituent Call", "Closed", "ONTIME", closed, "Allston", "Public Works", "Phone", True, True, "Allston / Brighton"),
        ("legacy30", "INFO", "Animal Control", "Citizens Connect App", "Open", "OVERDUE", None, "Greater Mattapan", "Animal Care & Control", "App", False, False, "Greater Mattapan"),
        ("new_system", "Animal Care & Control", "Animal Care & Control", "Call", "In progress", None, None, "Brighton", "Animal Care & Control", "Phone", False, None, "Allston / Brighton"),
        ("new_system", "Public Works Department (PWD)", "Public Works Department (PWD)", "BOS311", "Closed", "ONTIME", closed, "south boston waterfront", "Public Works", "App", True, True, "South Boston / South Boston Waterfront"),
        ("legacy29", "XYZ_", "Somebody New", "Carrier Pigeon", "Weird", None, closed, "Atlantis", "XYZ_", "Carrier Pigeon", True, None, "Atlantis"),
        ("new_system", None, None, None, None, None, None, None, None, None, False, None, None),
        # the status decides before closed_at does: a void Error case is closed without a close date
        ("new_system", "Public Works Department (PWD)", "Public Works Department (PWD)", "BOS311", "Error", "ONTIME", None, None, "Public Works", "App", True, True, None),
    ]  # fmt: skip
    df = frame(spark, schema, rows)
    inputs = df.select(*df.columns[:8])
    actual = inputs.transform(S.harmonise(mappings)).select(*df.columns)
    check(actual, df)
    known = (
        inputs.transform(S.harmonise(mappings)).filter(~F.col("department_known")).select("department_raw")
    )
    assert [r[0] for r in known.collect()] == ["XYZ_"]  # unknown values pass through and are counted
    flags = inputs.transform(S.harmonise(mappings))
    assert [r[0] for r in flags.filter(~F.col("source_known")).select("source_raw").collect()] == [
        "Carrier Pigeon"
    ]
    assert [r[0] for r in flags.filter(~F.col("status_known")).select("status_raw").collect()] == ["Weird"]
    unknown_neighborhoods = flags.filter(~F.col("neighborhood_known")).select("neighborhood_raw").collect()
    assert [r[0] for r in unknown_neighborhoods] == ["Atlantis"]
    systems = {(r["source_era"], r["source_system"]) for r in flags.collect()}
    assert systems == {("legacy29", "legacy"), ("legacy30", "legacy"), ("new_system", "new")}


def test_new_system_subjects_take_the_legacy_wording(spark, mappings):
    schema = "source_era string, subject string, expected string"
    rows = [
        ("new_system", "Public Works Department (PWD)", "Public Works Department"),
        ("new_system", "Boston Transportation Department (BTD)", "Transportation - Traffic Division"),
        ("new_system", "A Department Nobody Mapped", "A Department Nobody Mapped"),
        ("new_system", None, None),
        ("legacy29", "Public Works Department (PWD)", "Public Works Department (PWD)"),  # legacy text is kept
    ]
    df = frame(spark, schema, rows).withColumns(
        {"type": F.lit(None).cast("string"), "reason": F.lit(None).cast("string")}
    )
    actual = df.transform(S.new_system_in_legacy_wording(mappings)).select(
        "source_era", "expected", F.col("subject")
    )
    expected = df.select("source_era", "expected", F.col("expected").alias("subject"))
    check(actual, expected)


def test_new_system_reasons_take_the_legacy_reason_of_their_type(spark, mappings):
    # NEW SYSTEM case_topic repeats its type; the legacy reason groups types ("Street Light Outages" is a type of
    # "Street Lights")
    schema = "source_era string, type string, reason string, expected string, known boolean"
    rows = [
        ("new_system", "Street Light Outage", "Street Light Outage", "Street Lights", True),
        ("new_system", "domestic animal issue", "Domestic Animal Issue", "Animal Issues", True),  # any case
        (
            "new_system",
            "Lane Divider",
            "Lane Divider",
            "Lane Divider",
            False,
        ),  # not in reasons.csv: kept, counted
        ("new_system", None, None, None, True),
        ("new_system", None, "A Topic", "A Topic", True),
        (
            "legacy29",
            "Street Light Outage",
            "Street Lights Legacy",
            "Street Lights Legacy",
            True,
        ),  # legacy kept
    ]
    df = frame(spark, schema, rows).withColumn("subject", F.lit(None).cast("string"))
    actual = df.transform(S.new_system_in_legacy_wording(mappings)).select(
        "source_era", "type", "expected", "known", "reason", F.col("reason_known")
    )
    expected = df.select(
        "source_era",
        "type",
        "expected",
        "known",
        F.col("expected").alias("reason"),
        F.col("known").alias("reason_known"),
    )
    check(actual, expected)


def test_hours_to_close_and_boston_open_month(spark):
    schema = "opened_at timestamp, closed_at timestamp, is_closed boolean, hours_to_close double, open_year int, open_month int"
    rows = [
        (
            datetime(2022, 1, 1, 3, 0),
            datetime(2022, 1, 1, 5, 30),
            True,
            2.5,
            2021,
            12,
        ),  # 22:00 on Dec 31 in Boston
        (datetime(2022, 7, 1, 12, 0), None, False, None, 2022, 7),
        # 00:30 on Jul 1 in Boston (EDT), closed at once: zero hours
        (datetime(2022, 7, 1, 4, 30), datetime(2022, 7, 1, 4, 30), True, 0.0, 2022, 7),
        (datetime(2022, 7, 1, 12, 0), datetime(2022, 7, 2, 12, 0), False, None, 2022, 7),  # open: no duration
        (
            datetime(2022, 7, 1, 12, 0),
            datetime(2022, 7, 1, 11, 0),
            True,
            None,
            2022,
            7,
        ),  # negative: quarantined later
    ]
    df = frame(spark, schema, rows)
    actual = df.select("opened_at", "closed_at", "is_closed").transform(S.add_durations)
    check(actual, df)


def test_untrustworthy_records_get_a_reject_reason(spark):
    schema = (
        "raw_record string, open_quote boolean, case_id string, opened_raw string, opened_stamp timestamp, "
        "closed_raw string, closed_stamp timestamp, target_raw string, target_stamp timestamp, opened_at timestamp, "
        "closed_at timestamp, reject_reason string"
    )
    t1, t2 = datetime(2022, 1, 1, 10), datetime(2022, 1, 2, 10)
    rows = [
        (None, None, "1", "x", t1, "x", t2, None, None, t1, t2, None),
        ("1,2,3", None, "2", "x", t1, None, None, None, None, t1, None, "malformed_record"),
        (None, None, None, "x", t1, None, None, None, None, t1, None, "missing_case_id"),
        (None, None, "4", "soon", None, None, None, None, None, None, None, "unparsable_opened_at"),
        (None, None, "5", "x", t1, "later", None, None, None, t1, None, "unparsable_closed_at"),
        (None, None, "6", "x", t2, "x", t1, None, None, t2, t1, "closed_before_opened"),
        (None, None, "7", "x", t1, "x", t1, None, None, t1, t1, None),  # closed the moment it opened
        (None, None, "8", "x", t1, None, None, "someday", None, t1, None, "unparsable_target_at"),
        # both unparsable: closed_at comes before target_at in docs/silver.md's order
        (None, None, "10", "x", t1, "later", None, "someday", None, t1, None, "unparsable_closed_at"),
        ("1,2", True, *[None] * 9, "malformed_record"),  # malformed, and every later reason: the first wins
        (None, None, "9", None, None, None, None, None, None, None, None, "unparsable_opened_at"),  # missing
        # a quote left open in the last column ran to the end of the file; no case id either: the first reason wins
        (None, True, None, "x", t1, None, None, None, None, t1, None, "unclosed_quote"),
    ]
    df = frame(spark, schema, rows)
    check(df.drop("reject_reason").transform(S.flag_rejects), df)


def test_a_close_in_the_second_pass_of_the_hour_boston_lives_twice_is_kept(spark):
    # 2026-11-01 (first Sunday of November): 01:00-01:59 happens twice, EDT then EST. Opened 01:50 EDT and closed
    # 01:10 EST, twenty minutes later, writes its close first; anywhere else a close written first is a reject.
    schema = (
        "raw_record string, open_quote boolean, case_id string, opened_raw string, opened_stamp timestamp, "
        "closed_raw string, closed_stamp timestamp, target_raw string, target_stamp timestamp, reject_reason string"
    )
    rows = [
        ("fall back", datetime(2026, 11, 1, 1, 50), datetime(2026, 11, 1, 1, 10), None),
        ("fall back, 2025", datetime(2025, 11, 2, 1, 59, 59), datetime(2025, 11, 2, 1, 0), None),
        ("a week earlier", datetime(2026, 10, 25, 1, 50), datetime(2026, 10, 25, 1, 10), "closed_before_opened"),
        ("closed before the hour", datetime(2026, 11, 1, 1, 50), datetime(2026, 11, 1, 0, 50), "closed_before_opened"),
        ("closed before the hour, within an hour", datetime(2026, 11, 1, 1, 5), datetime(2026, 11, 1, 0, 30), "closed_before_opened"),
        ("opened after the hour, closed in it", datetime(2026, 11, 1, 2, 5), datetime(2026, 11, 1, 1, 10), "closed_before_opened"),
        ("closed in the hour of another year", datetime(2026, 11, 1, 1, 50), datetime(2025, 11, 2, 1, 10), "closed_before_opened"),
        ("spring forward", datetime(2026, 3, 8, 3, 10), datetime(2026, 3, 8, 1, 50), "closed_before_opened"),
        ("in order in the hour", datetime(2026, 11, 1, 1, 10), datetime(2026, 11, 1, 1, 50), None),
    ]  # fmt: skip
    df = frame(
        spark,
        schema,
        [
            (None, None, case, "x", opened, "x", closed, None, None, reason)
            for case, opened, closed, reason in rows
        ],
    )
    check(df.drop("reject_reason").transform(S.flag_rejects), df)


def test_durations_across_a_dst_switch_are_true_elapsed_hours(spark):
    schema = "time_basis string, opened_stamp timestamp, closed_stamp timestamp, hours_to_close double"
    rows = [
        # fall back: opened 01:50 EDT (05:50 UTC), closed 01:10 EST (06:10 UTC)
        ("wall_clock", datetime(2026, 11, 1, 1, 50), datetime(2026, 11, 1, 1, 10), 1 / 3),
        # the same moments written shifted back (wall 05:50 EST -> 00:50, 06:10 -> 01:10 ... as the double
        # conversion writes them: the stamps 01:50 and 01:10 of the repeated hour)
        ("shifted_back", datetime(2026, 11, 1, 1, 50), datetime(2026, 11, 1, 1, 10), 1 / 3),
        # both in the repeated hour, in order: both are read as its first pass (EDT), a close an hour later in
        # truth (01:50 EST) cannot be told from one 40 minutes later
        ("wall_clock", datetime(2026, 11, 1, 1, 10), datetime(2026, 11, 1, 1, 50), 2 / 3),
        # closed the moment it opened, in the repeated hour: not read as an hour later
        ("wall_clock", datetime(2026, 11, 1, 1, 30), datetime(2026, 11, 1, 1, 30), 0.0),
        # across a weekend with a switch: Saturday noon EST to Monday noon EDT is 47 hours
        ("wall_clock", datetime(2026, 3, 7, 12, 0), datetime(2026, 3, 9, 12, 0), 47.0),
        ("wall_clock", datetime(2026, 10, 31, 12, 0), datetime(2026, 11, 2, 12, 0), 49.0),
        # spring forward: 02:30 does not exist; Spark moves it on by the gap (03:30 EDT = 07:30 UTC), so a close
        # written 03:10 reads 20 minutes before it: no duration (a source writes such a stamp by adding days)
        ("wall_clock", datetime(2026, 3, 8, 2, 30), datetime(2026, 3, 8, 3, 10), None),
        ("wall_clock", datetime(2026, 3, 8, 2, 30), datetime(2026, 3, 8, 3, 40), 1 / 6),
    ]
    df = frame(spark, schema, rows)
    actual = (
        df.drop("hours_to_close")
        .withColumns({"target_stamp": F.lit(None).cast("timestamp"), "is_closed": F.lit(True)})
        .transform(S.apply_time_basis)
        .transform(S.add_durations)
        .select(
            "time_basis", "opened_stamp", "closed_stamp", F.round("hours_to_close", 6).alias("hours_to_close")
        )
    )
    check(actual, df.withColumn("hours_to_close", F.round("hours_to_close", 6)))


def test_shifted_back_is_exact_but_for_the_hour_its_values_repeat(spark):
    # The re-issue's shift is what converting the wall clock as if it were UTC gives (from_utc_timestamp): the
    # reading inverts it exactly at every minute of both 2026 switch days, except the wall hour 06:00-06:59 EST of
    # the fall-back Sunday, whose values (01:00-01:59) the hour before also wrote: read as that hour.
    walls = frame(
        spark, "day string", [("2026-03-07",), ("2026-03-08",), ("2026-10-31",), ("2026-11-01",)]
    ).select(
        F.explode(
            F.sequence(
                F.to_timestamp("day"),
                F.to_timestamp("day") + F.expr("INTERVAL 1439 MINUTES"),
                F.expr("INTERVAL 1 MINUTE"),
            )
        ).alias("wall")
    )
    value = F.from_utc_timestamp("wall", S.BOSTON_TZ)
    read = S.wall_clock(value, F.lit("shifted_back"))
    off = walls.filter(read != F.col("wall")).select(
        F.date_format("wall", "yyyy-MM-dd HH:mm").alias("wall"),
        (F.col("wall").cast("long") - read.cast("long")).alias("seconds_early"),
    )
    rows = off.orderBy("wall").collect()
    assert walls.count() == 4 * 1440
    assert [row.wall for row in rows] == [f"2026-11-01 06:{minute:02d}" for minute in range(60)]
    assert {row.seconds_early for row in rows} == {3600}


def test_dedupe_keeps_the_newest_ingest_then_the_later_file_then_the_later_row(spark):
    schema = "case_id string, ingested_at timestamp, source_file string, row_position long, reject_reason string, outcome string"
    early, late = datetime(2026, 11, 20), datetime(2026, 11, 25)
    later_file = "dataset=legacy_2025/ingest_date=2026-11-25/b.csv"
    rows = [
        ("A", early, "dataset=legacy_2024/ingest_date=2026-11-20/a.csv", 5, None, "duplicate"),
        ("A", late, "dataset=legacy_2024/ingest_date=2026-11-25/a.csv", 1, None, "kept"),
        ("B", late, "dataset=legacy_2024/ingest_date=2026-11-25/a.csv", 7, None, "duplicate"),
        ("B", late, "dataset=legacy_2025/ingest_date=2026-11-25/b.csv", 2, None, "kept"),
        ("C", late, "dataset=legacy_2025/ingest_date=2026-11-25/b.csv", 3, None, "duplicate"),
        ("C", late, "dataset=legacy_2025/ingest_date=2026-11-25/b.csv", 9, None, "kept"),
        (None, late, "dataset=legacy_2025/ingest_date=2026-11-25/b.csv", 4, "missing_case_id", "quarantined"),
        # a newer record of a case that is rejected does not make its good record a duplicate
        ("D", early, "dataset=legacy_2024/ingest_date=2026-11-20/a.csv", 6, None, "kept"),
        ("D", late, later_file, 8, "unparsable_opened_at", "quarantined"),
        # the newest ingest wins even from the earlier file (an older dataset landed again)
        ("E", late, "dataset=legacy_2024/ingest_date=2026-11-25/a.csv", 1, None, "kept"),
        ("E", early, "dataset=legacy_2025/ingest_date=2026-11-20/b.csv", 2, None, "duplicate"),
    ]
    df = frame(spark, schema, rows)
    actual = df.drop("outcome").transform(S.mark_duplicates()).drop("case_rank")
    check(actual, df)


def test_a_rejected_record_is_quarantined_once_however_many_ingests_carry_it(spark):
    # outcome: mark_duplicates' (a reject is "quarantined"); then the expected outcome with an earlier quarantine
    # holding BCS-2's record, and without one
    schema = (
        "case_id string, ingested_at timestamp, source_file string, row_position long, dataset string, "
        "reject_reason string, raw_record string, outcome string, with_earlier string, without_earlier string"
    )
    day1, day2 = datetime(2026, 12, 1, 6), datetime(2026, 12, 2, 6)
    file1 = "dataset=new_system/ingest_date=2026-12-01/x.csv"
    file2 = "dataset=new_system/ingest_date=2026-12-02/x.csv"
    legacy = "dataset=legacy_2026/ingest_date=2026-12-02/y.csv"
    late, bad = "unparsable_opened_at", '{"case_id":"BCS-1","opened_raw":"soon"}'
    earlier = '{"case_id":"BCS-2","opened_raw":"soon"}'
    changed = '{"case_id":"BCS-2","opened_raw":"later"}'
    no_id = '{"case_id":null,"opened_raw":"2026-12-01"}'
    q, dup = "quarantined", "duplicate"
    rows = [
        ("BCS-1", day1, file1, 1, "new_system", late, bad, q, q, q),  # the earliest ingest's copy stays
        (
            "BCS-1",
            day2,
            file2,
            1,
            "new_system",
            late,
            bad,
            q,
            dup,
            dup,
        ),  # the re-issued file carries it again
        ("BCS-2", day2, file2, 2, "new_system", late, earlier, q, dup, q),  # in the quarantine already
        (
            "BCS-2",
            day2,
            file2,
            3,
            "new_system",
            late,
            changed,
            q,
            q,
            q,
        ),  # the City changed it: another record
        (None, day2, file2, 4, "new_system", "missing_case_id", no_id, q, q, q),
        (None, day2, file2, 5, "new_system", "missing_case_id", no_id, q, q, q),  # one file keeps its rows
        ("BCS-2", day2, legacy, 6, "legacy_2026", late, earlier, q, q, q),  # another dataset
        ("BCS-3", day2, file2, 7, "new_system", None, None, "kept", "kept", "kept"),
        ("BCS-4", day1, file1, 8, "new_system", None, None, dup, dup, dup),
    ]
    df = frame(spark, schema, rows)
    handed_over = df.drop("with_earlier", "without_earlier")  # what mark_duplicates gives

    def expected(column: str):
        return df.withColumn("outcome", F.col(column)).drop("with_earlier", "without_earlier")

    quarantined_before = frame(spark, "dataset string, raw_record string", [("new_system", earlier)] * 2)
    check(handed_over.transform(S.mark_repeated_rejects(quarantined_before)), expected("with_earlier"))
    check(handed_over.transform(S.mark_repeated_rejects()), expected("without_earlier"))


def test_dedupe_holds_against_the_existing_silver_table(spark):
    schema = (
        "case_id string, ingested_at timestamp, source_file string, row_position long, reject_reason string"
    )
    existing_schema = "case_id string, ingested_at timestamp, source_file string"
    early, middle, late = datetime(2026, 11, 20), datetime(2026, 11, 22), datetime(2026, 11, 25)
    x_file = "dataset=x/ingest_date=2026-11-25/a.csv"
    new = frame(
        spark,
        schema,
        [
            ("A", late, "dataset=x/ingest_date=2026-11-25/a.csv", 1, None),
            ("B", early, "dataset=x/ingest_date=2026-11-20/a.csv", 1, None),
            ("C", late, "dataset=x/ingest_date=2026-11-25/a.csv", 2, None),
            ("E", late, x_file, 3, None),  # equal keys: the new one replaces it
            ("F", late, x_file, 4, None),  # same ingest, a later file in Silver
            ("G", late, "dataset=y/ingest_date=2026-11-25/a.csv", 5, None),  # an earlier file in Silver
            # Silver holds H twice (a stopped publish), once newer than the new record: the newest one wins
            ("H", middle, "dataset=x/ingest_date=2026-11-22/a.csv", 6, None),
        ],
    )
    existing = frame(
        spark,
        existing_schema,
        [
            ("A", early, "dataset=x/ingest_date=2026-11-20/a.csv"),
            ("B", late, "dataset=x/ingest_date=2026-11-25/a.csv"),
            ("Z", None, None),
            ("E", late, x_file),
            ("F", late, "dataset=y/ingest_date=2026-11-25/a.csv"),
            ("G", late, x_file),
            ("H", early, "dataset=x/ingest_date=2026-11-20/a.csv"),
            ("H", late, x_file),
        ],
    )
    outcomes = {r["case_id"]: r["outcome"] for r in new.transform(S.mark_duplicates(existing)).collect()}
    assert outcomes == {
        "A": "kept",
        "B": "duplicate",
        "C": "kept",
        "E": "kept",
        "F": "duplicate",
        "G": "kept",
        "H": "duplicate",
    }


def test_time_basis_decision_prefers_override_then_closure_text_then_targets_then_phone_profile():
    evidence = {"closed_texts": 10, "targets": 0, "phone_openings": 100}
    for reading, (text, business, night) in {
        "wall_clock": (10, 40, 30),
        "shifted_back": (0, 80, 2),
        "utc": (0, 20, 10),
    }.items():
        for measure, value in {"closed_text": text, "business": business, "night": night}.items():
            evidence[S.evidence_column(reading, measure)] = value
    assert S.decide_time_basis(evidence, "legacy29")["basis"] == "closed_text"
    assert S.decide_time_basis(evidence, "legacy29")["reading"] == "wall_clock"
    assert S.decide_time_basis(evidence, "legacy29", "utc")["reading"] == "utc"
    # the override a file takes: the one naming its dataset before the one naming its era
    assert S.overrides_applied(
        {"legacy29": "shifted_back", "legacy_2022": "utc"}, "legacy_2022", "legacy29"
    ) == {"reading": "utc"}
    without_text = {**evidence, "closed_texts": 0}
    decided = S.decide_time_basis(without_text, "new_system")
    assert (decided["reading"], decided["basis"]) == ("shifted_back", "phone_profile")
    assert decided["evidence"]["scores"]["shifted_back"]["phone_night"] == 0.02
    nothing = S.decide_time_basis({}, "legacy30")
    assert (nothing["reading"], nothing["basis"]) == ("shifted_back", "era_default")


def test_a_lead_exactly_at_the_margin_decides():
    # 6 of 10 closure texts match under wall_clock, 4 of 10 under shifted_back: 20 points ahead, as required
    # (0.6 - 0.4 is 0.19999999999999996 in floats)
    evidence = {"closed_texts": 10, S.evidence_column("wall_clock", "closed_text"): 6}
    evidence[S.evidence_column("shifted_back", "closed_text")] = 4
    decided = S.decide_time_basis(evidence, "legacy29")
    assert (decided["reading"], decided["basis"]) == ("wall_clock", "closed_text")


def decided(evidence: dict, era: str = "legacy29") -> tuple[str, str]:
    """(reading, basis) of a file of ``era`` with this evidence and no override."""
    decision = S.decide_time_basis(evidence, era)
    return decision["reading"], decision["basis"]


def with_scores(counts: dict[str, int], measure: str, per_reading: dict[str, int]) -> dict:
    """Evidence: the counts, and per reading how many records the measure found."""
    return {**counts, **{S.evidence_column(reading, measure): n for reading, n in per_reading.items()}}


def test_each_time_basis_rule_needs_its_minimum_of_evidence():
    # closure text: 3 texts decide, 2 do not; a share of exactly 50 % is enough
    by_text = decided(with_scores({"closed_texts": 3}, "closed_text", {"shifted_back": 3}))
    assert by_text == ("shifted_back", "closed_text")
    assert decided(with_scores({"closed_texts": 2}, "closed_text", {"shifted_back": 2}))[1] == "era_default"
    half = with_scores({"closed_texts": 10}, "closed_text", {"utc": 5, "wall_clock": 3})
    assert decided(half) == ("utc", "closed_text")
    # SLA targets: 20 targets, 20 % at 08:30, 10 points ahead
    targets = {"wall_clock": 2, "shifted_back": 4, "utc": 0}
    by_targets = decided(with_scores({"targets": 20}, "target_0830", targets))
    assert by_targets == ("shifted_back", "sla_target_0830")
    assert decided(with_scores({"targets": 19}, "target_0830", targets))[1] == "era_default"
    # phone profile: 20 openings, the best profile 5 points ahead (12/20 - 1/20 against 11/20 - 1/20)
    phone = {
        **with_scores({"phone_openings": 20}, "business", {"wall_clock": 11, "shifted_back": 12, "utc": 4}),
        **with_scores({}, "night", {"wall_clock": 1, "shifted_back": 1, "utc": 9}),
    }
    assert decided(phone) == ("shifted_back", "phone_profile")
    assert decided({**phone, "phone_openings": 19})[1] == "era_default"
    # a best profile below 0 (more night than business hours under every reading) decides nothing, however far ahead
    night_calls = {
        **with_scores({"phone_openings": 20}, "business", {"wall_clock": 0, "shifted_back": 6, "utc": 0}),
        **with_scores({}, "night", {"wall_clock": 13, "shifted_back": 14, "utc": 6}),
    }
    assert decided(night_calls) == ("wall_clock", "era_default")
    # without conclusive evidence, the era's default
    assert {era: decided({}, era) for era in ("legacy29", "legacy30", "new_system")} == {
        "legacy29": ("wall_clock", "era_default"),
        "legacy30": ("shifted_back", "era_default"),
        "new_system": ("wall_clock", "era_default"),
    }


def test_the_months_whose_own_evidence_reads_otherwise_than_their_file_are_named():
    # a NEW SYSTEM file decided wall_clock; its months decided as files are, without the era default
    calls = {"phone_openings": 40}
    wall_clock_calls = {
        **calls,
        **with_scores({}, "business", {"wall_clock": 30, "shifted_back": 8, "utc": 20}),
    }
    utc_calls = {**calls, **with_scores({}, "business", {"wall_clock": 12, "shifted_back": 2, "utc": 30})}
    months = {
        202508: wall_clock_calls,
        202509: {**utc_calls, "phone_openings": 19},  # too few calls to decide: not named
        202601: utc_calls,
        202511: utc_calls,
        202512: {**calls, **with_scores({}, "business", {"wall_clock": 20, "utc": 19})},  # no lead: not named
    }
    decided = S.months_decided(months, "new_system")
    otherwise = S.months_read_otherwise(decided, "wall_clock")
    assert otherwise == {
        "2025-11": {"reading": "utc", "basis": "phone_profile", "counts": {**dict.fromkeys(S.EVIDENCE_COUNTS, 0), **calls}},
        "2026-01": {"reading": "utc", "basis": "phone_profile", "counts": {**dict.fromkeys(S.EVIDENCE_COUNTS, 0), **calls}},
    }  # fmt: skip
    assert list(otherwise) == ["2025-11", "2026-01"]  # in month order
    # against another reading, the months conclusive for another one
    assert S.months_read_otherwise(decided, "utc").keys() == {"2025-08"}
    assert S.months_read_otherwise(S.months_decided({}, "legacy29"), "wall_clock") == {}


def test_an_overridden_files_months_are_compared_with_what_its_own_evidence_decides(caplog):
    # An override sets the reading applied; its months are compared with the file's evidence, or every month of a
    # file overridden against its evidence (new_system=utc, as docs/silver.md suggests for a real switch) read
    # otherwise and warned of a part-way change, every day the file is landed (found by review, 2026-11-27).
    calls = {"phone_openings": 40}
    wall_clock = {**calls, **with_scores({}, "business", {"wall_clock": 30, "shifted_back": 8, "utc": 20})}
    utc = {**calls, **with_scores({}, "business", {"wall_clock": 12, "shifted_back": 2, "utc": 30})}
    planned = [{"suffix": "f.csv", "dataset": "new_system", "era": "new_system"}]

    def decided(months: dict, overrides: dict) -> dict:
        summed = {
            name: sum(m.get(name, 0) for m in months.values())
            for name in {k for m in months.values() for k in m}
        }
        reports = {"f.csv": {}}
        S._decide_readings(planned, {"f.csv": summed}, {"f.csv": months}, overrides, reports)
        return reports["f.csv"]["time_basis"]

    with caplog.at_level("WARNING", logger=S.log.name):
        steady = decided({202508: wall_clock, 202509: wall_clock, 202510: wall_clock}, {"new_system": "utc"})
    assert (steady["reading"], steady["basis"]) == ("utc", "override")
    assert steady["months"] == {"with_evidence": 3, "compared_with": "wall_clock", "read_otherwise": {}}
    assert not caplog.records

    with caplog.at_level("WARNING", logger=S.log.name):
        mixed = decided(
            {202508: wall_clock, 202509: wall_clock, 202510: wall_clock, 202511: utc, 202512: wall_clock},
            {"new_system": "utc"},
        )
    assert mixed["months"]["compared_with"] == "wall_clock"
    assert list(mixed["months"]["read_otherwise"]) == ["2025-11"]
    assert [r.getMessage() for r in caplog.records] == [
        "f.csv reads as wall_clock (phone_profile; read as utc by the override), but its own evidence reads 2025-11 "
        "as utc otherwise: the export may have changed its time basis part-way, and those months' times may be hours "
        "off. If it did, --time_basis_override new_system@2025-11=utc,new_system@2025-12=wall_clock reads each month "
        'as its own evidence does. See docs/silver.md, "A file whose time basis changes part-way".'
    ]
    counts = dict.fromkeys(("rows_read", "rows_written", "rows_quarantined", "duplicates_removed"), 0)
    entry = {"source_file": "f.csv", "era": "new_system", **counts, "time_basis": mixed}
    assert "time basis utc (override), 1 month read otherwise" in S.summary({"run_id": "r", "files": [entry]})


def test_a_dated_override_reads_a_file_otherwise_from_its_month_on(caplog):
    # The NEW SYSTEM export switched to true UTC in 2025-11: new_system@2025-11=utc reads those months so. The months
    # before are decided on their own evidence, so the UTC months cannot sway them as they come to outnumber them.
    calls = {"phone_openings": 40, "evidence_sample": 40}
    wall_clock = {**calls, **with_scores({}, "business", {"wall_clock": 30, "shifted_back": 8, "utc": 20})}
    utc = {**calls, **with_scores({}, "business", {"wall_clock": 12, "shifted_back": 2, "utc": 30})}
    planned = [{"suffix": "f.csv", "dataset": "new_system", "era": "new_system"}]

    def decided(months: dict, overrides: dict) -> tuple[dict, dict, list[str]]:
        summed = {c: sum(m.get(c, 0) for m in months.values()) for c in S.EVIDENCE_COLUMNS}
        reports = {"f.csv": {}}
        caplog.clear()
        with caplog.at_level("WARNING", logger=S.log.name):
            _, reading_from = S._decide_readings(
                planned, {"f.csv": summed}, {"f.csv": months}, overrides, reports
            )
        return reports["f.csv"]["time_basis"], reading_from, [r.getMessage() for r in caplog.records]

    # two wall-clock months, three UTC ones: the whole file's evidence would read it all as utc
    months = {202509: wall_clock, 202510: wall_clock, 202511: utc, 202512: utc, 202601: utc}
    undated, _, warned = decided(months, {})
    assert undated["reading"] == "utc" and list(undated["months"]["read_otherwise"]) == ["2025-09", "2025-10"]
    # the override that reads each month as its evidence: November on as utc, the file decided on the months before
    assert (
        "If it did, --time_basis_override new_system@2025-11=utc reads each month as its own evidence"
        in warned[0]
    )

    dated, reading_from, warned = decided(months, {"new_system@2025-11": "utc"})
    # decided on 2025-09 and 2025-10 alone
    assert (dated["reading"], dated["basis"]) == ("wall_clock", "phone_profile")
    assert dated["evidence"]["records_examined"] == 80
    assert dated["reading_from"] == {"2025-11": "utc"} and reading_from == {"f.csv": {"2025-11": "utc"}}
    assert dated["months"]["read_otherwise"] == {} and warned == []

    # a file's dated overrides: those naming its dataset, else its era's, in month order
    later_first = {"new_system@2026-01": "utc", "new_system@2025-12": "wall_clock"}
    assert list(S.dated_overrides(later_first, "new_system", "new_system").items()) == [
        ("2025-12", "wall_clock"),
        ("2026-01", "utc"),
    ]
    assert S.dated_overrides(
        {"legacy30@2015-11": "utc", "legacy_2015@2015-07": "wall_clock"}, "legacy_2015", "legacy30"
    ) == {"2015-07": "wall_clock"}
    assert S.dated_overrides({"legacy30@2015-11": "utc"}, "legacy_2015", "legacy30") == {"2015-11": "utc"}
    assert S.dated_overrides({"legacy30": "utc", "legacy_2015": "utc"}, "legacy_2015", "legacy30") == {}

    # a month dated too early (the switch was 2025-11): 2025-10 reads otherwise than the override says
    early, _, warned = decided(months, {"new_system@2025-10": "utc"})
    assert list(early["months"]["read_otherwise"]) == ["2025-10"]
    assert warned == [
        "f.csv reads as wall_clock (phone_profile; utc from 2025-10 by the override), but its own evidence reads "
        "2025-10 as wall_clock otherwise: the export may have changed its time basis part-way, and those months' times "
        "may be hours off. If it did, --time_basis_override new_system@2025-11=utc, in place of the file's dated "
        'overrides, reads each month as its own evidence does. See docs/silver.md, "A file whose time basis changes '
        'part-way".'
    ]
    # dated overrides the evidence reads otherwise throughout: leave them out; an era's, named by the era
    steady = {202509: wall_clock, 202510: wall_clock, 202511: wall_clock}
    assert S.part_way_advice(
        S.months_decided(steady, "new_system"),
        "wall_clock",
        "new_system",
        "new_system",
        {"new_system@2025-10": "utc"},
    ) == ("If it did not, leaving out the file's dated overrides reads each month as its own evidence does.")
    legacy_months = S.months_decided(months, "legacy30")
    assert S.dated_overrides_to_suggest(legacy_months, "wall_clock") == {"2025-11": "utc"}
    advice = S.part_way_advice(
        legacy_months, "wall_clock", "legacy_2015", "legacy30", {"legacy30@2025-10": "utc"}
    )
    assert advice.startswith("If it did, --time_basis_override legacy30@2025-11=utc, in place of")
    # a month unlike those on either side: a change there and a change back
    anomaly = {202509: wall_clock, 202510: utc, 202511: wall_clock}
    assert S.dated_overrides_to_suggest(S.months_decided(anomaly, "new_system"), "wall_clock") == {
        "2025-10": "utc",
        "2025-11": "wall_clock",
    }
    # with an undated override beside it, both are named; the months before are compared with their evidence
    both, _, warned = decided(months, {"new_system": "shifted_back", "new_system@2025-11": "utc"})
    assert (both["reading"], both["basis"], both["months"]["read_otherwise"]) == (
        "shifted_back",
        "override",
        {},
    )
    assert S.override_clause(both) == "; read as shifted_back, utc from 2025-11 by the overrides"
    # the overrides a file was read with, given back as the argument names them, read back as they were given
    overrides = {"new_system": "shifted_back", "new_system@2025-11": "utc"}
    given = S.overrides_given("new_system", S.overrides_applied(overrides, "new_system", "new_system"))
    assert given == ["new_system=shifted_back", "new_system@2025-11=utc"]
    assert S.parse_overrides(",".join(given)) == overrides
    counts = dict.fromkeys(("rows_read", "rows_written", "rows_quarantined", "duplicates_removed"), 0)
    entry = {"source_file": "f.csv", "era": "new_system", **counts, "time_basis": both}
    assert "time basis shifted_back (override), utc from 2025-11 (override)" in S.summary(
        {"run_id": "r", "files": [entry]}
    )
    # which reading each month is read with
    assert [S.reading_of_month(m, "wall_clock", {"2025-11": "utc", "2026-02": "shifted_back"}) for m in ("2025-10", "2025-11", "2026-01", "2026-02", "2027-01")] == [
        "wall_clock", "utc", "utc", "shifted_back", "shifted_back"
    ]  # fmt: skip
    assert S.reading_of_month("2025-10", "wall_clock", None) == "wall_clock"


def test_dated_readings_apply_by_the_month_the_opening_stamp_names(spark):
    rows = [
        ("a.csv", datetime(2025, 10, 31, 23, 59), "wall_clock", "wall_clock"),
        ("a.csv", datetime(2025, 11, 1, 0, 0), "wall_clock", "utc"),  # its month, as written
        ("a.csv", datetime(2026, 1, 15, 9, 0), "wall_clock", "utc"),
        ("a.csv", datetime(2026, 3, 1, 9, 0), "wall_clock", "shifted_back"),  # the later month wins
        ("a.csv", None, "wall_clock", "wall_clock"),  # no opening stamp: its file's
        # another file's records untouched
        ("b.csv", datetime(2026, 1, 15, 9, 0), "shifted_back", "shifted_back"),
    ]
    df = frame(spark, "source_file string, opened_stamp timestamp, time_basis string, expected string", rows)
    dated = {"a.csv": {"2025-11": "utc", "2026-03": "shifted_back"}}
    actual = df.transform(S.apply_dated_readings(dated)).select("source_file", "opened_stamp", "time_basis")
    check(actual, df.select("source_file", "opened_stamp", F.col("expected").alias("time_basis")))
    assert df.transform(S.apply_dated_readings({})) is df  # without dated overrides, the plan as before


def test_time_basis_evidence_flags_per_record(spark):
    # under the wall_clock reading the stamps are Boston wall clock as written
    schema = (
        "row_position long, evidence_every long, source_raw string, closure_reason string, opened_stamp timestamp, "
        "closed_stamp timestamp, target_stamp timestamp, business int, night int, target_0830 int, closed_text int"
    )

    def day(hour: int, minute: int = 0, second: int = 0, microsecond: int = 0) -> datetime:
        return datetime(2015, 7, 30, hour, minute, second, microsecond)

    text = "Case Closed. Closed date : 2015-07-30 12:41:05.417 VIOLFND"
    closed = day(12, 41, 5, 417000)  # the text's stamp, milliseconds and all
    rows = [
        (0, 1, "Constituent Call", None, day(8), None, None, 1, 0, 0, 0),
        (1, 1, "Call", None, day(16, 59), None, None, 1, 0, 0, 0),
        (2, 1, "Call", None, day(17), None, None, 0, 0, 0, 0),
        (3, 1, "Call", None, day(5, 59), None, None, 0, 1, 0, 0),
        (4, 1, "Call", None, day(6), None, None, 0, 0, 0, 0),
        (5, 1, "Self Service", None, day(9), closed, day(8, 30), 0, 0, 1, 0),
        (6, 1, None, text, day(9), closed, day(8, 45), 0, 0, 0, 1),  # equal to the second
        (7, 2, "Call", text, day(9), closed, day(8, 30), 0, 0, 0, 0),  # not in the 1-in-2 sample
    ]
    df = frame(spark, schema, rows)
    flags = df.select(
        "row_position", *S.time_basis_evidence(["constituent call", "call"])
    ).select(
        "row_position",
        *[F.col(S.evidence_column("wall_clock", m)).alias(m) for m in ("business", "night", "target_0830", "closed_text")],
    )  # fmt: skip
    check(flags, df.select("row_position", "business", "night", "target_0830", "closed_text"))
    # the month each sampled record's stamp names, as written: the months a file's evidence is tallied by
    months = df.select("row_position", *S.time_basis_evidence(["call"])).select(
        "row_position", "evidence_month"
    )
    assert dict(months.collect()) == {**dict.fromkeys(range(7), 201507), 7: None}  # not in the sample: none


def test_unknown_mapping_values_count_only_kept_records(spark, mappings):
    schema = "source_era string, department_raw string, subject string, source_raw string, status_raw string, type string, outcome string, neighborhood_raw string"  # fmt: skip
    rows = [
        (
            "legacy29",
            "XYZ_",
            "Somebody New",
            "Fax",
            "Weird",
            "Odd Type",
            "kept",
            "Atlantis",
        ),  # a legacy type is not mapped
        ("legacy29", "XYZ_", "Somebody New", "Fax", "Weird", None, "duplicate", "Atlantis"),
        ("legacy29", "XYZ_", "Somebody New", "Pager", "Weird", None, "quarantined", "Atlantis"),
        ("legacy29", "XYZ_", "Somebody New", "Fax", "Closed", None, "kept", "Brighton"),
        ("new_system", None, None, None, None, None, "kept", None),  # nothing to map: not unknown
        # a NEW SYSTEM department the mappings know by name but with no legacy wording: its own subject, counted;
        # a NEW SYSTEM type reasons.csv does not know: its own reason, counted
        (
            "new_system",
            "Boston Transportation Department",
            "Boston Transportation Department",
            "Call",
            "Open",
            "Lane Divider",
            "kept",
            "North End",
        ),
        (
            "new_system",
            "Public Works Department (PWD)",
            "Public Works Department (PWD)",
            "Call",
            "Open",
            "Street Light Outage",
            "kept",
            "Downtown",
        ),
        ("new_system", None, None, None, None, "Lane Divider", "duplicate", "Atlantis"),
    ]
    marked = frame(spark, schema, rows)
    assert S.unknown_mapping_values(marked, mappings) == {
        "department": {"XYZ_": 2}, "source": {"Fax": 2}, "status": {"Weird": 1},
        "subject": {"Boston Transportation Department": 1}, "reason": {"Lane Divider": 1},
        "neighborhood": {"Atlantis": 1},
    }  # fmt: skip


def test_first_pass_counts_and_evidence_are_summed_over_every_outcome_of_a_file():
    # file_counts gives one row per file, outcome, reject reason and evidence month: a file's evidence is the sum of
    # its rows, and a month's the sum of its rows in that month
    def counted(source_file, outcome, reject_reason, rows, sample, phone, month=None):
        flags = dict.fromkeys(S.EVIDENCE_COLUMNS, None if outcome == "quarantined" else 0)
        return {
            **flags,
            "source_file": source_file,
            "outcome": outcome,
            "reject_reason": reject_reason,
            "evidence_month": month,
            "rows": rows,
            "evidence_sample": sample,
            "phone_openings": phone,
        }

    reports = {
        name: {"rows_read": 0, "duplicates_removed": 0, "rejects_by_reason": {}}
        for name in ("a.csv", "b.csv")
    }
    evidence, monthly = S._tally_first_pass(
        [
            counted("a.csv", "kept", None, 3, 3, 2, month=202201),
            counted("a.csv", "kept", None, 2, 2, 1, month=202202),
            counted("b.csv", "kept", None, 4, 4, 1, month=202201),
            counted("a.csv", "duplicate", None, 2, 2, 1, month=202201),
            counted(
                "a.csv", "quarantined", "no_case_id", 1, None, None
            ),  # no month: outside the sample, or no stamp
        ],
        reports,
    )

    assert reports == {
        "a.csv": {
            "rows_read": 8,
            "duplicates_removed": 2,
            "rejects_by_reason": {"no_case_id": 1},
            "reject_share": 0.125,
        },
        "b.csv": {"rows_read": 4, "duplicates_removed": 0, "rejects_by_reason": {}, "reject_share": 0.0},
    }
    assert (evidence["a.csv"]["evidence_sample"], evidence["a.csv"]["phone_openings"]) == (7, 4)
    assert (evidence["b.csv"]["evidence_sample"], evidence["b.csv"]["phone_openings"]) == (4, 1)
    assert set(evidence["a.csv"]) == set(S.EVIDENCE_COLUMNS)
    by_month = {
        (name, month): (summed["evidence_sample"], summed["phone_openings"])
        for name, months in monthly.items()
        for month, summed in months.items()
    }
    assert by_month == {("a.csv", 202201): (5, 3), ("a.csv", 202202): (2, 1), ("b.csv", 202201): (4, 1)}


def test_conservation_is_checked_per_file():
    balanced = {"rows_read": 6, "rows_written": 3, "rows_quarantined": 2, "duplicates_removed": 1}
    S._check_conservation({"a.csv": balanced, "empty.csv": dict.fromkeys(balanced, 0)})
    for lost in ("rows_written", "rows_quarantined", "duplicates_removed"):
        with pytest.raises(S.SilverError, match="Conservation failed for b.csv: 6 rows read but 5 accounted"):
            S._check_conservation({"a.csv": balanced, "b.csv": {**balanced, lost: balanced[lost] - 1}})
    with pytest.raises(S.SilverError, match="Conservation failed for b.csv: 6 rows read but 7 accounted"):
        S._check_conservation({"b.csv": {**balanced, "rows_written": 4}})


def test_headers_overrides_and_paths_are_recognised():
    from silver_helpers import LEGACY29_HEADER

    assert S.recognise_era(LEGACY29_HEADER) == "legacy29"
    assert S.recognise_era([c.upper() for c in reversed(LEGACY29_HEADER)]) == "legacy29"
    assert S.recognise_era(["case_id", "open_date", "something_else"]) is None

    # a refusal names what keeps a header from its nearest era
    def difference(header: list[str]) -> str:
        return S.header_difference(header, ",".join(header))

    assert difference([*LEGACY29_HEADER, "case_origin"]) == "nearest legacy29: unknown column case_origin"
    assert difference([c for c in LEGACY29_HEADER if c != "ward"]) == "nearest legacy29: missing ward"
    assert difference(["foo", "bar"]) == "starts 'foo,bar'"  # nothing like an era: how it starts
    assert difference([*LEGACY29_HEADER, "ward"]).startswith("a column named twice; starts 'case_enquiry_id,")
    assert S.parse_overrides("new_system=utc, legacy_2015=shifted_back") == {
        "new_system": "utc",
        "legacy_2015": "shifted_back",
    }
    with pytest.raises(S.SilverError, match="not dataset=reading"):
        S.parse_overrides("new_system=eastern")
    assert S.parse_overrides("legacy29=wall_clock,legacy30=utc") == {
        "legacy29": "wall_clock",
        "legacy30": "utc",
    }
    for never_matches in ("legacy2015=utc", "NEW_SYSTEM=utc", "=utc", "legacy_15=utc", "new-system=utc"):
        with pytest.raises(S.SilverError, match="names neither a dataset .* nor an era"):
            S.parse_overrides(never_matches)
    with pytest.raises(S.SilverError, match="'new_system' is given twice"):
        S.parse_overrides("new_system=utc,new_system=wall_clock")
    # dated: the name and the month its reading applies from, beside an undated override of the same name
    assert S.parse_overrides(
        "new_system=wall_clock, new_system @ 2026-03=utc,legacy30@2015-11=wall_clock"
    ) == {
        "new_system": "wall_clock",
        "new_system@2026-03": "utc",
        "legacy30@2015-11": "wall_clock",
    }
    for no_month in (
        "new_system@2026-3=utc",
        "new_system@2026-13=utc",
        "new_system@=utc",
        "new_system@2026=utc",
    ):
        with pytest.raises(S.SilverError, match="which is not a month written YYYY-MM"):
            S.parse_overrides(no_month)
    with pytest.raises(S.SilverError, match="names neither a dataset"):
        S.parse_overrides("newsystem@2026-03=utc")
    with pytest.raises(S.SilverError, match="'new_system@2026-03' is given twice"):
        S.parse_overrides("new_system@2026-03=utc,new_system@2026-03=wall_clock")
    # digits are ASCII, as CloudFormation's pattern and the report's schema read them: another script's digits
    # would name no dataset, or a month compared as text with the months of the evidence
    for other_digits in ("legacy_\uff12\uff10\uff11\uff15=utc", "new_system@\u0662\u0660\u0662\u0665-11=utc"):
        with pytest.raises(S.SilverError):
            S.parse_overrides(other_digits)
    assert S.bronze_suffix("s3://b/bronze/boston311/dataset=new_system/ingest_date=2026-11-25/f%20x.csv") == (
        "dataset=new_system/ingest_date=2026-11-25/f x.csv"
    )


def test_the_log_summary_names_the_unknown_mapping_values():
    # it printed {'reason': 1}: which value, and how many rows, was only in the report's JSON
    found = {
        "department": {"XYZ_": 4, "ABC_": 3, "DEF_": 1, "GHI_": 1},
        "source": {},
        "reason": {"Lane Divider": 5},
    }
    listed, totals = S.listed_unknown_values(found)
    report = {"run_id": "r1", "unknown_mapping_values": listed, "unknown_mapping_totals": totals}
    lines = S.summary(report).splitlines()
    assert lines[1:] == [
        "  unknown department values, passed through: 'XYZ_' (4 rows), 'ABC_' (3 rows), 'DEF_' (1 row) "
        "and 1 more (1 row) in the report",
        "  unknown reason values, passed through: 'Lane Divider' (5 rows)",
    ]


def test_unknown_values_of_as_many_rows_are_listed_by_value_whatever_order_spark_found_them_in():
    # they came in the order Spark's aggregation gave them: two runs over the same Bronze could list values of as
    # many rows otherwise, and name other ones among the 100 (tests/test_silver_differential.py found it)
    found = {
        "neighborhood": {"b": 2, "c": 1, "C": 3, "a": 2},
        "reason": {f"type {n:03d}": 1 for n in reversed(range(102))},
    }

    listed, totals = S.listed_unknown_values(found)

    assert list(listed["neighborhood"].items()) == [("C", 3), ("a", 2), ("b", 2), ("c", 1)]
    assert list(listed["reason"]) == [f"type {n:03d}" for n in range(100)]
    assert totals["reason"] == {"values": 102, "rows": 102}


def test_the_report_lists_the_100_unknown_values_with_most_rows_and_counts_them_all():
    """The summary's "more" is every value the run met, not only those the report lists."""
    found = {"reason": {f"type {n}": 1000 - n for n in range(250)}, "source": {}}

    listed, totals = S.listed_unknown_values(found)
    report = {"run_id": "r1", "unknown_mapping_values": listed, "unknown_mapping_totals": totals}

    assert list(listed["reason"]) == [f"type {n}" for n in range(100)]
    assert totals == {
        "reason": {"values": 250, "rows": sum(found["reason"].values())},
        "source": {"values": 0, "rows": 0},
    }
    [line] = S.summary(report).splitlines()[1:]
    left_rows = sum(found["reason"].values()) - 1000 - 999 - 998
    assert line == (
        "  unknown reason values, passed through: 'type 0' (1000 rows), 'type 1' (999 rows), 'type 2' (998 rows) "
        f"and 247 more ({left_rows} rows); the report lists the 100 with most rows"
    )
