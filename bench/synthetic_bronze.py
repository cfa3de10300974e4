"""Deterministic synthetic Bronze with the real samples' shape: three CSV eras, ~3% duplicates, ~0.5% bad records.

Layout and manifest follow docs/CONTRACTS.md, so the Silver job (and Gold's benchmark) read it like a real
Bronze: ``<bronze>/dataset=<dataset>/ingest_date=YYYY-MM-DD/<file>.csv`` plus ``_manifests/<run_id>.json``.
Usage: ``python bench/synthetic_bronze.py <bronze_path> <rows> [seed]`` (rows at least 1000; bronze_path a new or
empty folder).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import random
import sys
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

BOSTON = ZoneInfo("America/New_York")
# The smallest size the benchmarks accept: fewer rows (a few dozen per file) would not be a measurement.
MIN_ROWS = 1000

LEGACY29 = [
    "case_enquiry_id",
    "open_dt",
    "target_dt",
    "closed_dt",
    "ontime",
    "case_status",
    "closure_reason",
    "case_title",
    "subject",
    "reason",
    "type",
    "queue",
    "department",
    "submittedphoto",
    "closedphoto",
    "location",
    "fire_district",
    "pwd_district",
    "city_council_district",
    "police_district",
    "neighborhood",
    "neighborhood_services_district",
    "ward",
    "precinct",
    "location_street_name",
    "location_zipcode",
    "latitude",
    "longitude",
    "source",
]
# The 30-column re-issue renames four columns and adds geom_4326 before source.
LEGACY30_RENAMES = {
    "target_dt": "sla_target_dt",
    "ontime": "on_time",
    "submittedphoto": "submitted_photo",
    "closedphoto": "closed_photo",
}
LEGACY30 = [LEGACY30_RENAMES.get(name, name) for name in LEGACY29[:-1]] + ["geom_4326", "source"]
NEW_SYSTEM = [
    "case_id",
    "open_date",
    "close_date",
    "target_close_date",
    "case_topic",
    "service_name",
    "assigned_department",
    "assigned_team",
    "case_status",
    "closure_reason",
    "closure_comments",
    "on_time",
    "report_source",
    "full_address",
    "street_number",
    "street_name",
    "zip_code",
    "neighborhood",
    "public_works_district",
    "city_council_district",
    "fire_district",
    "police_district",
    "ward",
    "precinct",
    "longitude",
    "latitude",
]

# (code, subject, reason, type, queue, new-system department, new-system team): the real samples' departments.
CASE_KINDS = [
    (
        "PWDx",
        "Public Works Department",
        "Street Lights",
        "Street Light Outages",
        "PWDx_Street Light Outages",
        "Public Works Department (PWD)",
        "PWD Street Lighting",
    ),
    (
        "PWDx",
        "Public Works Department",
        "Sanitation",
        "Schedule a Bulk Item Pickup",
        "PWDx_Schedule a Bulk Item Pickup",
        "Public Works Department (PWD)",
        "PWD Sanitation",
    ),
    (
        "PWDx",
        "Public Works Department",
        "Highway Maintenance",
        "Request for Pothole Repair",
        "PWDx_Highway Maintenance",
        "Public Works Department (PWD)",
        "PWD Highway",
    ),
    (
        "BTDT",
        "Transportation - Traffic Division",
        "Enforcement & Abandoned Vehicles",
        "Parking Enforcement",
        "BTDT_Parking Enforcement",
        "Boston Transportation Department (BTD)",
        "BTD Parking Enforcement",
    ),
    (
        "BTDT",
        "Transportation - Traffic Division",
        "Signs & Signals",
        "Sign Repair",
        "BTDT_Sign Shop_Sign Repair",
        "Boston Transportation Department (BTD)",
        "BTD Traffic Investigation",
    ),
    (
        "ISD",
        "Inspectional Services",
        "Building",
        "Building Inspection Request",
        "ISD_Building",
        "Inspectional Services",
        "ISD Building",
    ),
    (
        "PARK",
        "Parks & Recreation Department",
        "Trees",
        "Tree Maintenance Requests",
        "PARK_Tree Maintenance",
        "Parks & Recreation",
        "Urban Forestry",
    ),
    (
        "ANML",
        "Animal Control",
        "Animal Issues",
        "Animal Found",
        "ANML02_LostFound",
        "Animal Care & Control",
        "Animal control staff",
    ),
    (
        "INFO",
        "Animal Control",
        "Animal Issues",
        "Animal Generic Request",
        "INFO01_GenericeFormforOtherServiceRequestTypes",
        "Animal Care & Control",
        "Animal control staff",
    ),
    (
        "GEN_",
        "Mayor's 24 Hour Hotline",
        "Needle Program",
        "Needle Pickup",
        "GEN_Needle_Pickup",
        "Public Works Department (PWD)",
        "PWD Street Cleaning",
    ),
]
PLACES = [
    ("Dorchester", "02121", "14", "01", "Ceylon St", 42.310332, -71.072802),
    ("South Boston", "02127", "06", "02", "W Broadway", 42.340329, -71.053605),
    ("Brighton", "02135", "22", "03", "Shepard St", 42.346961, -71.150835),
    ("Roslindale", "02131", "20", "08", "Lorraine St", 42.283900, -71.144700),
    ("Jamaica Plain", "02130", "19", "05", "Centre St", 42.312000, -71.114000),
    ("South End", "02118", "08", "01", "Washington St", 42.340000, -71.073000),
    ("Charlestown", "02129", "02", "03", "Bunker Hill St", 42.377000, -71.060000),
    ("East Boston", "02128", "01", "11", "Meridian St", 42.375000, -71.038000),
]
LEGACY_SOURCES = (
    ["Constituent Call"] * 5
    + ["Citizens Connect App"] * 3
    + ["Self Service", "Employee Generated", "City Worker App"]
)
NEW_SOURCES = ["Call", "Call", "Call", "BOS311", "BOS311"]
# Openings by Boston wall-clock hour: business hours dominate, nights are quiet (as in the 2011 sample).
HOUR_WEIGHTS = [1, 1, 1, 1, 1, 2, 3, 6, 10, 12, 12, 11, 10, 10, 9, 9, 7, 5, 4, 3, 3, 2, 2, 1]

# name, era, year range, share of rows
DATASETS = [
    ("legacy_2019", "legacy29", 2019, 0.20),
    ("legacy_2021", "legacy29", 2021, 0.20),
    ("legacy_2022", "legacy29", 2022, 0.15),
    ("legacy_2023", "legacy30", 2023, 0.15),
    ("legacy_2024", "legacy30", 2024, 0.15),
    ("new_system", "new_system", 2025, 0.15),
]
FIRST_INGEST = "2026-11-20"
SECOND_INGEST = "2026-11-25"
DUPLICATE_SHARE = 0.03
BAD_SHARE = 0.005


def _fmt(moment: datetime) -> str:
    """Legacy text form of a naive timestamp."""
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _shifted_back(wall: datetime) -> datetime:
    """The 30-column re-issue's stamp: Boston wall clock shifted back by the UTC offset."""
    offset = wall.replace(tzinfo=BOSTON).utcoffset() or timedelta(0)
    return wall + offset  # offset is negative (-4 h / -5 h)


