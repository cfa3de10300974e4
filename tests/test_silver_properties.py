"""Properties of Silver's field rules on generated inputs (Hypothesis), each stated from docs/silver.md's Rules.

test_silver_rules.py shows each rule on a few rows; these say what must hold for every value an export could write.
A Spark job per input would take minutes, so every example is a list of inputs checked in one DataFrame, and the
examples are few (a twentieth of the profile's: 5, or 50 with ``HYPOTHESIS_PROFILE=explore``, see tests/conftest.py).
The expected values come from the documented rule, computed in Python beside the input, not from the job's code.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pyspark.sql import functions as F

import silver_job as S
from silver_helpers import utc_rows

pytestmark = pytest.mark.spark

BOSTON = ZoneInfo("America/New_York")
MAPPINGS = S.load_mappings(None)  # the real mapping files: the values the rules are documented with
# One Spark job per example: a twentieth of the examples the profile asks of a pure test. Lists of at least 100
# inputs are large examples on purpose, which Hypothesis would otherwise flag as too large or slow to generate.
# No shrinking either: every step of it is a Spark job (minutes for one failure), and the cases of a list are
# independent, so check_each's message already names the one that fails.
spark_examples = settings(
    max_examples=max(settings().max_examples // 20, 5),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    phases=[phase for phase in settings().phases if phase is not Phase.shrink],
)
SHAPE = object()  # an expected value that is only a shape: null, or the rule's form (for arbitrary text)
# the exports' blanks (docs: "" and " "), and a longer run of spaces
BLANKS = st.sampled_from(["", " ", "   "])


def inputs(cases: st.SearchStrategy, least: int = 100, most: int = 200) -> st.SearchStrategy:
    """A list of generated cases, checked together in one DataFrame: long enough that each Spark job checks many
    (Hypothesis keeps its lists short unless told; a failure shows the one case that fails in its message)."""
    return st.lists(cases, min_size=least, max_size=most)


def digits(least: int, most: int | None = None) -> st.SearchStrategy[str]:
    """ASCII digits, between ``least`` and ``most`` of them (leading zeros included)."""
    most = most or least
    return st.tuples(st.integers(least, most), st.integers(0, 10**most - 1)).map(
        lambda t: f"{t[1]:0{most}d}"[most - t[0] :]
    )


def padded(text: str, spaces: tuple[int, int]) -> str:
    """The text with spaces around it, as a quoted CSV field keeps them (rule 1 trims them)."""
    return " " * spaces[0] + text + " " * spaces[1]


paddings = st.tuples(st.integers(0, 2), st.integers(0, 2))


def check_each(rows: list[dict], expected: list[dict]) -> None:
    """Every collected row (by ``i``) against its expected values; SHAPE values are left to the caller."""
    by_index = {row["i"]: row for row in rows}
    assert sorted(by_index) == list(range(len(expected)))
    for i, wanted in enumerate(expected):
        for name, value in wanted.items():
            if value is not SHAPE:
                assert by_index[i][name] == value, (name, value, by_index[i])


# ---------------------------------------------------------------- rule 6: zip, ward, precinct, street, coordinates
# docs: zip: 5 digits (2135.0 -> 02135: 4 digits are a zip that lost its leading zero, 02135-1234 -> 02135, else null)
zip_cases = st.one_of(
    digits(5).map(lambda d: (d, d)),
    st.tuples(digits(5), digits(4)).map(lambda t: (f"{t[0]}-{t[1]}", t[0])),
    digits(4).map(lambda d: (d, "0" + d)),
    # a pandas round trip wrote the zip as a float (2015 sample): 2135.0
    st.integers(0, 99999).map(lambda n: (str(float(n)), f"{n:05d}" if n >= 1000 else None)),
    st.one_of(digits(1, 3), digits(6, 9)).map(lambda d: (d, None)),
    st.sampled_from(["n/a", "N/A", "MA", "0213O", "02l35", "2135A", "unknown", "/"]).map(lambda t: (t, None)),
    BLANKS.map(lambda b: (b, None)),
    st.text(max_size=12).map(lambda t: (t, SHAPE)),
)


def ward_forms(number: int) -> list[str]:
    """How the exports write a ward: ``Ward 18``, ``18``, ``03``, ``3`` (NEW SYSTEM: two digits)."""
    return [
        str(number),
        f"{number:02d}",
        f"Ward {number}",
        f"Ward {number:02d}",
        f"WARD {number}",
        f"ward {number}",
    ]


@st.composite
def ward_and_precinct(draw: st.DrawFn) -> tuple[str, str, object, object]:
    """(ward_raw, precinct_raw, ward, precinct) as either system writes them; docs: ward 2 digits, precinct the
    4-digit ward+precinct (legacy 0306 kept, 306 -> 0306; NEW SYSTEM 01 in ward 14 -> 1401)."""
    ward, precinct = draw(st.integers(1, 99)), draw(st.integers(1, 99))
    ward_raw = ward_forms(ward)[draw(st.integers(0, 5))]
    combined = f"{ward:02d}{precinct:02d}"
    kind = draw(st.sampled_from(["legacy", "legacy_number", "new_system", "blank_ward", "blank", "text"]))
    if kind == "legacy":
        return ward_raw, combined, f"{ward:02d}", combined
    if kind == "legacy_number":  # the leading zero lost: 306
        return ward_raw, str(int(combined)), f"{ward:02d}", combined
    if kind == "new_system":
        precinct_raw = draw(st.sampled_from([f"{precinct:02d}", str(precinct)]))
        return ward_raw, precinct_raw, f"{ward:02d}", combined
    if kind == "blank_ward":  # a precinct within a ward that is not given: no 4-digit precinct can be told
        return draw(BLANKS), draw(st.sampled_from([f"{precinct:02d}", combined])), None, SHAPE
    if kind == "blank":
        return ward_raw, draw(BLANKS), f"{ward:02d}", None
    return draw(st.text(max_size=10)), draw(st.text(max_size=6)), SHAPE, SHAPE


ward_cases = st.one_of(
    st.tuples(st.integers(1, 99), st.integers(0, 5)).map(lambda t: (ward_forms(t[0])[t[1]], f"{t[0]:02d}")),
    digits(3, 5).map(lambda d: (d, None)),
    BLANKS.map(lambda b: (b, None)),
)

# docs: street_name is the street alone: a leading house number (with at most one letter, or a range 227-227A), or
# INTERSECTION / Intersection of in any case, is dropped; a street that starts with a digit (3rd St) is kept (and no
# street is named "Of …", which would read as the end of "Intersection of")
streets = st.one_of(
    st.sampled_from(
        ["Cross St", "Main St", "E Third St", "Pier 4 Blvd", "3rd St", "Florida St & Ashmont St"]
    ),
    st.tuples(
        st.sampled_from(["Elm", "Blue Hill", "Washington", "Commonwealth", "A", "St James", "Dot"]),
        st.sampled_from(["St", "Ave", "Rd", "Sq", "Pl", "Way"]),
    ).map(" ".join),
)
house_numbers = st.one_of(
    # 42, 2D, 227-227A, 400 - 404
    st.tuples(
        st.integers(1, 9999),
        st.sampled_from(["", "A", "d"]),
        st.sampled_from(["", "-", " - "]),
        st.integers(1, 9999),
        st.sampled_from(["", "A"]),
    ).map(lambda t: f"{t[0]}{t[1]}" + (f"{t[2]}{t[3]}{t[4]}" if t[2] else "")),
    st.sampled_from(["INTERSECTION", "Intersection of", "intersection OF"]),
)


def decimal(value: float, places: int) -> str:
    """A coordinate as the exports write it: 4 decimals (older exports) up to 15 (re-issued files)."""
    return f"{value:.{places}f}"


PLACES = st.integers(1, 15)
# (raw text, kind): a number, a blank, text that is no number, or any text at all
latitudes = st.one_of(
    st.tuples(st.floats(42.20, 42.42), PLACES).map(lambda t: (decimal(*t), "number")),
    st.tuples(st.floats(-90, 90), PLACES).map(lambda t: (decimal(*t), "number")),
    st.sampled_from(["42.3594", "42.35940", "42.2", "42.42", "42.19", "42.43"]).map(lambda t: (t, "number")),
)
longitudes = st.one_of(
    st.tuples(st.floats(-71.20, -70.90), PLACES).map(lambda t: (decimal(*t), "number")),
    st.tuples(st.floats(-180, 180), PLACES).map(lambda t: (decimal(*t), "number")),
    st.sampled_from(["-71.0587", "-71.058700", "-71.2", "-70.9", "-71.21", "-70.89"]).map(
        lambda t: (t, "number")
    ),
)
not_coordinates = st.one_of(
    BLANKS.map(lambda b: (b, "blank")),
    st.sampled_from(
        ["abc", "N/A", "42,3594", "--", "42.36.1", "north", "nan", "NaN", "Infinity", "-inf", "42.36d"]
    ).map(lambda t: (t, "text")),
    st.text(max_size=8).map(lambda t: (t, "any")),
)
QUALITIES = {"ok", "missing", "unparsable", "city_hall_placeholder", "outside_boston"}


def expected_quality(latitude: tuple[str, str], longitude: tuple[str, str]) -> object:
    """docs rule 6: null coordinates with location_quality city_hall_placeholder (exactly 42.3594, -71.0587),
    outside_boston (outside lat 42.20-42.42, lon -71.20 - -70.90), unparsable, missing; else ok."""
    kinds = {latitude[1], longitude[1]}
    if "any" in kinds:
        return SHAPE
    if "blank" in kinds:  # the latitude or the longitude not given: missing, whichever of the two it is
        return "missing"
    if "text" in kinds:
        return "unparsable"
    lat, lon = float(latitude[0]), float(longitude[0])
    if (lat, lon) == S.CITY_HALL:
        return "city_hall_placeholder"
    return "ok" if 42.20 <= lat <= 42.42 and -71.20 <= lon <= -70.90 else "outside_boston"


@st.composite
def location_rows(draw: st.DrawFn) -> tuple[tuple, dict]:
    """One record's location fields as an export writes them, and what rule 6 makes of them."""
    zip_raw, zipcode = draw(zip_cases)
    if draw(st.booleans()):
        ward_raw, precinct_raw, ward, precinct = draw(ward_and_precinct())
    else:
        (ward_raw, ward), precinct_raw, precinct = draw(ward_cases), draw(BLANKS), None
    street, number = draw(streets), draw(house_numbers)
    latitude = draw(st.one_of(latitudes, not_coordinates))
    longitude = draw(st.one_of(longitudes, not_coordinates))
    spaces = draw(paddings)
    raw = (
        padded(zip_raw, spaces),
        padded(ward_raw, spaces),
        padded(precinct_raw, spaces),
        padded(f"{number} {street}", spaces),
        padded(street, spaces),
        padded(latitude[0], spaces),
        padded(longitude[0], spaces),
    )
    quality = expected_quality(latitude, longitude)
    usable = quality == "ok"
    expected = {
        "zipcode": zipcode,
        "ward": ward,
        "precinct": precinct,
        "location_quality": quality,
        "latitude": SHAPE if quality is SHAPE else float(latitude[0]) if usable else None,
        "longitude": SHAPE if quality is SHAPE else float(longitude[0]) if usable else None,
    }
    return raw, expected


