"""Silver: three eras of Boston 311 CSV exports from Bronze -> one trustworthy ``service_requests`` table.

Runs unchanged on AWS Glue 5.0 (Spark 3.5) and locally with ``spark-submit``::

    spark-submit glue/silver_job.py --JOB_NAME silver --bronze_path <lake>/bronze/boston311 \
        --silver_path <lake>/silver/boston311 [--time_basis_override new_system=utc,legacy_2015=shifted_back] \
        [--mappings_path <dir with departments.csv, channels.csv, statuses.csv, reasons.csv, neighborhoods.csv>] \
        [--max_reject_share 0.05] [--max_field_chars 1000000]

Arguments (Glue style, ``--name value`` or ``--name=value``):

    --bronze_path          the Bronze prefix the ingest lands in (required)
    --silver_path          the Silver prefix: service_requests/, quarantine/, _quality/, _state/ (required)
    --JOB_NAME             the Glue job's name (Glue passes it; locally any name)
    --time_basis_override  dataset=reading or era=reading, comma-separated; reading is wall_clock,
                           shifted_back or utc; dataset@YYYY-MM=reading applies it to the records opened
                           from that month on; it applies to the Bronze objects this run reads
    --mappings_path        the folder of the mapping CSVs (default: glue/mappings/ beside the script,
                           or the files Glue ships with --extra-files)
    --max_reject_share     a share from 0 to 1 (0.05 is 5 %): the run stops before writing anything when a
                           Bronze file rejects more of its rows (small files aside); without it, it only warns
    --max_field_chars      the most characters a Bronze field may hold (default 1,000,000); a file with a
                           longer field stops the run before it writes anything

Self-contained on purpose (uploadable alone in the Glue console); the mapping CSVs ship beside it
(``--extra-files`` on Glue). Every rule is documented in docs/silver.md.
"""

from __future__ import annotations

import contextlib
import csv
import decimal
import difflib
import hashlib
import io
import itertools
import json
import logging
import os
import re
import shlex
import signal
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import unquote, urlparse

from py4j.java_gateway import JavaObject
from py4j.protocol import Py4JError, Py4JJavaError
from pyspark import StorageLevel
from pyspark.errors import PySparkException
from pyspark.sql import Column, DataFrame, Observation, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

try:  # Glue's libraries exist only on AWS (and as a stub package locally)
    from awsglue.context import GlueContext
    from awsglue.job import Job
    from awsglue.utils import GlueArgumentError, getResolvedOptions
except ImportError:  # pragma: no cover - depends on the environment
    GlueContext = Job = getResolvedOptions = None

    class GlueArgumentError(Exception):
        """Stands in for awsglue's: an argument missing or without a value."""


log = logging.getLogger(__name__)

BOSTON_TZ = "America/New_York"
CORRUPT = "_corrupt_record"
READINGS = ("wall_clock", "shifted_back", "utc")
MAPPING_FILES = ("departments.csv", "channels.csv", "statuses.csv", "reasons.csv", "neighborhoods.csv")
# The columns each mapping file must have, every line filled (departments.csv may leave department blank).
MAPPING_COLUMNS = {
    "departments.csv": ("kind", "value", "department"),
    "channels.csv": ("value", "source"),
    "statuses.csv": ("value", "is_closed"),
    "reasons.csv": ("value", "reason"),
    "neighborhoods.csv": ("value", "neighborhood"),
}
MAY_BE_BLANK = "department"  # a legacy intake code (INFO) names no department: its subject decides
# The channel (channels.csv's source) whose opening hours are time-basis evidence.
PHONE_CHANNEL = "Phone"
CITY_HALL = (42.3594, -71.0587)  # placeholder coordinates of older exports
BOSTON_BOX = {"lat": (42.20, 42.42), "lon": (-71.20, -70.90)}
SHUFFLE_BYTES = 64 * 2**20  # CSV bytes per shuffle partition
BUSINESS_HOURS = (8, 16)  # 08:00-16:59 Boston wall clock
NIGHT_HOURS = (0, 5)  # 00:00-05:59

# Each era: source column -> canonical column (one era per file, recognised from the file's own header).
ERA_COLUMNS: dict[str, dict[str, str]] = {
    "legacy29": {
        "case_enquiry_id": "case_id",
        "open_dt": "opened_raw",
        "target_dt": "target_raw",
        "closed_dt": "closed_raw",
        "ontime": "on_time_raw",
        "case_status": "status_raw",
        "closure_reason": "closure_reason",
        "case_title": "case_title",
        "subject": "subject",
        "reason": "reason",
        "type": "type",
        "queue": "queue",
        "department": "department_raw",
        "neighborhood": "neighborhood_raw",
        "ward": "ward_raw",
        "precinct": "precinct_raw",
        "location_street_name": "street_name",
        "location_zipcode": "zipcode_raw",
        "latitude": "latitude_raw",
        "longitude": "longitude_raw",
        "source": "source_raw",
    },
    "new_system": {
        "case_id": "case_id",
        "open_date": "opened_raw",
        "target_close_date": "target_raw",
        "close_date": "closed_raw",
        "on_time": "on_time_raw",
        "case_status": "status_raw",
        "closure_reason": "closure_reason",
        "closure_comments": "closure_comments",
        "service_name": "type",
        "case_topic": "reason",
        "assigned_department": "department_raw",
        "assigned_team": "queue",
        "neighborhood": "neighborhood_raw",
        "ward": "ward_raw",
        "precinct": "precinct_raw",
        "street_name": "street_name",
        "zip_code": "zipcode_raw",
        "latitude": "latitude_raw",
        "longitude": "longitude_raw",
        "report_source": "source_raw",
    },
}
ERA_COLUMNS["legacy30"] = {
    {"target_dt": "sla_target_dt", "ontime": "on_time"}.get(name, name): canonical
    for name, canonical in ERA_COLUMNS["legacy29"].items()
}
# NEW SYSTEM has no subject / case_title: the nearest legacy meanings (see docs/silver.md).
NEW_SYSTEM_ALIASES = {"subject": "department_raw", "case_title": "type"}
# Columns a header may carry that Silver does not use.
ERA_EXTRA_COLUMNS = {
    "legacy29": {
        "submittedphoto",
        "closedphoto",
        "location",
        "fire_district",
        "pwd_district",
        "city_council_district",
        "police_district",
        "neighborhood_services_district",
    },
    "legacy30": {
        "submitted_photo",
        "closed_photo",
        "location",
        "fire_district",
        "pwd_district",
        "city_council_district",
        "police_district",
        "neighborhood_services_district",
        "geom_4326",
    },
    "new_system": {
        "full_address",
        "street_number",
        "public_works_district",
        "city_council_district",
        "fire_district",
        "police_district",
        "submitted_photo",
        "closed_photo",
    },
}
ERA_OPTIONAL = {"legacy29": set(), "legacy30": set(), "new_system": {"submitted_photo", "closed_photo"}}
RAW_COLUMNS = [
    "case_id",
    "opened_raw",
    "target_raw",
    "closed_raw",
    "on_time_raw",
    "status_raw",
    "closure_reason",
    "closure_comments",
    "case_title",
    "subject",
    "reason",
    "type",
    "queue",
    "department_raw",
    "neighborhood_raw",
    "ward_raw",
    "precinct_raw",
    "street_name",
    "zipcode_raw",
    "latitude_raw",
    "longitude_raw",
    "source_raw",
]
LINEAGE_COLUMNS = ["source_file", "dataset", "source_era", "ingested_at", "row_position", "raw_record"]
# Raw values the department, channel, status, subject, reason and neighborhood mappings read (their unknown values
# are counted in the report; the reason mapping reads the NEW SYSTEM type).
MAPPED_COLUMNS = ["department_raw", "subject", "source_raw", "status_raw", "type", "neighborhood_raw"]

OUTPUT_COLUMNS = [
    "case_id",
    "source_system",
    "opened_at",
    "target_at",
    "closed_at",
    "is_closed",
    "status_detail",
    "on_time",
    "hours_to_close",
    "department",
    "subject",
    "reason",
    "type",
    "queue",
    "case_title",
    "source",
    "source_raw",
    "neighborhood",
    "neighborhood_raw",
    "zipcode",
    "ward",
    "precinct",
    "street_name",
    "latitude",
    "longitude",
    "location_quality",
    "department_raw",
    "closure_reason",
    "dataset",
    "source_era",
    "time_basis",
    "source_file",
    "ingested_at",
    "open_year",
    "open_month",
]
# The version of Silver's rules, the code's counterpart of the mapping files' digest: bump it when a change to the
# rules can make Silver write any value otherwise (a column of a row, a reject, a time-basis reading, which record of
# a case wins). Each Bronze object's record in the state keeps the version it was read with, and every later run
# names the objects read with another one (their rows keep what those rules gave until they are read again).
SILVER_RULES_VERSION = 5
# The rules: these definitions, with every function and constant of this file they use (their docstrings and
# comments aside). tests/test_silver_rules_version.py holds the version beside a digest of them, so a rule changed
# without a decision on the version fails there.
SILVER_RULES = (
    "read_bronze_file",  # the CSV reader's options, each era's columns, the lineage columns
    "ingest_time_of_object",  # ingested_at of an object no manifest names (the dedupe's first key)
    "screen",  # rejects and time-basis evidence (first pass)
    "PHONE_CHANNEL",  # which openings are phone evidence
    "mark_duplicates",
    "mark_repeated_rejects",
    "file_reading",  # the reading a file's rows are written with
    "decide_time_basis",
    "overrides_applied",  # which overrides a file takes
    "dated_overrides",
    "deciding_evidence",  # the evidence a file with dated overrides is decided on
    "clean_blanks",  # the second pass, from here to OUTPUT_COLUMNS
    "parse_stamps",
    "apply_dated_readings",
    "to_silver",
    "OUTPUT_COLUMNS",
    "QUARANTINE_COLUMNS",
)
# The quality report's ``format_version`` (docs/CONTRACTS.md): raised by a breaking change to the report's shape (a
# field removed, renamed or retyped, a new value of an enum), not by a field added; unlike SILVER_RULES_VERSION it says
# nothing of the rows. Reports written before it existed have none.
REPORT_FORMAT_VERSION = 1
# Silver's layout under --silver_path (scripts/lake.py declares the same for the other stages; a test holds them equal).
TABLE_FOLDER = "service_requests"
QUARANTINE_FOLDER = "quarantine"
QUALITY_FOLDER = "_quality"
STATE_FOLDER = "_state"  # the files a run reads first: which Bronze objects are read, the manifests
STATE_FILE = f"{STATE_FOLDER}/processed.json"
# the Bronze manifests read so far and the ingest times they gave: a cache of Bronze's facts
MANIFEST_INDEX_FILE = f"{STATE_FOLDER}/bronze_manifests.json"
STAGING_FOLDER = "_staging"
WRITING_FILE = ".writing.tmp"  # the hidden file a state, report or record is written to before it is renamed
PREVIOUS_ENDING = ".previous.tmp"  # a file moved aside while it is replaced is named "." + its name + this
BRONZE_MANIFESTS_FOLDER = "_manifests"  # under --bronze_path: the ingest runs' manifests
# The newest format of Bronze's manifests this job reads (Bronze's MANIFEST_FORMAT_VERSION, which a test holds equal):
# a newer one has lost, renamed or retyped a field (docs/CONTRACTS.md), so the run stops rather than guess.
BRONZE_MANIFEST_FORMAT_VERSION = 1
PARTITION_COLUMNS = ["open_year", "open_month"]
NULL_RATE_COLUMNS = [c for c in OUTPUT_COLUMNS if c not in PARTITION_COLUMNS]
QUARANTINE_COLUMNS = [
    "reject_reason",
    "source_file",
    "raw_record",
    "dataset",
    "source_era",
    "ingested_at",
    "case_id",
    "row_position",
]
# Dedupe keys, each compared newest (largest) first: the most recent ingest, then the later file (path from
# dataset= on), then the later row.
DEDUPE_ORDER = ("ingested_at", "source_file", "row_position")


class SilverError(Exception):
    """A problem the user can fix (bad path, unknown header, broken conservation); one clear sentence."""


class PublishError(SilverError):
    """Publishing failed half-way: the staging folder must be kept (it holds the only copy of some rows)."""


# ----------------------------------------------------------------------------------------------------------
# Column helpers (Column -> Column)
# ----------------------------------------------------------------------------------------------------------
def blank_to_null(value: Column) -> Column:
    """Text without surrounding spaces, with "" and " " (the exports' blanks) as null.

    Spaces only: the reader already trims unquoted fields of every whitespace (CR of CRLF files included), and
    ``trim`` is several times cheaper than ``btrim`` with a character set on every column of every row.
    """
    trimmed = F.trim(value)
    return F.when(trimmed != "", trimmed)


ZERO_OFFSET_LABELS = ("Z", "UTC", "+00", "+0000", "+00:00", "-00", "-0000", "-00:00")


def parse_stamp(value: Column) -> Column:
    """A naive timestamp from the exports' text; a zero-offset label (``+00``, ``Z``) is set aside (it is judged
    per file later), any other offset or zone (``-05:00``, ``EST``) makes the stamp unparsable.

    Relies on the session time zone being UTC (``configure``): a zero offset then reads as the same naive stamp.
    Plain string tests instead of a regular expression: this runs on three columns of every record. A plain stamp
    is digits, spaces, ``:``, ``.``, ``T`` and the date's two dashes, wherever they stand (``2022-1-9 1:42`` too).
    """
    is_plain = F.translate(value, "0123456789 :.T", "") == "--"
    zero_offset = F.lit(False)
    for label in ZERO_OFFSET_LABELS:
        zero_offset = zero_offset | value.endswith(label)
    return F.when(is_plain | zero_offset, F.try_to_timestamp(value))


WALL_CLOCK_OF = {
    "wall_clock": lambda stamp: stamp,
    "shifted_back": lambda stamp: F.to_utc_timestamp(stamp, BOSTON_TZ),  # wall = value + |UTC offset|
    "utc": lambda stamp: F.from_utc_timestamp(stamp, BOSTON_TZ),
}


def wall_clock(stamp: Column, reading: Column) -> Column:
    """Boston wall clock of a stamp under a per-row reading (wall_clock / shifted_back / utc)."""
    return (
        F.when(reading == "shifted_back", WALL_CLOCK_OF["shifted_back"](stamp))
        .when(reading == "utc", WALL_CLOCK_OF["utc"](stamp))
        .otherwise(stamp)
    )


def true_instant(stamp: Column, reading: Column) -> Column:
    """The UTC instant of a stamp under a reading."""
    return F.when(reading == "utc", stamp).otherwise(
        F.to_utc_timestamp(wall_clock(stamp, reading), BOSTON_TZ)
    )


def stamp_month(stamp: Column) -> Column:
    """The month a stamp names as written, as yyyymm (no reading moves a stamp by more than five hours): the month a
    record's evidence is tallied in, and the one a dated override compares with its own."""
    return F.year(stamp) * 100 + F.month(stamp)


def hours(count: int) -> Column:
    """A span of whole hours, to add to a timestamp (exact: the session time zone is UTC)."""
    return F.expr(f"INTERVAL {count} HOURS")


def in_repeated_hour(stamp: Column) -> Column:
    """Whether a stamp lies in the hour Boston's clocks go through twice (01:00-01:59 on the first Sunday of
    November): an hour on from it is two hours on in UTC. The same hour of the written stamps for the wall_clock
    and shifted_back readings (a double conversion repeats it too)."""
    return F.to_utc_timestamp(stamp + hours(1), BOSTON_TZ) == F.to_utc_timestamp(stamp, BOSTON_TZ) + hours(2)


def closed_in_the_hour_twice(opened_stamp: Column, closed_stamp: Column) -> Column:
    """A close written earlier than the opening, both in the same repeated hour: opened in its first pass (EDT)
    and closed in its second (EST), the only way a true record writes its close before its opening."""
    return (
        (closed_stamp < opened_stamp)
        & (closed_stamp > opened_stamp - hours(1))
        & in_repeated_hour(opened_stamp)
        & in_repeated_hour(closed_stamp)
    )


def closed_text_stamp(closure_reason: Column) -> Column:
    """Boston wall clock written in ``closure_reason`` ("Closed date : Wed Jan 19 11:42:16 EST 2022" or ISO)."""
    named = F.regexp_extract(
        closure_reason, r"Closed date : \w{3} (\w{3} +\d{1,2} \d\d:\d\d:\d\d) E[SD]T (\d{4})", 1
    )
    year = F.regexp_extract(
        closure_reason, r"Closed date : \w{3} \w{3} +\d{1,2} \d\d:\d\d:\d\d E[SD]T (\d{4})", 1
    )
    iso = F.regexp_extract(closure_reason, r"Closed date : (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", 1)
    from_named = F.try_to_timestamp(
        F.concat_ws(" ", F.regexp_replace(named, " +", " "), year), F.lit("MMM d HH:mm:ss yyyy")
    )
    from_iso = F.try_to_timestamp(iso, F.lit("yyyy-MM-dd HH:mm:ss"))
    has_text = closure_reason.contains("Closed date : ")  # cheap test first: most rows have no such text
    return F.when(has_text & (named != ""), from_named).when(has_text & (iso != ""), from_iso)


def lookup(value: Column, mapping: dict[str, str | bool]) -> Column:
    """The mapped value of a text column (case-insensitive), null when unmapped (every value of an empty mapping)."""
    pairs = [item for key, mapped in mapping.items() for item in (F.lit(key), F.lit(mapped))]
    return F.try_element_at(F.create_map(*pairs), F.lower(value))


def normalise_zipcode(value: Column) -> Column:
    """Five-digit zip: ``2135.0`` -> ``02135`` (a number that lost its leading zero), ``02135-1234`` -> ``02135``;
    anything else (``213``, ``n/a``) -> null."""
    digits = F.regexp_extract(value, r"^(\d{4,5})(?:\.0*)?(?:-\d{4})?$", 1)
    return F.when(digits != "", F.lpad(digits, 5, "0"))


def normalise_ward(value: Column) -> Column:
    """Two-digit ward: ``Ward 18`` -> ``18``, ``3`` -> ``03``."""
    digits = F.regexp_extract(value, r"(?i)^(?:ward\s*)?(\d{1,2})$", 1)
    return F.when(digits != "", F.lpad(digits, 2, "0"))


def normalise_street_name(value: Column) -> Column:
    """The street alone, as NEW SYSTEM writes it: legacy ``42 Cross St`` -> ``Cross St``, ``227-227A Main St`` ->
    ``Main St``, ``INTERSECTION Groveland St & River St`` -> ``Groveland St & River St``."""
    street = F.regexp_replace(
        value, r"(?i)^(?:INTERSECTION\s+(?:OF\s+)?|\d+[A-Z]?(?:\s*-\s*\d+[A-Z]?)?\s+)", ""
    )
    return F.when(street != "", street)


