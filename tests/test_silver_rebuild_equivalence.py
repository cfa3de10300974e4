"""Silver's incremental history equals a rebuild: daily ingests processed run by run (in order, or with an older
ingest found late) give the same ``service_requests`` and the same quarantined records as one run over the same
Bronze into an empty Silver, and both match the dedupe rule worked out here in plain Python."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from pyspark.sql import functions as F

import silver_job
from silver_helpers import (
    LEGACY29_HEADER,
    NEW_SYSTEM_HEADER,
    csv_text,
    land,
    legacy29_row,
    new_system_row,
    silver_rows,
    utc_rows,
    write_manifest,
)

pytestmark = pytest.mark.spark

LEGACY, NEW = "legacy_2022", "new_system"
FILE_NAMES = {LEGACY: "311_service_requests_2022.csv", NEW: "311_service_requests_new_system.csv"}
# The months each file's cases open in, and the months a corrected open date may move them to (another year too).
HOME_MONTHS = {
    LEGACY: [(2022, m) for m in range(1, 13)],
    NEW: [(2025, m) for m in range(8, 13)] + [(2026, 1)],
}
MOVED_MONTHS = {LEGACY: [(2021, 12), (2023, 1)], NEW: [(2025, 7), (2026, 2)]}
# row_position's low bits: the record's place in its file (the high ones are the file's ordinal in the run)
WITHIN_FILE = 2**silver_job.ROW_POSITION_FILE_BITS - 1
# What is compared of a quarantined record: all but the marks of the run that read it (run_id, the file's ordinal)
QUARANTINE_KEY = (
    "source_file", "reject_reason", "case_id", "position", "dataset", "source_era", "raw_record", "ingested_at"
)  # fmt: skip


@dataclass(frozen=True)
class Record:
    """One row of a Bronze file as written ("" case id: none)."""

    case_id: str
    opened: datetime
    closed: datetime | None = None

    @property
    def reject_reason(self) -> str | None:
        if not self.case_id:
            return "missing_case_id"
        if self.closed is not None and self.closed < self.opened:
            return "closed_before_opened"
        return None


@dataclass
class Ingest:
    """One day's Bronze ingest: per dataset the rows of the file it landed, and when it was ingested."""

    day: str
    files: dict[str, list[Record]]
    ingested_at: dict[str, str] = field(default_factory=dict)

    def key(self, dataset: str) -> str:
        return f"dataset={dataset}/ingest_date={self.day}/{FILE_NAMES[dataset]}"