def _case(rng: random.Random, year: int) -> dict:
    """One synthetic case in Boston wall-clock time, era-independent."""
    opened = datetime(year, 1, 1) + timedelta(days=rng.randrange(365))
    opened = opened.replace(
        hour=rng.choices(range(24), HOUR_WEIGHTS)[0], minute=rng.randrange(60), second=rng.randrange(60)
    )
    closed = opened + timedelta(minutes=rng.randrange(10, 60 * 24 * 20)) if rng.random() < 0.85 else None
    target = (opened + timedelta(days=rng.choice((3, 5, 14)))).replace(hour=8, minute=30, second=0)
    return {
        "opened": opened,
        "closed": closed,
        "target": target if rng.random() < 0.7 else None,
        "kind": rng.choice(CASE_KINDS),
        "place": rng.choice(PLACES),
        "on_time": "ONTIME" if rng.random() < 0.75 else "OVERDUE",
    }


def _legacy_row(case_id: str, case: dict, era: str, rng: random.Random) -> list[str]:
    """A legacy row (29 or 30 columns) for a case."""
    code, subject, reason, case_type, queue, _, _ = case["kind"]
    hood, zipcode, ward, precinct, street, lat, lon = case["place"]
    convert = _shifted_back if era == "legacy30" else (lambda moment: moment)
    closed = case["closed"]
    if closed is None:
        closure = " "
    elif rng.random() < 0.4:
        zone = "EDT" if (closed.replace(tzinfo=BOSTON).dst() or timedelta(0)) else "EST"
        closure = f"Case Closed. Closed date : {closed.strftime('%a %b %d %H:%M:%S')} {zone} {closed.year} Resolved "
    else:
        closure = "Case Closed Case Resolved done "
    placeholder = era == "legacy29" and rng.random() < 0.08
    latitude, longitude = ("42.3594", "-71.0587") if placeholder else (f"{lat:.4f}", f"{lon:.4f}")
    row = [
        case_id,
        _fmt(convert(case["opened"])),
        _fmt(convert(case["target"])) if case["target"] else "",
        _fmt(convert(closed)) if closed else "",
        case["on_time"],
        "Closed" if closed else "Open",
        closure,
        case_type,
        subject,
        reason,
        case_type,
        queue,
        code,
        "",
        "",
        f"1 {street}  {hood}  MA  {zipcode}",
        "8",
        "07",
        "3",
        "B3",
        hood,
        "7",
        f"Ward {int(ward)}" if rng.random() < 0.5 else ward,
        f"{ward}{precinct}",
        street,
        f"{int(zipcode)}.0" if era == "legacy30" else zipcode,
        latitude,
        longitude,
    ]
    if era == "legacy30":
        row.append("0101000020E61000003287684BA7C951C0B855A53A692C4540")
    row.append(rng.choice(LEGACY_SOURCES))
    return row


