"""The reject-share guard: a Bronze file whose records are mostly rejected is named in a warning, and with
``--max_reject_share`` stops the run before it writes anything."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

import silver_job
from silver_helpers import lake_bytes, land_legacy29, legacy29_row

MIN_ROWS = silver_job.REJECT_GUARD_MIN_ROWS


def cases(first: int, count: int, bad: int = 0, no_id: int = 0) -> list[list[str]]:
    """``count`` legacy records with ids from ``first``: the first ``bad`` with a day-first open date (the City
    changed its date format), the next ``no_id`` without a case id, the rest good."""
    rows = []
    for n in range(count):
        opened = "19/01/2022 11:18" if n < bad else "2022-01-19 11:18:00"
        case_id = "" if bad <= n < bad + no_id else str(101004100000 + first + n)
        rows.append(legacy29_row(case_id, opened))
    return rows


BAD_FILE = "dataset=legacy_2022/ingest_date=2026-11-25/311_service_requests_2022.csv"


# ---------------------------------------------------------------------------------------------------------------
# No Spark: the argument and the judgement
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("given", "share"), [("0.05", 0.05), ("0", 0.0), ("1", 1.0), ("5e-2", 0.05)])
def test_a_share_from_0_to_1_is_taken(given: str, share: float):
    assert silver_job.parse_max_reject_share(given) == share
    assert silver_job.parse_max_reject_share(None) is None


@pytest.mark.parametrize("given", ["2", "abc", "", "-0.1", "nan", "inf", "5%"])
def test_a_share_outside_0_to_1_is_refused_in_one_sentence_before_spark_starts(
    given: str, tmp_path: Path, capsys: pytest.CaptureFixture
):
    argv = [
        "silver_job.py",
        "--bronze_path",
        str(tmp_path / "bronze"),
        "--silver_path",
        str(tmp_path / "silver"),
    ]

    assert silver_job.main([*argv, "--max_reject_share", given]) == 1

    assert capsys.readouterr().err == (
        "silver_job: --max_reject_share must be a share of a file's rows from 0 to 1 (0.05 is 5 %), "
        f"not {given!r}.\n"
    )
    assert list(tmp_path.iterdir()) == []  # refused before the lock made the Silver folder


def test_the_equals_form_and_a_misspelling_of_the_argument():
    args = silver_job.parse_args(
        ["silver_job.py", "--bronze_path=/b", "--silver_path=/s", "--max_reject_share=0.1"]
    )
    assert args["max_reject_share"] == "0.1"
    with pytest.raises(silver_job.SilverError, match="Unknown argument --max-reject-share: did you mean"):
        silver_job.parse_args(
            ["silver_job.py", "--bronze_path", "/b", "--silver_path", "/s", "--max-reject-share"]
        )


def file_report(name: str, rows: int, **rejects: int) -> dict:
    """A file's report as the first pass leaves it: rows read and rejects by reason."""
    return {"source_file": name, "rows_read": rows, "rejects_by_reason": rejects}