def stamp(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


def some_time(rng: random.Random, year: int, month: int) -> datetime:
    # mornings only: far from midnight and DST switches, so the open month is the written stamp's month
    return datetime(
        year, month, rng.randint(1, 28), rng.randint(9, 11), rng.randint(0, 59), rng.randint(0, 59)
    )


def scenario(seed: int) -> tuple[list[Ingest], set[str]]:
    """3–5 daily ingests of a re-issued legacy year file and the NEW SYSTEM file, and the kinds of change they hold.

    Each landed file is what the City publishes that day (each case unchanged, closed, moved to another month or
    year, dropped for good, or new), written with faults: a case's newer record bad (closed before opened, and
    moved; often left as it is in the next days' files until the City fixes it), a record without a case id, a case
    twice in the file (an older version first).
    """
    rng = random.Random(seed)
    published: dict[str, dict[str, Record]] = {LEGACY: {}, NEW: {}}
    numbers = {LEGACY: 101004000000, NEW: 0}
    stuck: dict[str, dict[str, Record]] = {LEGACY: {}, NEW: {}}  # bad records the City has not fixed yet
    kinds: set[str] = set()
    ingests = []

    def new_case(dataset: str) -> Record:
        numbers[dataset] += 1
        case_id = str(numbers[dataset]) if dataset == LEGACY else f"BCS-{numbers[dataset]:08d}"
        return Record(case_id, some_time(rng, *rng.choice(HOME_MONTHS[dataset])))

    def moved(dataset: str, record: Record) -> Record:
        months = [
            m for m in HOME_MONTHS[dataset] + MOVED_MONTHS[dataset] if m != record.opened.timetuple()[:2]
        ]
        opened = some_time(rng, *rng.choice(months))
        closed = record.closed and opened + (record.closed - record.opened)
        return Record(record.case_id, opened, closed)

    for number in range(rng.randint(3, 5)):
        day = f"2026-11-{10 + number:02d}"
        landing = [d for d in (LEGACY, NEW) if number == 0 or rng.random() < 0.8] or [
            rng.choice([LEGACY, NEW])
        ]
        ingest = Ingest(day, {})
        for dataset in landing:
            cases, rows = published[dataset], []
            for case_id, record in list(cases.items()):
                if case_id in stuck[dataset]:
                    if rng.random() < 0.6:  # the file carries yesterday's bad record as it was
                        rows.append(stuck[dataset][case_id])
                        kinds.add("bad_left_as_is")
                        continue
                    del stuck[dataset][case_id]  # fixed: the case's good record is back
                action = rng.choices(["unchanged", "closed", "moved", "dropped", "bad"], [5, 2, 2, 1, 1])[0]
                if action == "closed":
                    if record.closed is not None:
                        action = "unchanged"
                    else:
                        record = replace(record, closed=record.opened + timedelta(hours=rng.randint(1, 200)))
                elif action == "moved":
                    record = moved(dataset, record)
                elif action == "dropped":
                    del cases[case_id]  # gone from this file and the later ones
                elif action == "bad":  # this day's record of the case: moved and closed before opened
                    wrong = moved(dataset, record)
                    rows.append(replace(wrong, closed=wrong.opened - timedelta(days=1)))
                    if rng.random() < 0.5:
                        stuck[dataset][case_id] = rows[-1]
                kinds.add(action)
                if action not in ("dropped", "bad"):
                    cases[case_id] = record
                    rows.append(record)
            for _ in range(rng.randint(1, 3) if number else rng.randint(4, 6)):
                record = new_case(dataset)
                cases[record.case_id] = record
                rows.append(record)
                kinds.add("new")
            if rng.random() < 0.5:  # a case twice in the file: an older version of it first
                later = rng.randrange(len(rows))
                if rows[later].reject_reason is None:
                    older = (
                        replace(rows[later], closed=None)
                        if rng.random() < 0.5
                        else moved(dataset, rows[later])
                    )
                    rows.insert(rng.randint(0, later), older)
                    kinds.add("duplicated_in_file")
            if rng.random() < 0.3:
                rows.insert(rng.randint(0, len(rows)), Record("", some_time(rng, *HOME_MONTHS[dataset][0])))
                kinds.add("no_case_id")
            ingest.files[dataset] = rows
            # NEW SYSTEM lands half a minute after the legacy file (the ingest's manifest names both)
            ingest.ingested_at[dataset] = f"{day}T06:00:{30 if dataset == NEW else 0:02d}Z"
        ingests.append(ingest)
    return ingests, kinds


def land_ingest(bronze: Path, ingest: Ingest) -> None:
    """Land one ingest's files and its manifest, as the Bronze ingest does."""
    for dataset, rows in ingest.files.items():
        if dataset == LEGACY:
            text = csv_text(LEGACY29_HEADER, [legacy29_row(r.case_id, stamp(r.opened), stamp(r.closed),
                                                            source="Self Service") for r in rows])  # fmt: skip
        else:
            text = csv_text(NEW_SYSTEM_HEADER, [new_system_row(r.case_id, stamp(r.opened), stamp(r.closed))
                                                for r in rows])  # fmt: skip
        land(bronze, dataset, ingest.day, FILE_NAMES[dataset], text)
    run_id = ingest.day.replace("-", "") + "T060000Z"
    write_manifest(bronze, run_id, {ingest.key(d): ingest.ingested_at[d] for d in ingest.files})


def expected(ingests: list[Ingest]) -> tuple[dict[str, tuple], Counter]:
    """Rule 9 and rule 8 by hand, for ``ingests`` in the order Silver read them: per case the good record of the
    latest ingest (then the later file, then the later row), as (source_file, open_year, open_month, is_closed);
    and every bad record once, from the first file read that carried it (a record left as it was in later files
    is not quarantined again)."""
    best: dict[str, tuple] = {}
    quarantine: Counter = Counter()
    seen: set[tuple[str, Record]] = set()
    for ingest in ingests:
        for dataset, rows in ingest.files.items():
            key = ingest.key(dataset)
            for position, row in enumerate(rows):
                if row.reject_reason:
                    if (dataset, row) not in seen:
                        seen.add((dataset, row))
                        quarantine[(key, row.reject_reason, row.case_id or None, position)] += 1
                    continue
                order = (ingest.ingested_at[dataset], key, position)
                if row.case_id not in best or order > best[row.case_id][0]:
                    summary = (key, row.opened.year, row.opened.month, row.closed is not None)
                    best[row.case_id] = (order, summary)
    return {case: summary for case, (_, summary) in best.items()}, quarantine


def table(spark, silver: Path) -> dict[str, dict]:
    return silver_rows(spark, silver) if (silver / "service_requests").exists() else {}


def quarantine(spark, silver: Path) -> Counter:
    """Every run's quarantined records; ``position``: the record's place in its file (row_position's high bits are
    the file's ordinal in the run that read it, and ``run_id`` names that run: both record the run)."""
    if not (silver / "quarantine").exists():
        return Counter()
    records = spark.read.parquet(str(silver / "quarantine")).withColumn(
        "position", F.col("row_position").bitwiseAND(F.lit(WITHIN_FILE))
    )
    return Counter(tuple(row[c] for c in QUARANTINE_KEY) for row in utc_rows(records))


def records(quarantined: Counter) -> Counter:
    """The quarantined records themselves (dataset, reason, case id, raw record), whichever file they were taken
    from: read out of order, a bad record left as it was is taken from the first file read that carried it."""
    return Counter({(k[4], k[1], k[2], k[6]): n for k, n in quarantined.items()})


def summary(rows: dict[str, dict]) -> dict[str, tuple]:
    return {
        case: (row["source_file"], row["open_year"], row["open_month"], row["is_closed"])
        for case, row in rows.items()
    }


def run_in_batches(spark, ingests: list[Ingest], batches: list[list[int]], root: Path) -> tuple[Path, Path]:
    """Land each batch of ingests, then run Silver once; after every run Silver is what the rule gives for the Bronze
    landed so far (a batch of several ingests: days that piled up while Silver did not run)."""
    bronze, silver = root / "bronze" / "boston311", root / "silver" / "boston311"
    landed: list[Ingest] = []
    for batch in batches:
        for number in batch:
            land_ingest(bronze, ingests[number])
            landed.append(ingests[number])
        silver_job.run_silver(spark, str(bronze), str(silver))
        cases, rejected = expected(landed)
        assert summary(table(spark, silver)) == cases, f"after ingests {batch} of {batches}"
        assert Counter({key[:4]: n for key, n in quarantine(spark, silver).items()}) == rejected
    return bronze, silver


# Seeds whose scenarios hold every kind of change (checked below); each has three ingests.
SEEDS = (32, 139)
KINDS = {
    "unchanged",
    "closed",
    "moved",
    "dropped",
    "bad",
    "bad_left_as_is",
    "new",
    "duplicated_in_file",
    "no_case_id",
}


@pytest.mark.parametrize("seed", SEEDS)
def test_run_by_run_equals_a_rebuild_from_bronze(spark, tmp_path: Path, seed: int):
    ingests, _ = scenario(seed)
    bronze, silver = run_in_batches(spark, ingests, [[n] for n in range(len(ingests))], tmp_path / "daily")

    rebuilt = tmp_path / "rebuild" / "silver"
    silver_job.run_silver(spark, str(bronze), str(rebuilt))
    assert table(spark, silver) == table(spark, rebuilt)  # every column of every row
    assert quarantine(spark, silver) == quarantine(spark, rebuilt)
    assert summary(table(spark, rebuilt)) == expected(ingests)[0]

    # out of order: the first and last ingests read together, then the middle one, found late
    _, late = run_in_batches(spark, ingests, [[0, 2], [1]], tmp_path / "late")
    assert table(spark, late) == table(spark, rebuilt)
    assert records(quarantine(spark, late)) == records(quarantine(spark, rebuilt))


@pytest.mark.parametrize("seed", SEEDS)
def test_the_scenarios_hold_every_kind_of_change(seed: int):
    ingests, kinds = scenario(seed)
    assert len(ingests) == 3
    assert kinds >= KINDS
    assert all(len(rows) <= 30 for ingest in ingests for rows in ingest.files.values())


def legacy_ingest(day: str, *cases: tuple[str, int, int]) -> Ingest:
    """An ingest of the legacy 2022 file at 06:00: one open record per (case id, month, day) opened at 09:00."""
    records = [Record(case_id, datetime(2022, month, date, 9)) for case_id, month, date in cases]
    return Ingest(day, {LEGACY: records}, {LEGACY: f"{day}T06:00:00Z"})


def partitions(silver: Path) -> list[str]:
    """The table's month folders that hold Parquet files."""
    table_path = silver / "service_requests"
    return sorted(
        str(p.parent.relative_to(table_path)) for p in table_path.glob("open_year=*/open_month=*/*.parquet")
    )


def test_a_newer_record_that_is_quarantined_leaves_the_older_row_in_its_month(spark, tmp_path: Path):
    # The newer ingest moves case 1 from January to March but closes it before it opened: quarantined, it
    # supersedes nothing (the dedupe ranks good records only), so January keeps the older row and March gets none,
    # as a rebuild does; case 2's good move leaves February empty. Read in the other order (the older ingest found
    # late), the table had no row of case 1 yet and takes the older record: the same again.
    first = legacy_ingest("2026-11-20", ("101004000001", 1, 10), ("101004000002", 2, 10))
    second = legacy_ingest("2026-11-21", ("101004000001", 3, 1), ("101004000002", 4, 1))
    second.files[LEGACY][0] = replace(second.files[LEGACY][0], closed=datetime(2022, 2, 1, 9))
    bronze, silver = run_in_batches(spark, [first, second], [[0], [1]], tmp_path / "daily")
    rows = silver_rows(spark, silver)
    assert rows["101004000001"]["source_file"] == first.key(LEGACY)
    assert partitions(silver) == ["open_year=2022/open_month=1", "open_year=2022/open_month=4"]
    assert Counter(key[:3] for key in quarantine(spark, silver).elements()) == {
        (second.key(LEGACY), "closed_before_opened", "101004000001"): 1
    }

    rebuilt = tmp_path / "rebuild" / "silver"
    silver_job.run_silver(spark, str(bronze), str(rebuilt))
    assert table(spark, rebuilt) == table(spark, silver)
    assert quarantine(spark, rebuilt) == quarantine(spark, silver)
    _, late = run_in_batches(spark, [first, second], [[1], [0]], tmp_path / "late")
    assert table(spark, late) == table(spark, silver)
    assert quarantine(spark, late) == quarantine(spark, silver)