def normalise_precinct(value: Column, ward: Column) -> Column:
    """Four-digit ward+precinct: legacy ``306`` -> ``0306``; NEW SYSTEM precinct ``01`` in ward ``14`` -> ``1401``."""
    digits = F.regexp_extract(value, r"^(\d{1,4})$", 1)
    is_combined = F.length(digits) >= 3
    is_within_ward = (F.length(digits).between(1, 2)) & ward.isNotNull()
    return F.when(is_combined, F.lpad(digits, 4, "0")).when(
        is_within_ward, F.concat(ward, F.lpad(digits, 2, "0"))
    )


# A coordinate as a number is written: digits with a decimal point and an exponent or not. Spark's cast reads more
# (nan, Infinity, Java's 42.36d and 0x1p5), which are no number a coordinate is written as.
DECIMAL_NUMBER = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"


def coordinate(value: Column) -> Column:
    """A coordinate written as a decimal number, as a double; anything else null (unparsable, rule 6)."""
    return F.when(value.rlike(DECIMAL_NUMBER), value.cast("double"))


def location_quality(
    latitude: Column, longitude: Column, latitude_raw: Column, longitude_raw: Column
) -> Column:
    """Why a coordinate is (not) usable: ok, missing (either of the two not given), unparsable, city_hall_placeholder,
    outside_boston."""
    is_placeholder = (latitude == CITY_HALL[0]) & (longitude == CITY_HALL[1])
    in_box = latitude.between(*BOSTON_BOX["lat"]) & longitude.between(*BOSTON_BOX["lon"])
    # one test for both: a latitude without its longitude was unparsable, a longitude without its latitude missing
    is_missing = latitude_raw.isNull() | longitude_raw.isNull()
    return (
        F.when(is_missing, "missing")
        .when(latitude.isNull() | longitude.isNull(), "unparsable")
        .when(is_placeholder, "city_hall_placeholder")
        .when(~in_box, "outside_boston")
        .otherwise("ok")
    )


# ----------------------------------------------------------------------------------------------------------
# Transforms (DataFrame -> DataFrame)
# ----------------------------------------------------------------------------------------------------------
def clean_blanks(df: DataFrame) -> DataFrame:
    """Every raw text column trimmed, blanks as null."""
    return df.select(
        *[blank_to_null(F.col(c)).alias(c) if c in RAW_COLUMNS else F.col(c) for c in df.columns]
    )


def parse_stamps(df: DataFrame) -> DataFrame:
    """Naive open/target/closed stamps (their time basis is decided per file afterwards)."""
    return df.withColumns(
        {f"{name}_stamp": parse_stamp(F.col(f"{name}_raw")) for name in ("opened", "target", "closed")}
    )


def month_name(number: int) -> str:
    """202603 -> '2026-03', as the report and the overrides write months."""
    return f"{number // 100:04d}-{number % 100:02d}"


def month_number(month: str) -> int:
    """'2026-03' -> 202603, as ``stamp_month`` gives months."""
    return int(month[:4]) * 100 + int(month[5:7])


def apply_dated_readings(reading_from: dict[str, dict[str, str]]):
    """Transform: the records of a file with dated overrides (source_file -> {month YYYY-MM: reading}) opened in or
    after an override's month (``stamp_month`` of ``opened_stamp``) take its reading as their ``time_basis``, the
    latest such month's; the others keep their file's. A record without an opening stamp keeps its file's."""

    def transform(df: DataFrame) -> DataFrame:
        if not any(reading_from.values()):
            return df
        opened_month, reading = stamp_month(F.col("opened_stamp")), F.col("time_basis")
        for source_file, dated in sorted(reading_from.items()):
            # a later month wraps the earlier: it is asked first
            for month, dated_reading in sorted(dated.items()):
                from_then = (F.col("source_file") == source_file) & (opened_month >= month_number(month))
                reading = F.when(from_then, dated_reading).otherwise(reading)
        return df.withColumn("time_basis", reading)

    return transform


def apply_time_basis(df: DataFrame) -> DataFrame:
    """True UTC instants from each record's ``time_basis`` (its file's decided reading, or a dated override's:
    ``apply_dated_readings``)."""
    instants = {
        f"{name}_at": true_instant(F.col(f"{name}_stamp"), F.col("time_basis"))
        for name in ("opened", "target", "closed")
    }
    # A close written before its opening is kept only in the hour Boston lives twice (flag_rejects): Spark reads an
    # ambiguous wall time in its first pass (EDT), so the close is read as the hour's second pass (EST) instead.
    closed_stamp = F.col("closed_stamp")
    second_pass = true_instant(closed_stamp + hours(1), F.col("time_basis")) - hours(1)
    instants["closed_at"] = F.when(closed_stamp < F.col("opened_stamp"), second_pass).otherwise(
        instants["closed_at"]
    )
    return df.withColumns(instants)


def harmonise(mappings: dict[str, dict]):
    """Transform: one department, channel, status and neighborhood vocabulary across eras; raw values kept beside."""

    def transform(df: DataFrame) -> DataFrame:
        department = F.coalesce(
            lookup(F.col("department_raw"), mappings["department_code"]),
            lookup(F.col("subject"), mappings["department_name"]),
            lookup(F.col("department_raw"), mappings["department_name"]),
        )
        source = lookup(F.col("source_raw"), mappings["channel"])
        is_closed_by_status = lookup(F.col("status_raw"), mappings["status"])
        # NEW SYSTEM names finer neighborhoods ("Allston", "Brighton") than the legacy groups ("Allston / Brighton"),
        # and legacy itself wrote both: neighborhoods.csv gives each name its legacy group
        neighborhood = lookup(F.col("neighborhood_raw"), mappings["neighborhood"])
        on_time_text = F.upper(F.col("on_time_raw"))
        return df.withColumns(
            {
                "department_known": department.isNotNull() | F.col("department_raw").isNull(),
                "department": F.coalesce(department, F.col("department_raw")),  # unmapped: passed through
                "source_known": source.isNotNull() | F.col("source_raw").isNull(),
                "source": F.coalesce(source, F.col("source_raw")),
                "neighborhood_known": neighborhood.isNotNull() | F.col("neighborhood_raw").isNull(),
                "neighborhood": F.coalesce(neighborhood, F.col("neighborhood_raw")),
                "status_known": is_closed_by_status.isNotNull() | F.col("status_raw").isNull(),
                "is_closed": F.coalesce(is_closed_by_status.cast("boolean"), F.col("closed_at").isNotNull()),
                "status_detail": F.col("status_raw"),
                "on_time": F.when(on_time_text == "ONTIME", True).when(on_time_text == "OVERDUE", False),
                "source_system": F.when(F.col("source_era") == "new_system", "new").otherwise("legacy"),
            }
        )

    return transform


def new_system_in_legacy_wording(mappings: dict[str, dict]):
    """Transform: NEW SYSTEM subjects and reasons in the legacy wording, so one department is one subject and one
    group of types one reason across eras."""

    def transform(df: DataFrame) -> DataFrame:
        # NEW SYSTEM has no subject; its department name stands in ("Public Works Department (PWD)"), which
        # would split the subject dimension in 2025 from the legacy "Public Works Department".
        is_new_system = F.col("source_era") == "new_system"
        legacy_wording = lookup(F.col("subject"), mappings["legacy_subject"])
        # Its case_topic (Silver's reason) repeats the type ("Street Light Outage"), where a legacy reason groups
        # types ("Street Lights"): reasons.csv gives each NEW SYSTEM type its legacy reason.
        legacy_reason = lookup(F.col("type"), mappings["reason"])
        return df.withColumns(
            {
                # a NEW SYSTEM name with no legacy_subject stays a subject of its own: counted as unknown
                "subject_known": ~is_new_system | legacy_wording.isNotNull() | F.col("subject").isNull(),
                "subject": F.when(is_new_system, F.coalesce(legacy_wording, F.col("subject"))).otherwise(
                    F.col("subject")
                ),
                # a NEW SYSTEM type missing from reasons.csv keeps its case_topic: counted as unknown
                "reason_known": ~is_new_system | legacy_reason.isNotNull() | F.col("type").isNull(),
                "reason": F.when(is_new_system, F.coalesce(legacy_reason, F.col("reason"))).otherwise(
                    F.col("reason")
                ),
            }
        )

    return transform


def normalise_location(df: DataFrame) -> DataFrame:
    """Zip, ward, precinct, street and coordinates in one form; coordinates nulled with a reason when unusable."""
    latitude = coordinate(F.col("latitude_raw"))
    longitude = coordinate(F.col("longitude_raw"))
    return df.withColumns(
        {
            "zipcode": normalise_zipcode(F.col("zipcode_raw")),
            "ward": normalise_ward(F.col("ward_raw")),
            "street_name": normalise_street_name(F.col("street_name")),
            "location_quality": location_quality(
                latitude, longitude, F.col("latitude_raw"), F.col("longitude_raw")
            ),
        }
    ).withColumns(  # from the normalised ward and the quality
        {
            "precinct": normalise_precinct(F.col("precinct_raw"), F.col("ward")),
            "latitude": F.when(F.col("location_quality") == "ok", latitude),
            "longitude": F.when(F.col("location_quality") == "ok", longitude),
        }
    )


def add_durations(df: DataFrame) -> DataFrame:
    """hours_to_close for closed cases, and the Boston-time open year/month used as partitions."""
    seconds = F.col("closed_at").cast("double") - F.col("opened_at").cast("double")
    opened_boston = F.from_utc_timestamp(F.col("opened_at"), BOSTON_TZ)
    return df.withColumns(
        {
            "hours_to_close": F.when(F.col("is_closed") & (seconds >= 0), seconds / 3600.0),
            "open_year": F.year(opened_boston),
            "open_month": F.month(opened_boston),
        }
    )


def flag_rejects(df: DataFrame) -> DataFrame:
    """reject_reason for records that cannot be trusted (null for good records); the first reason wins.

    Needs only the raw record, case id, raw text and stamps: it does not depend on the time basis.
    """
    unparsable = lambda name: F.col(f"{name}_raw").isNotNull() & F.col(f"{name}_stamp").isNull()  # noqa: E731
    reason = (
        F.when(F.col("raw_record").isNotNull(), "malformed_record")
        .when(F.col("open_quote"), "unclosed_quote")
        .when(F.col("case_id").isNull(), "missing_case_id")
        .when(F.col("opened_raw").isNull() | F.col("opened_stamp").isNull(), "unparsable_opened_at")
        .when(unparsable("closed"), "unparsable_closed_at")
        .when(unparsable("target"), "unparsable_target_at")
        # on the stamps as written: the same for every reading (one reading per record), so the first pass can
        # decide rejects and duplicates before the time basis is known; a close written in the second pass of the
        # hour Boston lives twice can precede an opening in its first pass, and is read so (apply_time_basis)
        .when(
            (F.col("closed_stamp") < F.col("opened_stamp"))
            & ~closed_in_the_hour_twice(F.col("opened_stamp"), F.col("closed_stamp")),
            "closed_before_opened",
        )
    )
    return df.withColumn("reject_reason", reason)


def mark_duplicates(existing_keys: DataFrame | None = None):
    """Transform: outcome per record: kept / duplicate / quarantined (newest ingest wins, then later file, row)."""

    def transform(df: DataFrame) -> DataFrame:
        is_good = F.col("reject_reason").isNull()
        newest_first = Window.partitionBy("case_id", "reject_reason").orderBy(
            *[F.col(name).desc_nulls_last() for name in DEDUPE_ORDER]
        )
        ranked = df.withColumn("case_rank", F.when(is_good, F.row_number().over(newest_first)))
        if existing_keys is not None:
            # one row per case: a table holding a case twice (a publish that stopped while the case moved months)
            # must not double the case's new records; the newest existing row is the one to beat
            newest = F.max(F.struct("ingested_at", "source_file"))  # orders by ingested_at, then source_file
            existing = (
                existing_keys.groupBy("case_id")
                .agg(newest.alias("newest"))
                .select(
                    "case_id",
                    F.col("newest.ingested_at").alias("existing_ingested_at"),
                    F.col("newest.source_file").alias("existing_source_file"),
                )
            )
            ranked = ranked.join(existing, on="case_id", how="left")
            existing_is_newer = (F.col("existing_ingested_at") > F.col("ingested_at")) | (
                (F.col("existing_ingested_at") == F.col("ingested_at"))
                & (F.col("existing_source_file") > F.col("source_file"))
            )
            loses_to_existing = F.coalesce(existing_is_newer, F.lit(False))
        else:
            loses_to_existing = F.lit(False)
        outcome = (
            F.when(~is_good, "quarantined")
            .when((F.col("case_rank") == 1) & ~loses_to_existing, "kept")
            .otherwise("duplicate")
        )
        return ranked.withColumn("outcome", outcome)

    return transform


def mark_repeated_rejects(quarantined_before: DataFrame | None = None):
    """Transform: a rejected record is quarantined once. The same record (its dataset and raw record) already in the
    quarantine, or in an earlier file of the run (earlier ingest, then smaller path), is a duplicate instead.

    The NEW SYSTEM and current-year files are landed anew every day, each with the bad records of the day before:
    without this the quarantine took every one of them again each day, one more copy a day for as long as the City
    leaves the record as it is.
    """

    def transform(df: DataFrame) -> DataFrame:
        is_reject = F.col("outcome") == "quarantined"
        keyed = df.withColumn("record_key", F.when(is_reject, F.sha2(F.col("raw_record"), 256)))
        # the rejects of one raw record share case id and reason: mark_duplicates' partitions, no second shuffle
        same_record = Window.partitionBy("case_id", "reject_reason", "dataset", "record_key")
        file_order = F.struct("ingested_at", "source_file")
        repeated = file_order > F.min(file_order).over(same_record)
        if quarantined_before is not None:
            known = (
                quarantined_before.select("dataset", F.sha2(F.col("raw_record"), 256).alias("record_key"))
                .distinct()
                .withColumn("quarantined_before", F.lit(True))
            )
            keyed = keyed.join(F.broadcast(known), on=["dataset", "record_key"], how="left")
            repeated = repeated | F.coalesce(F.col("quarantined_before"), F.lit(False))
        outcome = F.when(is_reject & repeated, "duplicate").otherwise(F.col("outcome"))
        return keyed.withColumn("outcome", outcome).select(*df.columns)

    return transform


def to_silver(df: DataFrame, mappings: dict[str, dict]) -> DataFrame:
    """Silver's rules on parsed Bronze records carrying their file's ``time_basis`` (rejects and duplicates are
    decided by the first pass: ``screen`` and ``mark_duplicates``)."""
    return (
        df.transform(apply_time_basis)
        .transform(harmonise(mappings))
        .transform(new_system_in_legacy_wording(mappings))
        .transform(normalise_location)
        .transform(add_durations)
    )


# ----------------------------------------------------------------------------------------------------------
# First pass: what can be decided before the time basis (rejects, duplicates, the evidence for the basis)
# ----------------------------------------------------------------------------------------------------------
SCREENED_COLUMNS = ["case_id", "opened_raw", "target_raw", "closed_raw", "closure_reason", *MAPPED_COLUMNS]


# The evidence, declared once: counts per file, and per reading the measures that are shares of those counts.
EVIDENCE_COUNTS = ("phone_openings", "closed_texts", "targets")
EVIDENCE_MEASURES = {  # measure -> (its score's name in the report, the count it is a share of)
    "closed_text": ("closed_text_match", "closed_texts"),
    "target_0830": ("target_at_0830", "targets"),
    "business": ("phone_business_hours", "phone_openings"),
    "night": ("phone_night", "phone_openings"),
}


def evidence_column(reading: str, measure: str) -> str:
    """Name of the per-record flag (and per-file sum) of one measure under one reading."""
    return f"{reading}__{measure}"


EVIDENCE_COLUMNS = [
    "evidence_sample",
    *EVIDENCE_COUNTS,
    *[evidence_column(reading, measure) for reading in READINGS for measure in EVIDENCE_MEASURES],
]


def time_basis_evidence(phone_values: list[str]) -> list[Column]:
    """Per record of the file's evidence sample, 0/1 flags that tell the readings apart; summed per file they are
    the evidence for the decision (records outside the sample count 0, and their times are not converted)."""
    in_sample = F.col("row_position") % F.col("evidence_every") == 0
    is_phone = F.lower(F.col("source_raw")).isin(phone_values)
    text_stamp = closed_text_stamp(F.col("closure_reason"))
    has_target = F.col("target_stamp").isNotNull()
    as_int = lambda condition: F.coalesce(in_sample & condition, F.lit(False)).cast("int")  # noqa: E731
    counted = {"phone_openings": is_phone, "closed_texts": text_stamp.isNotNull(), "targets": has_target}
    # the month of the record's opening, for the months of a file whose evidence reads otherwise than the whole
    # file's (``months_read_otherwise``)
    flags = [
        F.when(in_sample, stamp_month(F.col("opened_stamp"))).alias("evidence_month"),
        as_int(F.lit(True)).alias("evidence_sample"),
    ]
    flags += [as_int(counted[name]).alias(name) for name in EVIDENCE_COUNTS]
    for reading in READINGS:
        as_read = WALL_CLOCK_OF[reading]
        opened_hour = F.hour(as_read(F.col("opened_stamp")))
        closed_wall = F.date_trunc("second", as_read(F.col("closed_stamp")))
        target_wall = as_read(F.col("target_stamp"))
        measured = {
            "closed_text": text_stamp.isNotNull() & (closed_wall == text_stamp),
            "target_0830": has_target & (F.hour(target_wall) == 8) & (F.minute(target_wall) == 30),
            "business": is_phone & opened_hour.between(*BUSINESS_HOURS),
            "night": is_phone & opened_hour.between(*NIGHT_HOURS),
        }
        flags += [as_int(measured[m]).alias(evidence_column(reading, m)) for m in EVIDENCE_MEASURES]
    return flags


# Time-basis evidence comes from a systematic sample of every file: 1 record in N, N a power of two chosen so that
# 16-32 MB of each file (about 45,000-90,000 records) is examined; a file under 32 MB is examined whole.
EVIDENCE_SAMPLE_BYTES = 16 * 2**20


def evidence_every(size: int) -> int:
    """The sampling interval for a file of ``size`` bytes (a power of two, 1 for files under 32 MB)."""
    every = 1
    while size // (every * 2) >= EVIDENCE_SAMPLE_BYTES:
        every *= 2
    return every


