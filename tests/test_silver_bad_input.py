"""Bad Bronze input: nothing lost, nothing crashes with a traceback, unknown headers refused by name."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyspark.sql import functions as F

import athena_sql
import lake
import silver_job
from conftest import REPO, SAMPLES, another_run_makes_and_locks, raise_java_exhaustion
from schema_helpers import SILVER_QUALITY_REPORT, file_errors
from serving_helpers import HIVE_TO_ARROW
from silver_helpers import (
    LEGACY29_HEADER,
    csv_line,
    csv_text,
    lake_bytes,
    land,
    land_legacy29,
    legacy29_row,
    silver_rows,
    write_manifest,
)

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def bad_lake(spark, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One Bronze holding every kind of damaged file, run through Silver once."""
    root = tmp_path_factory.mktemp("silver_bad")
    bronze, silver = root / "bronze" / "boston311", root / "silver" / "boston311"
    header = ",".join(LEGACY29_HEADER)
    good = legacy29_row("101004100001", "2022-01-19 11:18:00", "2022-01-19 11:42:16")
    quoted_newline = legacy29_row("101004100002", "2022-01-19 12:00:00", case_title="Needle\nPickup")
    ragged_short = "101004100003,2022-01-19 11:18:00,,,ONTIME,Open"
    ragged_long = csv_line(legacy29_row("101004100004", "2022-01-19 11:18:00")) + ",extra,fields"
    no_id = legacy29_row("", "2022-01-19 11:18:00")
    bad_date = legacy29_row("101004100005", "19/01/2022 11:18")
    reversed_times = legacy29_row("101004100006", "2022-01-19 11:18:00", "2022-01-18 09:00:00")
    records = [
        csv_line(good),
        csv_line(quoted_newline),
        ragged_short,
        ragged_long,
        csv_line(no_id),
        csv_line(bad_date),
        csv_line(reversed_times),
    ]
    body = "\ufeff" + header + "\r\n" + "\r\n".join(records) + "\r\n"  # UTF-8 BOM and CRLF line ends
    land(bronze, "legacy_2022", "2026-11-25", "bom_crlf.csv", body.encode("utf-8"))
    land(bronze, "legacy_2021", "2026-11-25", "empty.csv", b"")
    land(bronze, "legacy_2020", "2026-11-25", "header_only.csv", header + "\n")
    unclosed = csv_line(legacy29_row("101004100007", "2022-02-01 10:00:00")).replace(
        "Needle Pickup,", '"Needle Pickup,', 1
    )
    land(
        bronze,
        "legacy_2019",
        "2026-11-25",
        "unclosed_quote.csv",
        header + "\n" + unclosed + "\n" + csv_line(good) + "\n",
    )
    # a quote left open in the last column (source) runs to the end of the file: the field count stays right, and the
    # two records after it became that one value of a record Silver kept
    open_at_end = csv_line(legacy29_row("101004100008", "2022-02-02 10:00:00")).replace(
        ",Constituent Call", ',"Call', 1
    )
    after = [legacy29_row(f"10100410001{n}", "2022-02-03 10:00:00") for n in (0, 1)]
    land(
        bronze,
        "legacy_2018",
        "2026-11-25",
        "open_last_quote.csv",
        "\n".join([header, csv_line(good), open_at_end, *map(csv_line, after)]) + "\n",
    )
    report = silver_job.run_silver(spark, str(bronze), str(silver))
    quarantine = spark.read.parquet(str(silver / "quarantine")).collect()
    return {"report": report, "rows": silver_rows(spark, silver), "quarantine": quarantine, "silver": silver}


# Lakes several tests start from, each read by one run for the module: a test changes and runs its own copy.
def one_case_read(spark, lake: Path, ingest_date: str) -> None:
    """Case 101004100001 (opened 2022-01-19 11:18) landed on ``ingest_date`` and read into an empty Silver."""
    bronze, silver = lake / "bronze" / "boston311", lake / "silver" / "boston311"
    land_legacy29(bronze, "legacy_2022", ingest_date, [legacy29_row("101004100001", "2022-01-19 11:18:00")])
    silver_job.run_silver(spark, str(bronze), str(silver))