def normalised_locations(spark, raws: list[tuple]) -> list[dict]:
    """Rules 1 and 6 on the raw fields, as the second pass runs them; one row per input, by ``i``."""
    columns = "i int, zipcode_raw string, ward_raw string, precinct_raw string, street_name string, street_alone string, latitude_raw string, longitude_raw string"
    df = spark.createDataFrame([(i, *raw) for i, raw in enumerate(raws)], columns)
    cleaned = df.transform(S.clean_blanks).withColumn("street_alone", S.blank_to_null(F.col("street_alone")))
    located = cleaned.transform(S.normalise_location).withColumn(
        "street_alone", S.normalise_street_name(F.col("street_alone"))
    )
    return [row.asDict() for row in located.collect()]


@spark_examples
@given(inputs(location_rows()))
def test_location_fields_take_their_documented_form(spark, cases: list[tuple[tuple, dict]]) -> None:
    rows = normalised_locations(spark, [raw for raw, _ in cases])

    check_each(rows, [expected for _, expected in cases])
    for row in rows:
        assert row["zipcode"] is None or re.fullmatch(r"[0-9]{5}", row["zipcode"])
        assert row["ward"] is None or re.fullmatch(r"[0-9]{2}", row["ward"])
        assert row["precinct"] is None or re.fullmatch(r"[0-9]{4}", row["precinct"])
        # a house number or an intersection's INTERSECTION before a street changes nothing of the street
        assert row["street_name"] == row["street_alone"]
        # coordinates are kept only when usable, and then inside Boston and not City Hall's placeholder
        assert row["location_quality"] in QUALITIES
        usable = row["location_quality"] == "ok"
        assert (row["latitude"] is not None, row["longitude"] is not None) == (usable, usable)
        if usable:
            assert 42.20 <= row["latitude"] <= 42.42 and -71.20 <= row["longitude"] <= -70.90
            assert (row["latitude"], row["longitude"]) != S.CITY_HALL


