"""Hand-made Silver and Gold lakes for the serving tests (no Spark): a tiny one with known answers, a realistic one.

The Arrow schemas the tests write are read from the DDL (quicksight/athena/ddl/), so a new column is declared there
once. What holds the DDL to the stages is elsewhere: Silver's and Gold's real output is compared with it in
tests/test_silver_bad_input.py (-k athena) and tests/test_athena_sql.py, and docs/CONTRACTS.md's columns in
tests/test_athena_sql.py.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

import athena_sql
import lake

UTC = dt.UTC

# How pyarrow reads each Hive type the DDL declares (timestamps are UTC microseconds: TIMESTAMP_MICROS).
HIVE_TO_ARROW = {
    "string": pa.string(),
    "int": pa.int32(),
    "bigint": pa.int64(),
    "double": pa.float64(),
    "boolean": pa.bool_(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "date": pa.date32(),
}


def ddl_schema(table: str) -> pa.Schema:
    """The Arrow schema of one table's data columns, in its DDL's order."""
    return pa.schema([(name, HIVE_TO_ARROW[kind]) for name, kind in athena_sql.table_columns(table).items()])


def ddl_partitions(table: str) -> dict[str, pa.DataType]:
    """The Arrow types of one table's partition columns (empty when unpartitioned)."""
    return {name: HIVE_TO_ARROW[kind] for name, kind in athena_sql.partition_columns(table).items()}


SILVER_SCHEMA = ddl_schema(athena_sql.SILVER_TABLE)
SILVER_PARTITIONS = ddl_partitions(athena_sql.SILVER_TABLE)
QUARANTINE_SCHEMA = ddl_schema(athena_sql.QUARANTINE_TABLE)
# Each Silver run writes its rejects under quarantine/run_id=<run>/ (a folder per run, not a table partition).
QUARANTINE_RUNS = {"run_id": pa.string()}

GOLD_SCHEMAS = {table: ddl_schema(f"gold_{table}") for table in lake.GOLD_TABLES}
GOLD_PARTITIONS = {
    table: partitions for table in lake.GOLD_TABLES if (partitions := ddl_partitions(f"gold_{table}"))
}

PWD = "Public Works Department"
BTD = "Transportation - Traffic Division"

