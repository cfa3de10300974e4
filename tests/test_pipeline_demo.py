"""`make demo` end to end: the offline portal -> Bronze -> Silver -> Gold -> DuckDB + dashboard.

Runs scripts/run_pipeline.py as a user would (a subprocess, spark-submit in local mode) and checks
the row counts each stage hands to the next, then that a second run lands and rewrites nothing.
"""

from __future__ import annotations

import json
import shutil

import duckdb
import pytest

from conftest import run_pipeline_cli

# demo_lake, the one offline demo run these tests read, is in conftest.py: tests/test_json_contracts.py reads it too
pytestmark = [pytest.mark.spark, pytest.mark.slow]


def test_demo_prints_one_line_per_stage_and_where_things_are(demo_lake):
    lake, completed = demo_lake
    for stage in ("[ingest", "[silver", "[gold", "[serve"):
        assert stage in completed.stdout, completed.stdout
    assert f"file://{lake}/dashboard/index.html" in completed.stdout
    assert f"{lake}/gold/boston311" in completed.stdout
    assert f"Spark's log: {lake}/logs/silver.log, {lake}/logs/gold.log" in completed.stdout
    assert (lake / "logs" / "silver.log").is_file() and (lake / "logs" / "gold.log").is_file()


def test_a_clean_demo_run_logs_no_spark_warning(demo_lake):
    """Spark's WARN lines on a clean run ("Using an existing Spark session", "Truncated the string representation
    of a plan") would teach users to skim past warnings; the job's own warnings are WARNING, not WARN."""
    _, completed = demo_lake
    assert [line for line in completed.stderr.splitlines() if " WARN " in line] == []


def test_bronze_holds_every_sample_csv_with_a_manifest(demo_lake):
    lake, _ = demo_lake
    bronze = lake / "bronze" / "boston311"
    datasets = sorted(p.parent.parent.name for p in bronze.glob("dataset=*/ingest_date=*/*.csv"))
    assert datasets == [
        "dataset=legacy_2011",
        "dataset=legacy_2015",
        "dataset=legacy_2022",
        "dataset=new_system",
    ]
    manifests = list((bronze / "_manifests").glob("*.json"))
    assert len(manifests) == 1
    landed = [r for r in json.loads(manifests[0].read_text())["resources"] if r["status"] == "landed"]
    assert len(landed) == 4


def test_rows_are_conserved_from_bronze_to_gold(demo_lake):
    lake, _ = demo_lake
    con = duckdb.connect(str(lake / "lake.duckdb"), read_only=True)
    silver_rows = con.execute("select count(*) from silver_service_requests").fetchone()[0]
    distinct_cases = con.execute("select count(distinct case_id) from silver_service_requests").fetchone()[0]
    opened = con.execute("select sum(requests_opened) from v_monthly_requests").fetchone()[0]
    report = json.loads((lake / "silver" / "boston311" / "_quality" / "latest.json").read_text())
    con.close()

    # The four samples hold 3000 + 2000 + 100 + 5473 records.
    rows_read = 3000 + 2000 + 100 + 5473
    assert silver_rows == distinct_cases
    totals = report["totals"]
    assert totals["rows_read"] == rows_read
    assert totals["rows_written"] == silver_rows
    assert silver_rows + totals["rows_quarantined"] + totals["duplicates_removed"] == rows_read
    assert opened == silver_rows


def test_dashboard_is_one_offline_file(demo_lake):
    lake, _ = demo_lake
    html = (lake / "dashboard" / "index.html").read_text()
    assert "Enquiries to Boston" in html
    assert '<script src="http' not in html


def test_second_run_lands_nothing_and_keeps_silver(demo_lake, tmp_path):
    # on a copy: the module's other tests read the first run's lake (one manifest) in whatever order they run
    lake = tmp_path / "lake"
    shutil.copytree(demo_lake[0], lake, symlinks=True)
    silver_files = sorted(
        p.name for p in (lake / "silver" / "boston311" / "service_requests").rglob("*.parquet")
    )
    completed = run_pipeline_cli("--offline", "--lake", str(lake), "--stages", "ingest,silver")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "0 landed, 4 unchanged" in completed.stdout
    # Silver's line says nothing was new, not the previous run's counts from its last report.
    assert "nothing new in Bronze, Silver unchanged" in completed.stdout
    assert (
        sorted(p.name for p in (lake / "silver" / "boston311" / "service_requests").rglob("*.parquet"))
        == silver_files
    )


def test_unknown_stage_is_refused_in_one_sentence(tmp_path):
    completed = run_pipeline_cli("--lake", str(tmp_path / "lake"), "--stages", "ingest,polish")
    assert completed.returncode == 2
    assert "unknown stage(s) polish" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_a_failed_stage_stops_the_run_and_names_itself(tmp_path):
    # Silver with no Bronze at all: the job's own error, the run stops before Gold.
    completed = run_pipeline_cli("--lake", str(tmp_path / "lake"), "--stages", "silver,gold")
    assert completed.returncode == 1
    assert "[silver] FAILED" in completed.stderr
    assert "[gold" not in completed.stdout
    assert "Traceback" not in completed.stderr