def screen(phone_values: list[str]):
    """Transform (first pass): per record its lineage, case id, reject reason, mapped raw values and evidence
    flags, and for rejected records the quarantine payload; none of it depends on the time basis."""

    def transform(df: DataFrame) -> DataFrame:
        cleaned = df.select(
            *LINEAGE_COLUMNS,
            "evidence_every",
            "open_quote",
            *[blank_to_null(F.col(c)).alias(c) for c in SCREENED_COLUMNS],
            *[F.col(c).alias(f"as_read__{c}") for c in RAW_COLUMNS],
        )
        flagged = cleaned.transform(parse_stamps).transform(flag_rejects)
        # built only for rejected records (to_json on every record would cost as much as the rest of the pass)
        as_read = F.to_json(F.struct(*[F.col(f"as_read__{c}").alias(c) for c in RAW_COLUMNS]))
        payload = F.when(F.col("reject_reason").isNotNull(), F.coalesce(F.col("raw_record"), as_read))
        # the reason mapping reads NEW SYSTEM types only: a legacy type would widen the cache and the report's groups
        new_system_type = F.when(F.col("source_era") == "new_system", F.col("type"))
        return flagged.select(
            *[c for c in LINEAGE_COLUMNS if c != "raw_record"],
            "case_id",
            "reject_reason",
            payload.alias("raw_record"),
            *[new_system_type.alias(c) if c == "type" else c for c in MAPPED_COLUMNS],
            *time_basis_evidence(phone_values),
        )

    return transform


def file_counts(marked: DataFrame) -> DataFrame:
    """Per file, outcome, reject reason and evidence month: rows and summed evidence flags (one aggregation, one
    pass)."""
    return marked.groupBy(
        "source_file", "dataset", "source_era", "outcome", "reject_reason", "evidence_month"
    ).agg(F.count(F.lit(1)).alias("rows"), *[F.sum(c).alias(c) for c in EVIDENCE_COLUMNS])


# Each kind of value the report counts as unknown -> the raw column it counts
UNKNOWN_VALUE_KINDS = {
    "department": "department_raw",
    "source": "source_raw",
    "status": "status_raw",
    "subject": "subject",
    "reason": "type",
    "neighborhood": "neighborhood_raw",
}


def unknown_mapping_values(marked: DataFrame, mappings: dict[str, dict]) -> dict[str, dict[str, int]]:
    """Values of kept records that no mapping knew (passed through unchanged), with their row counts, in the order
    Spark found them (all of them: ``listed_unknown_values`` orders them and keeps what the report lists).

    The distinct raw combinations are counted first and the mapping rules (``harmonise``) applied to those few rows.
    """
    distinct = (
        marked.filter(F.col("outcome") == "kept")
        .groupBy("source_era", *MAPPED_COLUMNS)
        .agg(F.count(F.lit(1)).alias("rows"))
        .withColumn("closed_at", F.lit(None).cast("timestamp"))
        .withColumn("on_time_raw", F.lit(None).cast("string"))
        .withColumn("reason", F.lit(None).cast("string"))
        .transform(harmonise(mappings))
        .transform(new_system_in_legacy_wording(mappings))
    )
    found: dict[str, dict[str, int]] = {kind: {} for kind in UNKNOWN_VALUE_KINDS}
    for row in distinct.collect():
        for kind, raw in UNKNOWN_VALUE_KINDS.items():
            if not row[f"{kind}_known"]:
                found[kind][row[raw]] = found[kind].get(row[raw], 0) + row["rows"]
    return found


def most_first(counts: dict[str, int]) -> dict[str, int]:
    """Counts by name in the order the report and its sentences give them: most first, names of as many by name (not
    in the order Spark's aggregation happened to give them, which two runs over the same Bronze need not share)."""
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def listed_unknown_values(
    found: dict[str, dict[str, int]],
) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
    """The report's ``unknown_mapping_values`` (at most REPORT_VALUES per kind, most rows first, values of as many
    rows by value, so that the list does not depend on the order Spark found them in) and
    ``unknown_mapping_totals`` (how many values and rows there were in all, per kind)."""
    listed = {kind: dict(list(most_first(values).items())[:REPORT_VALUES]) for kind, values in found.items()}
    totals = {kind: {"values": len(values), "rows": sum(values.values())} for kind, values in found.items()}
    return listed, totals


def decide_time_basis(evidence: dict, era: str, override: str | None = None) -> dict:
    """The reading of one file: its undated override (``overrides_applied``), else closure text, else 08:30 SLA
    targets, else phone profile, else era default; the evidence's counts and scores beside it either way."""
    share = lambda part, whole: round(part / whole, 4) if whole else None  # noqa: E731
    scores = {
        reading: {
            score: share(evidence.get(evidence_column(reading, measure)) or 0, evidence.get(count))
            for measure, (score, count) in EVIDENCE_MEASURES.items()
        }
        for reading in READINGS
    }
    counts = {name: evidence.get(name) or 0 for name in EVIDENCE_COUNTS}

    def winner(metric: str, minimum_share: float, margin: float) -> str | None:
        ranked = sorted(READINGS, key=lambda r: scores[r][metric] or 0, reverse=True)
        best, second = (scores[r][metric] or 0 for r in ranked[:2])
        # the shares are rounded to 4 places: compare the lead on that grid (0.6 - 0.4 is 0.19999... in floats)
        return ranked[0] if best >= minimum_share and round(best - second, 4) >= margin else None

    for reading in READINGS:
        business, night = scores[reading]["phone_business_hours"], scores[reading]["phone_night"]
        scores[reading]["phone_profile"] = None if business is None else round(business - night, 4)

    if override:
        decision = {"reading": override, "basis": "override"}
    elif counts["closed_texts"] >= 3 and (pick := winner("closed_text_match", 0.5, 0.2)):
        decision = {"reading": pick, "basis": "closed_text"}
    elif counts["targets"] >= 20 and (pick := winner("target_at_0830", 0.2, 0.1)):
        decision = {"reading": pick, "basis": "sla_target_0830"}
    elif counts["phone_openings"] >= 20 and (pick := winner("phone_profile", 0.0, 0.05)):
        decision = {"reading": pick, "basis": "phone_profile"}
    else:
        default = {"legacy29": "wall_clock", "legacy30": "shifted_back", "new_system": "wall_clock"}[era]
        decision = {"reading": default, "basis": "era_default"}
    examined = evidence.get("evidence_sample") or 0  # the file's sample (every record of a file under 32 MB)
    return {**decision, "evidence": {"records_examined": examined, "counts": counts, "scores": scores}}


def overrides_applied(overrides: dict[str, str], dataset: str, era: str) -> dict:
    """What the overrides make of a file's reading: ``{"reading": …}`` for an undated override (one naming the
    dataset, else its era), ``{"reading_from": {month: reading}}`` for dated ones, ``{}`` for none. Kept per object
    in the state, to tell the objects read earlier with other overrides than a run's."""
    applied = {}
    if undated := overrides.get(dataset) or overrides.get(era):
        applied["reading"] = undated
    if dated := dated_overrides(overrides, dataset, era):
        applied["reading_from"] = dated
    return applied


def dated_overrides_name(overrides: dict[str, str], dataset: str, era: str) -> str:
    """The name a file's dated overrides are given under: its dataset (``new_system@2026-03``), unless only its era
    has some (``legacy30@2015-11``)."""
    return next(
        (name for name in (dataset, era) if any(key.startswith(f"{name}@") for key in overrides)), dataset
    )


def dated_overrides(overrides: dict[str, str], dataset: str, era: str) -> dict[str, str]:
    """A file's dated overrides, month (YYYY-MM) -> the reading from it on, in month order: those given under
    ``dated_overrides_name`` (never some of its dataset's and some of its era's)."""
    name = dated_overrides_name(overrides, dataset, era)
    return dict(
        sorted((key.partition("@")[2], r) for key, r in overrides.items() if key.startswith(f"{name}@"))
    )


def deciding_evidence(file_evidence: dict, months: dict[int, dict], dated: dict[str, str]) -> dict:
    """The evidence a file's reading is decided on: its whole sample's, or for a file with dated overrides that of
    its months before the first of them, so that the months after, which read otherwise, cannot sway the reading of
    the months before as they come to outnumber them."""
    if not dated:
        return file_evidence
    first = month_number(next(iter(dated)))
    before = [tally for month, tally in months.items() if month < first]
    return {column: sum(tally.get(column, 0) for tally in before) for column in EVIDENCE_COLUMNS}


def file_reading(file_evidence: dict, months: dict[int, dict], era: str, applied: dict) -> tuple[dict, dict]:
    """A file's time-basis decision, whose reading its rows are written with (its undated override, else what
    ``decide_time_basis`` makes of its evidence: with dated overrides, of its months before the first,
    ``deciding_evidence``), and beside it what that evidence alone decides, which its months are compared with.
    ``applied`` is the file's ``overrides_applied``."""
    evidence = deciding_evidence(file_evidence, months, applied.get("reading_from", {}))
    return decide_time_basis(evidence, era, applied.get("reading")), decide_time_basis(evidence, era)


def reading_of_month(month: str, reading: str, reading_from: dict[str, str] | None) -> str:
    """The reading a month of a file is read with: the latest dated override's from a month on or before it, else
    the file's reading."""
    started = [start for start in reading_from or {} if start <= month]
    return reading_from[max(started)] if started else reading


def months_decided(months: dict[int, dict], era: str) -> dict[str, dict]:
    """The months of a file (yyyymm -> their summed evidence) whose own evidence is conclusive, each decided as a
    file is (``decide_time_basis`` without overrides; the era default decides nothing):
    ``{"2026-03": {"reading": "utc", "basis": "phone_profile", "counts": {…}}}``, in month order."""
    decided = {}
    for number in sorted(months):
        decision = decide_time_basis(months[number], era)
        if decision["basis"] != "era_default":
            counts = decision["evidence"]["counts"]
            decided[month_name(number)] = {
                "reading": decision["reading"],
                "basis": decision["basis"],
                "counts": counts,
            }
    return decided


def months_read_otherwise(
    decided: dict[str, dict], reading: str, reading_from: dict[str, str] | None = None
) -> dict[str, dict]:
    """The months of a file conclusive on their own (``months_decided``) for another reading than the file's (or,
    from a dated override's month on, than the override's), in month order."""
    return {
        month: seen
        for month, seen in decided.items()
        if seen["reading"] != reading_of_month(month, reading, reading_from)
    }