# The tiny lake's monthly_requests: (month, department, subject, reason, type, source, neighborhood,
#  opened, closed, on_time, late, still_open, sum_hours_to_close, closed_with_duration, last_opened_date).
# Every month is complete: some group of it has an opening on its last day.
SMALL_MONTHLY = [
    (dt.date(2023, 12, 1), "PWDx", PWD, "Street Cleaning", "Requests for Street Cleaning", "Constituent Call", "Dorchester", 7, 7, 7, 0, 0, 14.0, 7, dt.date(2023, 12, 31)),
    (dt.date(2024, 1, 1), "PWDx", PWD, "Street Cleaning", "Requests for Street Cleaning", "Constituent Call", "Dorchester", 10, 8, 6, 2, 2, 80.0, 8, dt.date(2024, 1, 31)),
    (dt.date(2024, 1, 1), "PWDx", PWD, "Sanitation", "Missed Trash", "Citizens Connect App", "Roxbury", 5, 5, 5, 0, 0, 25.0, 5, dt.date(2024, 1, 22)),
    (dt.date(2024, 2, 1), "BTDT", BTD, "Enforcement & Abandoned Vehicles", "Parking Enforcement", "Citizens Connect App", "Dorchester", 20, 15, 9, 6, 5, 300.0, 12, dt.date(2024, 2, 29)),
    (dt.date(2024, 2, 1), "PWDx", PWD, "Street Cleaning", "Requests for Street Cleaning", "Constituent Call", "Roxbury", 4, 4, 1, 3, 0, 96.0, 4, dt.date(2024, 2, 27)),
    (dt.date(2024, 2, 1), "Unknown", "Unknown", "Unknown", "Unknown", "Self Service", "Unknown", 1, 0, 0, 0, 1, 0.0, 0, dt.date(2024, 2, 3)),
]  # fmt: skip
# Three rejects from two Silver runs.
SMALL_QUARANTINE = [
    {"run_id": run, "reject_reason": reason, "source_file": f"dataset=legacy_2024/ingest_date={day}/2024.csv",
     "raw_record": raw, "dataset": "legacy_2024", "source_era": "legacy29",
     "ingested_at": dt.datetime.fromisoformat(f"{day}T06:00:00+00:00"), "case_id": case_id, "row_position": position}
    for run, day, reason, raw, case_id, position in [
        ("20240302T060000Z", "2024-03-02", "missing_case_id", " ,2024-02-01 09:00:00,...", None, 17),
        ("20240302T060000Z", "2024-03-02", "malformed_record", '101000000090,"2024-02-02 09:00', None, 18),
        ("20240303T060000Z", "2024-03-03", "closed_before_opened", "101000000091,2024-02-03 ...", "101000000091", 4),
    ]
]  # fmt: skip
SMALL_RESOLUTION = [  # Parking Enforcement: 15 closed, the percentiles over the 14 with a duration
    (2024, "PWDx", "Missed Trash", 5, 5, 4.0, 9.0, 5.0, 1.0),
    (2024, "BTDT", "Parking Enforcement", 15, 14, 20.0, 48.0, 25.0, 0.6),
]
SMALL_SCORECARD = [
    (2024, "Dorchester", 30, 20, 10.0, 0.65, "Parking Enforcement", 0.75),
    (2024, "Roxbury", 9, 6, 5.0, 0.75, "Missed Trash", 0.225),
    (2024, "Unknown", 1, 0, None, None, "Unknown", 0.025),
]
SMALL_BACKLOG = [
    (dt.date(2024, 1, 1), "PWDx", 3, 1),
    (dt.date(2024, 1, 1), "BTDT", 5, 0),
    (dt.date(2024, 1, 8), "PWDx", 2, 1),
    (dt.date(2024, 1, 8), "BTDT", 7, 2),
]
SMALL_GEO = [
    (2024, "Missed Trash", 42.3125, -71.0625, 4),
    (2024, "Parking Enforcement", 42.3125, -71.0625, 6),
    (2024, "Parking Enforcement", 42.35, -71.06, 14),
]


def _silver_case(
    case_id: str,
    case_type: str,
    opened: dt.datetime,
    hours_to_close: float | None,
    is_closed: bool = True,
    on_time: bool | None = True,
) -> dict:
    """One Silver row with the fields the serving SQL reads; the rest plausible."""
    closed_at = (
        opened + dt.timedelta(hours=hours_to_close) if hours_to_close is not None and is_closed else None
    )
    return {
        "case_id": case_id,
        "source_system": "legacy",
        "opened_at": opened,
        "target_at": opened + dt.timedelta(days=3),
        "closed_at": closed_at,
        "is_closed": is_closed,
        "status_detail": "Case Resolved" if is_closed else None,
        "on_time": on_time,
        "hours_to_close": hours_to_close if is_closed else None,
        "department": "PWDx" if case_type == "Missed Trash" else "BTDT",
        "subject": PWD if case_type == "Missed Trash" else BTD,
        "reason": "Sanitation" if case_type == "Missed Trash" else "Enforcement & Abandoned Vehicles",
        "type": case_type,
        "queue": "PWDx_District 1C: North Dorchester",
        "case_title": case_type,
        "source": "Constituent Call",
        "source_raw": "Constituent Call",
        "neighborhood": "Dorchester",
        "neighborhood_raw": "Dorchester",
        "zipcode": "02125",
        "ward": "7",
        "precinct": "0701",
        "street_name": "Dorchester Ave",
        "latitude": 42.3125,
        "longitude": -71.0625,
        "location_quality": "exact",
        "source_file": "dataset=legacy_2024/ingest_date=2026-11-25/tmp.csv",
        "ingested_at": dt.datetime(2026, 11, 25, 17, 0, tzinfo=UTC),
    }