def _new_row(case_id: str, case: dict, rng: random.Random) -> list[str]:
    """A NEW SYSTEM row: Boston wall clock wrongly labelled +00, fractional seconds."""
    _, _, _, case_type, _, department, team = case["kind"]
    hood, zipcode, ward, precinct, street, lat, lon = case["place"]

    def stamp(moment: datetime | None) -> str:
        return f"{_fmt(moment)}.{rng.randrange(1000):03d}+00" if moment else ""

    closed = case["closed"]
    return [
        case_id,
        stamp(case["opened"]),
        stamp(closed),
        stamp(case["opened"] + timedelta(days=3)),
        case_type,
        case_type,
        department,
        team,
        "Closed" if closed else "In progress",
        "Resolved" if closed else "",
        "",
        case["on_time"],
        rng.choice(NEW_SOURCES),
        f"1 {street}, {hood}, MA {zipcode}",
        "1",
        street,
        zipcode,
        hood,
        "3",
        "4",
        "7",
        "B2",
        ward,
        precinct,
        f"{lon:.6f}",
        f"{lat:.6f}",
    ]


def _bad_row(row: list[str], rng: random.Random) -> list[str]:
    """Spoil a row the way real exports go wrong: ragged, no id, unparsable or reversed times."""
    spoil = rng.randrange(4)
    if spoil == 0:
        return row[:-3]  # wrong field count
    if spoil == 1:
        return ["", *row[1:]]
    if spoil == 2:
        return [row[0], "not a date", *row[2:]]
    if row[3]:
        return [row[0], row[3], row[2], row[1], *row[4:]]  # closed before opened
    return [row[0], "2019-13-45 99:99:99", *row[2:]]


