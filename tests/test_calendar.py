"""The calendar moves on: a new year's file on the portal, run end to end as if today were 2 January 2027."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

import dashboard
import gold_job
import ingestao_bronze
import local_lake
import silver_job
from bronze_helpers import data_keys, ingest, lake_files
from silver_helpers import csv_text, legacy29_row, silver_rows
from synthetic_bronze import LEGACY29, LEGACY30, LEGACY30_RENAMES

pytestmark = pytest.mark.spark


def legacy30_row(case_id: str, open_dt: str, closed_dt: str = "") -> list[str]:
    """One record of the 30-column re-issue (stamps as written: the Boston wall clock shifted back)."""
    fields = dict(zip(LEGACY29, legacy29_row(case_id, open_dt, closed_dt), strict=True))
    fields = {LEGACY30_RENAMES.get(name, name): value for name, value in fields.items()}
    return [fields.get(name, "") for name in LEGACY30]


def yearly_file(*rows: list[str]) -> bytes:
    """A yearly CSV of the re-issue's 30 columns."""
    return csv_text(LEGACY30, list(rows)).encode()


# Stamps as the re-issue writes them: Boston wall clock minus 5 hours (EST).
DEC_10_OPEN = legacy30_row("101006000001", "2026-12-10 05:00:00")  # 10:00 Boston
DEC_10_CLOSED_IN_2027 = legacy30_row("101006000001", "2026-12-10 05:00:00", "2027-01-02 04:00:00")  # 09:00
NEW_YEARS_EVE = legacy30_row("101006000002", "2026-12-31 18:30:00", "2026-12-31 18:50:00")  # 23:30 Boston
# opened ten minutes into 2027 in Boston: the stamp as written is still 2026
JUST_AFTER_MIDNIGHT = legacy30_row("101007000001", "2026-12-31 19:10:00", "2026-12-31 19:40:00")
JAN_2 = legacy30_row("101007000002", "2027-01-02 03:15:00")  # 08:15 Boston, open


def ingest_on(monkeypatch: pytest.MonkeyPatch, portal_url: str, lake: Path, moment: datetime) -> None:
    """One Bronze run with its clock at moment (default arguments: every year the portal lists)."""
    monkeypatch.setattr(ingestao_bronze, "utc_now", lambda: moment)
    assert ingest(portal_url, lake) == 0


def test_a_new_years_file_flows_from_the_portal_to_the_dashboard(
    spark, portal, portal_url, tmp_path, monkeypatch
):
    for dataset in ("new_system", "legacy_2022", "legacy_2015", "legacy_2011"):  # small and quick: two files
        portal.remove(portal.resource_id(dataset))
    year_2026 = portal.add_csv("311 Service Requests - 2026", yearly_file(DEC_10_OPEN, NEW_YEARS_EVE))
    ingest_on(monkeypatch, portal_url, tmp_path, datetime(2026, 12, 31, 11, 0, tzinfo=UTC))

    # 2 January 2027: the portal lists a 2027 file and has re-issued 2026 (a case closed since)
    portal.add_csv(
        "311 Service Requests - 2027", yearly_file(JUST_AFTER_MIDNIGHT, JAN_2), file_name="tmpab12cd.csv"
    )
    portal.rewrite(year_2026, yearly_file(DEC_10_CLOSED_IN_2027, NEW_YEARS_EVE))
    ingest_on(monkeypatch, portal_url, tmp_path, datetime(2027, 1, 2, 11, 0, tzinfo=UTC))

    keys = data_keys(lake_files(tmp_path))
    folders = sorted(key.rsplit("/", 1)[0].removeprefix("bronze/boston311/") for key in keys)
    assert folders == [
        "dataset=legacy_2026/ingest_date=2026-12-31",
        "dataset=legacy_2026/ingest_date=2027-01-02",
        "dataset=legacy_2027/ingest_date=2027-01-02",
    ]

    bronze, silver, gold = (str(tmp_path / stage / "boston311") for stage in ("bronze", "silver", "gold"))
    report = silver_job.run_silver(spark, bronze, silver)
    by_dataset = {
        entry["dataset"]: entry for entry in report["files"] if "2027-01-02" in entry["source_file"]
    }
    assert by_dataset["legacy_2027"]["era"] == "legacy30"
    # two rows are no evidence: the era's default reading, as for any file too small to tell
    decided = by_dataset["legacy_2027"]["time_basis"]
    assert (decided["reading"], decided["basis"]) == ("shifted_back", "era_default")
    rows = silver_rows(spark, Path(silver))
    assert {case: (row["open_year"], row["open_month"], row["opened_at"]) for case, row in rows.items()} == {
        "101006000001": (2026, 12, datetime(2026, 12, 10, 15, 0)),
        "101006000002": (2026, 12, datetime(2027, 1, 1, 4, 30)),  # 23:30 on New Year's Eve in Boston
        "101007000001": (2027, 1, datetime(2027, 1, 1, 5, 10)),
        "101007000002": (2027, 1, datetime(2027, 1, 2, 13, 15)),
    }
    assert rows["101006000001"]["closed_at"] == datetime(2027, 1, 2, 14, 0)  # the re-issue won

    gold_job.run_gold(spark, silver, gold)
    duckdb_path = str(tmp_path / "lake.duckdb")
    local_lake.build_local_query_layer(duckdb_path, silver, gold)
    with duckdb.connect(duckdb_path, read_only=True) as connection:
        data = dashboard.dashboard_data(connection)
    assert data["data_through"] == "2027-01-02"
    # January has two days: the period ends with December, compared with November before it
    assert data["partial_month"] == "2027-01"
    assert data["dims"]["month"] == ["2026-12", "2027-01"]
    assert data["years"] == [2026, 2027]
    # the backlog's last week is the one 2 January falls in, which began in December
    assert [str(week) for week in data["dims"]["week_start"]][-1] == "2026-12-28"
    assert dashboard.page_title(data["data_through"]).endswith("data through 2 Jan 2027")