# Silver: Missed Trash closes in 1, 5, 9 hours (median 5); Parking Enforcement in 2, 4, 6, 8, 100 hours
# (median 6); one open case and one closed case without a duration are left out of the median query.
SMALL_SILVER = [
    _silver_case("101000000001", "Missed Trash", dt.datetime(2024, 1, 3, 14, 0, tzinfo=UTC), 1.0),
    _silver_case("101000000002", "Missed Trash", dt.datetime(2024, 1, 4, 14, 0, tzinfo=UTC), 5.0),
    _silver_case("101000000003", "Missed Trash", dt.datetime(2024, 2, 5, 14, 0, tzinfo=UTC), 9.0),
    _silver_case("101000000004", "Parking Enforcement", dt.datetime(2024, 2, 1, 9, 0, tzinfo=UTC), 2.0),
    _silver_case("101000000005", "Parking Enforcement", dt.datetime(2024, 2, 1, 9, 0, tzinfo=UTC), 4.0),
    _silver_case("101000000006", "Parking Enforcement", dt.datetime(2024, 2, 2, 9, 0, tzinfo=UTC), 6.0),
    _silver_case("101000000007", "Parking Enforcement", dt.datetime(2024, 2, 2, 9, 0, tzinfo=UTC), 8.0),
    _silver_case("101000000008", "Parking Enforcement", dt.datetime(2023, 12, 30, 9, 0, tzinfo=UTC), 100.0, on_time=False),
    _silver_case("101000000009", "Parking Enforcement", dt.datetime(2024, 2, 3, 9, 0, tzinfo=UTC), None, is_closed=False, on_time=None),
    _silver_case("101000000010", "Missed Trash", dt.datetime(2024, 2, 3, 9, 0, tzinfo=UTC), None, on_time=None),
]  # fmt: skip


def check_every_column_filled(rows: list[dict], schema: pa.Schema, folder: Path) -> None:
    """AssertionError naming the columns of ``schema`` that some row has no value for: a column added to a schema
    (SILVER_SCHEMA, GOLD_SCHEMAS) but not to the rows the tests write in it."""
    missing = [name for name in schema.names if any(name not in row for row in rows)]
    if missing:
        raise AssertionError(
            f"the rows written to {folder.name}/ have no {', '.join(missing)}, a column of their schema: give them a "
            "value (a Silver column in tests/serving_helpers._silver_case, a Gold column in the table's rows)"
        )


def rows_of_tuples(rows: list[tuple], schema: pa.Schema, folder: Path) -> list[dict]:
    """Tuples in ``schema``'s column order as dicts; AssertionError naming the columns when a tuple is short or long."""
    for row in rows:
        if len(row) != len(schema.names):
            raise AssertionError(
                f"a row written to {folder.name}/ has {len(row)} values for the {len(schema.names)} columns of its "
                f"schema ({', '.join(schema.names)}): {row!r}"
            )
    return [dict(zip(schema.names, row, strict=True)) for row in rows]


def write_partitioned(
    rows: list[dict], schema: pa.Schema, folder: Path, partitions: dict[str, pa.DataType]
) -> None:
    """Write rows as Hive-partitioned Parquet (partition columns only in the paths, as Spark writes them)."""
    check_every_column_filled(rows, schema, folder)
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault(tuple(row[name] for name in partitions), []).append(row)
    for key, group in groups.items():
        part = folder.joinpath(*(f"{name}={value}" for name, value in zip(partitions, key, strict=True)))
        part.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pylist([{n: r[n] for n in schema.names} for r in group], schema=schema)
        pq.write_table(table, part / "part-00000.snappy.parquet", compression="snappy")


def write_table(rows: list[tuple], schema: pa.Schema, folder: Path) -> None:
    """Write tuples (in schema order) as one unpartitioned Parquet file."""
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist(rows_of_tuples(rows, schema, folder), schema=schema)
    pq.write_table(table, folder / "part-00000.snappy.parquet", compression="snappy")