def test_small_files_are_not_judged_and_a_share_at_the_threshold_is_not_over():
    tiny = file_report("tiny.csv", 4, unparsable_opened_at=3)  # 75 %, but 3 records
    at = file_report("at.csv", MIN_ROWS, missing_case_id=MIN_ROWS // 20)  # exactly 5 %
    over = file_report("over.csv", MIN_ROWS, missing_case_id=MIN_ROWS // 20 + 1)
    empty = file_report("empty.csv", 0)
    reports = {entry["source_file"]: entry for entry in (tiny, at, over, empty)}

    assert silver_job.files_over(reports, 0.05) == [over]
    assert silver_job.files_over(reports, 0.0) == [at, over]
    assert silver_job.files_over(reports, 1.0) == []


def test_the_warning_judges_files_of_1000_rows_or_more_rejecting_over_1_percent():
    # the thresholds docs/silver.md gives, as numbers: a 999-row file is not judged however much it rejects
    small = file_report("small.csv", 999, unparsable_opened_at=999)
    at = file_report("at.csv", 1000, missing_case_id=10)  # exactly 1 %
    over = file_report("over.csv", 1000, missing_case_id=11)
    reports = {entry["source_file"]: entry for entry in (small, at, over)}

    assert silver_job.files_over(reports, silver_job.REJECT_SHARE_WARNING) == [over]


def test_the_refusal_names_each_file_its_share_its_top_reasons_and_the_threshold():
    first = file_report(
        "f2000.csv",
        2000,
        unparsable_opened_at=1500,
        malformed_record=3,
        missing_case_id=7,
        closed_before_opened=1,
    )
    second = file_report("f1000.csv", 1000, malformed_record=100)

    sentence = silver_job.too_many_rejects([first, second], 0.05)

    assert sentence == (
        "Silver stopped before writing anything, as f2000.csv rejects 1511 of its 2000 rows (75.55 %: "
        "unparsable_opened_at 1500, missing_case_id 7, malformed_record 3, 1 more) and f1000.csv rejects 100 of "
        "its 1000 rows (10 %: malformed_record 100), above --max_reject_share 0.05 (5 %): find the cause in their "
        "records (a changed date format, column or quoting) and run again, or run with a higher "
        "--max_reject_share to quarantine them (docs/silver.md, 'A file mostly rejected')."
    )


def test_reasons_of_as_many_records_are_named_by_name_whatever_order_the_first_pass_counted_them_in():
    # they came in the order of the first pass's aggregation: the same file could be said otherwise from run to run
    # (tests/test_silver_differential.py found it)
    entry = file_report("f.csv", 1000, unparsable_opened_at=10, missing_case_id=10, malformed_record=10,
                        closed_before_opened=10, unparsable_closed_at=20)  # fmt: skip

    assert silver_job.rejects_said(entry) == (
        "f.csv rejects 60 of its 1000 rows (6 %: unparsable_closed_at 20, closed_before_opened 10, malformed_record 10, "
        "2 more)"
    )


def test_a_share_just_above_the_threshold_never_reads_as_the_threshold():
    # 11 of 1,099 rows is 1.0009 %: to two places "1 %", so a run stopped "above --max_reject_share 0.01 (1 %)" said
    # the file rejects "1 %" of its rows
    entry = file_report("f.csv", 1099, malformed_record=11)

    assert silver_job.too_many_rejects([entry], 0.01).startswith(
        "Silver stopped before writing anything, as f.csv rejects 11 of its 1099 rows (1.001 %: malformed_record 11), "
        "above --max_reject_share 0.01 (1 %)"
    )
    assert silver_job.rejects_said(entry) == "f.csv rejects 11 of its 1099 rows (1 %: malformed_record 11)"
    assert silver_job.percent(0.05, 0.05) == "5 %"  # at the threshold itself: as it is
    assert silver_job.percent(0.0500001, 0.05) == "5.00001 %"


def test_the_threshold_is_said_in_percent_with_every_place_it_was_given_with():
    # to two places 0.00125 was "0.12 %" (a float's 0.125 rounds to even), and a share beside 0.12346 read below it
    low = file_report("low.csv", 100_000, malformed_record=126)
    assert "(0.13 %: malformed_record 126), above --max_reject_share 0.00125 (0.125 %): " in (
        silver_job.too_many_rejects([low], 0.00125)
    )
    high = file_report("high.csv", 1_000_000, malformed_record=123_461)
    assert "(12.3461 %: malformed_record 123461), above --max_reject_share 0.12346 (12.346 %): " in (
        silver_job.too_many_rejects([high], 0.12346)
    )
    # and as given: "g" kept 6 digits, 0.1234567 was "0.123457" beside "(12.34567 %)"
    assert "above --max_reject_share 0.1234567 (12.34567 %): " in silver_job.too_many_rejects(
        [high], 0.1234567
    )
    said = [silver_job.threshold_percent(t) for t in (0.05, 0.01, 0.5, 1.0, 0.0, 0.00125, 1e-05)]
    assert said == ["5 %", "1 %", "50 %", "100 %", "0 %", "0.125 %", "0.001 %"]


@pytest.mark.timeout(10)
def test_a_share_beside_its_threshold_keeps_every_place_it_needs_and_is_said_at_once():
    # "g" kept 6 digits: 1.0000012 % beside 1 % read as "1 %" after all
    assert silver_job.percent(0.010000012, 0.01) == "1.000001 %"
    # two floats whose hundredfold is one float: no number of places tells them apart, and the loop never ended
    share, threshold = 0.39015527635963504, 0.390155276359635
    assert share != threshold and share * 100 == threshold * 100
    assert silver_job.percent(share, threshold) == "39.0155276359635 %"
    # and as before
    assert [silver_job.percent(s) for s in (0.05, 0.83417, 0.005, 0.835, 1.0, 0.0)] == [
        "5 %",
        "83.42 %",
        "0.5 %",
        "83.5 %",
        "100 %",
        "0 %",
    ]


# ---------------------------------------------------------------------------------------------------------------
# Spark: a run that warns, a run that stops
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.spark
def test_a_mostly_rejected_file_is_named_in_a_warning_and_the_report(
    spark, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    bronze, silver = tmp_path / "bronze" / "boston311", tmp_path / "silver" / "boston311"
    land_legacy29(bronze, "legacy_2022", "2026-11-25", cases(0, 1200, bad=1000, no_id=2))
    land_legacy29(bronze, "legacy_2021", "2026-11-25", cases(2000, MIN_ROWS, bad=5))  # 0.5 %: the usual
    land_legacy29(bronze, "legacy_2020", "2026-11-25", cases(4000, 4, bad=3))  # 75 % of a tiny file

    with caplog.at_level(logging.INFO, logger=silver_job.log.name):
        report = silver_job.run_silver(spark, str(bronze), str(silver))

    shares = {entry["dataset"]: entry["reject_share"] for entry in report["files"]}
    assert shares == {"legacy_2022": 0.835, "legacy_2021": 0.005, "legacy_2020": 0.75}
    assert report["reject_share_guard"] == {
        "warn_above": silver_job.REJECT_SHARE_WARNING,
        "fail_above": None,
        "min_rows": MIN_ROWS,
        "files_over": [BAD_FILE],
    }
    assert report["totals"]["rows_quarantined"] == 1002 + 5 + 3  # the warning stops nothing
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1 and warnings[0].startswith(f"Silver run {report['run_id']}:")  # the summary
    said = [line for line in warnings[0].splitlines() if "WARNING" in line]
    assert said == [
        f"  WARNING: {BAD_FILE} rejects 1002 of its 1200 rows (83.5 %: unparsable_opened_at 1000, missing_case_id 2), "
        "above the 1 % Silver warns at: a changed date format, column or quoting? Its rejected records are in the "
        "quarantine."
    ]
    written = json.loads((silver / "_quality" / "latest.json").read_text())
    assert written["reject_share_guard"] == report["reject_share_guard"]
    assert [entry["reject_share"] for entry in written["files"]] == [
        entry["reject_share"] for entry in report["files"]
    ]


@pytest.mark.spark
def test_with_max_reject_share_the_run_stops_before_writing_and_a_rerun_reads_the_same_objects(
    spark, tmp_path: Path, capsys: pytest.CaptureFixture, caplog: pytest.LogCaptureFixture
):
    bronze, silver = tmp_path / "bronze" / "boston311", tmp_path / "silver" / "boston311"
    argv = ["silver_job.py", "--bronze_path", str(bronze), "--silver_path", str(silver)]
    # under the threshold nothing: 0.5 % bad passes with the argument, and the summary warns of nothing
    land_legacy29(bronze, "legacy_2021", "2026-11-20", cases(2000, MIN_ROWS, bad=5))
    with caplog.at_level(logging.INFO, logger=silver_job.log.name):
        assert silver_job.main([*argv, "--max_reject_share", "0.05"]) == 0
    assert "WARNING" not in caplog.text and capsys.readouterr().err == ""
    assert (
        silver / "quarantine"
    ).is_dir()  # the run quarantined its 5 records: a quarantine to keep unchanged
    land_legacy29(bronze, "legacy_2022", "2026-11-25", cases(0, 1200, bad=1000, no_id=2))
    land_legacy29(bronze, "legacy_2021", "2026-11-25", cases(2000, MIN_ROWS))  # a fine file in the same run
    before = lake_bytes(silver)

    assert silver_job.main([*argv, "--max_reject_share", "0.05"]) == 1

    assert capsys.readouterr().err == (
        f"silver_job: Silver stopped before writing anything, as {BAD_FILE} rejects 1002 of its 1200 rows "
        "(83.5 %: unparsable_opened_at 1000, missing_case_id 2), above --max_reject_share 0.05 (5 %): find the "
        "cause in its records (a changed date format, column or quoting) and run again, or run with a higher "
        "--max_reject_share to quarantine them (docs/silver.md, 'A file mostly rejected').\n"
    )
    assert lake_bytes(silver) == before  # table, quarantine, reports, state and manifest index: byte for byte
    assert "_staging" not in {path.name for path in silver.iterdir()}

    # the rerun (here: with the share accepted) reads the objects the refused run read
    assert silver_job.main([*argv, "--max_reject_share", "0.9"]) == 0
    report = json.loads((silver / "_quality" / "latest.json").read_text())
    assert sorted(entry["dataset"] for entry in report["files"]) == ["legacy_2021", "legacy_2022"]
    assert report["reject_share_guard"]["fail_above"] == 0.9
    assert report["reject_share_guard"]["files_over"] == [BAD_FILE]  # still warned of


@pytest.mark.spark
def test_a_file_let_through_once_does_not_stop_the_runs_after_it_for_the_records_already_quarantined(
    spark, tmp_path: Path, capsys: pytest.CaptureFixture
):
    """The current-year and NEW SYSTEM files are landed anew every day with the day before's records: once a run let
    their rejects into the quarantine, the stop judges only the rejects a run would quarantine for the first time."""
    bronze, silver = tmp_path / "bronze" / "boston311", tmp_path / "silver" / "boston311"
    argv = ["silver_job.py", "--bronze_path", str(bronze), "--silver_path", str(silver)]
    land_legacy29(bronze, "legacy_2022", "2026-11-25", cases(0, 1200, bad=1000, no_id=2))
    assert silver_job.main([*argv, "--max_reject_share", "0.05"]) == 1  # stopped
    assert silver_job.main([*argv, "--max_reject_share", "1"]) == 0  # let through once
    capsys.readouterr()

    # the next day's file: the same records and 100 new good ones; the 1002 rejects are in the quarantine already
    land_legacy29(bronze, "legacy_2022", "2026-11-26", cases(0, 1200, bad=1000, no_id=2) + cases(5000, 100))
    assert silver_job.main([*argv, "--max_reject_share", "0.05"]) == 0
    assert capsys.readouterr().err == ""
    report = json.loads((silver / "_quality" / "latest.json").read_text())
    shares = [entry["reject_share"] for entry in report["files"]]
    assert shares == [0.7708]  # what the file holds: still warned of

    # the day after, 100 new records of the new format besides: 100 of 1400 not quarantined before, over 5 %
    day_after = cases(0, 1200, bad=1000, no_id=2) + cases(5000, 100) + cases(6000, 100, bad=100)
    land_legacy29(bronze, "legacy_2022", "2026-11-27", day_after)
    assert silver_job.main([*argv, "--max_reject_share", "0.05"]) == 1
    assert (
        "rejects 1102 of its 1400 rows (78.71 %: unparsable_opened_at 1100, missing_case_id 2; 100 of them not "
        "in the quarantine yet, 7.14 %), above --max_reject_share 0.05" in capsys.readouterr().err
    )