# ---------------------------------------------------------------- rules 3 and 5: status, on_time, channel
def in_any_case(values: list[str]) -> st.SearchStrategy[str]:
    """Mapping values as the files write them, or in another case (the mappings are matched in any case)."""
    return st.sampled_from(sorted(values)).flatmap(
        lambda v: st.sampled_from([v, v.upper(), v.title(), v.capitalize()])
    )


def unknown_to(mapping: dict) -> st.SearchStrategy[str]:
    """Text no mapping value matches."""
    return st.one_of(
        st.sampled_from(["Pending", "Reopened", "Carrier Pigeon", "Fax"]), st.text(max_size=12)
    ).filter(lambda t: t.strip(" ").lower() not in mapping and t.strip(" "))


@st.composite
def harmonised_rows(draw: st.DrawFn) -> tuple[tuple, dict]:
    """status_raw, on_time_raw, source_raw and closed_at, and what rules 3 and 5 make of them."""
    statuses, channels = MAPPINGS["status"], MAPPINGS["channel"]
    closed_at = draw(st.one_of(st.none(), st.datetimes(datetime(2011, 1, 1), datetime(2026, 12, 31))))
    status = draw(st.one_of(in_any_case(list(statuses)), unknown_to(statuses), BLANKS))
    on_time = draw(
        st.one_of(
            in_any_case(["ONTIME", "OVERDUE"]), st.sampled_from(["LATE", "ON TIME", "N/A"]), BLANKS, st.text()
        )
    )
    source = draw(st.one_of(in_any_case(list(channels)), unknown_to(channels), BLANKS))
    spaces = draw(paddings)
    known_status = statuses.get(status.strip(" ").lower())
    written = on_time.strip(" ").upper()
    expected = {
        # docs rule 3: is_closed from statuses.csv; an unknown (or blank) status falls back to "has a closed_at"
        "is_closed": known_status if known_status is not None else closed_at is not None,
        "status_detail": status.strip(" ") or None,
        # ONTIME -> true, OVERDUE -> false, else null
        "on_time": {"ONTIME": True, "OVERDUE": False}.get(written),
        # docs rule 5: the channel's category; unknown -> the raw value; source_raw kept beside
        "source": channels.get(source.strip(" ").lower(), source.strip(" ") or None),
        "source_raw": source.strip(" ") or None,
    }
    return (padded(status, spaces), padded(on_time, spaces), padded(source, spaces), closed_at), expected