def write_gold(gold: Path, tables: dict[str, list[tuple]]) -> None:
    """Write the Gold tables from tuples in contract column order (monthly_requests partitioned by year)."""
    for name, rows in tables.items():
        schema = GOLD_SCHEMAS[name]
        if name in GOLD_PARTITIONS:
            dicts = [
                row | {"year": row[schema.names[0]].year} for row in rows_of_tuples(rows, schema, gold / name)
            ]
            write_partitioned(dicts, schema, gold / name, GOLD_PARTITIONS[name])
        else:
            write_table(rows, schema, gold / name)


def write_silver(silver: Path, rows: list[dict], schema: pa.Schema = SILVER_SCHEMA) -> None:
    """Write Silver rows partitioned by open_year/open_month (UTC year/month of opened_at), in ``schema``'s columns
    (an older or a broken Silver's, when given)."""
    dated = [row | {"open_year": row["opened_at"].year, "open_month": row["opened_at"].month} for row in rows]
    write_partitioned(dated, schema, silver / "service_requests", SILVER_PARTITIONS)


def write_small_lake(root: Path) -> tuple[Path, Path]:
    """The tiny lake with known answers; returns (silver_path, gold_path) as the pipeline lays them out."""
    silver, gold = root / "silver" / "boston311", root / "gold" / "boston311"
    write_silver(silver, SMALL_SILVER)
    write_partitioned(SMALL_QUARANTINE, QUARANTINE_SCHEMA, silver / "quarantine", QUARANTINE_RUNS)
    write_gold(
        gold,
        {
            "monthly_requests": SMALL_MONTHLY,
            "resolution_times": SMALL_RESOLUTION,
            "neighborhood_scorecard": SMALL_SCORECARD,
            "open_backlog": SMALL_BACKLOG,
            "geo_grid": SMALL_GEO,
        },
    )
    return silver, gold


# A realistic lake: Boston's real subjects, reasons, types, channels and neighborhoods, invented counts.
REALISTIC_TYPES = [
    ("PWDx", PWD, "Street Cleaning", "Requests for Street Cleaning", 9.0),
    ("PWDx", PWD, "Highway Maintenance", "Request for Pothole Repair", 60.0),
    ("PWDx", PWD, "Sanitation", "Missed Trash/Recycling/Yard Waste/Bulk Item", 20.0),
    ("PWDx", PWD, "Street Lights", "Street Light Outages", 150.0),
    ("BTDT", BTD, "Enforcement & Abandoned Vehicles", "Parking Enforcement", 4.0),
    ("BTDT", BTD, "Signs & Signals", "Sign Repair", 300.0),
    ("ISD", "Inspectional Services", "Building", "Building Inspection Request", 500.0),
    ("ISD", "Inspectional Services", "Housing", "Unsatisfactory Living Conditions", 400.0),
    ("PARK", "Parks & Recreation Department", "Trees", "Tree Maintenance Requests", 700.0),
    ("ANML", "Animal Control", "Animal Issues", "Animal Generic Request", 48.0),
    ("INFO", "Mayor's 24 Hour Hotline", "General Request", "General Request", 24.0),
]
REALISTIC_SOURCES = [
    ("Citizens Connect App", 0.45),
    ("Constituent Call", 0.30),
    ("City Worker App", 0.12),
    ("Self Service", 0.06),
    ("Employee Generated", 0.05),
    ("Twitter", 0.02),
]
REALISTIC_NEIGHBORHOODS = [
    ("Dorchester", 42.30, -71.06),
    ("Roxbury", 42.32, -71.09),
    ("South Boston / South Boston Waterfront", 42.335, -71.045),
    ("Jamaica Plain", 42.31, -71.115),
    ("Allston / Brighton", 42.35, -71.15),
    ("Back Bay", 42.35, -71.08),
    ("East Boston", 42.375, -71.03),
    ("Hyde Park", 42.255, -71.125),
]
CELL = 0.0025  # ~250 m of latitude


