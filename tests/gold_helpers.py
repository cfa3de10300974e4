"""Helpers for the Gold tests: hand-made Silver rows with the Silver contract schema (docs/CONTRACTS.md)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.pandas.types import from_arrow_schema

import serving_helpers

# The Silver table service_requests, columns and partitions, read from its Athena DDL (as the serving tests read it),
# in Spark's types: a column added to the DDL reaches the Gold tests' rows too.
SILVER_SCHEMA = from_arrow_schema(
    pa.schema(
        [
            *serving_helpers.SILVER_SCHEMA,
            *(pa.field(name, kind) for name, kind in serving_helpers.SILVER_PARTITIONS.items()),
        ]
    )
)


def utc(text: str) -> datetime:
    """An aware UTC datetime from 'YYYY-MM-DDTHH:MM' (aware, so Spark never applies the machine's zone)."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def silver_frame(spark: SparkSession, rows: list[dict]) -> DataFrame:
    """A Silver DataFrame from partial rows: fields not given are None; case_id and open_year/month filled."""
    filled = []
    for number, given in enumerate(rows, start=1):
        row = {field.name: None for field in SILVER_SCHEMA.fields}
        row["case_id"] = f"{number:012d}"
        row.update(given)
        if row["opened_at"] is not None:
            row["open_year"] = row["open_year"] or row["opened_at"].year
            row["open_month"] = row["open_month"] or row["opened_at"].month
        filled.append(tuple(row[field.name] for field in SILVER_SCHEMA.fields))
    return spark.createDataFrame(filled, SILVER_SCHEMA)


def random_silver(spark, cases: int, seed: int, weeks: int = 20):
    """Reproducible pseudo-random Silver rows over ``weeks`` weeks, a third of them still open; closings take from an
    hour to 400 days."""
    rng = random.Random(seed)
    rows = []
    for _ in range(cases):
        opened = utc("2024-02-26T00:00") + timedelta(minutes=rng.randrange(weeks * 7 * 24 * 60))
        closed = rng.random() < 0.66
        closed_at = opened + timedelta(hours=rng.choice([1, 30, 200, 900, 9600])) if closed else None
        rows.append(
            {
                "opened_at": opened,
                "closed_at": closed_at,
                "is_closed": closed,
                "on_time": rng.choice([True, False, None]),
                "hours_to_close": (closed_at - opened).total_seconds() / 3600 if closed else None,
                "department": rng.choice(["PWDx", "BTDT", None]),
                "type": rng.choice(["Pothole", "Sign", None]),
                "neighborhood": rng.choice(["Roxbury", "Dorchester", ""]),
            }
        )
    return silver_frame(spark, rows)