@spark_examples
@given(inputs(harmonised_rows()))
def test_status_on_time_and_channel_follow_the_mapping_files(spark, cases: list[tuple[tuple, dict]]) -> None:
    columns = "i int, status_raw string, on_time_raw string, source_raw string, closed_at timestamp"
    df = spark.createDataFrame([(i, *raw) for i, (raw, _) in enumerate(cases)], columns)
    others = ["department_raw", "subject", "neighborhood_raw"]
    harmonised = (
        df.withColumns({name: F.lit(None).cast("string") for name in others})
        .withColumn("source_era", F.lit("legacy29"))
        .transform(S.clean_blanks)
        .transform(S.harmonise(MAPPINGS))
        .select("i", "is_closed", "status_detail", "on_time", "source", "source_raw")
    )

    check_each([row.asDict() for row in harmonised.collect()], [expected for _, expected in cases])


# ---------------------------------------------------------------- rule 2: each era's stamps, read back
# The switches of Boston's clocks the generated instants crowd around (every year since 2007 the same rule).
SWITCHES = [
    moment
    for year in range(2011, 2027)
    for moment in (
        datetime(year, 3, 8, 7, tzinfo=UTC) + timedelta(days=(6 - datetime(year, 3, 8).weekday()) % 7),
        datetime(year, 11, 1, 6, tzinfo=UTC) + timedelta(days=(6 - datetime(year, 11, 1).weekday()) % 7),
    )
]