@pytest.fixture(scope="module")
def read_on_the_20th(spark, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The case landed on 2026-11-20, read."""
    lake = tmp_path_factory.mktemp("read_on_the_20th")
    one_case_read(spark, lake, "2026-11-20")
    return lake


@pytest.fixture(scope="module")
def read_on_the_25th(spark, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The case landed on 2026-11-25, read."""
    lake = tmp_path_factory.mktemp("read_on_the_25th")
    one_case_read(spark, lake, "2026-11-25")
    return lake


def copy_of(lake: Path, tmp_path: Path) -> tuple[Path, Path]:
    """This test's copy of a shared lake (file times kept, which the state file compares): its Bronze and Silver."""
    shutil.copytree(lake, tmp_path, symlinks=True, dirs_exist_ok=True)
    return tmp_path / "bronze" / "boston311", tmp_path / "silver" / "boston311"


def test_good_records_survive_bom_crlf_and_quoted_newlines(bad_lake):
    rows = bad_lake["rows"]
    assert rows["101004100001"]["status_detail"] == "Closed"
    assert rows["101004100001"]["source"] == "Phone"  # last column: no stray carriage return
    assert rows["101004100002"]["case_title"] == "Needle\nPickup"


def test_bad_records_are_quarantined_with_reason_file_and_raw_text(bad_lake):
    by_reason: dict[str, list] = {}
    for row in bad_lake["quarantine"]:
        by_reason.setdefault(row["reject_reason"], []).append(row)
    assert sorted(by_reason) == [
        "closed_before_opened", "malformed_record", "missing_case_id", "unclosed_quote", "unparsable_opened_at",
    ]  # fmt: skip
    malformed = {r["source_file"].split("/")[-1]: r["raw_record"] for r in by_reason["malformed_record"]}
    assert len(by_reason["malformed_record"]) == 3  # short row, long row, the unclosed quote
    # a malformed record keeps Spark's raw text of the line (docs/silver.md), not the JSON of its fields as read
    raw_texts = {r["raw_record"] for r in by_reason["malformed_record"]}
    assert "101004100003,2022-01-19 11:18:00,,,ONTIME,Open" in raw_texts  # the short row, as written
    assert any(text.startswith("101004100004,") and text.endswith(",extra,fields") for text in raw_texts)
    assert "101004100007" in malformed["unclosed_quote.csv"]  # the swallowed lines are kept in the raw text
    assert json.loads(by_reason["unparsable_opened_at"][0]["raw_record"])["opened_raw"] == "19/01/2022 11:18"
    # the record whose last value ran to the end of the file: the swallowed records are in that value (source)
    [open_at_end] = by_reason["unclosed_quote"]
    swallowed = json.loads(open_at_end["raw_record"])
    assert swallowed["case_id"] == "101004100008"
    assert (
        swallowed["source_raw"].startswith("Call\n101004100010,")
        and "101004100011" in swallowed["source_raw"]
    )
    assert open_at_end["source_file"].endswith("/open_last_quote.csv")
    assert all(r["source_file"].startswith("dataset=") for r in bad_lake["quarantine"])


def test_the_quarantine_is_what_the_athena_table_declares(bad_lake):
    """Drift guard: the columns and types Silver writes to quarantine/ are the silver_quarantine DDL's, in order."""
    parquet = pq.read_schema(next((bad_lake["silver"] / "quarantine").rglob("*.parquet")))
    declared = athena_sql.table_columns(athena_sql.QUARANTINE_TABLE)
    assert [(f.name, f.type) for f in parquet] == [
        (name, HIVE_TO_ARROW[kind]) for name, kind in declared.items()
    ]


def test_the_silver_table_is_what_the_athena_table_declares(bad_lake):
    """Drift guard: every column the silver_service_requests DDL declares is written by Silver with the declared
    type (Silver may write more: the contract welcomes extra columns), and its partitions are the DDL's."""
    table = bad_lake["silver"] / "service_requests"
    parquet = pq.read_schema(next(table.rglob("*.parquet")))
    declared = athena_sql.table_columns(athena_sql.SILVER_TABLE)
    written = {f.name: f.type for f in parquet if f.name in declared}
    assert written == {name: HIVE_TO_ARROW[kind] for name, kind in declared.items()}
    assert list(athena_sql.partition_columns(athena_sql.SILVER_TABLE)) == silver_job.PARTITION_COLUMNS


def test_silver_folders_match_the_lake_layout():
    # the job ships alone to Glue and cannot import scripts/lake.py: the two declarations are held equal here
    assert f"{lake.SILVER_PREFIX}/{silver_job.TABLE_FOLDER}" == lake.SILVER_TABLE
    assert f"{lake.SILVER_PREFIX}/{silver_job.QUARANTINE_FOLDER}" == lake.SILVER_QUARANTINE
    assert f"{lake.SILVER_PREFIX}/{silver_job.QUALITY_FOLDER}" == lake.SILVER_QUALITY
    assert f"{lake.BRONZE_PREFIX}/{silver_job.BRONZE_MANIFESTS_FOLDER}" == lake.BRONZE_MANIFESTS


def test_every_file_is_accounted_for(bad_lake):
    files = {f["source_file"].split("/")[-1]: f for f in bad_lake["report"]["files"]}
    assert set(files) == {
        "bom_crlf.csv",
        "empty.csv",
        "header_only.csv",
        "unclosed_quote.csv",
        "open_last_quote.csv",
    }
    assert files["bom_crlf.csv"]["rows_read"] == 7
    assert (files["bom_crlf.csv"]["rows_written"], files["bom_crlf.csv"]["rows_quarantined"]) == (2, 5)
    assert files["empty.csv"]["era"] == "empty" and files["empty.csv"]["rows_read"] == 0
    assert files["header_only.csv"]["rows_read"] == 0
    for entry in files.values():
        assert (
            entry["rows_read"]
            == entry["rows_written"] + entry["rows_quarantined"] + entry["duplicates_removed"]
        )
    state = json.loads((bad_lake["silver"] / "_state" / "processed.json").read_text())
    assert len(state["objects"]) == 5  # empty files are marked processed too
    # rejects of several reasons, an empty and a header-only file: the report still holds to its schema
    assert file_errors(bad_lake["silver"] / "_quality" / "latest.json", SILVER_QUALITY_REPORT) == []


def test_a_file_whose_time_basis_changes_part_way_is_warned_of_by_month(
    spark, tmp_path: Path, caplog
) -> None:
    # The NEW SYSTEM file holds every case since 2025-08, landed anew each day: an export that starts writing true UTC
    # from some month on leaves the months before as Boston wall clock. One reading per file puts one part hours off.
    from silver_helpers import NEW_SYSTEM_HEADER, new_system_row

    bronze, silver = tmp_path / "bronze" / "boston311", tmp_path / "silver" / "boston311"
    rows = []
    for month, first_hour in [(8, 9), (9, 9), (10, 9), (11, 14), (12, 14)]:  # calls at 09-15 Boston time
        for n in range(28):  # 14-20 as written from November on: UTC, five hours ahead of Boston in winter
            opened = f"2025-{month:02d}-{n % 28 + 1:02d} {first_hour + n % 7:02d}:{n:02d}:00"
            rows.append(new_system_row(f"BCS-{month:02d}{n:04d}", opened, report_source="Call"))
    land(bronze, "new_system", "2026-01-05", "new_system.csv", csv_text(NEW_SYSTEM_HEADER, rows))

    with caplog.at_level("WARNING", logger=silver_job.log.name):
        report = silver_job.run_silver(spark, str(bronze), str(silver))

    (entry,) = report["files"]
    decided = entry["time_basis"]
    assert (decided["reading"], decided["basis"]) == ("wall_clock", "phone_profile")  # most months say so
    assert decided["months"]["with_evidence"] == 5
    assert {month: seen["reading"] for month, seen in decided["months"]["read_otherwise"].items()} == {
        "2025-11": "utc",
        "2025-12": "utc",
    }
    assert decided["months"]["read_otherwise"]["2025-11"]["counts"]["phone_openings"] == 28
    warned = [r.getMessage() for r in caplog.records if "part-way" in r.getMessage()]
    assert warned == [
        "dataset=new_system/ingest_date=2026-01-05/new_system.csv reads as wall_clock (phone_profile), but its own "
        "evidence reads 2025-11 as utc, 2025-12 as utc otherwise: the export may have changed its time basis "
        "part-way, and those months' times may be hours off. If it did, --time_basis_override new_system@2025-11=utc "
        'reads each month as its own evidence does. See docs/silver.md, "A file whose time basis changes part-way".'
    ]
    assert "2 months read otherwise" in silver_job.summary(report)
    assert not file_errors(silver / "_quality" / "latest.json", SILVER_QUALITY_REPORT)  # the documented shape
    assert entry["rows_written"] == len(rows)  # a warning: nothing is held back

    def boston_hours(table: Path) -> dict[str, set[int]]:
        """The Boston hours of the openings, by the month their case was opened in (from the case id)."""
        opened = spark.read.parquet(str(table / "service_requests")).select(
            "case_id", F.hour(F.from_utc_timestamp("opened_at", "America/New_York")).alias("hour")
        )
        hours: dict[str, set[int]] = {}
        for case_id, hour in opened.collect():
            hours.setdefault(case_id[4:6], set()).add(hour)
        return hours

    # read with the one reading, November and December's calls come at 14-20 in Boston
    assert boston_hours(silver) == {**dict.fromkeys(["08", "09", "10"], set(range(9, 16))), "11": set(range(14, 21)), "12": set(range(14, 21))}  # fmt: skip

    # the override the warning names reads those months as UTC: every call in business hours, and no warning
    dated_silver = tmp_path / "dated" / "silver" / "boston311"
    caplog.clear()
    with caplog.at_level("WARNING", logger=silver_job.log.name):
        assert silver_job.main(["silver_job.py", "--bronze_path", str(bronze), "--silver_path", str(dated_silver), "--time_basis_override", "new_system@2025-11=utc"]) == 0  # fmt: skip
    assert not [r for r in caplog.records if "part-way" in r.getMessage()]
    assert set().union(*boston_hours(dated_silver).values()) == set(range(9, 16))
    (dated,) = json.loads((dated_silver / "_quality" / "latest.json").read_text())["files"]
    assert dated["time_basis"]["reading_from"] == {"2025-11": "utc"}
    assert (dated["time_basis"]["reading"], dated["time_basis"]["months"]["read_otherwise"]) == (
        "wall_clock",
        {},
    )
    assert not file_errors(dated_silver / "_quality" / "latest.json", SILVER_QUALITY_REPORT)


def test_unknown_header_is_refused_naming_the_file(spark, tmp_path: Path):
    bronze, silver = tmp_path / "bronze" / "boston311", tmp_path / "silver" / "boston311"
    land_legacy29(bronze, "legacy_2022", "2026-11-25", [legacy29_row("1", "2022-01-01 10:00:00")], "fine.csv")
    land(bronze, "legacy_2023", "2026-11-25", "strange.csv", "id,opened,what\n1,2023-01-01,x\n")
    with pytest.raises(
        silver_job.SilverError, match=r"dataset=legacy_2023/ingest_date=2026-11-25/strange\.csv"
    ):
        silver_job.run_silver(spark, str(bronze), str(silver))
    assert not silver.exists()  # refused before anything was written


def test_cli_user_errors_end_with_one_sentence_and_exit_1(
    spark, tmp_path: Path, capsys: pytest.CaptureFixture
):
    bronze, silver = tmp_path / "bronze" / "boston311", tmp_path / "silver" / "boston311"
    argv = [
        "silver_job.py",
        "--JOB_NAME",
        "silver",
        "--bronze_path",
        str(bronze),
        "--silver_path",
        str(silver),
    ]
    assert silver_job.main(argv) == 1
    error = capsys.readouterr().err
    assert (
        f"The Bronze path {bronze} does not exist: run the Bronze ingest (scripts/ingestao_bronze.py) first, "
        "or check --bronze_path." in error
    )
    assert "Traceback" not in error
    assert silver_job.main([*argv, "--time_basis_override", "new_system=eastern"]) == 1
    assert "not dataset=reading" in capsys.readouterr().err


def test_a_file_whose_first_line_is_blank_is_refused_naming_the_file(spark, tmp_path: Path):
    # only a 0-byte file is "empty": a blank line where the header should be would otherwise lose every row
    bronze, silver = tmp_path / "bronze" / "boston311", tmp_path / "silver" / "boston311"
    rows = csv_text(LEGACY29_HEADER, [legacy29_row("101004100001", "2022-01-19 11:18:00")])
    land(bronze, "legacy_2022", "2026-11-25", "blank_first_line.csv", "\r\n" + rows)
    with pytest.raises(
        silver_job.SilverError,
        match=r"dataset=legacy_2022/ingest_date=2026-11-25/blank_first_line\.csv is not empty but its first line is blank",
    ):
        silver_job.run_silver(spark, str(bronze), str(silver))
    assert not silver.exists()


@pytest.mark.parametrize(
    "damage",
    [
        '{"objects": {"dataset=legacy_2022/ingest_da',  # cut off mid-write
        '{"objects": {"dataset=legacy_2022/ingest_date=2026-11-25/x.csv": 5}}',  # an entry that is not an object
        "edited",  # Silver's own state file, then changed by hand: its Hadoop .crc no longer matches
    ],
)
def test_a_damaged_state_file_is_refused_naming_it(
    spark, read_on_the_25th: Path, tmp_path: Path, damage: str
):
    bronze, silver = tmp_path / "bronze" / "boston311", tmp_path / "silver" / "boston311"
    state = silver / "_state" / "processed.json"
    if damage == "edited":
        copy_of(read_on_the_25th, tmp_path)  # the case landed and read
        assert (silver / "_state" / ".processed.json.crc").exists()
        state.write_text(state.read_text()[:100], encoding="utf-8")
    else:
        land_legacy29(
            bronze, "legacy_2022", "2026-11-25", [legacy29_row("101004100001", "2022-01-19 11:18:00")]
        )
        state.parent.mkdir(parents=True)
        state.write_text(damage, encoding="utf-8")
    with pytest.raises(
        silver_job.SilverError, match=re.escape(f"The state file {silver}/_state/processed.json is damaged")
    ):
        silver_job.run_silver(spark, str(bronze), str(silver))


def test_manifest_entries_of_the_wrong_shape_are_skipped_not_a_crash(
    spark, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    bronze, silver = tmp_path / "bronze" / "boston311", tmp_path / "silver" / "boston311"
    land_legacy29(bronze, "legacy_2022", "2026-11-25", [legacy29_row("101004100001", "2022-01-19 11:18:00")])
    manifests = bronze / "_manifests"
    manifests.mkdir()
    good = {"key": "bronze/boston311/dataset=legacy_2022/ingest_date=2026-11-25/311_service_requests_2022.csv",
            "status": "landed", "ingested_at": "2026-11-25T06:00:00Z"}  # fmt: skip
    failed = {"key": None, "status": "failed", "error": "HTTP 503"}  # the normal shape of a failed download
    (manifests / "20261125T060000Z.json").write_text(
        json.dumps({"resources": [5, {"key": ["a"]}, failed, good]})
    )
    (manifests / "20261126T060000Z.json").write_text(json.dumps(["not", "a", "manifest"]))
    (manifests / "20261127T060000Z.json").write_text('{"resources": [')  # cut off: a copy in progress

    report = silver_job.run_silver(spark, str(bronze), str(silver))

    assert report["totals"]["rows_written"] == 1
    assert report["files"][0]["ingested_at_from"] == "manifest"  # the good entry still counts
    assert caplog.text.count("skipping a resource of the wrong shape") == 2  # not the failed download
    assert "holds no list of resources" in caplog.text
    assert f"skipping unreadable manifest {manifests / '20261127T060000Z.json'}" in caplog.text


def test_a_state_write_that_fails_half_way_leaves_the_previous_state_whole(
    spark, read_on_the_25th: Path, tmp_path: Path, monkeypatch
):
    _, silver = copy_of(read_on_the_25th, tmp_path)
    state = silver / "_state" / "processed.json"
    before = state.read_text(encoding="utf-8")
    real_write = silver_job.LakeFiles._write_file

    def write_half(fs, hadoop_path, text: str) -> None:
        real_write(fs, hadoop_path, text[: len(text) // 2])
        raise OSError("simulated disk full")

    monkeypatch.setattr(silver_job.LakeFiles, "_write_file", staticmethod(write_half))
    with pytest.raises(OSError, match="disk full"):
        silver_job.LakeFiles(spark).write_text(str(state), json.dumps({"objects": {}, "padding": "x" * 1000}))
    assert state.read_text(encoding="utf-8") == before


def test_help_lists_the_jobs_own_arguments(capsys: pytest.CaptureFixture):
    assert silver_job.main(["silver_job.py", "--help"]) == 0
    out = capsys.readouterr().out
    for name in (
        "--bronze_path",
        "--silver_path",
        "--JOB_NAME",
        "--time_basis_override",
        "--mappings_path",
        "--max_reject_share",
        "--max_field_chars",
    ):
        assert name in out
    assert "--continuation-option" not in out  # Glue's own, not the job's


def test_missing_arguments_end_with_one_sentence_and_exit_1(capsys: pytest.CaptureFixture):
    assert silver_job.main(["silver_job.py", "--silver_path", "/tmp/silver"]) == 1
    error = capsys.readouterr().err
    assert error.startswith("silver_job: The job's arguments are incomplete") and "--bronze_path" in error
    assert "Traceback" not in error and error.count("\n") == 1
    assert silver_job.main(["silver_job.py", "--bronze_path", "/tmp/bronze", "--silver_path"]) == 1
    assert "--silver_path: expected one argument" in capsys.readouterr().err


def test_a_blank_path_is_refused_in_one_sentence(tmp_path: Path, capsys: pytest.CaptureFixture):
    # an unset shell variable: it was "Spark failed (Can not create a Path from an empty string)"
    assert silver_job.main(["silver_job.py", "--bronze_path", str(tmp_path), "--silver_path", " "]) == 1
    assert capsys.readouterr().err == "silver_job: --silver_path must name a folder, not be blank.\n"
    assert silver_job.main(["silver_job.py", "--bronze_path=", "--silver_path="]) == 1
    assert "--bronze_path and --silver_path must name a folder" in capsys.readouterr().err
    # a blank --mappings_path was taken for no --mappings_path: the bundled mappings, not the folder meant
    argv = ["silver_job.py", "--bronze_path", str(tmp_path), "--silver_path", str(tmp_path / "silver")]
    assert silver_job.main([*argv, "--mappings_path", ""]) == 1
    assert capsys.readouterr().err == "silver_job: --mappings_path must name a folder, not be blank.\n"
    assert list(tmp_path.iterdir()) == []


def test_arguments_in_the_equals_form_are_read(tmp_path: Path, capsys: pytest.CaptureFixture):
    argv = ["silver_job.py", "--bronze_path=/b", "--silver_path=/s", "--time_basis_override=new_system=utc"]
    args = silver_job.parse_args(argv)
    assert (args["bronze_path"], args["silver_path"], args["time_basis_override"]) == (
        "/b",
        "/s",
        "new_system=utc",
    )
    bad = [
        "silver_job.py",
        f"--bronze_path={tmp_path}",
        f"--silver_path={tmp_path}",
        "--time_basis_override=x=utc",
    ]
    assert silver_job.main(bad) == 1  # checked, not silently ignored
    assert "names neither a dataset" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argument", "meant"),
    [
        ("--time_basis_overide=new_system=utc", "--time_basis_override"),
        ("--time-basis-override", "--time_basis_override"),
        ("--mapping_path", "--mappings_path"),
        ("--job_name", "--JOB_NAME"),
    ],
)
def test_a_misspelled_argument_is_refused_not_ignored(
    argument: str, meant: str, capsys: pytest.CaptureFixture
):
    argv = ["silver_job.py", "--bronze_path", "/b", "--silver_path", "/s", argument, "x"]
    assert silver_job.main(argv) == 1
    error = capsys.readouterr().err
    assert error == f"silver_job: Unknown argument {argument.split('=')[0]}: did you mean {meant}?\n"


@pytest.mark.parametrize(
    ("arguments", "sentence"),
    [
        # two overrides as two words: the second was dropped, and the warning named only the first
        (
            ["--time_basis_override", "new_system=wall_clock", "legacy_2015=utc"],
            "--time_basis_override takes one value, and 'legacy_2015=utc' follows it as a word of its own (join "
            "overrides with commas: a=x,b=y).",
        ),
        (
            ["--mappings_path=/m", "extra"],
            "--mappings_path takes one value, and 'extra' follows it as a word of its own.",
        ),
        # given twice: the last one was read, silently
        (["--bronze_path", "/other"], "--bronze_path is given twice; give it once."),
        (
            ["--max_reject_share=0.1", "--max_reject_share", "0.2"],
            "--max_reject_share is given twice; give it once.",
        ),
    ],
)
def test_an_argument_given_twice_or_with_two_values_is_refused(arguments, sentence, capsys):
    argv = ["silver_job.py", "--bronze_path", "/b", "--silver_path", "/s", *arguments]

    assert silver_job.main(argv) == 1  # before Spark starts

    assert capsys.readouterr().err == f"silver_job: {sentence}\n"


def test_glues_own_arguments_are_not_taken_for_misspellings():
    glue_passes = ["--JOB_ID", "j1", "--JOB_RUN_ID", "jr_1", "--job-bookmark-option", "job-bookmark-enable",
                   "--TempDir", "s3://b/tmp", "--enable-metrics", "true", "--job-language", "python",
                   "--extra-files", "s3://b/m.csv", "--enable-glue-datacatalog", "true",
                   "--custom-logGroup-prefix", "/aws-glue/jobs/boston311-silver"]  # fmt: skip
    args = silver_job.parse_args(
        ["silver_job.py", "--bronze_path", "/b", "--silver_path", "/s", *glue_passes]
    )
    assert (args["bronze_path"], args["silver_path"]) == ("/b", "/s")


def test_locally_an_argument_the_job_does_not_read_is_named(
    spark, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    """Run by hand, an argument the job does not read (``--partitions``, far from any of its names) is named in a
    warning; on Glue such names are Glue's own (``--TempDir`` …), so only a local run warns."""
    argv = ["silver_job.py", "--bronze_path", str(tmp_path / "missing"), "--silver_path", str(tmp_path / "s"),
            "--partitions", "4", "--job-bookmark-option", "job-bookmark-disable"]  # fmt: skip
    assert silver_job.ignored_arguments(argv) == ["partitions"]

    with caplog.at_level("WARNING", logger=silver_job.log.name):
        assert silver_job.main(argv) == 1  # the Bronze path does not exist

    assert "Ignored argument(s) --partitions: the job reads --bronze_path" in caplog.text


def test_a_mappings_folder_without_a_newer_file_names_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    # an upgrade that copied the new script but not glue/mappings/ again (neighborhoods.csv came later)
    folder = tmp_path / "mappings"
    shutil.copytree(REPO / "glue" / "mappings", folder)
    (folder / "neighborhoods.csv").unlink()
    argv = ["silver_job.py", "--bronze_path", str(tmp_path), "--silver_path", str(tmp_path / "silver")]

    assert silver_job.main([*argv, "--mappings_path", str(folder)]) == 1  # before Spark starts

    assert capsys.readouterr().err.strip().splitlines() == [
        f"silver_job: The mapping file(s) neighborhoods.csv are missing from {folder}: copy glue/mappings/ there "
        "(on Glue, list every file of glue/mappings/ in --extra-files)."
    ]


@pytest.mark.parametrize(
    ("damage", "sentence"),
    [
        (
            None,
            "were not found (looked in",
        ),  # a --mappings_path that does not exist is not replaced by the bundled files
        (
            lambda text: text[: text.index(",", text.index("\n", 200)) + 2],
            "has an incomplete line",
        ),  # cut mid-line
        (lambda text: "", "lacks the column(s) kind, value, department"),
        (lambda text: text.splitlines()[0] + "\n", "has no lines below its header"),
        (lambda text: "\x00\xff\xfe binary", "cannot be read as UTF-8 CSV"),
    ],
)
def test_a_mappings_path_is_used_as_given_or_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture, damage, sentence: str
) -> None:
    folder = tmp_path / "mappings"
    if damage is not None:
        shutil.copytree(REPO / "glue" / "mappings", folder)
        departments = folder / "departments.csv"
        text = departments.read_text(encoding="utf-8")
        departments.write_bytes(damage(text).encode("latin-1" if "\xff" in damage(text) else "utf-8"))
    argv = ["silver_job.py", "--bronze_path", str(tmp_path), "--silver_path", str(tmp_path / "silver")]

    assert silver_job.main([*argv, "--mappings_path", str(folder)]) == 1  # before Spark starts

    err = capsys.readouterr().err
    assert err.startswith("silver_job: The mapping file") and sentence in err
    assert "Traceback" not in err and not (tmp_path / "silver").exists()


@pytest.mark.parametrize(
    ("reasons", "sentence"),
    [
        ("value,note\nLost Pet,legacy Animal Lost\n", "reasons.csv lacks the column(s) reason."),
        # a blank reason was written to Silver as '' for every Lost Pet case, and not counted as unknown
        ("value,reason,note\nLost Pet, ,legacy Animal Lost\n", "reasons.csv line 2: reason is blank."),
    ],
)
def test_a_reasons_file_that_cannot_give_a_reason_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture, reasons: str, sentence: str
) -> None:
    folder = tmp_path / "mappings"
    shutil.copytree(REPO / "glue" / "mappings", folder)
    (folder / "reasons.csv").write_text(reasons, encoding="utf-8")
    argv = ["silver_job.py", "--bronze_path", str(tmp_path), "--silver_path", str(tmp_path / "silver")]

    assert silver_job.main([*argv, "--mappings_path", str(folder)]) == 1  # before Spark starts

    err = capsys.readouterr().err
    assert err.startswith("silver_job: The mapping file") and sentence in err
    assert "Traceback" not in err and not (tmp_path / "silver").exists()


@pytest.mark.parametrize(
    ("file", "extra", "sentence"),
    [
        # a second line for Closed: its last line won, and every Closed case was written open
        (
            "statuses.csv",
            " CLOSED ,false,dup\n",
            "maps 'CLOSED' on lines 3 and 9 (case and surrounding spaces aside)",
        ),
        (
            "departments.csv",
            "code,pwdx,Parks & Recreation,\n",
            "maps 'pwdx' on lines 2 and 27 (case and surrounding spaces aside)",
        ),
    ],
)
def test_a_value_a_mapping_file_maps_twice_is_refused(
    tmp_path: Path, capsys, file: str, extra: str, sentence: str
):
    folder = tmp_path / "mappings"
    shutil.copytree(REPO / "glue" / "mappings", folder)
    with (folder / file).open("a", encoding="utf-8") as mapping:
        mapping.write(extra)
    argv = ["silver_job.py", "--bronze_path", str(tmp_path), "--silver_path", str(tmp_path / "silver")]

    assert silver_job.main([*argv, "--mappings_path", str(folder)]) == 1  # before Spark starts

    assert capsys.readouterr().err == f"silver_job: The mapping file {folder / file} {sentence}: keep one.\n"
    assert not (tmp_path / "silver").exists()


def test_a_mapping_file_saved_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    """Excel's "CSV UTF-8" begins the file with one: the first column was refused as missing."""
    folder = tmp_path / "mappings"
    shutil.copytree(REPO / "glue" / "mappings", folder)
    statuses = folder / "statuses.csv"
    statuses.write_bytes(b"\xef\xbb\xbf" + statuses.read_bytes())

    assert silver_job.load_mappings(str(folder)) == silver_job.load_mappings(
        str(REPO / "glue" / "mappings")
    ) | {"folder": str(folder)}


def test_a_statuses_file_whose_is_closed_is_not_true_or_false_is_refused(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "mappings"
    shutil.copytree(REPO / "glue" / "mappings", folder)
    (folder / "statuses.csv").write_text("value,is_closed,note\nOpen,false,legacy\nClosed,yes,legacy\n")
    argv = ["silver_job.py", "--bronze_path", str(tmp_path), "--silver_path", str(tmp_path / "silver")]

    assert silver_job.main([*argv, "--mappings_path", str(folder)]) == 1  # before Spark starts

    err = capsys.readouterr().err
    assert (
        err
        == f"silver_job: The mapping file {folder / 'statuses.csv'} line 3: is_closed must be true or false.\n"
    )
    assert not (tmp_path / "silver").exists()


def test_a_mapping_kind_with_no_values_maps_every_value_to_null(spark) -> None:
    # departments.csv with no 'code' lines (or none with a legacy_subject) gives an empty table
    frame = spark.createDataFrame([("PWDx",), (None,)], "department_raw string")

    looked_up = frame.select(silver_job.lookup(F.col("department_raw"), {}).alias("department")).collect()

    assert [row["department"] for row in looked_up] == [None, None]


def test_a_run_whose_only_new_file_is_empty_records_it_and_writes_no_rows(spark, tmp_path: Path) -> None:
    bronze, silver = tmp_path / "bronze" / "boston311", tmp_path / "silver" / "boston311"
    land(bronze, "legacy_2021", "2026-11-25", "empty.csv", b"")  # copied by hand: Bronze never lands one

    report = silver_job.run_silver(spark, str(bronze), str(silver))

    assert report["status"] == "ok"
    assert report["totals"] == {
        "rows_read": 0,
        "rows_written": 0,
        "rows_quarantined": 0,
        "duplicates_removed": 0,
    }
    assert [entry["era"] for entry in report["files"]] == ["empty"]
    assert not (silver / "service_requests").exists()
    # every field a report has, as for a run that wrote rows: it lacked null_rate, unknown_mapping_values,
    # unknown_mapping_totals and step_seconds
    assert file_errors(silver / "_quality" / "latest.json", SILVER_QUALITY_REPORT) == []
    assert set(report["null_rate"]) == set(silver_job.NULL_RATE_COLUMNS)
    assert set(report["null_rate"].values()) == {None}
    assert report["unknown_mapping_totals"]["department"] == {"values": 0, "rows": 0}
    processed = json.loads((silver / "_state" / "processed.json").read_text())["objects"]
    assert list(processed) == ["dataset=legacy_2021/ingest_date=2026-11-25/empty.csv"]  # not read again
    assert silver_job.run_silver(spark, str(bronze), str(silver))["files"] == []


def test_silver_helpers_for_big_files_and_s3_lakes() -> None:
    # one record in 2**k is sampled as evidence for a file of 32 MB and more, so the evidence stays about 16 MB
    sample = silver_job.EVIDENCE_SAMPLE_BYTES
    assert [
        silver_job.evidence_every(size) for size in (0, 2 * sample - 1, 2 * sample, 5 * sample, 64 * sample)
    ] == [
        1,
        1,
        2,
        4,
        64,
    ]
    # the rebuild command for a lake on S3 is the AWS CLI's, which takes s3:// only (EMR's s3a:// too)
    assert silver_job.move_aside("s3a://lake-bucket/lake/silver/boston311/") == (
        "aws s3 mv --recursive s3://lake-bucket/lake/silver/boston311/ s3://lake-bucket/lake/silver/boston311-before-upgrade/"
    )
    assert silver_job.move_aside("/data/my lake/silver/boston311") == (
        "mv '/data/my lake/silver/boston311' '/data/my lake/silver/boston311-before-upgrade'"
    )


@pytest.mark.parametrize("which", ["bronze", "silver"])
def test_a_path_that_is_a_file_is_refused_naming_it(spark, tmp_path: Path, capsys, which: str):
    bronze, silver = tmp_path / "bronze", tmp_path / "silver"
    land_legacy29(bronze, "legacy_2022", "2026-11-25", [legacy29_row("101004100001", "2022-01-19 11:18:00")])
    if which == "silver":
        silver.write_text("not a folder")
    else:
        bronze = tmp_path / "a_file.csv"
        bronze.write_text("not a folder")

    code = silver_job.main(["silver_job.py", "--bronze_path", str(bronze), "--silver_path", str(silver)])

    err = capsys.readouterr().err.strip()
    assert code == 1
    assert err.startswith(f"silver_job: The {which.title()} path ") and "is a file" in err


def test_a_second_run_on_the_same_local_silver_is_refused_while_the_first_runs(tmp_path: Path, capsys):
    # A second run used to take the first one's staging folder for a dead run's and delete it: the first then failed
    # on a Spark write error, and a second run started during the first one's publish could put a month back mid-swap.
    fcntl = pytest.importorskip("fcntl")
    bronze, silver = tmp_path / "bronze", tmp_path / "silver"
    land_legacy29(bronze, "legacy_2022", "2026-11-25", [legacy29_row("101004100001", "2022-01-19 11:18:00")])
    (silver / "_staging" / "20261126T000000000000Z").mkdir(parents=True)  # the first run's, being written
    first_run = os.open(silver, os.O_RDONLY)
    try:
        fcntl.flock(first_run, fcntl.LOCK_EX | fcntl.LOCK_NB)  # what the first run holds while it runs

        code = silver_job.main(["silver_job.py", "--bronze_path", str(bronze), "--silver_path", str(silver)])
    finally:
        os.close(first_run)

    assert code == 1
    assert capsys.readouterr().err.strip().splitlines() == [
        f"silver_job: Another Silver run is writing {silver}; wait for it to end, then run Silver again."
    ]
    assert (silver / "_staging" / "20261126T000000000000Z").is_dir()


def test_the_lock_of_a_silver_folder_the_run_made_goes_with_it(tmp_path: Path):
    silver = tmp_path / "lake" / "silver"

    with silver_job.one_run_at_a_time(str(silver)):
        assert silver.is_dir()
    # a run that wrote nothing leaves no empty folder behind, nor the lake/ it made for it
    assert not (tmp_path / "lake").exists()
    with silver_job.one_run_at_a_time("s3://bucket/silver"):
        pass  # Glue: MaxConcurrentRuns 1 keeps runs apart, there is no local folder to lock


def test_a_run_refused_the_lock_leaves_the_silver_folder_the_other_run_made_and_locked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    silver = tmp_path / "lake" / "silver"
    with another_run_makes_and_locks(monkeypatch, silver):
        with (
            pytest.raises(silver_job.SilverError, match="Another Silver run"),
            silver_job.one_run_at_a_time(str(silver)),
        ):
            pass
        assert silver.is_dir()


def test_the_lock_holds_a_file_uri_and_leaves_a_folder_the_run_did_not_make(tmp_path: Path):
    fcntl = pytest.importorskip("fcntl")
    silver = tmp_path / "silver"
    silver.mkdir()  # made by the user beforehand, still empty
    first_run = os.open(silver, os.O_RDONLY)
    try:
        fcntl.flock(first_run, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with (
            pytest.raises(silver_job.SilverError, match="Another Silver run is writing file://"),
            silver_job.one_run_at_a_time(f"file://{silver}"),
        ):
            pass
    finally:
        os.close(first_run)

    with silver_job.one_run_at_a_time(f"file://{silver}"):
        pass
    assert silver.is_dir()


@pytest.mark.parametrize(
    ("head", "line"),
    [
        (b"a,b\r\n1,2", "a,b"),
        (b"a,b\r1,2", "a,b"),  # CR alone ends a line too
        (b"\xef\xbb\xbfa,b\n1,2", "a,b"),  # the byte-order mark is no part of the first name
        (b"a,b", "a,b"),
        (b"", ""),
        (b"caf\xe9,b\n", "caf\ufffd,b"),  # Latin-1, as Spark's reader reads it
    ],
)
def test_the_first_line_is_read_from_the_files_first_bytes(head: bytes, line: str):
    assert silver_job.first_line(head) == line


def test_bytes_that_are_no_utf8_are_told_where():
    assert silver_job.non_utf8_at("Cáse Ñoño".encode(), 100) is None
    assert silver_job.non_utf8_at("Cáse Ñoño".encode("latin-1"), 100) == 1
    cut = "é".encode()[:1]
    assert (
        silver_job.non_utf8_at(b"x" + cut, 100) is None
    )  # the head ends inside a character of a longer file
    assert silver_job.non_utf8_at(b"x" + cut, 2) == 1  # the file itself does


def test_a_latin1_bronze_file_is_read_with_a_warning_that_says_so(spark, tmp_path: Path, caplog):
    """Its accented letters became U+FFFD in Silver, without a word."""
    bronze, silver = tmp_path / "bronze" / "boston311", tmp_path / "silver" / "boston311"
    row = legacy29_row("101004100001", "2022-01-19 11:18:00", case_title="Cáse Ñoño")
    land(bronze, "legacy_2022", "2026-11-25", "f.csv", csv_text(LEGACY29_HEADER, [row]).encode("latin-1"))

    with caplog.at_level("WARNING", logger=silver_job.log.name):
        report = silver_job.run_silver(spark, str(bronze), str(silver))

    assert report["totals"]["rows_written"] == 1
    offset = csv_text(LEGACY29_HEADER, [row]).encode("latin-1").index(b"\xe1")
    assert (
        f"The Bronze file dataset=legacy_2022/ingest_date=2026-11-25/f.csv is not UTF-8 (byte 0xe1 at offset "
        f"{offset:,}): Silver reads it as UTF-8, so its characters outside ASCII become U+FFFD (\ufffd); save it as "
        "UTF-8 to keep them." in caplog.text
    )
    assert [f["non_utf8_at"] for f in report["files"]] == [offset]
    assert f"; time basis wall_clock (era_default), not UTF-8 from byte {offset:,}" in silver_job.summary(
        report
    )


def test_a_file_bronze_found_not_utf8_past_the_first_mib_is_read_with_a_warning_that_says_so(
    spark, tmp_path: Path, caplog, monkeypatch
):
    """Silver looks at a file's first MiB only; past it, Bronze's manifest says where the file stops being UTF-8. (The
    plan decides it, so the plan is run: a whole run is the test above.)"""
    bronze = tmp_path / "bronze" / "boston311"
    data = csv_text(LEGACY29_HEADER, [legacy29_row("101004100001", "2022-01-19 11:18:00", case_title="Cáse")])
    monkeypatch.setattr(silver_job, "HEAD_BYTES", len(data.splitlines()[0]) + 2)  # the header alone: ASCII
    land(bronze, "legacy_2022", "2026-11-25", "f.csv", data.encode("latin-1"))
    key = "dataset=legacy_2022/ingest_date=2026-11-25/f.csv"
    offset = data.encode("latin-1").index(b"\xe1")
    write_manifest(
        bronze, "20261125T060000Z", {key: "2026-11-25T06:00:00Z"}, non_utf8_at={key: offset},
        sizes={key: len(data.encode("latin-1"))},
    )  # fmt: skip

    with caplog.at_level("WARNING", logger=silver_job.log.name):
        [planned] = silver_job.plan_bronze_files(silver_job.LakeFiles(spark), str(bronze), {})

    assert silver_job._file_report(planned)["non_utf8_at"] == offset
    assert (
        f"The Bronze file {key} is not UTF-8 (from byte offset {offset:,} on, as its Bronze manifest says): Silver "
        "reads it as UTF-8, so its characters outside ASCII become U+FFFD (\ufffd); save it as UTF-8 to keep them."
        in caplog.text
    )


def test_a_file_saved_as_utf8_in_bronze_since_its_manifest_said_it_was_not_is_read_without_the_warning(
    spark, tmp_path: Path, caplog, monkeypatch
):
    """The warning's advice is to save the file as UTF-8 in Bronze and have Silver read it again: the manifest's offset
    is of the bytes Bronze landed, and Silver kept warning of the mended file from it (and gave it in the report)."""
    bronze = tmp_path / "bronze" / "boston311"
    data = csv_text(LEGACY29_HEADER, [legacy29_row("101004100001", "2022-01-19 11:18:00", case_title="Cáse")])
    monkeypatch.setattr(silver_job, "HEAD_BYTES", len(data.splitlines()[0]) + 2)  # the header alone: ASCII
    key = "dataset=legacy_2022/ingest_date=2026-11-25/f.csv"
    write_manifest(
        bronze, "20261125T060000Z", {key: "2026-11-25T06:00:00Z"},
        non_utf8_at={key: data.encode("latin-1").index(b"\xe1")}, sizes={key: len(data.encode("latin-1"))},
    )  # fmt: skip
    land(bronze, "legacy_2022", "2026-11-25", "f.csv", data.encode())  # saved as UTF-8 since

    with caplog.at_level("WARNING", logger=silver_job.log.name):
        [planned] = silver_job.plan_bronze_files(silver_job.LakeFiles(spark), str(bronze), {})

    assert planned["non_utf8_at"] is None
    assert "is not UTF-8" not in caplog.text


def test_a_file_whose_first_line_is_longer_than_any_header_is_refused_without_reading_it_whole(
    spark, tmp_path
):
    """A file without line ends was read whole into the driver: 'Spark ran out of memory' for a 1.5 GB one."""
    bronze, silver = tmp_path / "bronze" / "boston311", tmp_path / "silver" / "boston311"
    land(bronze, "legacy_2022", "2026-11-25", "f.csv", b"x" * (silver_job.HEAD_BYTES + 10))

    with pytest.raises(silver_job.SilverError, match="has an unknown header"):
        silver_job.run_silver(spark, str(bronze), str(silver))


def test_the_field_limit_is_far_above_the_longest_field_of_the_citys_samples():
    """The longest field of the samples has 1,203 characters (a NEW SYSTEM closure comment); the limit stops a field of
    tens of millions, which ran Silver's Java out of memory (docs/silver.md, "A field too long")."""
    longest = 0  # within the csv module's own limit on a field (128 KiB)
    for sample in SAMPLES.values():
        with sample.open(encoding="utf-8", newline="") as rows:
            longest = max(longest, *(len(value) for row in csv.reader(rows) for value in row))
    assert longest == 1203
    assert 100 * longest < silver_job.MAX_FIELD_CHARS


@pytest.mark.parametrize(("given", "limit"), [("1000000", 1_000_000), ("1", 1), (" 250 ", 250)])
def test_a_field_limit_is_a_whole_number_of_characters(given: str, limit: int):
    assert silver_job.parse_max_field_chars(given) == limit
    assert silver_job.parse_max_field_chars(None) == silver_job.MAX_FIELD_CHARS


@pytest.mark.parametrize("given", ["0", "-5", "1e6", "1,000,000", "", "abc", "2147483640", "\u0661\u0660"])
def test_a_field_limit_that_is_no_whole_number_a_java_array_holds_is_refused_before_spark_starts(
    given: str, tmp_path: Path, capsys: pytest.CaptureFixture
):
    argv = [
        "silver_job.py",
        "--bronze_path",
        str(tmp_path / "bronze"),
        "--silver_path",
        str(tmp_path / "silver"),
    ]

    assert silver_job.main([*argv, "--max_field_chars", given]) == 1

    assert capsys.readouterr().err == (
        "silver_job: --max_field_chars must be a whole number of characters from 1 to 2,147,483,639 (the most a Java "
        f"array holds), not {given!r}.\n"
    )
    assert list(tmp_path.iterdir()) == []  # refused before the lock made the Silver folder


LONG_FIELD_FILE = "dataset=legacy_2022/ingest_date=2026-11-25/long_field.csv"


@pytest.mark.parametrize(
    ("record", "long_field"),
    [
        # one character over, in a record whose file Spark's failure does not name
        (3, {"closure_reason": "x" * 101}),
        # a quote left open: the rest of the file is one field
        (1, {"case_title": '"Needle Pickup'}),
    ],
)
def test_a_bronze_file_with_a_field_over_the_limit_stops_the_run_before_it_writes_naming_the_file(
    spark, tmp_path: Path, capsys: pytest.CaptureFixture, record: int, long_field: dict[str, str]
):
    """A field of tens of millions of characters ran Silver's Java out of memory without a word of the job's."""
    bronze, silver = tmp_path / "bronze" / "boston311", tmp_path / "silver" / "boston311"
    argv = [
        "silver_job.py",
        "--bronze_path",
        str(bronze),
        "--silver_path",
        str(silver),
        "--max_field_chars",
        "100",
    ]
    land_legacy29(bronze, "legacy_2021", "2026-11-20", [legacy29_row("101004100001", "2021-01-19 11:18:00")])
    assert silver_job.main(argv) == 0  # an earlier run: a table, a state and a report to keep as they are
    rows = [legacy29_row(f"10100420000{n}", "2022-01-19 11:18:00") for n in range(1, 6)]
    rows[record - 1] = legacy29_row(f"10100420000{record}", "2022-01-19 11:18:00", **long_field)
    text = csv_text(LEGACY29_HEADER, rows).replace('"""Needle Pickup"', '"Needle Pickup')  # left open
    long_file = land(bronze, "legacy_2022", "2026-11-25", "long_field.csv", text)
    at_the_limit = legacy29_row("101004100002", "2021-01-20 09:00:00", closure_reason="y" * 100)
    land_legacy29(bronze, "legacy_2021", "2026-11-25", [at_the_limit])  # a file of the same run, read whole
    before = lake_bytes(silver)

    assert silver_job.main(argv) == 1

    err = capsys.readouterr().err
    assert err == (
        f"silver_job: The Bronze file {LONG_FIELD_FILE} has a field longer than 100 characters in its record {record} "
        "(--max_field_chars; a quote left open makes the rest of a file one field); Silver refuses it: see 'A field "
        "too long' in docs/silver.md, or move the file out of Bronze to go on.\n"
    )
    assert "Traceback" not in err
    assert lake_bytes(silver) == before  # nothing published, nothing staged, the state not advanced

    long_file.rename(tmp_path / long_file.name)  # moved out of Bronze: the next run reads everything else
    assert silver_job.main(argv) == 0
    report = json.loads((silver / "_quality" / "latest.json").read_text())
    assert [entry["source_file"] for entry in report["files"]] == [
        "dataset=legacy_2021/ingest_date=2026-11-25/311_service_requests_2021.csv"
    ]
    assert silver_rows(spark, silver)["101004100002"]["closure_reason"] == "y" * 100


def test_a_field_one_character_over_the_default_limit_is_refused(spark, tmp_path: Path):
    bronze, silver = tmp_path / "bronze" / "boston311", tmp_path / "silver" / "boston311"
    over = "x" * (silver_job.MAX_FIELD_CHARS + 1)
    land_legacy29(
        bronze, "legacy_2022", "2026-11-25", [legacy29_row("101004100001", "2022-01-19", closure_reason=over)]
    )

    with pytest.raises(silver_job.SilverError) as refused:
        silver_job.run_silver(spark, str(bronze), str(silver))

    assert str(refused.value).startswith(
        "The Bronze file dataset=legacy_2022/ingest_date=2026-11-25/311_service_requests_2022.csv has a field longer "
        "than 1,000,000 characters in its record 1 (--max_field_chars; "
    )
    assert not silver.exists()  # nothing written


def test_a_record_of_more_fields_than_sparks_reader_reads_is_refused_naming_the_file_and_record(
    spark, tmp_path: Path
):
    """A line of 30,000 commas stopped the run with Spark's "Job aborted due to stage failure", naming no file."""
    bronze, silver = tmp_path / "bronze" / "boston311", tmp_path / "silver" / "boston311"
    text = (
        csv_text(LEGACY29_HEADER, [legacy29_row("101004100001", "2022-01-19 11:18:00")]) + "," * 30_000 + "\n"
    )
    land(bronze, "legacy_2022", "2026-11-25", "many_fields.csv", text)

    with pytest.raises(silver_job.SilverError) as refused:
        silver_job.run_silver(spark, str(bronze), str(silver))

    assert str(refused.value) == (
        "The Bronze file dataset=legacy_2022/ingest_date=2026-11-25/many_fields.csv has more than 20,480 fields in "
        "its record 2 (Spark's CSV reader reads no more; a line of separators, not a record of 311's); Silver refuses "
        "it: see 'A field too long' in docs/silver.md, or move the file out of Bronze to go on."
    )
    assert not silver.exists()  # nothing written


def test_a_failure_that_is_no_field_over_the_limit_is_not_blamed_on_a_file(spark, tmp_path: Path):
    """The files are read again one by one to find the one with the field; one that reads within the limit is not
    named, nor any file for another failure: the run then fails with Spark's own words."""
    bronze = tmp_path / "bronze" / "boston311"
    land_legacy29(bronze, "legacy_2022", "2026-11-25", [legacy29_row("101004100001", "2022-01-19 11:18:00")])
    planned = silver_job.plan_bronze_files(silver_job.LakeFiles(spark), str(bronze), {})
    over = RuntimeError(
        f"TextParsingException: Length of parsed input (101) {silver_job.FIELD_OVER_LIMIT.format(100)}"
    )

    too_many = RuntimeError(f"TextParsingException: java.lang.{silver_job.FIELDS_OVER_LIMIT.format(20480)}")

    assert silver_job.record_over_limit(over, spark, planned, 100) is None  # the file changed since, say
    assert silver_job.record_over_limit(too_many, spark, planned, 100) is None  # so did this one
    assert silver_job.record_over_limit(RuntimeError("Java heap space"), spark, planned, 100) is None
    assert silver_job.record_over_limit(over, spark, planned, 1000) is None  # another limit than this run's


def test_a_bronze_path_one_level_too_high_is_refused_not_read_as_nothing_new(spark, tmp_path: Path):
    bronze, silver = tmp_path / "bronze" / "boston311", tmp_path / "silver" / "boston311"
    land_legacy29(bronze, "legacy_2022", "2026-11-25", [legacy29_row("101004100001", "2022-01-19 11:18:00")])

    with pytest.raises(silver_job.SilverError) as refused:  # "nothing new" every run, and no hint why
        silver_job.run_silver(spark, str(tmp_path / "bronze"), str(silver))

    assert str(refused.value) == (
        f"The Bronze path {tmp_path / 'bronze'} holds no dataset= folders, but {bronze} does: give that folder as "
        "--bronze_path (the ingest lands into <lake>/bronze/boston311)."
    )
    assert not silver.exists()


@pytest.mark.parametrize("ingest_date", ["latest", "2026-02-30", "2026-1-5"])
def test_a_bronze_object_under_an_ingest_date_that_is_no_date_is_refused(
    spark, tmp_path: Path, ingest_date: str
):
    """Its rows were written with no ingested_at, which won every dedupe over the cases' later versions."""
    bronze, silver = tmp_path / "bronze" / "boston311", tmp_path / "silver" / "boston311"
    land_legacy29(bronze, "legacy_2022", ingest_date, [legacy29_row("101004100001", "2022-01-19 11:18:00")])

    with pytest.raises(silver_job.SilverError) as refused:
        silver_job.run_silver(spark, str(bronze), str(silver))

    assert str(refused.value) == (
        f"The Bronze object dataset=legacy_2022/ingest_date={ingest_date}/311_service_requests_2022.csv lies under "
        f"ingest_date={ingest_date}, which is no date (YYYY-MM-DD); Bronze lands each object under the day it landed "
        "it: move it under that day, or out of Bronze, to go on."
    )
    assert not silver.exists()


@pytest.mark.parametrize("copy", ["open_year=2022/open_month=01", "backup"])
def test_a_folder_silver_does_not_write_in_its_table_is_refused_not_read_as_more_rows(
    spark, read_on_the_20th: Path, tmp_path: Path, copy
):
    bronze, silver = copy_of(read_on_the_20th, tmp_path)
    table = silver / "service_requests"
    shutil.copytree(
        table / "open_year=2022" / "open_month=1", table / copy
    )  # Spark reads 01 as January again
    before = sorted(str(p.relative_to(silver)) for p in silver.rglob("*"))
    land_legacy29(bronze, "legacy_2022", "2026-11-25", [legacy29_row("101004100002", "2022-01-21 10:00:00")])

    with pytest.raises(silver_job.SilverError) as refused:
        silver_job.run_silver(spark, str(bronze), str(silver))

    assert str(refused.value) == (
        f"The Silver table at {table} holds a folder {copy}, which Silver does not write (open_year=YYYY/"
        "open_month=M, without a leading zero): a copy or a backup there is read as more rows; move it out of the "
        "table, then run Silver again."
    )
    assert sorted(str(p.relative_to(silver)) for p in silver.rglob("*")) == before


def test_a_parquet_file_of_another_table_in_a_silver_month_is_refused_not_kept_as_empty_cases(
    spark, read_on_the_20th: Path, tmp_path: Path
):
    bronze, silver = copy_of(read_on_the_20th, tmp_path)
    month = silver / "service_requests" / "open_year=2022" / "open_month=1"
    foreign = month / "part-99999-foreign.snappy.parquet"  # a Gold table's file, copied in by hand
    pq.write_table(pa.table({"department": ["Public Works"] * 3, "requests_opened": [1, 2, 3]}), foreign)
    table_before = sorted((p.name, p.read_bytes()) for p in month.iterdir())
    land_legacy29(bronze, "legacy_2022", "2026-11-25", [legacy29_row("101004100002", "2022-01-21 10:00:00")])

    with pytest.raises(
        silver_job.SilverError
    ) as refused:  # its rows were written on as cases with no case_id
        silver_job.run_silver(spark, str(bronze), str(silver))

    assert str(refused.value).startswith(
        "The Silver table holds 3 rows without a case_id, which Silver never writes: a file of another table or "
        "schema lies in it (file:"
    )
    assert str(refused.value).endswith(
        "part-99999-foreign.snappy.parquet); move it out of the table, then run Silver again. Nothing was published."
    )
    assert sorted((p.name, p.read_bytes()) for p in month.iterdir()) == table_before


def test_a_damaged_parquet_file_in_silver_is_one_sentence_and_nothing_is_lost(
    spark, read_on_the_20th: Path, tmp_path: Path, capsys
):
    bronze, silver = copy_of(read_on_the_20th, tmp_path)
    victim = next((silver / "service_requests").rglob("*.parquet"))
    victim.write_bytes(victim.read_bytes()[:100])  # cut off: no footer
    damaged = victim.read_bytes()
    land_legacy29(bronze, "legacy_2022", "2026-11-25", [legacy29_row("101004100001", "2022-01-19 11:18:00", "2022-01-20 09:00:00")])  # fmt: skip
    state_before = (silver / "_state" / "processed.json").read_text()

    code = silver_job.main(["silver_job.py", "--bronze_path", str(bronze), "--silver_path", str(silver)])

    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1 and err[0].startswith("silver_job: Spark failed (")
    assert err[0].endswith(
        "see Spark's log above. Nothing is half-written: once its cause is fixed, a rerun redoes the run."
    )
    assert victim.read_bytes() == damaged  # the table was not touched
    assert (silver / "_state" / "processed.json").read_text() == state_before  # the new file stays unread
    # a rerun fails the same way while the file is damaged: the sentence does not promise that a rerun mends it
    assert silver_job.main(["silver_job.py", "--bronze_path", str(bronze), "--silver_path", str(silver)]) == 1


@pytest.mark.parametrize(
    ("what", "sentence"),
    [
        (
            "disk",
            "silver_job: Spark failed (No space left on device); a disk is full, the one under {silver} or the "
            "one under Java's temporary folder (/tmp, unless JAVA_TOOL_OPTIONS=-Djava.io.tmpdir=FOLDER moves "
            "it): free space there. Nothing is half-written: once its cause is fixed, a rerun redoes the run.",
        ),
        (
            "memory",
            "silver_job: Spark failed (java.lang.OutOfMemoryError: Requested array size exceeds VM limit); Spark ran "
            "out of memory: give it more (a local run: SPARK_DRIVER_MEMORY, e.g. 8g; on Glue: a larger worker type). "
            "Nothing is half-written: once its cause is fixed, a rerun redoes the run.",
        ),
    ],
)
def test_a_full_disk_or_memory_while_writing_the_table_is_named_and_nothing_is_published(
    spark, read_on_the_20th: Path, tmp_path: Path, capsys, monkeypatch, what: str, sentence: str
):
    # Before, the sentence was Spark's first line, "Job aborted due to stage failure: Task 0 in stage 17.0 failed 1
    # times, ..." cut at 300 characters: the full disk (or the memory) only in a "Caused by" line of Spark's log.
    from pyspark.sql import DataFrameWriter

    bronze, silver = copy_of(read_on_the_20th, tmp_path)
    land_legacy29(bronze, "legacy_2022", "2026-11-25", [legacy29_row("101004100002", "2022-01-20 11:18:00")])
    before = {p.relative_to(silver): p.read_bytes() for p in silver.rglob("*") if p.is_file()}
    write_parquet = DataFrameWriter.parquet

    def ran_out_while_writing_the_table(writer, path, *args, **kwargs):
        if path.endswith(f"/{silver_job.TABLE_FOLDER}"):  # the quarantine's staging is written before it
            raise_java_exhaustion(spark, what)
        return write_parquet(writer, path, *args, **kwargs)

    monkeypatch.setattr(DataFrameWriter, "parquet", ran_out_while_writing_the_table)
    code = silver_job.main(["silver_job.py", "--bronze_path", str(bronze), "--silver_path", str(silver)])

    assert code == 1
    assert capsys.readouterr().err.strip().splitlines() == [sentence.format(silver=silver)]
    after = {p.relative_to(silver): p.read_bytes() for p in silver.rglob("*") if p.is_file()}
    assert after == before  # the table, its state and reports as they were; the staging folder is gone
    monkeypatch.undo()
    assert silver_job.main(["silver_job.py", "--bronze_path", str(bronze), "--silver_path", str(silver)]) == 0
    assert sorted(silver_rows(spark, silver)) == ["101004100001", "101004100002"]


def test_a_conservation_failure_publishes_nothing(spark, read_on_the_20th: Path, tmp_path: Path, monkeypatch):
    # A row lost between the passes (here: one fewer counted in the staged output) must stop the run before publishing.
    bronze, silver = copy_of(read_on_the_20th, tmp_path)
    state_before = (silver / "_state" / "processed.json").read_text()
    reports_before = sorted(p.name for p in (silver / "_quality").iterdir())
    changed = [
        legacy29_row("101004100001", "2022-01-19 11:18:00", "2022-01-20 09:00:00"),
        legacy29_row("101004100002", "2022-02-01 10:00:00"),
    ]
    land_legacy29(bronze, "legacy_2022", "2026-11-25", changed)
    counted = silver_job._count_staged

    def one_row_lost(*args):
        partitions = counted(*args)
        args[2]["dataset=legacy_2022/ingest_date=2026-11-25/311_service_requests_2022.csv"][
            "rows_written"
        ] -= 1
        return partitions

    monkeypatch.setattr(silver_job, "_count_staged", one_row_lost)
    with pytest.raises(
        silver_job.SilverError,
        match=r"Conservation failed for dataset=legacy_2022/ingest_date=2026-11-25/311_service_requests_2022\.csv: "
        r"2 rows read but 1 accounted for .*nothing was published",
    ):
        silver_job.run_silver(spark, str(bronze), str(silver))
    rows = silver_rows(spark, silver)
    assert (
        list(rows) == ["101004100001"] and rows["101004100001"]["is_closed"] is False
    )  # the table as it was
    assert (silver / "_state" / "processed.json").read_text() == state_before  # the new file stays unread
    assert sorted(p.name for p in (silver / "_quality").iterdir()) == reports_before
    assert not (silver / "_staging").exists() and not (silver / "quarantine").exists()


@pytest.mark.parametrize("job", ["silver_job", "gold_job"])
def test_ctrl_c_cancels_spark_jobs_once_and_stops_at_once_the_second_time(spark, job: str):
    import threading

    module = __import__(job)
    handlers_before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    before = set(threading.enumerate())
    put_back = module.cancel_on_interrupt(spark)
    try:
        signal.raise_signal(
            signal.SIGINT
        )  # the first: a flag and a cancel, no KeyboardInterrupt in a py4j call
        assert module.INTERRUPTED.is_set() and module.stopped_exit() == 130
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
    finally:
        put_back()  # this process's handlers, and the JVM's (a local session: it handed them to this process)
        module.INTERRUPTED.clear()
        # the cancelling thread outlived the test: its cancelAllJobs must not reach the next test's Spark jobs
        for thread in set(threading.enumerate()) - before:
            thread.join(timeout=10)
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers_before


@pytest.mark.parametrize("job", ["silver_job", "gold_job"])
def test_a_job_run_from_another_thread_leaves_ctrl_c_alone(job: str) -> None:
    # Python lets only the main thread set a signal handler (and only it receives SIGINT)
    import threading

    module = __import__(job)
    pytest_handler, returned = signal.getsignal(signal.SIGINT), []
    module.INTERRUPTED.set()  # a flag left by an earlier run is cleared all the same
    thread = threading.Thread(target=lambda: returned.append(module.cancel_on_interrupt(object())))
    thread.start()
    thread.join(timeout=10)

    assert returned == [None]
    assert signal.getsignal(signal.SIGINT) is pytest_handler
    assert not module.INTERRUPTED.is_set()


@pytest.mark.parametrize("job", ["silver_job", "gold_job"])
def test_ctrl_c_after_spark_stopped_its_context_prints_no_trace(job: str, monkeypatch) -> None:
    # A terminal's Ctrl-C reaches the JVM too, which may stop the context before the cancelling thread runs: its
    # IllegalStateException printed a thread's traceback (seen once in CI)
    import threading
    from types import SimpleNamespace

    module = __import__(job)

    def stopped() -> None:
        raise RuntimeError("Cannot call methods on a stopped SparkContext.")

    failures = []
    monkeypatch.setattr(threading, "excepthook", failures.append)
    before = set(threading.enumerate())
    put_back = module.cancel_on_interrupt(
        SimpleNamespace(sparkContext=SimpleNamespace(cancelAllJobs=stopped))
    )
    try:
        signal.raise_signal(signal.SIGINT)
        for thread in set(threading.enumerate()) - before:
            thread.join(timeout=10)
    finally:
        put_back()
        module.INTERRUPTED.clear()
    assert failures == []


def test_an_interrupted_run_publishes_nothing_and_exits_130(spark, tmp_path: Path, capsys, monkeypatch):
    bronze, silver = tmp_path / "bronze" / "boston311", tmp_path / "silver" / "boston311"
    land_legacy29(bronze, "legacy_2022", "2026-11-25", [legacy29_row("101004100001", "2022-01-19 11:18:00")])
    monkeypatch.setattr(silver_job, "cancel_on_interrupt", lambda session: silver_job.INTERRUPTED.set())
    try:
        code = silver_job.main(["silver_job.py", "--bronze_path", str(bronze), "--silver_path", str(silver)])
    finally:
        silver_job.INTERRUPTED.clear()

    assert code == 130
    assert capsys.readouterr().err.strip() == (
        "silver_job: Interrupted before publishing: nothing was published; a rerun redoes the run."
    )
    assert not (silver / "service_requests").exists() and not (silver / "_staging").exists()
    assert not (silver / "_state" / "processed.json").exists()


def test_a_state_file_that_cannot_be_read_is_not_called_damaged():
    # Only Hadoop's checksum mismatch means "changed by hand"; access denied or a timeout is not damage, and
    # "delete it" would be bad advice (main reports it as a Spark failure instead).
    from py4j.protocol import Py4JJavaError

    class JavaError:
        _target_id = "o1"  # what py4j keeps of the Java object

        def __init__(self, name: str) -> None:
            self.name = name

        def getClass(self):  # noqa: N802 - the Java method's name
            return type("Class", (), {"getName": lambda _: self.name})()

        def toString(self) -> str:  # noqa: N802
            return self.name

    class Files:
        def __init__(self, java_class: str) -> None:
            self.java_class = java_class

        def exists(self, path: str) -> bool:
            return True

        def read_text(self, path: str) -> str:
            raise Py4JJavaError("reading the state", JavaError(self.java_class))

    with pytest.raises(Py4JJavaError):
        silver_job.read_state(Files("java.nio.file.AccessDeniedException"), "s3://lake/silver")
    with pytest.raises(silver_job.SilverError, match="is damaged"):
        silver_job.read_state(Files("org.apache.hadoop.fs.ChecksumException"), "/lake/silver")


@pytest.mark.slow
def test_ctrl_c_from_the_terminal_mid_run_is_one_line_exit_130_and_nothing_published(tmp_path: Path):
    """The real path: spark-submit in its own process group, Ctrl-C to the whole group (as a terminal sends it)
    once the run stages its output; the job cancels its Spark jobs and exits 130 with one line."""
    import os
    import subprocess
    import sys
    import time

    from conftest import SAMPLE_2011, SAMPLE_NEW

    bronze, silver = tmp_path / "bronze" / "boston311", tmp_path / "silver" / "boston311"
    land(bronze, "legacy_2011", "2026-11-25", SAMPLE_2011.name, SAMPLE_2011)
    land(bronze, "new_system", "2026-11-25", SAMPLE_NEW.name, SAMPLE_NEW)
    spark_submit = Path(sys.executable).parent / "spark-submit"
    job = subprocess.Popen(
        [str(spark_submit), "--master", "local[1]", str(REPO / "glue" / "silver_job.py"),
         "--bronze_path", str(bronze), "--silver_path", str(silver)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        env=dict(os.environ, PYSPARK_PYTHON=sys.executable, PYSPARK_DRIVER_PYTHON=sys.executable),
    )  # fmt: skip
    deadline = time.monotonic() + 240
    while not (silver / "_staging").exists() and job.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if job.poll() is not None:
        pytest.skip("the job ended before it staged anything: nothing to interrupt")
    os.killpg(job.pid, 2)  # SIGINT to the group, as Ctrl-C in a terminal
    output, _ = job.communicate(timeout=240)

    if job.returncode == 0:
        pytest.skip("the job finished its publish before the signal reached it")
    assert job.returncode == 130, output[-3000:]
    assert "Traceback (most recent call last)" not in output  # no Python trace (Spark logs its own abort)
    # The JVM gets the Ctrl-C too: it hands it to the driver (forward_java_signals), where it once ended the run
    # itself and took the driver down before it printed its line.
    said = [line for line in output.splitlines() if line.startswith("silver_job:")]
    assert said == [f"silver_job: {silver_job.Interrupted.MESSAGE}"], output[-3000:]
    assert not (silver / "service_requests").exists()
    assert not (silver / "_state" / "processed.json").exists()


def test_an_error_inside_a_sentence_is_its_first_line_or_its_type():
    # Java's messages run over many lines (its stack); a message quoting one is still one sentence
    assert (
        silver_job.one_line(OSError("could not rename\n\tat org.apache.hadoop.fs.FileSystem"))
        == "could not rename"
    )
    assert silver_job.one_line(OSError()) == "OSError"
    assert silver_job.one_line(ValueError("x" * 500)) == "x" * 300