def realistic_gold() -> dict[str, list[tuple]]:
    """Plausible Gold tables with seasonality and growth, 34 months from January 2022 (deterministic: one seed)."""
    first_month, months, rng = dt.date(2022, 1, 1), 34, random.Random(311)
    monthly, geo_counts = [], {}
    for offset in range(months):
        year, month0 = divmod(first_month.month - 1 + offset, 12)
        month = dt.date(first_month.year + year, month0 + 1, 1)
        # the data stops on the 17th of the last month, as a daily refresh leaves the current month partial
        month_end = (month + dt.timedelta(days=31)).replace(day=1) - dt.timedelta(days=1)
        last_opened = month.replace(day=17) if offset == months - 1 else month_end
        season = 1.0 + 0.35 * (month.month in (5, 6, 7, 8, 9)) + 0.02 * offset
        for dept, subject, reason, case_type, typical_hours in REALISTIC_TYPES:
            for source, share in REALISTIC_SOURCES:
                for neighborhood, lat, lon in REALISTIC_NEIGHBORHOODS:
                    opened = int(rng.gammavariate(2.0, 12.0) * share * season)
                    if opened == 0:
                        continue
                    closed = round(
                        opened * min(1.0, 0.75 + 0.25 * offset / months + rng.uniform(-0.05, 0.05))
                    )
                    on_time = round(closed * rng.uniform(0.6, 0.95))
                    with_duration = closed - (1 if closed > 3 else 0)
                    hours = with_duration * typical_hours * rng.uniform(0.5, 1.6)
                    row = (month, dept, subject, reason, case_type, source, neighborhood, opened, closed, on_time,
                           closed - on_time, opened - closed, round(hours, 2), with_duration, last_opened)  # fmt: skip
                    monthly.append(row)
                    cell = (
                        month.year,
                        case_type,
                        round(lat + CELL * round(rng.gauss(0, 3.5)), 4),
                        round(lon + CELL * round(rng.gauss(0, 4.5)), 4),
                    )
                    geo_counts[cell] = geo_counts.get(cell, 0) + opened
    resolution, years = [], sorted({row[0].year for row in monthly})
    for year in years:
        for dept, _subject, _reason, case_type, typical_hours in REALISTIC_TYPES:
            of_type = [r for r in monthly if r[0].year == year and r[4] == case_type]
            closed, with_duration = sum(r[8] for r in of_type), sum(r[13] for r in of_type)
            rate = rng.uniform(0.6, 0.95)
            hours = (typical_hours * 0.6, typical_hours * 3.0, typical_hours)  # p50, p90, mean
            resolution.append((year, dept, case_type, closed, with_duration, *hours, rate))
    scorecard = []
    for year in years:
        total = sum(r[7] for r in monthly if r[0].year == year)
        for neighborhood, _lat, _lon in REALISTIC_NEIGHBORHOODS:
            count = sum(r[7] for r in monthly if r[0].year == year and r[6] == neighborhood)
            scorecard.append(
                (year, neighborhood, count, int(count * 0.7), 30.0, 0.8, "Parking Enforcement", count / total)
            )
    backlog, week = [], dt.date(2022, 1, 3)
    while week < first_month + dt.timedelta(days=31 * months):
        for index, (dept, *_rest) in enumerate(sorted({t[:1] for t in REALISTIC_TYPES})):
            open_cases = int(200 + 150 * index + rng.uniform(-40, 40))
            backlog.append((week, dept, open_cases, open_cases // 5))
        week += dt.timedelta(days=7)
    geo = [(*key, count) for key, count in sorted(geo_counts.items())]
    return {
        "monthly_requests": monthly,
        "resolution_times": resolution,
        "neighborhood_scorecard": scorecard,
        "open_backlog": backlog,
        "geo_grid": geo,
    }


def write_realistic_lake(root: Path) -> tuple[Path, Path]:
    """A realistic-looking Gold (and the tiny Silver) for the dashboard's screenshot; returns (silver, gold)."""
    silver, gold = root / "silver" / "boston311", root / "gold" / "boston311"
    write_silver(silver, SMALL_SILVER)
    write_gold(gold, realistic_gold())
    return silver, gold