def instants(first: datetime, last: datetime) -> st.SearchStrategy[datetime]:
    """UTC instants between two dates, half of them on the night of a DST switch (from 5 hours before it to 7 after:
    the wall hour 06:00-06:59 of the fall-back Sunday is 5-6 hours after its switch)."""
    near_switch = st.tuples(
        st.sampled_from([s for s in SWITCHES if first <= s.replace(tzinfo=None) <= last]),
        st.integers(-5, 6),  # the hour, drawn on its own: each as likely as the others
        st.integers(0, 3600 * 10**6 - 1),
    ).map(lambda t: t[0] + timedelta(hours=t[1], microseconds=t[2]))
    anywhere = st.datetimes(first, last).map(lambda d: d.replace(tzinfo=UTC))
    return st.one_of(anywhere, near_switch)


def boston_wall(instant: datetime) -> datetime:
    """Boston's wall clock at an instant (aware: ``fold`` 1 in the second pass of the repeated hour)."""
    return instant.astimezone(BOSTON)


def shifted_back(wall: datetime) -> datetime:
    """The re-issue's value of a wall clock: the wall clock read as UTC, converted to Boston (docs rule 2)."""
    return wall.replace(tzinfo=UTC).astimezone(BOSTON).replace(tzinfo=None)


def an_hour_early(instant: datetime, reading: str) -> bool:
    """Where docs/silver.md says a stamp cannot tell the true instant and reads one hour early: a wall clock in the
    second pass of the repeated hour (rule 7: read as the first), and for shifted_back also the wall hour 06:00-06:59
    of the fall-back Sunday, whose values the hour before wrote (rule 2)."""
    if reading == "utc":
        return False
    wall = boston_wall(instant)
    in_second_pass = wall.fold == 1 and wall.replace(fold=0).utcoffset() != wall.utcoffset()
    fall_back_day = wall.month == 11 and wall.weekday() == 6 and wall.day <= 7
    return in_second_pass or (reading == "shifted_back" and fall_back_day and wall.hour == 6)


# The reading Silver decides for each era's files (docs rule 2: what the real samples say), and a file of true UTC.
ERA_READING = {"legacy29": "wall_clock", "legacy30": "shifted_back", "new_system": "wall_clock", "utc": "utc"}


