"""Helpers for the Silver tests: Bronze-shaped folders, small CSV rows of each era, reading Silver back."""

from __future__ import annotations

import csv
import io
import json
import shutil
from datetime import datetime
from pathlib import Path

from synthetic_bronze import LEGACY29, NEW_SYSTEM

# The City's 29-column legacy header and the NEW SYSTEM's, declared once for the tests and the benchmark data.
LEGACY29_HEADER = LEGACY29
NEW_SYSTEM_HEADER = NEW_SYSTEM


def legacy29_row(case_id: str, open_dt: str, closed_dt: str = "", **values: str) -> list[str]:
    """One 29-column legacy record; unspecified fields get plausible values of the 2022 sample."""
    row = dict.fromkeys(LEGACY29_HEADER, "")
    row.update(
        case_enquiry_id=case_id, open_dt=open_dt, closed_dt=closed_dt, ontime="ONTIME",
        case_status="Closed" if closed_dt else "Open", closure_reason=" ", case_title="Needle Pickup",
        subject="Public Works Department", reason="Needle Program", type="Needle Pickup", queue="PWDx_Needles",
        department="PWDx", neighborhood="Boston", ward="03", precinct="0303", location_street_name="42 Cross St",
        location_zipcode="02113", latitude="42.3634", longitude="-71.0566", source="Constituent Call",
    )  # fmt: skip
    row.update(values)
    return [row[name] for name in LEGACY29_HEADER]


def new_system_row(case_id: str, open_date: str, close_date: str = "", **values: str) -> list[str]:
    """One NEW SYSTEM record (stamps as the export writes them, ``+00``); other fields as in the sample."""
    row = dict.fromkeys(NEW_SYSTEM_HEADER, "")
    row.update(
        case_id=case_id, open_date=f"{open_date}+00", close_date=f"{close_date}+00" if close_date else "",
        case_topic="Street Light Outage", service_name="Street Light Outage",
        assigned_department="Public Works Department (PWD)", assigned_team="Street Lights",
        case_status="Closed" if close_date else "Open", closure_reason="Resolved" if close_date else "",
        on_time="ONTIME", report_source="BOS311", street_name="Ceylon St", zip_code="02121",
        neighborhood="Dorchester", ward="14", precinct="01", longitude="-71.072802", latitude="42.310332",
    )  # fmt: skip
    row.update(values)
    return [row[name] for name in NEW_SYSTEM_HEADER]


def csv_text(header: list[str], rows: list[list[str]], newline: str = "\n") -> str:
    """CSV text as the exports write it (minimal quoting)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def csv_line(row: list[str]) -> str:
    """One CSV record as the exports write it (minimal quoting: a line break inside a value is quoted), without its
    line end."""
    return csv_text(row, [], newline="\r\n").removesuffix("\r\n")


def land(bronze: Path, dataset: str, ingest_date: str, name: str, content: str | bytes | Path) -> Path:
    """Put one file where the Bronze ingest lands it; return its path."""
    target = bronze / f"dataset={dataset}" / f"ingest_date={ingest_date}" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, Path):
        shutil.copyfile(content, target)
    elif isinstance(content, bytes):
        target.write_bytes(content)
    else:
        target.write_text(content, encoding="utf-8", newline="")
    return target


def land_legacy29(
    bronze: Path, dataset: str, ingest_date: str, rows: list[list[str]], name: str = ""
) -> Path:
    """Land legacy 29-column rows as one Bronze CSV (named like the portal's yearly files unless ``name``)."""
    name = name or f"311_service_requests_{dataset.rsplit('_', 1)[-1]}.csv"
    return land(bronze, dataset, ingest_date, name, csv_text(LEGACY29_HEADER, rows))


def write_manifest(
    bronze: Path,
    run_id: str,
    entries: dict[str, str],
    format_version: int | None = None,
    non_utf8_at: dict[str, object] | None = None,
    sizes: dict[str, int] | None = None,
) -> None:
    """A Bronze manifest giving ``ingested_at`` per landed key (``dataset=…/ingest_date=…/file`` -> ISO time); with
    ``format_version`` as Bronze writes it since 2026-11-27, else as before (no such field); with ``non_utf8_at`` (key
    -> value) that field on those keys' entries, as Bronze writes it since 2026-11-28; with ``sizes`` (key -> bytes) the
    ``bytes`` Bronze landed on those keys' entries."""
    resources = [
        {"dataset": key.split("/")[0].removeprefix("dataset="), "status": "landed",
         "key": f"bronze/boston311/{key}", "ingested_at": ingested_at,
         **({"non_utf8_at": non_utf8_at[key]} if key in (non_utf8_at or {}) else {}),
         **({"bytes": sizes[key]} if key in (sizes or {}) else {})}
        for key, ingested_at in entries.items()
    ]  # fmt: skip
    folder = bronze / "_manifests"
    folder.mkdir(parents=True, exist_ok=True)
    versioned = {} if format_version is None else {"format_version": format_version}
    (folder / f"{run_id}.json").write_text(
        json.dumps({**versioned, "run_id": run_id, "resources": resources}), encoding="utf-8"
    )


def lake_bytes(silver: Path) -> dict[str, bytes]:
    """Every file under the Silver folder (hidden checksums included) with its bytes."""
    return {str(path.relative_to(silver)): path.read_bytes() for path in silver.rglob("*") if path.is_file()}


def utc_rows(df) -> list[dict]:
    """Rows as dicts with timestamps as naive UTC datetimes, whatever the Python process's time zone."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    stamps = [f.name for f in df.schema.fields if isinstance(f.dataType, T.TimestampType)]
    as_text = df.select(
        *[
            F.date_format(c, "yyyy-MM-dd HH:mm:ss.SSSSSS").alias(c) if c in stamps else F.col(c)
            for c in df.columns
        ]
    )
    rows = []
    for row in as_text.collect():
        record = row.asDict()
        for name in stamps:
            record[name] = datetime.fromisoformat(record[name]) if record[name] else None
        rows.append(record)
    return rows


def silver_rows(spark, silver: Path) -> dict[str, dict]:
    """The Silver table as case_id -> row dict (timestamps naive UTC)."""
    return {row["case_id"]: row for row in utc_rows(spark.read.parquet(str(silver / "service_requests")))}