def write_synthetic_bronze(bronze_path: str, rows: int, seed: int = 311) -> dict:
    """Write about ``rows`` records as Bronze CSVs plus a manifest; return counts and file list."""
    rng = random.Random(seed)
    manifest_resources, files = [], []
    totals = {"rows": 0, "duplicates": 0, "bad_records": 0}
    next_id = 101002000000
    for dataset, era, year, share in DATASETS:
        header = {"legacy29": LEGACY29, "legacy30": LEGACY30, "new_system": NEW_SYSTEM}[era]
        n_rows = max(1, round(rows * share))
        n_changed = round(n_rows * DUPLICATE_SHARE)
        first_rows, changed = n_rows - n_changed, []
        first_key = f"dataset={dataset}/ingest_date={FIRST_INGEST}/311_service_requests_{dataset}.csv"
        second_key = (
            f"dataset={dataset}/ingest_date={SECOND_INGEST}/311_service_requests_{dataset}_changes.csv"
        )
        for key, count in ((first_key, first_rows), (second_key, n_changed)):
            path = os.path.join(bronze_path, key)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle, lineterminator="\n")
                writer.writerow(header)
                for index in range(count):
                    if key == second_key:
                        # a case from the first ingest, changed since: same id, now closed
                        if not changed:
                            break
                        case_id, case = changed[index % len(changed)]
                        case = {**case, "closed": case["opened"] + timedelta(hours=30), "on_time": "ONTIME"}
                        totals["duplicates"] += 1
                    else:
                        next_id += 1
                        case_id = f"BCS-{next_id - 101000000000:08d}" if era == "new_system" else str(next_id)
                        case = _case(rng, year)
                        if rng.random() < DUPLICATE_SHARE * 1.1 and len(changed) < n_changed:
                            changed.append((case_id, case))
                    row = (
                        _new_row(case_id, case, rng)
                        if era == "new_system"
                        else _legacy_row(case_id, case, era, rng)
                    )
                    if key == first_key and rng.random() < BAD_SHARE:
                        row = _bad_row(row, rng)
                        totals["bad_records"] += 1
                    writer.writerow(row)
                    totals["rows"] += 1
            files.append(path)
            with open(path, "rb") as written:
                digest = hashlib.sha256(written.read()).hexdigest()
            ingest_date = FIRST_INGEST if key == first_key else SECOND_INGEST
            manifest_resources.append(
                {
                    "resource_id": hashlib.md5(dataset.encode()).hexdigest(),
                    "name": f"311 Service Requests - {dataset}",
                    "dataset": dataset,
                    "url": f"https://example.invalid/{dataset}.csv",
                    "portal_last_modified": None,
                    "portal_size": os.path.getsize(path),
                    "portal_hash": None,
                    "status": "landed",
                    "error": None,
                    "key": f"bronze/boston311/{key}",
                    "sha256": digest,
                    "bytes": os.path.getsize(path),
                    "header_era": era,
                    "ingested_at": f"{ingest_date}T06:00:00Z",
                }
            )
    os.makedirs(os.path.join(bronze_path, "_manifests"), exist_ok=True)
    manifest = {
        "run_id": "20261125T060000Z",
        "started_at": "2026-11-25T06:00:00Z",
        "finished_at": "2026-11-25T06:00:00Z",
        "portal": "synthetic",
        "discovery": "package_show",
        "lake": "synthetic",
        "resources": manifest_resources,
    }
    with open(
        os.path.join(bronze_path, "_manifests", "20261125T060000Z.json"), "w", encoding="utf-8"
    ) as handle:
        json.dump(manifest, handle, indent=1)
    generated_at = datetime.now(UTC).isoformat(timespec="seconds")
    return {
        **totals,
        "files": files,
        "bytes": sum(os.path.getsize(f) for f in files),
        "generated_at": generated_at,
    }


def main(argv: list[str] | None = None) -> int:
    """Write synthetic Bronze and print its counts as JSON."""
    parser = argparse.ArgumentParser(prog="synthetic_bronze.py", description=__doc__.splitlines()[0])
    parser.add_argument("bronze_path", help="the Bronze folder to write (…/bronze/boston311)")
    parser.add_argument("rows", type=int, help=f"about how many records (at least {MIN_ROWS})")
    parser.add_argument("seed", type=int, nargs="?", default=311, help="generator seed (default %(default)s)")
    args = parser.parse_args(argv)
    if args.rows < MIN_ROWS:
        parser.error(f"rows must be at least {MIN_ROWS}, got {args.rows}")
    if os.path.exists(args.bronze_path) and not (
        os.path.isdir(args.bronze_path) and not os.listdir(args.bronze_path)
    ):
        # a real lake's Bronze would take the synthetic files in beside the portal's, and Silver would read them
        parser.error(f"{args.bronze_path} is a file or holds something already: give a new or empty folder")
    try:
        print(json.dumps(write_synthetic_bronze(args.bronze_path, args.rows, args.seed), indent=1))
    except OSError as error:
        print(
            f"synthetic_bronze.py: error: cannot write {args.bronze_path}: {error.strerror or error}.",
            file=sys.stderr,
        )
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