@st.composite
def era_instants(draw: st.DrawFn, era: str) -> tuple[datetime, int, str]:
    """(instant, fractional digits, offset label) of a stamp as an era writes it."""
    if era in ("legacy29", "legacy30"):  # whole seconds, no offset
        return draw(instants(datetime(2011, 1, 1), datetime(2026, 12, 31))).replace(microsecond=0), 0, ""
    # NEW SYSTEM: 0-6 fractional digits and a zero offset, +00, whatever the clock it means
    instant, places = draw(instants(datetime(2025, 8, 1), datetime(2027, 12, 31))), draw(st.integers(0, 6))
    instant = instant.replace(microsecond=instant.microsecond // 10 ** (6 - places) * 10 ** (6 - places))
    return instant, places, draw(st.sampled_from(["+00", "Z", " UTC"])) if era == "utc" else "+00"


def written_value(instant: datetime, reading: str) -> datetime:
    """The clock value (naive) a file of that reading writes for a true instant."""
    return {
        "wall_clock": lambda: boston_wall(instant).replace(tzinfo=None),
        "shifted_back": lambda: shifted_back(boston_wall(instant).replace(tzinfo=None)),
        "utc": lambda: instant.replace(tzinfo=None),
    }[reading]()


def written_as_a_close_in_the_second_pass(opened: datetime, closed: datetime, reading: str) -> bool:
    """A close less than an hour before its opening, both written in the repeated hour (01:00-01:59 on the first
    Sunday of November) by a wall-clock reading: the stamps of a case opened in the hour's first pass and closed in its
    second, which rule 8 keeps and rule 7 reads so (docs/silver.md), whatever the truth behind them."""
    if reading == "utc" or not timedelta(hours=-1) < closed - opened < timedelta(0):
        return False
    values = [written_value(instant, reading) for instant in (opened, closed)]
    return all(v.month == 11 and v.weekday() == 6 and v.day <= 7 and v.hour == 1 for v in values)


def written(instant: datetime, era: str, places: int, label: str) -> str:
    """The text an era's export writes for a true instant."""
    value = written_value(instant, ERA_READING[era])
    fraction = f".{value.microsecond:06d}"[: places + 1] if places else ""
    return value.strftime("%Y-%m-%d %H:%M:%S") + fraction + label


@st.composite
def stamps(draw: st.DrawFn) -> tuple[tuple, dict]:
    """A true instant written as one era writes it, with the reading Silver would decide for its file."""
    era = draw(st.sampled_from(sorted(ERA_READING)))
    instant, places, label = draw(era_instants(era))
    reading = ERA_READING[era]
    expected = instant - timedelta(hours=1) if an_hour_early(instant, reading) else instant
    return (reading, written(instant, era, places, label)), {"instant": expected.replace(tzinfo=None)}


@spark_examples
@given(inputs(stamps()))
def test_each_eras_stamps_read_back_as_the_instant_they_were_written_from(
    spark, cases: list[tuple[tuple, dict]]
) -> None:
    df = spark.createDataFrame(
        [(i, *raw) for i, (raw, _) in enumerate(cases)], "i int, reading string, text string"
    )
    read = df.select("i", S.true_instant(S.parse_stamp(F.col("text")), F.col("reading")).alias("instant"))

    check_each(utc_rows(read), [expected for _, expected in cases])


@spark_examples
@given(
    inputs(
        st.tuples(
            stamps(),
            st.sampled_from(
                ["-05:00", "-04:00", "+01:00", "+0530", "-1000", "+10", " EST", " EDT", " America/New_York"]
            ),
        )
    )
)
def test_a_stamp_with_an_offset_other_than_zero_or_a_zone_is_unparsable(spark, cases: list[tuple]) -> None:
    # docs rule 2: any other offset or zone, -05:00, EST, wherever it stands, makes the stamp unparsable
    texts = [re.sub(r"(\+00| UTC|Z)$", "", text) + offset for ((_, text), _), offset in cases]
    df = spark.createDataFrame(list(enumerate(texts)), "i int, text string")

    assert df.filter(S.parse_stamp(F.col("text")).isNotNull()).count() == 0


# ---------------------------------------------------------------- the second pass on whole records
# text of any column: blanks, values the exports write, spaces and other whitespace around them, any text at all
TEXTS = [
    "",
    " ",
    "   ",
    "Closed",
    " Open ",
    "ONTIME",
    "Call",
    "Boston",
    "Ward 7",
    "02135",
    "42 Cross St",
    "x\t",
]
text_values = st.one_of(st.sampled_from(TEXTS), st.sampled_from(TEXTS), st.text(max_size=4))


@st.composite
def records(draw: st.DrawFn) -> dict:
    """A record of any era with every raw column generated: its stamps in the era's form (mostly a case closed after
    it opened, now and then one that cannot be read), mapped values, blanks and any text elsewhere."""
    record = {name: draw(text_values) for name in S.RAW_COLUMNS}
    era = draw(st.sampled_from(sorted(ERA_READING)))
    opened, places, label = draw(era_instants(era))
    # closed within days, or within the hour (the repeated hour's two passes); now and then before it opened
    closed = opened + timedelta(seconds=draw(st.integers(-2 * 3600, 60 * 86400) | st.integers(-3600, 7200)))
    stamp_texts = {
        "opened_raw": written(opened, era, places, label),
        "closed_raw": written(closed, era, places, label),
        "target_raw": written(opened + timedelta(days=3), era, places, label),
    }
    for name, text in stamp_texts.items():
        now_and_then = draw(st.integers(0, 9))  # 1 in 10 blank, 1 in 10 any text
        record[name] = " " if now_and_then == 8 else draw(st.text(max_size=3)) if now_and_then == 9 else text
    record["case_id"] = draw(
        st.sampled_from(["BCS-00065327", " "]) if draw(st.integers(0, 9)) == 9 else digits(12)
    )
    record["status_raw"] = draw(st.one_of(in_any_case(list(MAPPINGS["status"])), text_values))
    record["source_raw"] = draw(st.one_of(in_any_case(list(MAPPINGS["channel"])), text_values))
    record["zipcode_raw"] = draw(zip_cases)[0]
    record["latitude_raw"], record["longitude_raw"] = draw(latitudes)[0], draw(longitudes)[0]
    record["source_era"] = "new_system" if era == "utc" else era
    record["time_basis"] = ERA_READING[era]
    # the true instants, and whether the close was written as one
    record["truth"] = (opened, closed if record["closed_raw"] == stamp_texts["closed_raw"] else None)
    return record


def second_pass(spark, generated: list[dict]):
    """The second pass on generated records: rules 1-7 on those rule 8 keeps (dedupe aside)."""
    columns = ["i", *S.RAW_COLUMNS, "source_era", "time_basis"]
    schema = ", ".join(f"{name} {'int' if name == 'i' else 'string'}" for name in columns)
    df = spark.createDataFrame([(i, *[r[c] for c in columns[1:]]) for i, r in enumerate(generated)], schema)
    lineage = {
        "raw_record": F.lit(None).cast("string"),
        "open_quote": F.lit(False),
        "dataset": F.lit("legacy_2022"),
        "source_file": F.lit("dataset=legacy_2022/ingest_date=2026-11-27/x.csv"),
        "ingested_at": F.lit("2026-11-27 06:00:00").cast("timestamp"),
    }
    kept = (
        df.withColumns(lineage)
        .transform(S.clean_blanks)
        .transform(S.parse_stamps)
        .transform(S.flag_rejects)
        .filter(F.col("reject_reason").isNull())
    )
    return S.to_silver(kept, MAPPINGS).select("i", *S.OUTPUT_COLUMNS)


@spark_examples
@given(inputs(records(), least=30, most=60))
def test_the_second_pass_writes_no_blank_and_no_negative_duration(spark, generated: list[dict]) -> None:
    table = second_pass(spark, generated)
    strings = [f.name for f in table.schema.fields if f.dataType.simpleString() == "string"]

    rows = utc_rows(table)
    # some are rejected (no case id, a stamp that cannot be read, closed before opened), not all
    assert rows
    for row in rows:
        # rule 1 on every text column Silver writes: trimmed of spaces, "" and " " as null
        for name in strings:
            assert row[name] is None or (row[name] != "" and row[name] == row[name].strip(" ")), (name, row)
        # rule 3: is_closed is always known (the status, else whether there is a close time)
        assert row["is_closed"] is not None
        # rule 7: hours_to_close only for closed cases, never negative, the time between the two instants
        hours = row["hours_to_close"]
        if hours is not None:
            assert row["is_closed"] and hours >= 0
            elapsed = (row["closed_at"] - row["opened_at"]).total_seconds() / 3600
            assert math.isclose(hours, elapsed, rel_tol=1e-12, abs_tol=1e-9)
        elif row["is_closed"] and row["closed_at"] is not None:
            assert row["closed_at"] < row["opened_at"]
        # ... and the true time the case took, but where rules 2 and 7 say a stamp cannot tell its hour
        opened, closed = generated[row["i"]]["truth"]
        if row["is_closed"] and closed is not None:
            took = (closed - opened).total_seconds() / 3600
            if an_hour_early(opened, row["time_basis"]) or an_hour_early(closed, row["time_basis"]):
                assert hours is None or any(math.isclose(hours, took + k, abs_tol=1e-9) for k in (-1, 0, 1))
            elif written_as_a_close_in_the_second_pass(opened, closed, row["time_basis"]):
                # a close truly before its opening, written so, reads as the second pass's: an hour later
                assert hours is not None and math.isclose(hours, took + 1, abs_tol=1e-9), (took, row)
            elif took < 0:  # kept only as a close in the repeated hour's second pass (rule 8): no duration
                assert hours is None, row
            else:
                assert hours is not None and math.isclose(hours, took, abs_tol=1e-9), (took, row)
        # open_year / open_month: every kept record has an opening
        assert row["opened_at"] is not None and row["open_year"] is not None and row["open_month"] is not None