# ----------------------------------------------------------------------------------------------------------
# I/O: lake files through Hadoop's FileSystem (local paths and s3:// alike, no Spark job)
# ----------------------------------------------------------------------------------------------------------
class LakeFiles:
    """Small file operations on the lake through the JVM's Hadoop FileSystem."""

    def __init__(self, spark: SparkSession) -> None:
        self.jvm = spark.sparkContext._jvm
        self.conf = spark.sparkContext._jsc.hadoopConfiguration()

    def _fs(self, path: str):
        """The FileSystem and Path of a path."""
        hadoop_path = self.jvm.org.apache.hadoop.fs.Path(path)
        return hadoop_path.getFileSystem(self.conf), hadoop_path

    def exists(self, path: str) -> bool:
        """True when the path exists."""
        fs, hadoop_path = self._fs(path)
        return bool(fs.exists(hadoop_path))

    def is_file(self, path: str) -> bool:
        """True when the path exists and is a file (not a folder)."""
        fs, hadoop_path = self._fs(path)
        return bool(fs.exists(hadoop_path) and fs.getFileStatus(hadoop_path).isFile())

    def list_files(self, root: str) -> list[dict]:
        """Every file under root (recursive): path, relative (its part below root), size, modified (ms)."""
        fs, hadoop_path = self._fs(root)
        qualified_root = fs.makeQualified(hadoop_path).toString().rstrip("/")  # as the listing spells paths
        found, iterator = [], fs.listFiles(hadoop_path, True)
        while iterator.hasNext():
            status = iterator.next()
            path = status.getPath().toString()
            found.append(
                {
                    "path": path,
                    "relative": path.removeprefix(qualified_root).lstrip("/"),
                    "size": status.getLen(),
                    "modified": status.getModificationTime(),
                }
            )
        return found

    def list_file_names(self, folder: str) -> list[str]:
        """Names of the files directly in a folder (one listing; ``list_files`` asks a local disk for every file's
        block locations, which costs milliseconds a file)."""
        fs, hadoop_path = self._fs(folder)
        return [status.getPath().getName() for status in fs.listStatus(hadoop_path) if status.isFile()]

    def list_dirs(self, root: str) -> list[str]:
        """Names of the sub-folders of root (empty when root does not exist)."""
        if not self.exists(root):
            return []
        fs, hadoop_path = self._fs(root)
        return [s.getPath().getName() for s in fs.listStatus(hadoop_path) if s.isDirectory()]

    def head(self, path: str, size: int) -> bytes:
        """A file's first ``size`` bytes (all of a shorter file)."""
        fs, hadoop_path = self._fs(path)
        stream = fs.open(hadoop_path)
        try:
            return bytes(stream.readNBytes(size))
        finally:
            stream.close()

    def read_text(self, path: str) -> str:
        """A whole (small) text file."""
        fs, hadoop_path = self._fs(path)
        stream = fs.open(hadoop_path)
        try:
            return str(self.jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8"))
        finally:
            stream.close()

    def write_text(self, path: str, text: str) -> None:
        """Write (replace) a small text file, never leaving it half-written.

        On S3 an object appears only once its upload is complete, so it is written in place. Elsewhere (a local
        disk, HDFS) the text goes to the folder's hidden ``WRITING_FILE`` first, which ``rename_over`` then renames
        over the file: a run that dies while writing leaves the previous file whole (or its copy aside, see
        ``rename_over``), and the hidden file, which the next write into that folder takes over. One run at a time
        writes (``one_run_at_a_time``).
        """
        fs, hadoop_path = self._fs(path)
        if str(fs.getUri().getScheme()).startswith("s3"):
            self._write_file(fs, hadoop_path, text)
            return
        folder = hadoop_path.getParent()
        temporary = self.jvm.org.apache.hadoop.fs.Path(folder, WRITING_FILE)
        previous = self.jvm.org.apache.hadoop.fs.Path(folder, f".{hadoop_path.getName()}{PREVIOUS_ENDING}")
        self._write_file(fs, temporary, text)
        if not self.rename_over(fs, temporary, hadoop_path, previous):
            raise SilverError(f"Could not move {temporary.toString()} to {path}.")

    @staticmethod
    def rename_over(fs: JavaObject, source: JavaObject, target: JavaObject, previous: JavaObject) -> bool:
        """Rename a file over another; False, with the target as it was, when the file system refuses.

        Where the file system replaces a file in one rename (Hadoop's raw local file system on POSIX) the target is
        never missing. Where it refuses to rename onto a file (HDFS, and a local disk as pyspark starts Spark: Hive's
        ProxyLocalFileSystem serves ``file:``), the target is moved aside to ``previous`` and the rename is tried
        again, and when that is refused too, the target is put back. A run that dies between those two renames
        (or a put-back refused) leaves the file only as ``previous``, which the next write of the file deletes; the
        next run puts the state's back before reading it (``settle_previous_files``).
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

    def settle_previous_files(self, folder: str) -> None:
        """Settle the copies ``rename_over`` moved aside that a killed run left in a folder: one whose file is missing
        goes back (it is the file as it was before that run's write), one beside its file is deleted. Only while no
        other run writes (``one_run_at_a_time``); on S3, which writes in place, there are none."""
        fs, hadoop_folder = self._fs(folder)
        if not fs.exists(hadoop_folder):
            return
        for status in fs.listStatus(hadoop_folder):
            name = status.getPath().getName()
            if name.startswith(".") and name.endswith(PREVIOUS_ENDING):
                file = self.jvm.org.apache.hadoop.fs.Path(hadoop_folder, name[1 : -len(PREVIOUS_ENDING)])
                if fs.exists(file):
                    fs.delete(status.getPath(), False)
                else:
                    fs.rename(status.getPath(), file)

    @staticmethod
    def _write_file(fs, hadoop_path, text: str) -> None:
        """Create (replace) one file with the text."""
        stream = fs.create(hadoop_path, True)
        try:
            stream.write(bytearray(text.encode("utf-8")))
        finally:
            stream.close()

    def rename(self, source: str, target: str) -> None:
        """Move a file or folder (the target's parent is created); SilverError when the file system refuses."""
        fs, source_path = self._fs(source)
        target_path = self.jvm.org.apache.hadoop.fs.Path(target)
        fs.mkdirs(target_path.getParent())
        if not fs.rename(source_path, target_path):
            raise SilverError(f"Could not move {source} to {target}.")

    def delete(self, path: str) -> None:
        """Delete a file or folder tree if it exists."""
        fs, hadoop_path = self._fs(path)
        if fs.exists(hadoop_path):
            fs.delete(hadoop_path, True)

    def delete_if_empty(self, path: str) -> None:
        """Delete a folder that exists and holds nothing (on S3 an empty prefix does not exist: nothing to do)."""
        fs, hadoop_path = self._fs(path)
        if (
            fs.exists(hadoop_path)
            and fs.getFileStatus(hadoop_path).isDirectory()
            and not fs.listStatus(hadoop_path)
        ):
            fs.delete(hadoop_path, False)


# The ending Hadoop gives a file being copied; Spark's file listing skips it as it skips names starting "." or "_".
# Bronze's key_file_name never writes it (the same constant there: Silver ships as one file; a test keeps them equal).
SPARK_COPYING_SUFFIX = "._COPYING_"


def bronze_suffix(path: str) -> str | None:
    """The part of a Bronze path from ``dataset=`` on (how manifests and state name a file)."""
    match = re.search(r"(dataset=[^/]+/ingest_date=[^/]+/[^/]+)$", unquote(path))
    return match.group(1) if match else None


def dataset_of(suffix: str) -> str:
    """The dataset a Bronze object belongs to (``legacy_2022``, ``new_system``), from its ``dataset=`` folder."""
    return re.search(r"dataset=([^/]+)", suffix).group(1)


def era_header(era: str) -> tuple[set[str], set[str]]:
    """(every column an era's header may carry, those it may lack)."""
    return set(ERA_COLUMNS[era]) | ERA_EXTRA_COLUMNS[era], ERA_OPTIONAL[era]


def recognise_era(header: list[str]) -> str | None:
    """The era whose columns a header carries (order free, optional columns may be missing), else None."""
    names = [name.strip().lower() for name in header]
    if len(set(names)) != len(names):
        return None
    for era in ERA_COLUMNS:
        known, optional = era_header(era)
        if known - optional <= set(names) <= known:
            return era
    return None


def header_difference(header: list[str], first_line: str) -> str:
    """What keeps a header from its nearest era (``nearest legacy29: unknown column case_origin``), or how it
    starts when it is nothing like one: the words Bronze uses for the same header."""
    names = [name.strip().lower() for name in header]
    if len(set(names)) != len(names):
        return f"a column named twice; starts {first_line[:60]!r}"
    era = min(sorted(ERA_COLUMNS), key=lambda name: len(set(names) ^ era_header(name)[0]))
    known, optional = era_header(era)
    if len(set(names) & known) < len(known) / 2:
        return f"starts {first_line[:60]!r}"
    unknown, missing = sorted(set(names) - known), sorted(known - optional - set(names))
    parts = [f"unknown column {listed(unknown)}"] if unknown else []
    parts += [f"missing {listed(missing)}"] if missing else []
    return f"nearest {era}: {'; '.join(parts)}"


def listed(names: list[str], most: int = 5) -> str:
    """``a, b, c`` — at most ``most`` names, then how many in all."""
    shown = ", ".join(names[:most])
    return shown if len(names) <= most else f"{shown}, … ({len(names)} in all)"


def manifest_ingest_times(files: LakeFiles, bronze_path: str, index: dict | None = None) -> dict[str, str]:
    """``dataset=…`` suffix -> ingested_at from every Bronze manifest (later manifests win).

    With ``index`` (``read_manifest_index``: what earlier runs read) only the manifests it has not read are opened, and
    it takes them in: an ingest run adds one manifest a day, and opening every one of them each run made each run
    (one with nothing new too) a little slower every day. A manifest the index names that is gone (Bronze restored or
    pruned) makes it start over from every manifest there is.
    """
    manifests_dir = f"{bronze_path}/{BRONZE_MANIFESTS_FOLDER}"
    if index is None:
        index = empty_manifest_index()
    if not files.exists(manifests_dir):
        return {}
    listed = sorted(name for name in files.list_file_names(manifests_dir) if name.endswith(".json"))
    if not set(index["manifests"]) <= set(listed):
        index.update(empty_manifest_index(), changed=True)
    times = index["times"]
    read = set(index["manifests"])
    for name in listed:
        if name in read:
            continue
        path = f"{manifests_dir}/{name}"
        try:
            manifest = json.loads(files.read_text(path))
        except ValueError:
            log.warning("skipping unreadable manifest %s", path)
            continue
        version = manifest.get("format_version", 1) if isinstance(manifest, dict) else 1
        if not isinstance(version, int) or version > BRONZE_MANIFEST_FORMAT_VERSION:
            raise SilverError(
                f"The Bronze manifest {path} is format_version {version!r}, which this Silver job does not read (it "
                f"reads up to {BRONZE_MANIFEST_FORMAT_VERSION}): run Silver from the same commit as the Bronze ingest "
                "(on Glue, upload glue/silver_job.py again: docs/infra.md)."
            )
        resources = manifest.get("resources") if isinstance(manifest, dict) else None
        if not isinstance(resources, list):
            log.warning("skipping manifest %s: it holds no list of resources", path)
            continue
        for resource in resources:
            key = resource.get("key") if isinstance(resource, dict) else None
            suffix = bronze_suffix(key) if isinstance(key, str) else None
            if suffix and isinstance(resource.get("ingested_at"), str) and resource.get("status") == "landed":
                # the later manifest wins, in whichever run it is read
                if suffix not in times or times[suffix][0] <= name:
                    times[suffix] = [name, resource["ingested_at"]]
                # one key holds one object's bytes (Bronze never lands other bytes under a key), so no manifest wins;
                # the offset is of the bytes Bronze landed, kept beside it: a file saved as UTF-8 since has others
                offset, size = resource.get("non_utf8_at"), resource.get("bytes")
                # whole numbers (True is none), the offset within the bytes
                if type(offset) is int and type(size) is int and 0 <= offset < size:
                    index["non_utf8"][suffix] = [offset, size]
            # A failed download's entry has no key (null): normal. Anything else without a text key is not.
            elif not isinstance(resource, dict) or not isinstance(key, (str, type(None))):
                log.warning("manifest %s: skipping a resource of the wrong shape: %.80r", path, resource)
        index["manifests"].append(name)  # an unreadable one is not: it is tried (and warned about) again
        index["changed"] = True
    return {suffix: ingested_at for suffix, (_, ingested_at) in times.items()}


def empty_manifest_index() -> dict:
    """A manifest index that has read nothing: the manifests read (names below ``_manifests/``), per object the
    manifest that last named it landed and the ingested_at it gave, and per object that is not UTF-8 throughout the
    offset where it stops being and the bytes it was landed with (Bronze's ``non_utf8_at`` and ``bytes``)."""
    return {"manifests": [], "times": {}, "non_utf8": {}, "changed": False}


def read_manifest_index(files: LakeFiles, silver_path: str) -> dict:
    """The Bronze manifests earlier runs read (``MANIFEST_INDEX_FILE``); empty when there is none or it is damaged.

    Only Bronze's facts are in it, so a damaged or missing index costs a run the reading of every manifest, nothing
    else: it is rebuilt (and a damaged one named in a warning).
    """
    index_file = f"{silver_path}/{MANIFEST_INDEX_FILE}"
    if not files.exists(index_file):
        return empty_manifest_index()
    stored = read_json_unless_damaged(files, index_file)
    shaped = (
        isinstance(stored, dict)
        and isinstance(stored.get("manifests"), list)
        and all(isinstance(name, str) for name in stored["manifests"])
        and isinstance(stored.get("times"), dict)
        and all(
            isinstance(pair, list) and len(pair) == 2 and all(isinstance(part, str) for part in pair)
            for pair in stored["times"].values()
        )
        and isinstance(stored.get("non_utf8", {}), dict)
        and all(
            isinstance(pair, list) and len(pair) == 2 and all(type(part) is int for part in pair)
            for pair in stored.get("non_utf8", {}).values()
        )
    )
    if not shaped:
        log.warning("The manifest index %s is damaged; reading every Bronze manifest again", index_file)
        return {**empty_manifest_index(), "changed": True}
    # written before Silver read non_utf8_at: the manifests it read are read again, once
    if "non_utf8" not in stored:
        return {**empty_manifest_index(), "changed": True}
    return {
        "manifests": stored["manifests"],
        "times": stored["times"],
        "non_utf8": stored["non_utf8"],
        "changed": False,
    }


def write_manifest_index(files: LakeFiles, silver_path: str, index: dict) -> None:
    """Save the manifest index when this run read a manifest it did not hold."""
    if index["changed"]:
        text = json.dumps(
            {"manifests": index["manifests"], "times": index["times"], "non_utf8": index["non_utf8"]},
            indent=0,
        )
        files.write_text(f"{silver_path}/{MANIFEST_INDEX_FILE}", text)
        index["changed"] = False


# transformation_ctx of the one bookmarked read: Glue keys the bookmark state on it
BOOKMARK_CONTEXT = "bronze_manifests"


def bookmarked_bronze_objects(glue_context, bronze_path: str) -> set[str]:
    """The Bronze objects (``dataset=…`` suffixes) landed by the ingest runs whose manifests Glue's job bookmark has
    not handed over yet.

    Bookmarks key on ``transformation_ctx`` of DynamicFrame reads; the CSVs themselves need Spark's reader (per-file
    header, corrupt-record column), so the bookmarked read is of ``_manifests/`` (one small JSON per ingest run):
    Glue gives only manifests written since the last committed run, and ``Job.commit`` after a successful run moves
    the bookmark on. A failed run commits nothing, so the next run is handed the same manifests again.
    """
    frame = glue_context.create_dynamic_frame.from_options(
        connection_type="s3",
        connection_options={
            "paths": [f"{bronze_path.rstrip('/')}/{BRONZE_MANIFESTS_FOLDER}/"],
            "recurse": True,
        },
        format="json",
        format_options={"jsonPath": "$.resources[*]", "multiline": True},
        transformation_ctx=BOOKMARK_CONTEXT,
    )
    resources = frame.toDF()
    if not {"key", "status"} <= set(resources.columns):  # no new manifest (an empty frame has no columns)
        return set()
    landed = resources.filter(F.col("status") == "landed").select("key").collect()
    return {suffix for row in landed if (suffix := bronze_suffix(row["key"] or ""))}


# How much of a Bronze file the plan reads for its header and its encoding: a 311 header is under 1 KB, so a first
# line longer than this is no header (a file without line ends was read whole into the driver, which ran out of memory)
HEAD_BYTES = 1 << 20
LINE_END = re.compile(rb"\r\n|\r|\n")


def first_line(head: bytes) -> str:
    """The first line of a file's first bytes (its line end CRLF, CR or LF), as UTF-8 text without a byte-order mark;
    bytes that are no UTF-8 read as U+FFFD, as Spark's reader reads them."""
    return LINE_END.split(head, maxsplit=1)[0].decode("utf-8", errors="replace").lstrip("\ufeff")


def non_utf8_at(head: bytes, size: int) -> int | None:
    """The offset where a file's first bytes stop being UTF-8, None while they are: a character cut by the end of
    ``head`` in a longer file is no problem."""
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.reason == "unexpected end of data" and len(head) < size:
            return None
        return error.start
    return None


def plan_bronze_files(
    files: LakeFiles,
    bronze_path: str,
    processed: dict[str, dict],
    announced: set[str] | None = None,
    manifest_index: dict | None = None,
) -> list[dict]:
    """The Bronze CSV objects to read, each with suffix, dataset, header, era and ingested_at.

    Without ``announced``: every object the state file does not know (same size and modification time). With it
    (Glue's job bookmark is on, see ``bookmarked_bronze_objects``): exactly the announced objects still in Bronze.
    """
    if not files.exists(bronze_path):
        raise SilverError(
            f"The Bronze path {bronze_path} does not exist: run the Bronze ingest (scripts/ingestao_bronze.py) "
            "first, or check --bronze_path."
        )
    if files.is_file(bronze_path):
        raise SilverError(f"The Bronze path {bronze_path} is a file; give the folder the ingest lands in.")
    folders = files.list_dirs(bronze_path)
    # a path one level too high read "nothing new", every run
    if not any(folder.startswith("dataset=") for folder in folders):
        below = [
            f"{bronze_path.rstrip('/')}/{folder}"
            for folder in folders
            if any(inner.startswith("dataset=") for inner in files.list_dirs(f"{bronze_path}/{folder}"))
        ]
        if below:
            raise SilverError(
                f"The Bronze path {bronze_path} holds no dataset= folders, but {below[0]} does: give that folder as "
                "--bronze_path (the ingest lands into <lake>/bronze/boston311)."
            )
    if manifest_index is None:
        manifest_index = empty_manifest_index()
    ingest_times = manifest_ingest_times(files, bronze_path, manifest_index)
    planned = []
    # the dataset= folders only: _manifests/ gains a file every day, and listing it in every run cost more each day
    objects = [
        {**entry, "relative": f"{folder}/{entry['relative']}"}
        for folder in folders
        if folder.startswith("dataset=")
        for entry in files.list_files(f"{bronze_path}/{folder}")
    ]
    for entry in sorted(objects, key=lambda f: f["path"]):
        suffix = bronze_suffix(entry["path"])
        # only the part below the Bronze path counts (the lake may well sit under a folder named _work)
        hidden = any(part.startswith((".", "_")) for part in entry["relative"].split("/"))  # .crc, _SUCCESS
        if suffix is None or hidden:
            continue  # anything not laid out as dataset=/ingest_date=/file
        if suffix.endswith(SPARK_COPYING_SUFFIX):
            # Spark's file listing skips such a name (a copy in progress): read, it would give no rows and its cases
            # would be missing without a word. Left unrecorded, so it is read once it has its real name.
            log.warning(
                "The Bronze object %s ends in %s, a name Spark does not read (a copy in progress); Silver leaves it "
                "until it is renamed without that ending.",
                suffix,
                SPARK_COPYING_SUFFIX,
            )
            continue
        seen = processed.get(suffix)
        if suffix in ingest_times:
            ingested_at, ingested_at_from = ingest_times[suffix], "manifest"
        else:
            ingested_at, ingested_at_from = ingest_time_of_object(suffix, entry["modified"])
        if announced is not None:
            if suffix not in announced:
                continue  # the job bookmark decides what is new
        elif (
            seen
            and seen.get("size") == entry["size"]
            and seen.get("modified") == entry["modified"]
            # Bronze announces an object it already holds again (the portal reverted to bytes landed earlier that
            # day) with a later ingested_at: read again, it wins the dedupe. A state written before Silver recorded
            # ingested_at has none to compare.
            and seen.get("ingested_at", ingested_at) == ingested_at
        ):
            continue
        header, era, not_utf8 = [], "empty", None  # only a 0-byte file is empty
        if entry["size"]:
            head = files.head(entry["path"], HEAD_BYTES)
            not_utf8 = non_utf8_at(head, entry["size"])
            landed = manifest_index["non_utf8"].get(suffix)  # [offset, bytes], as Bronze landed the file
            if not_utf8 is not None:
                where = f"byte {head[not_utf8]:#04x} at offset {not_utf8:,}"
            elif landed and landed[1] == entry["size"]:
                # past the head: Bronze read every byte of the files it landed; a file of another size is not the one
                # it read (saved as UTF-8 in Bronze since, as the warning advises)
                not_utf8 = landed[0]
                where = f"from byte offset {not_utf8:,} on, as its Bronze manifest says"
            if not_utf8 is not None:
                log.warning(
                    "The Bronze file %s is not UTF-8 (%s): Silver reads it as UTF-8, so its characters outside ASCII "
                    "become U+FFFD (\ufffd); save it as UTF-8 to keep them.",
                    suffix,
                    where,
                )
            line = first_line(head)
            if not line.strip():
                raise SilverError(
                    f"The Bronze file {suffix} is not empty but its first line is blank (no header); Silver refuses it."
                )
            try:
                header = next(csv.reader(io.StringIO(line)), [])
            except csv.Error:  # a name longer than the csv module takes (128 KB): no header of any era
                header = []
            era = recognise_era(header)
            if era is None:
                raise SilverError(
                    f"The Bronze file {suffix} has an unknown header ({header_difference(header, line)}); Silver refuses "
                    "it: see 'A new column or header' in docs/silver.md, or move the file out of Bronze to go on."
                )
        planned.append(
            {
                **entry,
                "suffix": suffix,
                "dataset": dataset_of(suffix),
                "header": [name.strip().lower() for name in header],
                "era": era,
                "ingested_at": ingested_at,
                "ingested_at_from": ingested_at_from,
                "non_utf8_at": not_utf8,
            }
        )
    return planned


def is_date(text: str) -> bool:
    """True for a calendar date written YYYY-MM-DD (2026-02-30 and 2026-1-5 are none)."""
    try:
        datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        return False
    return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", text, re.ASCII))


def ingest_time_of_object(suffix: str, modified: int) -> tuple[str, str]:
    """``ingested_at`` of a Bronze object no manifest names, and where it came from.

    The object's modification time (its upload time on S3) when it falls on its folder's ``ingest_date`` (UTC), so
    that of two landings of one day (``x.csv``, then ``x.<run_id>.csv``) the later wins the dedupe; otherwise (a
    copied or restored Bronze) the folder's ``ingest_date`` at 00:00 UTC.
    """
    ingest_date = re.search(r"ingest_date=([^/]+)", suffix).group(1)
    if not is_date(ingest_date):
        # its rows were written with no ingested_at, which won every dedupe, and a report time of "latestT00:00:00Z"
        raise SilverError(
            f"The Bronze object {suffix} lies under ingest_date={ingest_date}, which is no date (YYYY-MM-DD); Bronze "
            "lands each object under the day it landed it: move it under that day, or out of Bronze, to go on."
        )
    uploaded = datetime.fromtimestamp(modified / 1000, UTC)
    if uploaded.date().isoformat() == ingest_date:
        return uploaded.isoformat(timespec="milliseconds").replace("+00:00", "Z"), "object_modified"
    return f"{ingest_date}T00:00:00Z", "ingest_date"


# row_position = file ordinal << 44 | Spark's id within the file (partition << 33 | row)
ROW_POSITION_FILE_BITS = 44
# The most characters a Bronze field may hold (--max_field_chars; docs/silver.md, "A field too long"): Spark's CSV
# reader sets none, and one field of tens of millions (a quote left open makes the rest of a file one field) ran
# Silver's Java out of memory with no word of the job's. The reader keeps a buffer of two bytes per character of the
# limit for each file it reads at once.
MAX_FIELD_CHARS = 1_000_000
LARGEST_JAVA_ARRAY = 2**31 - 9  # the most elements a Java array holds (the JDK's own soft limit)
# The most fields a Bronze record may hold: Spark's own default (its CSV `maxColumns`), set here to be named. A record
# with more (a line of 30,000 commas) stops the reader as a field too long does.
MAX_FIELDS_PER_RECORD = 20_480
# Univocity's words (Spark's CSV parser) when a field outgrows the limit, or a record the most fields, and where it
# stopped: its record, counted from the first after the header
FIELD_OVER_LIMIT = "exceeds the maximum number of characters defined in your parser settings ({:d})"
FIELDS_OVER_LIMIT = "ArrayIndexOutOfBoundsException - Index {:d} out of bounds"
FIELD_RECORD = re.compile(r"Internal state when error was thrown: line=\d+, column=\d+, record=(\d+)")


def read_bronze_file(
    spark: SparkSession, entry: dict, ordinal: int, max_field_chars: int, time_basis: str | None = None
) -> DataFrame:
    """One planned Bronze file as canonical raw-string records; its lineage (and time basis) as constants.

    PERMISSIVE parsing keeps malformed lines in ``raw_record`` instead of failing; unquoted fields are trimmed of
    whitespace by the parser. Reading file by file makes lineage literal: no per-row path parsing. A field longer
    than ``max_field_chars``, or a record of more than MAX_FIELDS_PER_RECORD fields, fails the read
    (``record_over_limit`` names the file).
    """
    header, era = entry["header"], entry["era"]
    schema = T.StructType(
        [T.StructField(name, T.StringType()) for name in header]  # the file's own order (validated names)
        + [T.StructField(CORRUPT, T.StringType())]
    )
    records = (
        spark.read.schema(schema)
        .option("header", True)
        .option("multiLine", True)
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", CORRUPT)
        .option("escape", '"')
        .option("encoding", "UTF-8")
        .option("ignoreLeadingWhiteSpace", True)
        .option("ignoreTrailingWhiteSpace", True)
        .option("maxCharsPerColumn", max_field_chars)
        .option("maxColumns", MAX_FIELDS_PER_RECORD)
        .csv(literal(entry["path"]))
    )
    mapping = ERA_COLUMNS[era]
    aliases = NEW_SYSTEM_ALIASES if era == "new_system" else {}
    canonical = []
    for column in RAW_COLUMNS:
        source = next((name for name, target in mapping.items() if target == column), None)
        if source is None and column in aliases:
            source = next(name for name, target in mapping.items() if target == aliases[column])
        canonical.append((F.col(source) if source in header else F.lit(None).cast("string")).alias(column))
    lineage = [
        F.lit(entry["suffix"]).alias("source_file"),
        F.lit(entry["dataset"]).alias("dataset"),
        F.lit(era).alias("source_era"),
        F.lit(entry["ingested_at"]).cast("timestamp").alias("ingested_at"),
        # unique in the run and the same in both passes (Spark's own id restarts in every file of a union)
        (F.lit(ordinal << ROW_POSITION_FILE_BITS) + F.monotonically_increasing_id()).alias("row_position"),
        F.col(CORRUPT).alias("raw_record"),
    ]
    if time_basis is not None:
        lineage.append(F.lit(time_basis).alias("time_basis"))
    else:  # first pass: the file's time-basis evidence sampling interval, and rule 8's open quote
        lineage.append(F.lit(evidence_every(entry["size"])).alias("evidence_every"))
        lineage.append(open_quote(header).alias("open_quote"))
    return records.select(*lineage, *canonical)


def open_quote(header: list[str]) -> Column:
    """Whether a record's last value holds a line break: a quote left open in it (rule 8's ``unclosed_quote``).

    A quote left open in a record's last column runs to the end of the file inside that one value: the field count
    stays right, so Spark's reader (and Python's csv) give no sign of it, and the records after it are that value.
    No era's last column (``source``, ``latitude``) holds a line break otherwise. On the last column alone: an
    expression over every column here (their JSON) made Spark's constraint propagation, which follows each column
    through its aliases above, run out of memory planning a run of two files.
    """
    last = F.col(header[-1])
    return F.col(CORRUPT).isNull() & (last.contains("\n") | last.contains("\r"))


def read_bronze(
    spark: SparkSession, planned: list[dict], max_field_chars: int, readings: dict[str, str] | None = None
) -> DataFrame | None:
    """All planned (non-empty) files, in plan order, as one DataFrame; with ``readings`` each carries its time basis."""
    frames = [
        read_bronze_file(
            spark, entry, ordinal, max_field_chars, None if readings is None else readings[entry["suffix"]]
        )
        for ordinal, entry in enumerate(planned)
        if entry["era"] != "empty"
    ]
    if not frames:
        return None
    bronze = frames[0]
    for frame in frames[1:]:
        bronze = bronze.unionByName(frame)
    return bronze


def limit_broken(error: BaseException, max_field_chars: int) -> str | None:
    """Which of the reader's limits a Spark failure is the CSV reader stopping at: ``"field"`` (a Bronze field longer
    than ``max_field_chars``), ``"fields"`` (a record of more than MAX_FIELDS_PER_RECORD fields) or None."""
    if FIELD_OVER_LIMIT.format(max_field_chars) in str(error):
        return "field"
    if FIELDS_OVER_LIMIT.format(MAX_FIELDS_PER_RECORD) in str(error):
        return "fields"
    return None


def record_over_limit(
    error: BaseException, spark: SparkSession, planned: list[dict], max_field_chars: int
) -> SilverError | None:
    """When a Spark failure reading the planned files is a field longer than ``max_field_chars`` or a record of too many
    fields (``limit_broken``): the refusal naming the first file whose read stops at it, and the record it stops in.
    None for any other failure, or when no file's read stops so (one changed since).

    Spark's failure names the file only now and then (Spark 3.5.9: for a field in the file's second record, not in its
    first or third), so each file is read again alone, in plan order: a cost of a refused run only.
    """
    if limit_broken(error, max_field_chars) is None:
        return None
    for ordinal, entry in enumerate(planned):
        if entry["era"] == "empty":
            continue
        try:
            alone = read_bronze_file(spark, entry, ordinal, max_field_chars)
            alone.agg(F.max(F.xxhash64(*alone.columns))).collect()  # a value of every field: each is parsed
        except (Py4JError, PySparkException) as failure:
            broken = limit_broken(failure, max_field_chars)
            if broken is None:
                raise
            record = FIELD_RECORD.search(str(failure))
            where = f" in its record {int(record.group(1)):,}" if record else ""
            if broken == "fields":
                return SilverError(
                    f"The Bronze file {entry['suffix']} has more than {MAX_FIELDS_PER_RECORD:,} fields{where} (Spark's "
                    "CSV reader reads no more; a line of separators, not a record of 311's); Silver refuses it: see "
                    "'A field too long' in docs/silver.md, or move the file out of Bronze to go on."
                )
            return SilverError(
                f"The Bronze file {entry['suffix']} has a field longer than {max_field_chars:,} characters{where} "
                "(--max_field_chars; a quote left open makes the rest of a file one field); Silver refuses it: see "
                "'A field too long' in docs/silver.md, or move the file out of Bronze to go on."
            )
    return None


def load_mappings(mappings_path: str | None) -> dict[str, dict]:
    """Department (with NEW SYSTEM names' legacy subject), channel, status, reason and neighborhood mappings, and the
    folder they came from: --mappings_path (only there, when given), else mappings/ beside this script, else beside
    it, else the cwd; SilverError when a file is missing, unreadable or incomplete."""
    if mappings_path:
        candidates = [mappings_path]
    else:
        here = os.path.dirname(os.path.abspath(__file__))
        candidates = [os.path.join(here, "mappings"), here, os.getcwd()]
    missing_in = {c: [f for f in MAPPING_FILES if not os.path.exists(os.path.join(c, f))] for c in candidates}
    folder = next((c for c in candidates if not missing_in[c]), None)
    if folder is None:
        # a folder holding some of the files (an older upload lacking a newer file) is named with what it lacks
        partial = next((c for c in candidates if len(missing_in[c]) < len(MAPPING_FILES)), None)
        if partial is not None:
            raise SilverError(
                f"The mapping file(s) {', '.join(missing_in[partial])} are missing from {partial}: copy "
                f"glue/mappings/ there (on Glue, list every file of glue/mappings/ in --extra-files)."
            )
        looked = ", ".join(candidates)
        raise SilverError(
            f"The mapping files {', '.join(MAPPING_FILES)} were not found (looked in {looked})."
        )

    def rows(name: str) -> list[dict]:
        return read_mapping_file(os.path.join(folder, name), MAPPING_COLUMNS[name])

    departments = rows("departments.csv")
    return {
        "folder": folder,
        "department_code": {
            r["value"].strip().lower(): r["department"].strip()
            for r in departments
            if r["kind"] == "code" and r["department"].strip()
        },
        "department_name": {
            r["value"].strip().lower(): r["department"].strip() for r in departments if r["kind"] == "name"
        },
        "legacy_subject": {
            r["value"].strip().lower(): (r.get("legacy_subject") or "").strip()
            for r in departments
            if r["kind"] == "name" and (r.get("legacy_subject") or "").strip()
        },
        "channel": {r["value"].strip().lower(): r["source"].strip() for r in rows("channels.csv")},
        "status": {
            r["value"].strip().lower(): r["is_closed"].strip().lower() == "true" for r in rows("statuses.csv")
        },
        "reason": {r["value"].strip().lower(): r["reason"].strip() for r in rows("reasons.csv")},
        "neighborhood": {
            r["value"].strip().lower(): r["neighborhood"].strip() for r in rows("neighborhoods.csv")
        },
    }


def mappings_fingerprint(mappings: dict[str, dict]) -> str:
    """A short digest of what the mapping files map (not their notes, order or folder): Bronze objects read with
    the same one had every value mapped alike."""
    content = {kind: table for kind, table in mappings.items() if kind != "folder"}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]


def read_mapping_file(path: str, columns: tuple[str, ...]) -> list[dict]:
    """The lines of one mapping CSV; SilverError when it cannot be read, lacks a column, or has a cut-off line."""
    try:  # utf-8-sig: a file saved as Excel's "CSV UTF-8" begins with a byte-order mark, which is no column name
        with open(path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            lines = list(reader)
            header = reader.fieldnames or []
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise SilverError(f"The mapping file {path} cannot be read as UTF-8 CSV ({error}).") from error
    missing = [column for column in columns if column not in header]
    if missing:
        raise SilverError(f"The mapping file {path} lacks the column(s) {', '.join(missing)}.")
    if not lines:
        raise SilverError(f"The mapping file {path} has no lines below its header.")
    for number, line in enumerate(lines, start=2):
        if any(line.get(column) is None for column in columns):
            raise SilverError(f"The mapping file {path} has an incomplete line {number}: {line}.")
        # a blank source or reason would be written to Silver as '' (and not counted as unknown)
        blank = [column for column in columns if column != MAY_BE_BLANK and not line[column].strip()]
        if blank:
            raise SilverError(f"The mapping file {path} line {number}: {' and '.join(blank)} is blank.")
        if "is_closed" in columns and line["is_closed"].strip().lower() not in ("true", "false"):
            raise SilverError(f"The mapping file {path} line {number}: is_closed must be true or false.")
    # A value is looked up case and surrounding spaces aside (departments.csv per kind): one given twice was mapped
    # by its last line, silently (a second "CLOSED,false" made every Closed case open).
    mapped_on: dict[tuple[str, str], int] = {}  # the line each value is mapped on
    for number, line in enumerate(lines, start=2):
        key = (line.get("kind", ""), line["value"].strip().lower())
        if key in mapped_on:
            raise SilverError(
                f"The mapping file {path} maps {line['value'].strip()!r} on lines {mapped_on[key]} and {number} "
                "(case and surrounding spaces aside): keep one."
            )
        mapped_on[key] = number
    return lines


# What an override may name: a dataset (legacy_YYYY, new_system) or an era (legacy29, legacy30, new_system), alone or
# dated with the month its reading applies from (new_system@2026-03: the records opened from March 2026 on).
# ASCII digits only, as CloudFormation's AllowedPattern (Java) and the report's schema read \d: Python's \d takes any
# script's digits, which would name no dataset, or give a month compared as text with the evidence's months.
OVERRIDE_NAME = re.compile(r"legacy_\d{4}|legacy29|legacy30|new_system", re.ASCII)
OVERRIDE_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])", re.ASCII)


def parse_overrides(text: str | None) -> dict[str, str]:
    """``new_system=utc,legacy_2015=shifted_back,new_system@2026-03=utc`` -> dict (a dated override keeps its
    ``name@YYYY-MM`` as its key); SilverError on a bad reading, a name that can never match (``legacy2015``,
    ``NEW_SYSTEM``), a month that is none (``@2026-3``) or a name given twice."""
    overrides = {}
    for item in filter(None, (part.strip() for part in (text or "").split(","))):
        key, _, reading = (part.strip() for part in item.partition("="))
        name, dated, month = (part.strip() for part in key.partition("@"))
        if reading not in READINGS:
            raise SilverError(
                f"The time basis override {item!r} is not dataset=reading with reading one of {', '.join(READINGS)}."
            )
        if not OVERRIDE_NAME.fullmatch(name):
            raise SilverError(
                f"The time basis override {item!r} names neither a dataset (legacy_YYYY, new_system) nor an era "
                "(legacy29, legacy30, new_system), written in lower case."
            )
        if dated and not OVERRIDE_MONTH.fullmatch(month):
            raise SilverError(
                f"The time basis override {item!r} dates its reading with {month!r}, which is not a month written "
                "YYYY-MM (as in new_system@2026-03=utc)."
            )
        key = f"{name}@{month}" if dated else name
        if key in overrides:
            raise SilverError(f"The time basis override for {key!r} is given twice.")
        overrides[key] = reading
    return overrides


def parse_max_reject_share(text: str | None) -> float | None:
    """``--max_reject_share`` as a share (None when not given); SilverError unless it is a number from 0 to 1."""
    if text is None:
        return None
    try:
        share = float(text)
    except ValueError:
        share = float("nan")
    if not 0 <= share <= 1:  # also NaN, and "inf"
        raise SilverError(
            f"--max_reject_share must be a share of a file's rows from 0 to 1 (0.05 is 5 %), not {text!r}."
        )
    return share


def parse_max_field_chars(text: str | None) -> int:
    """``--max_field_chars`` as a number of characters (MAX_FIELD_CHARS when not given); SilverError unless it is a
    whole number from 1 to the most a Java array holds."""
    if text is None:
        return MAX_FIELD_CHARS
    limit = int(text) if re.fullmatch(r"\s*\d+\s*", text, re.ASCII) else 0
    if not 1 <= limit <= LARGEST_JAVA_ARRAY:
        raise SilverError(
            f"--max_field_chars must be a whole number of characters from 1 to {LARGEST_JAVA_ARRAY:,} (the most a "
            f"Java array holds), not {text!r}."
        )
    return limit


# ----------------------------------------------------------------------------------------------------------
# The run
# ----------------------------------------------------------------------------------------------------------
def state_record(entry: dict, report: dict) -> dict:
    """What the state keeps of a Bronze object a run read (a planned entry): its size, modified time and ingest time,
    which tell it from a later object under its key; the mapping files' fingerprint, SILVER_RULES_VERSION, its era
    and what the time-basis overrides made of its reading (``overrides_applied``), all as the run's report says,
    which tell the objects read otherwise (``name_objects_read_otherwise``); and the run's id."""
    return {
        "size": entry["size"],
        "modified": entry["modified"],
        "ingested_at": entry["ingested_at"],
        "mappings": report["mappings_fingerprint"],
        "rules": report["silver_rules_version"],
        "era": entry["era"],
        "time_basis_override": overrides_applied(
            report["time_basis_overrides"], entry["dataset"], entry["era"]
        ),
        "run_id": report["run_id"],
    }


def read_state(files: LakeFiles, silver_path: str) -> dict[str, dict]:
    """Bronze objects already processed: suffix -> its ``state_record`` (records written before 2026-11-26 lack
    ``rules``, those before 2026-11-27 ``era`` and ``time_basis_override``)."""
    state_file = f"{silver_path}/{STATE_FILE}"
    if not files.exists(state_file):
        return {}
    stored = read_json_unless_damaged(files, state_file)
    objects = (
        stored.get("objects", {}) if isinstance(stored, dict) else None
    )  # JSON, but not {"objects": {…}}
    if not isinstance(objects, dict) or not all(isinstance(entry, dict) for entry in objects.values()):
        raise SilverError(
            f"The state file {state_file} is damaged (not the JSON Silver writes, or changed since Silver wrote "
            "it): restore it from a backup or delete it (without it every Bronze object counts as unread, and the "
            "dedupe gives the same table)."
        )
    return objects


def read_json_unless_damaged(files: LakeFiles, path: str) -> object:
    """The JSON in one of Silver's own files, or None when it is damaged: not JSON, or edited by hand (Hadoop's
    ``.<name>.crc`` beside it no longer matches). Any other failure (access denied, a timeout …) is raised: it is not
    damage (main reports it as a Spark failure)."""
    try:
        return json.loads(files.read_text(path))
    except ValueError:
        return None
    except Py4JJavaError as error:
        if "ChecksumException" not in error.java_exception.getClass().getName():
            raise
        return None


def quarantined_records(spark: SparkSession, quarantine_path: str, files: LakeFiles) -> DataFrame | None:
    """The records earlier runs quarantined (dataset, raw_record), or None when there are none yet."""
    if not any(name.startswith("run_id=") for name in files.list_dirs(quarantine_path)):
        return None
    return spark.read.schema("dataset string, raw_record string").parquet(literal(quarantine_path))


# What Hadoop's paths take for a pattern (SparkHadoopUtil.isGlobPath), escaped by ``literal``
GLOB_CHARACTERS = re.compile(r"[\\\[\]{}*?]")


def literal(path: str) -> str:
    """A path for Spark's readers, its glob characters escaped: a reader takes ``[ ] { } * ?`` as a pattern, so a lake
    under ``lake [2026]`` read nothing, or the file of a folder beside it (``lake 2``) in its place."""
    return GLOB_CHARACTERS.sub(r"\\\g<0>", path)


# The folders Silver writes under its table, one per month (the month without a leading zero, as Athena's projection
# reads it); names starting with _ or . are Spark's and Hadoop's own, which Spark's reader skips
YEAR_FOLDER = re.compile(r"open_year=\d{4}", re.ASCII)
MONTH_FOLDER = re.compile(r"open_month=(?:[1-9]|1[0-2])", re.ASCII)


def foreign_folder(files: LakeFiles, table_path: str) -> str | None:
    """The first folder under the Silver table that Silver does not write (``open_year=2022/open_month=01``, a copy
    Spark reads as more rows of January; ``backup``), relative to the table; None when there is none."""
    for year in files.list_dirs(table_path):
        if year.startswith(("_", ".")):
            continue
        if not YEAR_FOLDER.fullmatch(year):
            return year
        for month in files.list_dirs(f"{table_path}/{year}"):
            if not month.startswith(("_", ".")) and not MONTH_FOLDER.fullmatch(month):
                return f"{year}/{month}"
    return None


def existing_silver_keys(spark: SparkSession, table_path: str, files: LakeFiles) -> DataFrame | None:
    """The current Silver table's dedupe keys and partitions, or None when there is no table yet; SilverError when
    the table holds a folder Silver does not write (``foreign_folder``)."""
    if not any(name.startswith("open_year=") for name in files.list_dirs(table_path)):
        return None
    foreign = foreign_folder(files, table_path)
    if foreign:
        raise SilverError(
            f"The Silver table at {table_path} holds a folder {foreign}, which Silver does not write (open_year=YYYY/"
            "open_month=M, without a leading zero): a copy or a backup there is read as more rows; move it out of "
            "the table, then run Silver again."
        )
    return spark.read.parquet(literal(table_path)).select(
        "case_id", "ingested_at", "source_file", *PARTITION_COLUMNS
    )


EXCLUDED_RULES = "spark.sql.optimizer.excludedRules"
UNION_PUSHDOWN_RULES = (
    "org.apache.spark.sql.catalyst.optimizer.PushProjectionThroughUnion",
    "org.apache.spark.sql.catalyst.optimizer.PushDownLeftSemiAntiJoin",
)
# The settings of ``configure`` that would change another job's plan: run_silver gives them back. The UTC time zone,
# dynamic overwrite and Parquet settings stay set, as every stage wants them (docs/silver.md).
CSV_COLUMN_PRUNING = "spark.sql.csv.parser.columnPruning.enabled"
SESSION_SETTINGS = (
    "spark.sql.shuffle.partitions",
    "spark.sql.codegen.hugeMethodLimit",
    EXCLUDED_RULES,
    CSV_COLUMN_PRUNING,
)


def configure(spark: SparkSession, input_bytes: int = 0) -> None:
    """Session settings Silver relies on (UTC session clock, dynamic partition overwrite, portable timestamps)."""
    # Shuffles sized to the input (~64 MB of CSV each, at least one per core): 200 fixed partitions cost
    # more than the work itself on small inputs.
    cores = spark.sparkContext.defaultParallelism
    spark.conf.set("spark.sql.shuffle.partitions", str(max(cores, -(-input_bytes // SHUFFLE_BYTES))))
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    spark.conf.set("spark.sql.sources.partitionOverwriteMode", "dynamic")
    spark.conf.set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
    spark.conf.set("spark.sql.parquet.compression.codec", "snappy")
    # The rules compile to one Java method; above HotSpot's 8,000-byte limit the JIT never compiles it and every
    # record runs interpreted (measured: 2x slower). Spark's documented HotSpot setting makes such a
    # stage fall back to per-expression compiled code instead.
    spark.conf.set("spark.sql.codegen.hugeMethodLimit", "8000")
    # A record with too few or too many fields must reach the quarantine. Spark 3.5.0 (EMR 7.0.0 and 7.1.0) still
    # pruned a multiLine CSV read to the columns a query uses, and the first pass, which reads only some, then let
    # such records through as rows with empty fields (SPARK-46862); 3.5.1 and later never prune a multiLine read,
    # which is what this setting asks of every 3.5 (the same plan and rows there).
    spark.conf.set(CSV_COLUMN_PRUNING, "false")
    # The rules run once, above the union of the files. Left to itself the optimizer pushes every projection and
    # the second pass's anti-join into each file's branch of the union: the whole rule set is generated, compiled
    # and JIT-compiled once per file, and the anti-join's side broadcast once per file (measured at 1M rows in 12
    # files: 113 s -> 73 s for the whole job, JIT CPU 119 s -> 71 s). Filters and column pruning still reach the
    # scans (other rules).
    excluded = (spark.conf.get(EXCLUDED_RULES, None) or "").split(",")
    rules = dict.fromkeys(rule.strip() for rule in [*excluded, *UNION_PUSHDOWN_RULES] if rule.strip())
    spark.conf.set(EXCLUDED_RULES, ",".join(rules))


def run_silver(
    spark: SparkSession,
    bronze_path: str,
    silver_path: str,
    time_basis_overrides: dict[str, str] | None = None,
    mappings_path: str | None = None,
    announced: set[str] | None = None,
    max_reject_share: float | None = None,
    max_field_chars: int = MAX_FIELD_CHARS,
) -> dict:
    """Read unprocessed Bronze objects, apply Silver's rules, write Silver + quarantine + report; return the report.

    Two passes over the new CSV: the first decides per record what does not depend on time (reject reason,
    duplicate or not) and gathers each file's time-basis evidence; the second applies every rule with the decided
    basis and writes the kept records. Output is staged under ``_staging/<run_id>`` and published (partition
    folders moved into place) only after the conservation check passed. ``announced``: the objects Glue's job
    bookmark handed over (``bookmarked_bronze_objects``); without it the state file decides what is new.
    ``max_reject_share``: a file (of REJECT_GUARD_MIN_ROWS rows or more) rejecting more of its rows stops the run
    after the first pass, before anything is written (``parse_max_reject_share``); without it such a file is only
    named in a warning. ``max_field_chars``: a file with a longer field (or a record of too many fields) stops the run there too
    (``record_over_limit``).
    """
    started = time.time()
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    bronze_path, silver_path = bronze_path.rstrip("/"), silver_path.rstrip("/")
    overrides = time_basis_overrides or {}
    mappings = load_mappings(mappings_path)
    files = LakeFiles(spark)
    if files.is_file(silver_path):
        raise SilverError(
            f"The Silver path {silver_path} is a file; give a folder (it is created when missing)."
        )
    restore_interrupted_publish(files, silver_path)
    # before the state is read; a run with nothing new rewrites none of it
    files.settle_previous_files(f"{silver_path}/{STATE_FOLDER}")
    processed = read_state(files, silver_path)
    manifest_index = read_manifest_index(files, silver_path)
    planned = plan_bronze_files(files, bronze_path, processed, announced, manifest_index)
    report = {
        "format_version": REPORT_FORMAT_VERSION,
        "run_id": run_id,
        "started_at": utc_second_now(),
        "bronze_path": bronze_path,
        "silver_path": silver_path,
        "time_basis_overrides": overrides,
        "mappings": mappings["folder"],
        "mappings_fingerprint": mappings_fingerprint(mappings),
        "silver_rules_version": SILVER_RULES_VERSION,
        "new_objects_from": "state_file" if announced is None else "job_bookmark",
        "reject_share_guard": {
            "warn_above": REJECT_SHARE_WARNING,
            "fail_above": max_reject_share,
            "min_rows": REJECT_GUARD_MIN_ROWS,
        },
    }
    read_earlier = processed.keys() - {entry["suffix"] for entry in planned}
    name_objects_read_otherwise(report, processed, read_earlier, silver_path)
    if not planned:
        log.info(
            "Silver: nothing new in %s (%s); no Spark job started",
            bronze_path,
            f"{len(processed)} objects already processed"
            if announced is None
            else f"the job bookmark announced {len(announced)} objects, none left to read",
        )
        write_manifest_index(files, silver_path, manifest_index)
        return {**report, "status": "nothing_new", "files": [], "totals": {"rows_read": 0, "rows_written": 0}}

    previous = {key: spark.conf.get(key, None) for key in SESSION_SETTINGS}
    configure(spark, sum(entry["size"] for entry in planned))
    staging = f"{silver_path}/{STAGING_FOLDER}/{run_id}"
    marked, keep_staging = None, False
    try:
        file_reports = {e["suffix"]: _file_report(e) for e in planned}
        records = read_bronze(spark, planned, max_field_chars)
        if records is None:  # only empty files: no rows and no Spark job, but every field a report has
            report["null_rate"] = dict.fromkeys(NULL_RATE_COLUMNS)  # the null rates of no rows
            report["unknown_mapping_values"], report["unknown_mapping_totals"] = listed_unknown_values(
                {kind: {} for kind in UNKNOWN_VALUE_KINDS}
            )
            report["step_seconds"] = {}
            return _finish(
                files, silver_path, report, file_reports, processed, planned, started, [], manifest_index
            )
        step = _stopwatch(report)
        table_path = f"{silver_path}/{TABLE_FOLDER}"
        existing = existing_silver_keys(spark, table_path, files)

        # First pass: rejects, duplicates and evidence, per record; counted per file in one aggregation. Cached at
        # Spark's own default level for DataFrames (PySpark's MEMORY_AND_DISK also serializes the cached batches).
        phone_values = [value for value, source in mappings["channel"].items() if source == PHONE_CHANNEL]
        quarantined_before = quarantined_records(spark, f"{silver_path}/{QUARANTINE_FOLDER}", files)
        marked = (
            records.transform(screen(phone_values))
            .transform(mark_duplicates(existing))
            .transform(mark_repeated_rejects(quarantined_before))
            .persist(StorageLevel.MEMORY_AND_DISK_DESER)
        )
        try:  # the first Spark job to read Bronze: a field over the limit stops it
            counted = file_counts(marked).collect()
        except (Py4JError, PySparkException) as error:
            refusal = record_over_limit(error, spark, planned, max_field_chars)
            if refusal is None:
                raise
            raise refusal from None
        evidence, monthly_evidence = _tally_first_pass(counted, file_reports)
        # before the first write: a refused run leaves Silver, its quarantine and its state as they were. Judged on
        # the rejects not quarantined before, so that a file let through once does not stop the next day's run
        # again: the daily files are landed anew with the day before's records.
        first_time = newly_quarantined(counted)
        too_many = [] if max_reject_share is None else files_over(file_reports, max_reject_share, first_time)
        if too_many:
            raise SilverError(too_many_rejects(too_many, max_reject_share, first_time))
        readings, reading_from = _decide_readings(
            planned, evidence, monthly_evidence, overrides, file_reports
        )
        report["unknown_mapping_values"], report["unknown_mapping_totals"] = listed_unknown_values(
            unknown_mapping_values(marked, mappings)
        )
        step("first_pass_rejects_duplicates_evidence")
        stop_if_interrupted()

        quarantined = marked.filter(F.col("outcome") == "quarantined").select(*QUARANTINE_COLUMNS)
        quarantined.write.mode("overwrite").parquet(f"{staging}/{QUARANTINE_FOLDER}")
        dropped = marked.filter(F.col("outcome") != "kept").select("row_position")  # duplicates and rejects

        # Second pass: every rule with the decided time basis; kept records only, staged by month.
        observed = Observation("silver_kept")
        kept = (
            read_bronze(spark, planned, max_field_chars, readings)
            .join(F.broadcast(dropped), on="row_position", how="left_anti")
            .transform(clean_blanks)
            .transform(parse_stamps)
            .transform(apply_dated_readings(reading_from))
            .transform(lambda df: to_silver(df, mappings))
            .select(*OUTPUT_COLUMNS)
            .observe(
                observed, F.count(F.lit(1)).alias("rows"), *[F.count(c).alias(c) for c in NULL_RATE_COLUMNS]
            )
        )
        kept.write.mode("overwrite").partitionBy(*PARTITION_COLUMNS).parquet(f"{staging}/{TABLE_FOLDER}")
        step("second_pass_rules_and_write")

        new_partitions = _count_staged(spark, staging, file_reports, kept.schema, quarantined.schema)
        _check_conservation(file_reports)
        non_null = observed.get
        report["null_rate"] = {
            c: round(1 - non_null[c] / non_null["rows"], 4) if non_null["rows"] else None
            for c in NULL_RATE_COLUMNS
        }
        touched = new_partitions
        if existing is not None:
            touched = _stage_survivors(spark, existing, table_path, staging, new_partitions, kept.schema)
        stop_if_interrupted()  # the last moment to stop with nothing published; a publish once begun is finished
        keep_staging = True  # from the first move on, the staging folder may hold the only copy of a month
        partitions = _publish(files, staging, table_path, touched)
        keep_staging = False
        if any(r["rows_quarantined"] for r in file_reports.values()):
            files.rename(
                f"{staging}/{QUARANTINE_FOLDER}", f"{silver_path}/{QUARANTINE_FOLDER}/run_id={run_id}"
            )
        step("check_and_publish")
        return _finish(
            files, silver_path, report, file_reports, processed, planned, started, partitions, manifest_index
        )
    finally:  # the session may be shared (tests, a pipeline running Gold next): give SESSION_SETTINGS back
        if marked is not None:
            marked.unpersist()
        if not keep_staging:
            files.delete(staging)  # done with it, or a failed run: nothing half-written is left behind
            files.delete_if_empty(f"{silver_path}/{STAGING_FOLDER}")  # no empty folder left in a local lake
        for key, value in previous.items():
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, value)


def move_aside(silver_path: str) -> str:
    """The command that moves the Silver folder aside for a rebuild, to ``<silver>-before-upgrade`` beside it."""
    silver = silver_path.rstrip("/")
    parsed = urlparse(silver)
    if parsed.scheme.startswith("s3"):  # s3a:// on EMR; the AWS CLI takes s3:// only
        silver = f"s3://{parsed.netloc}{parsed.path}"
        return f"aws s3 mv --recursive {silver}/ {silver}-before-upgrade/"
    return f"mv {shlex.quote(silver)} {shlex.quote(silver + '-before-upgrade')}"


def reread(silver_path: str) -> str:
    """How to read every Bronze object again: delete the state and run again."""
    return (
        f"delete {silver_path}/{STATE_FILE} (on Glue with the job bookmark: aws glue reset-job-bookmark) and run "
        "again: the dedupe makes the re-read safe"
    )


def read_again(silver_path: str, section: str, rebuild: bool) -> str:
    """How to read the objects read earlier again: delete the state, or, for a state from before the rules version,
    rebuild Silver in an empty folder."""
    if not rebuild:
        return f"{reread(silver_path)} (docs/silver.md, '{section}')"
    # Silver before 2026-11-26 23:32 recorded no rules version, and its quarantine may hold a bad record in a form
    # rule 8 does not know (its raw record's JSON said neighborhood before neighborhood_raw) or once per file (before
    # rule 8): a re-read adds such a record again, where a rebuild gives each bad record once.
    return (
        f"rebuild Silver once, as a re-read could quarantine again the bad records an older Silver wrote: "
        f"{move_aside(silver_path)} (on Glue with the job bookmark, also aws glue reset-job-bookmark) and run again "
        "(docs/limits.md, 'Upgrading an existing lake')"
    )


def overrides_recorded(recorded: dict) -> bool:
    """Whether an object's state record says what the overrides made of its reading (``time_basis_override``):
    Silver records it and the object's era together (``_finish``); a record written before it did has neither."""
    return "era" in recorded


def read_with_other_overrides(recorded: dict, dataset: str, overrides: dict[str, str]) -> bool:
    """Whether an object read earlier was read with other time-basis overrides than these. An empty object never
    was (it has no rows to read); one recorded before Silver recorded overrides was, when there are overrides at all
    (as every such run warned before)."""
    if not overrides_recorded(recorded):
        return bool(overrides)
    if recorded["era"] == "empty":
        return False
    return recorded.get("time_basis_override", {}) != overrides_applied(overrides, dataset, recorded["era"])


def overrides_said(recorded: dict, dataset: str) -> str:
    """The overrides an object was read with, as --time_basis_override would give them (named by its dataset),
    from its state record: 'legacy_2022=utc', 'new_system@2025-11=utc', 'none', or 'not recorded' for an object
    read before Silver recorded them."""
    if not overrides_recorded(recorded):
        return "not recorded"
    return ",".join(overrides_given(dataset, recorded.get("time_basis_override", {}))) or "none"


def overrides_given(name: str, applied: dict) -> list[str]:
    """What the overrides made of a file's reading (``overrides_applied``'s form), as --time_basis_override items
    naming ``name`` (``parse_overrides`` reads them back): ``["new_system=utc", "new_system@2025-11=wall_clock"]``."""
    given = [f"{name}={applied['reading']}"] if "reading" in applied else []
    return given + [f"{name}@{month}={reading}" for month, reading in applied.get("reading_from", {}).items()]


def name_objects_read_otherwise(
    report: dict, processed: dict[str, dict], read_earlier: set[str], silver_path: str
) -> None:
    """Count in the report, and warn of, the objects read earlier with other mapping files, other Silver rules or
    other time-basis overrides (``read_with_other_overrides``) than this run's, or before Silver recorded which: their
    rows keep the values those gave until they are read again."""
    rebuild = any("rules" not in processed[suffix] for suffix in read_earlier)
    overrides = report["time_basis_overrides"]
    overridden_otherwise = [
        suffix
        for suffix in read_earlier
        if read_with_other_overrides(processed[suffix], dataset_of(suffix), overrides)
    ]
    if overridden_otherwise:
        report["objects_read_with_other_overrides"] = len(overridden_otherwise)
        theirs = sorted(
            {overrides_said(processed[suffix], dataset_of(suffix)) for suffix in overridden_otherwise}
        )
        log.warning(
            "%d of the %d Bronze objects read earlier were read with other time basis overrides (%s) than this run's "
            "(%s): they keep the readings decided then. To keep those, give their overrides again; to read them with "
            "this run's, %s.",
            len(overridden_otherwise),
            len(read_earlier),
            listed(theirs, 3),
            ",".join(f"{name}={reading}" for name, reading in overrides.items()) or "none",
            read_again(silver_path, "Rules", rebuild),
        )
    mapped_otherwise = [
        suffix
        for suffix in read_earlier
        if processed[suffix].get("mappings") != report["mappings_fingerprint"]
    ]
    if mapped_otherwise:
        report["objects_mapped_otherwise"] = len(mapped_otherwise)
        log.warning(
            "%d of the %d Bronze objects read earlier were mapped with other mapping files than %s holds now (or "
            "before Silver recorded which): their rows keep the values mapped then. To map them anew, %s.",
            len(mapped_otherwise),
            len(read_earlier),
            report["mappings"],
            read_again(silver_path, "A new mapping value", rebuild),
        )
    other_rules = [
        suffix for suffix in read_earlier if processed[suffix].get("rules") != report["silver_rules_version"]
    ]
    if other_rules:
        report["objects_read_with_other_rules"] = len(other_rules)
        log.warning(
            "%d of the %d Bronze objects read earlier were read with other Silver rules than this job's (version %s; "
            "or before Silver recorded which): their rows keep the values those rules gave. To read them with these "
            "rules, %s.",
            len(other_rules),
            len(read_earlier),
            report["silver_rules_version"],
            read_again(silver_path, "A changed rule", rebuild),
        )


def _tally_first_pass(
    counted: list, file_reports: dict[str, dict]
) -> tuple[dict[str, dict], dict[str, dict]]:
    """Rows read, duplicates and rejects by reason per file (``file_counts``' rows) added to ``file_reports``; returns
    each file's summed time-basis evidence, and the same per month of each file (yyyymm -> summed evidence)."""
    evidence: dict[str, dict] = {}
    monthly: dict[str, dict[int, dict]] = {}
    for row in counted:
        counts = file_reports[row["source_file"]]
        counts["rows_read"] += row["rows"]
        if row["outcome"] == "duplicate":
            counts["duplicates_removed"] += row["rows"]
        if row["reject_reason"]:
            reasons = counts["rejects_by_reason"]
            reasons[row["reject_reason"]] = reasons.get(row["reject_reason"], 0) + row["rows"]
        tallies = [evidence.setdefault(row["source_file"], dict.fromkeys(EVIDENCE_COLUMNS, 0))]
        if row["evidence_month"] is not None:  # none for records outside the sample, or without a stamp
            months = monthly.setdefault(row["source_file"], {})
            tallies.append(months.setdefault(row["evidence_month"], dict.fromkeys(EVIDENCE_COLUMNS, 0)))
        for tally in tallies:
            for column in EVIDENCE_COLUMNS:
                tally[column] += row[column] or 0
    for counts in file_reports.values():
        counts["rejects_by_reason"] = most_first(counts["rejects_by_reason"])
        if counts["rows_read"]:
            counts["reject_share"] = round(rejected(counts) / counts["rows_read"], 4)
    return evidence, monthly


def _decide_readings(
    planned: list[dict],
    evidence: dict[str, dict],
    monthly_evidence: dict[str, dict],
    overrides: dict[str, str],
    file_reports: dict[str, dict],
) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """Each non-empty file's time-basis reading, and the dated overrides of the files that have some (source file
    -> {month: reading}); its decision and evidence go into its file report, with the months whose own evidence
    reads otherwise than the file is read, which the run warns of.

    The months are compared with what the file's evidence decides, not with an undated override: an override sets
    the reading applied (every month of a file overridden against its evidence would read otherwise, daily), while a
    month unlike the rest of its file is what tells a part-way change. From a dated override's month on, they are
    compared with its reading: the override said how those months read.
    """
    readings, reading_from = {}, {}
    for entry in planned:
        if entry["era"] == "empty":
            continue
        suffix, dataset, era = entry["suffix"], entry["dataset"], entry["era"]
        months = monthly_evidence.get(suffix, {})
        applied = overrides_applied(overrides, dataset, era)
        dated = applied.get("reading_from", {})
        decision, by_evidence = file_reading(evidence.get(suffix, {}), months, era, applied)
        decided = months_decided(months, era)
        otherwise = months_read_otherwise(decided, by_evidence["reading"], dated)
        decision["months"] = {
            "with_evidence": len(months),
            "compared_with": by_evidence["reading"],
            "read_otherwise": otherwise,
        }
        readings[suffix] = decision["reading"]
        if dated:
            decision["reading_from"] = reading_from[suffix] = dated
        file_reports[suffix]["time_basis"] = decision
        if otherwise:
            log.warning(
                "%s reads as %s (%s%s), but its own evidence reads %s otherwise: the export may have changed its time "
                "basis part-way, and those months' times may be hours off. %s See docs/silver.md, \"A file whose time "
                'basis changes part-way".',
                suffix,
                by_evidence["reading"],
                by_evidence["basis"],
                override_clause(decision),
                listed([f"{month} as {seen['reading']}" for month, seen in otherwise.items()]),
                part_way_advice(decided, by_evidence["reading"], dataset, era, overrides),
            )
    return readings, reading_from


def dated_overrides_to_suggest(decided: dict[str, dict], reading: str) -> dict[str, str]:
    """The dated overrides under which each month of a file conclusive on its own (``months_decided``) is read as its
    evidence says: from the file's reading, a month at each change of reading (``{}`` when every such month reads as
    the file). A change at the first conclusive month is left out when more follow: the file is then decided on its
    months before the next, which read so."""
    changes, current = {}, reading
    for month, seen in decided.items():
        if seen["reading"] != current:
            current = changes[month] = seen["reading"]
    first = next(iter(decided), None)
    if first in changes and len(changes) > 1:
        del changes[first]
    return changes


def part_way_advice(
    decided: dict[str, dict], reading: str, dataset: str, era: str, overrides: dict[str, str]
) -> str:
    """The part-way warning's last sentence: the dated overrides that read each month as its own evidence does,
    named as the file's dated overrides are (its dataset, else its era), in place of those it has."""
    has_dated = bool(dated_overrides(overrides, dataset, era))
    name = dated_overrides_name(overrides, dataset, era)
    changes = dated_overrides_to_suggest(decided, reading)
    if not changes:
        return (
            "If it did not, leaving out the file's dated overrides reads each month as its own evidence does."
        )
    given = ",".join(overrides_given(name, {"reading_from": changes}))
    instead = ", in place of the file's dated overrides," if has_dated else ""
    return f"If it did, --time_basis_override {given}{instead} reads each month as its own evidence does."


def override_clause(decision: dict) -> str:
    """What the overrides make of a file's reading, for the part-way warning: '', '; read as utc by the override',
    '; utc from 2026-03 by the override', '; read as utc, wall_clock from 2026-03 by the overrides'."""
    said = [f"read as {decision['reading']}"] if decision["basis"] == "override" else []
    said += [f"{reading} from {month}" for month, reading in (decision.get("reading_from") or {}).items()]
    return f"; {', '.join(said)} by the override{'s' if len(said) > 1 else ''}" if said else ""


def _count_staged(
    spark: SparkSession,
    staging: str,
    file_reports: dict[str, dict],
    table_schema: T.StructType,
    quarantine_schema: T.StructType,
) -> set[tuple[int, int]]:
    """Rows written and quarantined per file, counted from the staged output; the months written.

    The schemas are the written DataFrames' own, so that a staged folder without rows still reads.
    """
    partitions = set()
    table = spark.read.schema(table_schema).parquet(literal(f"{staging}/{TABLE_FOLDER}"))
    for row in table.groupBy("source_file", *PARTITION_COLUMNS).count().collect():
        file_reports[row["source_file"]]["rows_written"] += row["count"]
        partitions.add((row["open_year"], row["open_month"]))
    quarantine = spark.read.schema(quarantine_schema).parquet(literal(f"{staging}/{QUARANTINE_FOLDER}"))
    for row in quarantine.groupBy("source_file").count().collect():
        file_reports[row["source_file"]]["rows_quarantined"] += row["count"]
    return partitions


def _stage_survivors(
    spark: SparkSession,
    existing: DataFrame,
    table_path: str,
    staging: str,
    new_partitions: set[tuple[int, int]],
    schema: T.StructType,
) -> set[tuple[int, int]]:
    """Add to the staged months the existing rows they keep, for every month new rows land in or leave; return
    those months (a case whose corrected open date moved it leaves its old month)."""
    new_ids = spark.read.schema(schema).parquet(literal(f"{staging}/{TABLE_FOLDER}")).select("case_id")
    superseded = existing.join(new_ids, on="case_id", how="left_semi").select(*PARTITION_COLUMNS).distinct()
    touched = new_partitions | {(r["open_year"], r["open_month"]) for r in superseded.collect()}
    if not touched:
        return touched
    in_touched = F.lit(False)
    for year, month in touched:
        in_touched = in_touched | ((F.col("open_year") == year) & (F.col("open_month") == month))
    # read by the run's schema, not the files': months written before a column was added (neighborhood_raw) give it
    # as null instead of stopping the run on a column they lack
    live = spark.read.schema(schema).parquet(literal(table_path)).filter(in_touched)
    without_id = Observation("silver_survivors")
    survivors = (
        live.join(new_ids, on="case_id", how="left_anti")
        .select(*OUTPUT_COLUMNS)
        .observe(without_id, F.count(F.when(F.col("case_id").isNull(), 1)).alias("rows"))
    )
    survivors.write.mode("append").partitionBy(*PARTITION_COLUMNS).parquet(f"{staging}/{TABLE_FOLDER}")
    if without_id.get["rows"]:  # a Parquet file of another table in a month: its rows went on as empty cases
        strangers = live.filter(F.col("case_id").isNull()).select(F.input_file_name()).distinct()
        raise SilverError(
            f"The Silver table holds {without_id.get['rows']} rows without a case_id, which Silver never writes: a "
            f"file of another table or schema lies in it ({', '.join(r[0] for r in strangers.limit(3).collect())}); "
            "move it out of the table, then run Silver again. Nothing was published."
        )
    return touched


def _publish(files: LakeFiles, staging: str, table_path: str, touched: set[tuple[int, int]]) -> list[str]:
    """Swap every touched month of the table for its staged folder (a month left without rows is removed).

    Per month: the live folder is moved aside to ``<staging>/retired/<month>``, the staged folder is moved in and the
    retired copy deleted; ``<staging>/publishing.json`` records how far the swap got. A swap that stops anywhere,
    also part-way through a folder move (on S3 a move is a copy and a delete per object), is undone by
    ``_put_back``: here, or by the next run if this one dies (``restore_interrupted_publish``). On a failure the
    staging folder is kept and PublishError raised; the state is not saved, so the next run redoes the run (months
    already swapped hold the rows it will write again).
    """
    published = []
    for year, month in sorted(touched):
        partition = f"open_year={year}/open_month={month}"
        live, staged = f"{table_path}/{partition}", f"{staging}/{TABLE_FOLDER}/{partition}"
        retired = f"{staging}/retired/{partition}"
        step = "moving_aside"  # not recorded: a month the record does not name was being moved aside
        try:
            if files.exists(live):
                files.rename(live, retired)
            _record_step(files, staging, partition, "moving_in")
            step = "moving_in"
            if files.exists(staged):
                files.rename(staged, live)
            _record_step(files, staging, partition, "published")
            step = "published"
            files.delete(retired)
        except BaseException as error:  # an interrupt between two moves must not leave a month half-moved
            raise _stopped(files, staging, table_path, partition, step, error) from error
        published.append(partition)
    return published


def _record_step(files: LakeFiles, staging: str, partition: str, step: str) -> None:
    """Record in ``<staging>/publishing.json`` which step of swapping a month starts (or is done)."""
    files.write_text(f"{staging}/publishing.json", json.dumps({"partition": partition, "step": step}))


def _put_back(files: LakeFiles, staging: str, table_path: str, partition: str, step: str) -> None:
    """Put a month back as it was before a swap that stopped at ``step``.

    ``moving_aside``: the live folder holds the files not moved yet, the retired folder the others;
    ``moving_in``: the live folder holds only (part of) the staged month, the retired folder the whole old month;
    ``putting_back`` (an earlier put-back that stopped): as ``moving_aside``; ``published``: the swap is done, only
    the retired copy is left to delete. Each step can be redone: a put-back that stops is finished by the next run.
    """
    live, retired = f"{table_path}/{partition}", f"{staging}/retired/{partition}"
    if step == "published":
        files.delete(retired)
        return
    if step == "moving_in":
        files.delete(live)
        _record_step(files, staging, partition, "putting_back")
    if files.exists(retired):
        for entry in files.list_files(retired):
            target = f"{live}/{entry['relative']}"
            if files.exists(target):  # a whole copy is already there (S3 copies an object, then deletes it)
                files.delete(entry["path"])
            else:
                files.rename(entry["path"], target)
        files.delete(retired)


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
        more = "a local run: SPARK_DRIVER_MEMORY, e.g. 8g; on Glue: a larger worker type"
        return memory.group(0), f"Spark ran out of memory: give it more ({more})"
    return None


def _stopped(
    files: LakeFiles, staging: str, table_path: str, partition: str, step: str, error: BaseException
) -> PublishError:
    """Put back the month whose swap stopped at ``step``; the PublishError that says where things are."""
    stopped = f"Publishing stopped at {partition} ({one_line(error)})"
    if step == "published":  # only deleting the old copy failed: the next run deletes it
        return PublishError(
            f"{stopped} after swapping it in: it and earlier months are published, later ones are unchanged; the "
            f"next run deletes the old copy left in {staging}/retired/{partition} and redoes them."
        )
    try:
        _put_back(files, staging, table_path, partition, step)
    except BaseException as failure:
        return PublishError(
            f"{stopped} and putting the month back failed ({one_line(failure)}): its previous "
            f"rows are kept in {staging}/retired/{partition}, which the next run puts back into "
            f"{table_path}/{partition} before anything else (do not delete {staging})."
        )
    return PublishError(
        f"{stopped}: earlier months are published, this one is back as it was and later ones are unchanged; the "
        f"next run redoes them ({staging} is kept)."
    )


def restore_interrupted_publish(files: LakeFiles, silver_path: str) -> None:
    """Put back a month an earlier run left moved aside under ``_staging/<run>/retired/`` (a run that died while
    swapping it, e.g. at Glue's timeout), then delete the staging folders earlier runs kept, and ``_staging`` once
    empty; SilverError if putting a month back fails (its folder is kept).

    Without this the redo would rebuild the month's surviving rows from the damaged live folder and lose the rest for
    good. Once its months are back, an earlier run's staging folder holds nothing this run needs: what that run did
    not record in the state, this run reads again (a run killed after saving its state left nothing to redo).
    Assumes one Silver run at a time (``MaxConcurrentRuns: 1`` in ``glue/job_definition.json``).
    """
    staging_root, table_path = f"{silver_path}/{STAGING_FOLDER}", f"{silver_path}/{TABLE_FOLDER}"
    for run in files.list_dirs(staging_root):
        staging = f"{staging_root}/{run}"
        for year in files.list_dirs(f"{staging}/retired"):
            for month in files.list_dirs(f"{staging}/retired/{year}"):
                partition = f"{year}/{month}"
                try:
                    record = f"{staging}/publishing.json"
                    if files.exists(record):
                        last = json.loads(files.read_text(record))
                        step = last["step"] if last.get("partition") == partition else "moving_aside"
                    elif files.exists(f"{staging}/{TABLE_FOLDER}/{partition}"):
                        # A version before publishing.json that stopped before moving the staged month in.
                        step = "moving_aside"
                    else:
                        # A version before publishing.json deleted the retired copies only with the whole staging
                        # folder, so a run of it that stopped after a swap left the old month here beside the new
                        # one (or beside none: the month was left without rows). Putting it back would add every
                        # row a second time.
                        step = "published"
                    _put_back(files, staging, table_path, partition, step)
                except Exception as error:
                    raise SilverError(
                        f"An interrupted publish (run {run}) left the previous rows of {partition} in "
                        f"{staging}/retired/{partition} and putting them back failed ({one_line(error)}); fix the cause and run "
                        f"again (do not delete {staging})."
                    ) from error
                log.warning(
                    "Silver: run %s stopped while publishing %s (%s); put back in order", run, partition, step
                )
        try:
            files.delete(staging)
        except Exception as error:  # only space is at stake: the next run tries again
            log.warning(
                "Silver: could not delete the staging folder run %s kept (%s): %s", run, staging, error
            )
        else:
            log.warning(
                "Silver: deleted the staging folder run %s kept (%s); whatever that run did not record in the "
                "state, this run reads again",
                run,
                staging,
            )
    # a run killed after saving its state left its staging folder: the next run finds nothing new and ends here
    files.delete_if_empty(staging_root)


def utc_second_now() -> str:
    """Now in UTC to the second, as the report's times are written: ``2026-11-25T17:40:11Z`` (RFC 3339 with Z, as
    Bronze's and Gold's documents write theirs)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _stopwatch(report: dict):
    """A callable that records the seconds since its previous call under ``report["step_seconds"][name]``."""
    report["step_seconds"], last = {}, [time.time()]

    def step(name: str) -> None:
        now = time.time()
        report["step_seconds"][name] = round(now - last[0], 1)
        last[0] = now

    return step


def _file_report(entry: dict) -> dict:
    """An empty per-file entry of the quality report."""
    return {
        "source_file": entry["suffix"],
        "dataset": entry["dataset"],
        "era": entry["era"],
        "ingested_at": entry["ingested_at"],
        "ingested_at_from": entry["ingested_at_from"],
        "bytes": entry["size"],
        "non_utf8_at": entry.get("non_utf8_at"),
        "rows_read": 0,
        "rows_written": 0,
        "rows_quarantined": 0,
        "duplicates_removed": 0,
        "rejects_by_reason": {},
        "reject_share": None,  # rejected records / rows read, those already quarantined included
        "time_basis": None,
    }


def _check_conservation(file_reports: dict[str, dict]) -> None:
    """Per file: rows read (first pass) = written + quarantined (counted in the staged output) + duplicates.

    SilverError otherwise: nothing is published.
    """
    for name, counts in file_reports.items():
        accounted = counts["rows_written"] + counts["rows_quarantined"] + counts["duplicates_removed"]
        if accounted != counts["rows_read"]:
            raise SilverError(
                f"Conservation failed for {name}: {counts['rows_read']} rows read but {accounted} accounted for "
                f"({counts['rows_written']} written, {counts['rows_quarantined']} quarantined, "
                f"{counts['duplicates_removed']} duplicates); nothing was published."
            )


def _finish(
    files: LakeFiles,
    silver_path: str,
    report: dict,
    file_reports: dict[str, dict],
    processed: dict[str, dict],
    planned: list[dict],
    started: float,
    partitions: list[str],
    manifest_index: dict,
) -> dict:
    """Totals, per-era counts, the report files, the processed-objects state and the manifest index; log a
    one-screen summary."""
    per_file = list(file_reports.values())
    keys = ("rows_read", "rows_written", "rows_quarantined", "duplicates_removed")
    totals = {k: sum(f[k] for f in per_file) for k in keys}
    rejects: dict[str, int] = {}
    per_era: dict[str, dict] = {}
    for entry in per_file:
        for reason, count in entry["rejects_by_reason"].items():
            rejects[reason] = rejects.get(reason, 0) + count
        era = per_era.setdefault(entry["era"], {k: 0 for k in ("files", *keys)})
        era["files"] += 1
        for k in keys:
            era[k] += entry[k]
    report.update(
        status="ok",
        finished_at=utc_second_now(),
        seconds=round(time.time() - started, 1),
        totals=totals,
        per_era=per_era,
        rejects_by_reason=most_first(rejects),
        partitions_written=partitions,
        files=per_file,
    )
    report["reject_share_guard"]["files_over"] = [
        entry["source_file"] for entry in files_over(file_reports, REJECT_SHARE_WARNING)
    ]
    text = json.dumps(report, indent=1, default=str)
    files.write_text(f"{silver_path}/{QUALITY_FOLDER}/{report['run_id']}.json", text)
    files.write_text(f"{silver_path}/{QUALITY_FOLDER}/latest.json", text)
    processed.update({entry["suffix"]: state_record(entry, report) for entry in planned})
    files.write_text(f"{silver_path}/{STATE_FILE}", json.dumps({"objects": processed}, indent=1))
    write_manifest_index(files, silver_path, manifest_index)
    # a summary that warns is logged as a WARNING, so that a filter on the level finds it
    warns = bool(report["reject_share_guard"]["files_over"])
    log.log(logging.WARNING if warns else logging.INFO, "%s", summary(report))
    return report


SUMMARY_VALUES = 3  # unknown mapping values named per kind in the log's summary
REPORT_VALUES = 100  # unknown mapping values listed per kind in the quality report
# The reject-share guard. A file whose records are mostly rejected (the City changed a date format, a column's
# meaning, the quoting) is quarantined record by record and conservation still holds: without the guard the run
# succeeds and on AWS nobody is told. The samples reject none of their rows, the benchmark's data about 0.5 %.
REJECT_SHARE_WARNING = 0.01  # a file rejecting more of its rows is named in a WARNING of the summary
# Smaller files are not judged: a few bad records in a new year's first day of cases are a large share by chance,
# and the City's files are larger (a yearly file a few hundred thousand rows, NEW SYSTEM's thousands).
REJECT_GUARD_MIN_ROWS = 1000
REJECT_REASONS_NAMED = 3  # reasons named per file in the warning and the refusal (most records, then by name)


def rejected(entry: dict) -> int:
    """The rejected records a file holds (its ``rejects_by_reason``: those already quarantined included)."""
    return sum(entry["rejects_by_reason"].values())


def newly_quarantined(counted: list) -> dict[str, int]:
    """Per file, the rejects the run quarantines (``file_counts``' rows): not those already in the quarantine or in
    an earlier file of the run (``mark_repeated_rejects`` makes them duplicates)."""
    found: dict[str, int] = {}
    for row in counted:
        if row["outcome"] == "quarantined":
            found[row["source_file"]] = found.get(row["source_file"], 0) + row["rows"]
    return found


def files_over(
    file_reports: dict[str, dict], share: float, judged: dict[str, int] | None = None
) -> list[dict]:
    """The file reports of the files of REJECT_GUARD_MIN_ROWS rows or more that reject more than ``share`` of them:
    all their rejects, or the ``judged`` count per file when given (``newly_quarantined``)."""
    return [
        entry
        for entry in file_reports.values()
        if entry["rows_read"] >= REJECT_GUARD_MIN_ROWS
        and (rejected(entry) if judged is None else judged.get(entry["source_file"], 0)) / entry["rows_read"]
        > share
    ]


def percent(share: float, beside: float | None = None) -> str:
    """0.05 -> '5 %', 0.83417 -> '83.42 %', 0.005 -> '0.5 %'; with ``beside`` (a threshold the sentence names too),
    as many more places as it takes not to read as it: 0.010009 beside 0.01 -> '1.001 %', not '1 %'."""
    places = 2
    while beside is not None and share != beside:
        shown, threshold = round(share * 100, places), round(beside * 100, places)
        # stop once they differ, or once more places change neither: two floats 100 times as large can be one
        # float (0.39015527635963504 and 0.390155276359635), which no number of places told apart
        if shown != threshold or (shown == share * 100 and threshold == beside * 100):
            break
        places += 1
    # every place kept ("g" would keep 6 digits: 1.0000012 % read as "1 %")
    return f"{round(share * 100, places):.{places}f}".rstrip("0").rstrip(".") + " %"


def threshold_percent(threshold: float) -> str:
    """A threshold in percent, every place it was given with: 0.05 -> '5 %', 0.00125 -> '0.125 %' (``percent`` said
    '0.12 %', and a share beside 0.12346 read '12.3461 %' above '12.35 %')."""
    return f"{(decimal.Decimal(repr(threshold)) * 100).normalize():f} %"


def rejects_said(entry: dict, first_time: int | None = None, threshold: float | None = None) -> str:
    """'dataset=…/x.csv rejects 1001 of its 1200 rows (83.42 %: unparsable_opened_at 1000, malformed_record 1)';
    with ``first_time`` under the rejects, '…; 100 of them not in the quarantine yet, 8.33 %)'. Shares beside the
    ``threshold`` the sentence judges them against (``percent``)."""
    reasons = list(most_first(entry["rejects_by_reason"]).items())[:REJECT_REASONS_NAMED]
    more = len(entry["rejects_by_reason"]) - len(reasons)
    named = ", ".join(f"{reason} {count}" for reason, count in reasons) + (f", {more} more" if more else "")
    if first_time is not None and first_time != rejected(entry):
        named += (
            f"; {first_time} of them not in the quarantine yet, "
            f"{percent(first_time / entry['rows_read'], threshold)}"
        )
    share = percent(rejected(entry) / entry["rows_read"], threshold)
    return f"{entry['source_file']} rejects {rejected(entry)} of its {entry['rows_read']} rows ({share}: {named})"


def too_many_rejects(
    over: list[dict], max_reject_share: float, first_time: dict[str, int] | None = None
) -> str:
    """The one sentence a run stopped by ``--max_reject_share`` ends with (``first_time``: ``newly_quarantined``)."""
    said = [
        rejects_said(entry, (first_time or {}).get(entry["source_file"]), max_reject_share) for entry in over
    ]
    return (
        f"Silver stopped before writing anything, as {' and '.join(said)}, above "
        f"--max_reject_share {decimal.Decimal(repr(max_reject_share)).normalize():f} "
        f"({threshold_percent(max_reject_share)}): find the cause in "
        f"{'its' if len(over) == 1 else 'their'} records (a changed date format, column or quoting) and run "
        "again, or run with a higher --max_reject_share to quarantine them (docs/silver.md, 'A file mostly rejected')."
    )


def unknown_values_line(kind: str, listed: dict[str, int], total: dict[str, int]) -> str:
    """The summary's line for one kind: the values with most rows (the report's order), then how many more."""
    named = list(listed.items())[:SUMMARY_VALUES]
    line = f"  unknown {kind} values, passed through: " + ", ".join(
        f"{value!r} ({how_many(rows, 'row')})" for value, rows in named
    )
    if total["values"] > len(named):
        more = f"{total['values'] - len(named)} more ({how_many(total['rows'] - sum(r for _, r in named), 'row')})"
        where = (
            " in the report"
            if total["values"] <= len(listed)
            else f"; the report lists the {len(listed)} with most rows"
        )
        line += f" and {more}{where}"
    return line


def how_many(count: int, noun: str) -> str:
    """'1 row', '5 rows', '2 months'."""
    return f"{count} {noun}{'s' if count != 1 else ''}"


def summary(report: dict) -> str:
    """A one-screen text summary of a quality report."""
    totals = report.get("totals", {})
    lines = [
        f"Silver run {report['run_id']}: {totals.get('rows_read', 0)} read, {totals.get('rows_written', 0)} written, "
        f"{totals.get('rows_quarantined', 0)} quarantined, {totals.get('duplicates_removed', 0)} duplicates removed "
        f"({report.get('seconds', '?')} s)",
    ]
    for entry in report.get("files", []):
        basis = entry.get("time_basis") or {}
        dated = basis.get("reading_from") or {}
        otherwise = len((basis.get("months") or {}).get("read_otherwise") or {})
        not_utf8 = entry.get("non_utf8_at")
        lines.append(
            f"  {entry['source_file']} [{entry['era']}] read {entry['rows_read']} -> {entry['rows_written']} "
            f"+ {entry['rows_quarantined']} quarantined + {entry['duplicates_removed']} dup; "
            f"time basis {basis.get('reading')} ({basis.get('basis')})"
            + "".join(f", {reading} from {month} (override)" for month, reading in dated.items())
            + (f", {how_many(otherwise, 'month')} read otherwise" if otherwise else "")
            + (f", not UTF-8 from byte {not_utf8:,}" if not_utf8 is not None else "")
        )
    if report.get("rejects_by_reason"):
        lines.append(f"  rejects: {report['rejects_by_reason']}")
    guard = report.get("reject_share_guard", {})
    for entry in report.get("files", []):
        if entry["source_file"] in guard.get("files_over", []):
            lines.append(
                f"  WARNING: {rejects_said(entry, threshold=guard['warn_above'])}, above the "
                f"{threshold_percent(guard['warn_above'])} Silver warns at: a "
                "changed date format, column or quoting? Its rejected records are in the quarantine."
            )
    for kind, listed in report.get("unknown_mapping_values", {}).items():
        if listed:
            lines.append(unknown_values_line(kind, listed, report["unknown_mapping_totals"][kind]))
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------------------
# Entry point
# ----------------------------------------------------------------------------------------------------------
REQUIRED_ARGS = ["bronze_path", "silver_path"]
OPTIONAL_ARGS = ["JOB_NAME", "time_basis_override", "mappings_path", "max_reject_share", "max_field_chars"]
# Glue's default; with "job-bookmark-enable" (or "-pause") the job reads what the bookmark hands over
BOOKMARKS_OFF = "job-bookmark-disable"


def parse_args(argv: list[str]) -> dict[str, str]:
    """Glue-style ``--name value`` (or ``--name=value``) arguments; getResolvedOptions is strict, so only names present
    are asked for. SilverError when a required one is missing or has no value.

    Glue passes its own ``--job-bookmark-option``, which getResolvedOptions returns as ``job_bookmark_option``.
    """
    given = given_names(argv)
    _refuse_misspelled(given)
    _refuse_repeated_or_stray(argv)
    wanted = REQUIRED_ARGS + [name for name in OPTIONAL_ARGS if name in given]
    try:
        if getResolvedOptions is not None:
            args = getResolvedOptions(argv, wanted)
        else:  # pragma: no cover - only without the awsglue package
            args = _parse_args_without_glue(argv, wanted)
    except GlueArgumentError as error:
        raise SilverError(
            f"The job's arguments are incomplete ({error}): --bronze_path and --silver_path are required, and every "
            "argument given needs a value."
        ) from error
    # An unset shell variable: a blank path would be the current folder or Spark's empty-Path error, and a blank
    # --mappings_path would quietly be the bundled mappings (a path given is used "and only there").
    blank = [f"--{name}" for name in wanted if name.endswith("_path") and not args[name].strip()]
    if blank:
        raise SilverError(f"{' and '.join(blank)} must name a folder, not be blank.")
    return args


def _refuse_misspelled(given: set[str]) -> None:
    """SilverError for an argument named almost like one of the job's (``--time_basis_overide``).

    getResolvedOptions returns only the names asked for, so a misspelled optional argument would be ignored
    silently (a forgotten override changes the data). Unknown names in general cannot be refused: Glue passes
    its own (``--JOB_ID``, ``--TempDir``, ``--enable-metrics``, …), none of them close to the job's.
    """
    ours = {name.lower(): name for name in [*REQUIRED_ARGS, *OPTIONAL_ARGS]}
    for name in sorted(given - set(ours.values())):
        close = difflib.get_close_matches(name.lower(), ours, n=1, cutoff=0.8)
        if close:
            raise SilverError(f"Unknown argument --{name}: did you mean --{ours[close[0]]}?")


def _refuse_repeated_or_stray(argv: list[str]) -> None:
    """SilverError for one of the job's arguments given twice, or followed by a second value: getResolvedOptions keeps
    the last of two, and drops a word after a value (``--time_basis_override new_system=utc legacy_2015=utc`` read
    only new_system's). Glue's own arguments are left alone: Glue passes them as it will."""
    ours, seen = {*REQUIRED_ARGS, *OPTIONAL_ARGS}, set()
    words = argv[1:]
    for index, word in enumerate(words):
        name = word[2:].split("=", 1)[0] if word.startswith("--") else None
        if name not in ours:
            continue
        if name in seen:
            raise SilverError(f"--{name} is given twice; give it once.")
        seen.add(name)
        value = index if "=" in word else index + 1  # the word holding its value
        has_value = "=" in word or (value < len(words) and not words[value].startswith("--"))
        stray = words[value + 1] if has_value and value + 1 < len(words) else "--"
        if not stray.startswith("--"):
            joined = " (join overrides with commas: a=x,b=y)" if name == "time_basis_override" else ""
            raise SilverError(
                f"--{name} takes one value, and {stray!r} follows it as a word of its own{joined}."
            )


def given_names(argv: list[str]) -> set[str]:
    """The names of the arguments given, ``--name value`` and ``--name=value`` alike."""
    return {arg[2:].split("=", 1)[0] for arg in argv[1:] if arg.startswith("--")}


def ignored_arguments(argv: list[str]) -> list[str]:
    """The ``--names`` given that the job does not read. On Glue they are Glue's own (``--JOB_ID``, ``--TempDir``,
    …); run locally, nothing else passes them, so main names them in a warning."""
    return sorted(given_names(argv) - {*REQUIRED_ARGS, *OPTIONAL_ARGS, "job-bookmark-option"})


def _parse_args_without_glue(argv: list[str], wanted: list[str]) -> dict[str, str]:  # pragma: no cover
    """parse_args with the standard library, as getResolvedOptions would (GlueArgumentError on a missing value)."""
    import argparse

    parser = argparse.ArgumentParser(exit_on_error=False)
    for name in wanted:
        parser.add_argument(f"--{name}")
    parser.add_argument("--job-bookmark-option", dest="job_bookmark_option", default=BOOKMARKS_OFF)
    try:
        args = vars(parser.parse_known_args(argv[1:])[0])
    except argparse.ArgumentError as error:
        raise GlueArgumentError(str(error)) from error
    missing = [f"--{name}" for name in wanted if args[name] is None]
    if missing:
        raise GlueArgumentError(f"the following arguments are required: {', '.join(missing)}")
    return args


class Interrupted(SilverError):
    """Ctrl-C (SIGINT) or SIGTERM stopped the run before it published anything."""

    MESSAGE = "Interrupted before publishing: nothing was published; a rerun redoes the run."
    TERMINATED = "Stopped by SIGTERM before publishing: nothing was published; a rerun redoes the run."

    @classmethod
    def message(cls) -> str:
        """The sentence for the signal that stopped the run (``STOPPED_BY``)."""
        return cls.TERMINATED if stopped_exit() == TERMINATED_EXIT else cls.MESSAGE


INTERRUPTED = threading.Event()
INTERRUPTED_EXIT = 130  # the shell's code for a process stopped by Ctrl-C (128 + SIGINT)
TERMINATED_EXIT = 143  # and by SIGTERM (128 + 15): kill, timeout, systemd, docker stop
STOPPED_BY: list[int] = []  # the signal that set INTERRUPTED (none when a test sets it: taken as Ctrl-C)


def stopped_exit() -> int:
    """The exit code of a run a signal stopped: 143 after SIGTERM, 130 after Ctrl-C."""
    return TERMINATED_EXIT if STOPPED_BY[:1] == [signal.SIGTERM] else INTERRUPTED_EXIT


def cancel_on_interrupt(spark: SparkSession):
    """Make Ctrl-C (SIGINT) and SIGTERM cancel the running Spark jobs and stop the run before it publishes
    (``stop_if_interrupted``); a publish once begun is finished.

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


def stop_if_interrupted() -> None:
    """Interrupted when Ctrl-C was pressed or SIGTERM came (a moment with nothing published, so nothing is lost)."""
    if INTERRUPTED.is_set():
        raise Interrupted(Interrupted.message())


@contextlib.contextmanager
def one_run_at_a_time(silver_path: str) -> Iterator[None]:
    """Hold an exclusive lock on a local Silver folder for the run (made when missing, removed again if still empty);
    SilverError at once when another Silver run holds it.

    ``restore_interrupted_publish`` takes every staging folder it finds for one a dead run left: a second run started
    beside a live one deleted that run's staging folder (it then failed on a Spark write error), and one started
    while the other swapped months could put back a month mid-swap. On Glue ``MaxConcurrentRuns: 1`` keeps runs
    apart; a local run has this lock (``flock`` on the folder itself, released by the system when the process dies).
    """
    parsed = urlparse(silver_path)
    local = parsed.path if parsed.scheme == "file" else silver_path if not parsed.scheme else None
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not a POSIX system
        fcntl = None
    folder = os.path.abspath(local) if local else ""
    if local is None or fcntl is None or os.path.isfile(folder):  # a file: run_silver refuses it in its words
        yield
        return
    made, missing = [], folder  # the folders this run makes (parents included), deepest first
    while not os.path.exists(missing):
        made.append(missing)
        missing = os.path.dirname(missing)
    try:
        os.makedirs(folder, exist_ok=True)
        handle = os.open(folder, os.O_RDONLY)
    except OSError as error:
        raise SilverError(f"Cannot use the Silver path {silver_path}: {error.strerror or error}.") from None
    locked = False
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SilverError(
                f"Another Silver run is writing {silver_path}; wait for it to end, then run Silver again."
            ) from None
        locked = True
        yield
    finally:
        # removed only while still empty (a run that wrote nothing leaves no folder behind), and only by the lock's
        # holder before it lets go: a run refused the lock removed the folder the holder made (both found none)
        for path in made if locked else []:
            try:
                os.rmdir(path)
            except OSError:
                break
        os.close(handle)


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


def glue_or_spark() -> tuple[SparkSession, object | None]:
    """GlueContext's session on AWS Glue; a plain local SparkSession elsewhere (Glue's jars exist only on AWS)."""
    from pyspark import SparkConf
    from pyspark.context import SparkContext

    # on Glue (and under spark-submit) the application already has its name
    context = SparkContext.getOrCreate(SparkConf().setIfMissing("spark.app.name", "boston311-silver"))
    if GlueContext is not None:
        try:
            glue_context = GlueContext(context)
            return glue_context.spark_session, glue_context
        except Exception as error:  # locally: "'JavaPackage' object is not callable"
            log.info("GlueContext unavailable (%s); using a plain SparkSession", error)
    # Set on the session, not the builder: with a context already there, builder settings only earn the warning
    # "Using an existing Spark session; only runtime SQL configurations will take effect".
    spark = SparkSession.builder.getOrCreate()
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    spark.conf.set("spark.sql.sources.partitionOverwriteMode", "dynamic")
    spark.sparkContext.setLogLevel("WARN")  # Spark's INFO lines would bury the job's own summary
    return spark, None


def main(argv: list[str] | None = None) -> int:
    """Run the Silver job from Glue-style arguments; 0 on success, 1 with one sentence on a user error or a Spark
    failure, 130 when Ctrl-C stopped it before publishing, 143 when SIGTERM did; 2 when stdout refuses --help."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("py4j").setLevel(logging.WARNING)  # its INFO lines carry traces of closed connections
    argv = list(sys.argv if argv is None else argv)
    if {"-h", "--help"} & set(argv[1:]):  # getResolvedOptions' own help lists Glue's arguments, not the job's
        return 0 if help_to_stdout(f"{__doc__}\n", "silver_job:") else 2
    put_handlers_back, run_lock = None, contextlib.ExitStack()
    try:
        args = parse_args(argv)
        overrides = parse_overrides(args.get("time_basis_override"))
        max_reject_share = parse_max_reject_share(args.get("max_reject_share"))
        max_field_chars = parse_max_field_chars(args.get("max_field_chars"))
        load_mappings(args.get("mappings_path"))  # fail before Spark starts
        # released in the finally below, or by the system when the process dies
        run_lock.enter_context(one_run_at_a_time(args["silver_path"]))
        spark, glue_context = glue_or_spark()
        ignored = ignored_arguments(argv) if glue_context is None else []
        if ignored:
            read = [f"--{name}" for name in REQUIRED_ARGS + OPTIONAL_ARGS if name != "JOB_NAME"]
            log.warning(
                "Ignored argument(s) %s: the job reads %s and %s (and --JOB_NAME on Glue).",
                ", ".join(f"--{name}" for name in ignored),
                ", ".join(read[:-1]),
                read[-1],
            )
        put_handlers_back = cancel_on_interrupt(spark)
        job, announced = None, None
        if glue_context is not None and args.get("JOB_NAME"):
            job = Job(glue_context)
            job.init(args["JOB_NAME"], args)
            if args["job_bookmark_option"] != BOOKMARKS_OFF:  # always given by parse_args
                announced = bookmarked_bronze_objects(glue_context, args["bronze_path"])
        run_silver(
            spark,
            args["bronze_path"],
            args["silver_path"],
            overrides,
            args.get("mappings_path"),
            announced,
            max_reject_share,
            max_field_chars,
        )
        if job is not None:
            job.commit()  # only after a successful run: the bookmark moves on with the published table
    except SilverError as error:
        print(f"silver_job: {error}", file=sys.stderr)
        return stopped_exit() if isinstance(error, Interrupted) else 1
    except (Py4JError, PySparkException) as error:  # e.g. a damaged Parquet file in the Silver table
        # The cancelled Spark job (a staging folder left behind goes with the next run).
        if INTERRUPTED.is_set():
            print(f"silver_job: {Interrupted.message()}", file=sys.stderr)
            return stopped_exit()
        cause, advice = ran_out(error, args["silver_path"]) or (one_line(error), "see Spark's log above")
        print(
            f"silver_job: Spark failed ({cause}); {advice}. "
            "Nothing is half-written: once its cause is fixed, a rerun redoes the run.",
            file=sys.stderr,
        )
        return 1
    finally:
        if put_handlers_back is not None:
            put_handlers_back()
        run_lock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
