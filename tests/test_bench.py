"""bench/: the synthetic Bronze the Silver and Gold benchmarks time is deterministic and shaped like the real
exports (the real eras' headers, ~3 % changed cases, ~0.5 % spoiled records, a manifest Silver can trust), and
every benchmark refuses a size it cannot measure with one line and exit code 2 before starting anything."""

from __future__ import annotations

import csv
import hashlib
import importlib
import json
from pathlib import Path

import pytest

import silver_job
from synthetic_bronze import write_synthetic_bronze

FIXTURES = Path(__file__).parent / "fixtures"
REAL_SAMPLES = {
    "legacy29": FIXTURES / "legacy_2022_old29col_qsv-sample100.csv",
    "legacy30": FIXTURES / "legacy_2015_reissued30col_pandas-filtered_first2000.csv",
    "new_system": FIXTURES / "new_system_api-export_2025-08_to_2026-02.csv",
}


def header_of(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return next(csv.reader(handle))


def records(path: Path) -> int:
    with open(path, newline="", encoding="utf-8") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


def contents(bronze: Path) -> dict[str, bytes]:
    return {str(path.relative_to(bronze)): path.read_bytes() for path in sorted(bronze.rglob("*.csv"))}


def test_the_same_seed_writes_the_same_bytes_and_another_seed_other_rows(tmp_path: Path) -> None:
    first, again, other = (tmp_path / name for name in ("first", "again", "other"))
    write_synthetic_bronze(str(first), 3000, seed=311)
    write_synthetic_bronze(str(again), 3000, seed=311)
    write_synthetic_bronze(str(other), 3000, seed=7)
    assert contents(first) == contents(again)
    assert contents(first).keys() == contents(other).keys() and contents(first) != contents(other)


def test_files_carry_the_real_eras_headers_and_the_manifest_describes_them(tmp_path: Path) -> None:
    bronze = tmp_path / "bronze"
    generated = write_synthetic_bronze(str(bronze), 20_000)
    (manifest_path,) = (bronze / "_manifests").glob("*.json")
    resources = json.loads(manifest_path.read_text(encoding="utf-8"))["resources"]
    assert sorted(resource["key"] for resource in resources) == sorted(
        f"bronze/boston311/{Path(path).relative_to(bronze)}" for path in generated["files"]
    )
    eras = set()
    for resource in resources:
        path = bronze / resource["key"].removeprefix("bronze/boston311/")
        header = header_of(path)
        assert header == header_of(REAL_SAMPLES[resource["header_era"]])
        assert silver_job.recognise_era(header) == resource["header_era"]
        assert resource["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        eras.add(resource["header_era"])
    assert eras == set(REAL_SAMPLES)


def test_about_three_percent_changed_cases_and_half_a_percent_spoiled_records(tmp_path: Path) -> None:
    generated = write_synthetic_bronze(str(tmp_path / "bronze"), 40_000)
    rows = sum(records(Path(path)) for path in generated["files"])
    assert rows == generated["rows"]
    assert 0.98 * 40_000 <= rows <= 1.02 * 40_000
    assert 0.025 <= generated["duplicates"] / rows <= 0.035
    assert 0.003 <= generated["bad_records"] / rows <= 0.007


@pytest.mark.parametrize(
    ("module", "argv", "message"),
    [
        ("silver", ["--rows", "5"], "--rows must be at least 1000 each, got '5'"),
        ("silver", ["--rows", "1M"], "--rows must be whole numbers separated by commas, got '1M'"),
        ("silver", ["--rows", "1000000,-4"], "--rows must be at least 1000 each, got '1000000,-4'"),
        ("gold", ["--rows", "999"], "--rows must be at least 1000"),
        ("ingest", ["--size-mb", "0"], "--size-mb must be at least 1, got 0"),
        ("ingest", ["--rounds", "-1"], "--rounds must be at least 1, got -1"),
        ("synthetic_bronze", ["/tmp/never-written", "10"], "rows must be at least 1000, got 10"),
    ],
)
def test_a_size_that_cannot_be_measured_is_refused_before_anything_runs(
    module: str, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        importlib.import_module(module).main(argv)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1].endswith(f"error: {message}") and "Traceback" not in err
    assert not Path("/tmp/never-written").exists()


@pytest.mark.parametrize("kind", ["a lake's Bronze", "a file", "unwritable"])
def test_synthetic_bronze_writes_only_into_a_new_or_empty_folder(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before: it added its files to a real lake's Bronze (Silver then read them), and an unwritable or file path was
    # a PermissionError / NotADirectoryError traceback.
    import synthetic_bronze

    bronze = tmp_path / "bronze"
    if kind == "a lake's Bronze":
        (bronze / "dataset=legacy_2022" / "ingest_date=2026-11-25").mkdir(parents=True)
        (bronze / "dataset=legacy_2022" / "ingest_date=2026-11-25" / "real.csv").write_text(
            "case_enquiry_id\n"
        )
    elif kind == "a file":
        bronze.write_text("not a folder")
    else:
        bronze = Path("/proc/no-bronze-here")

    try:
        code = synthetic_bronze.main([str(bronze), "1000"])
    except SystemExit as stopped:
        code = stopped.code
    assert code == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith("synthetic_bronze.py: error: ") and "Traceback" not in err
    if kind == "a lake's Bronze":
        assert [p.name for p in bronze.rglob("*.csv")] == ["real.csv"]


@pytest.mark.parametrize("kind", ["new", "empty"])
def test_synthetic_bronze_writes_into_a_new_or_empty_folder(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import synthetic_bronze

    bronze = tmp_path / "lake" / "bronze"
    if kind == "empty":
        bronze.mkdir(parents=True)

    assert synthetic_bronze.main([str(bronze), "1000"]) == 0

    assert json.loads(capsys.readouterr().out) and list(bronze.rglob("*.csv"))


@pytest.mark.parametrize("kind", ["a folder of someone else's", "a file"])
def test_gold_refuses_an_out_folder_it_did_not_make(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # It deletes --out at its start and end: --out lake would have deleted the lake.
    victim = tmp_path / "lake"
    if kind == "a file":
        victim.write_text("data")
    else:
        (victim / "silver").mkdir(parents=True)
        (victim / "silver" / "part-0.parquet").write_text("data")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))

    with pytest.raises(SystemExit) as stopped:
        importlib.import_module("gold").main(["--rows", "1000", "--out", str(victim)])

    assert stopped.value.code == 2
    assert "holds something this benchmark did not make" in capsys.readouterr().err
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_gold_accepts_an_empty_out_folder_or_one_it_made(tmp_path: Path) -> None:
    gold = importlib.import_module("gold")
    empty, made = tmp_path / "empty", tmp_path / "made"
    empty.mkdir()
    (made / "bronze").mkdir(parents=True)
    (made / gold.SCRATCH_MARK).touch()
    for out in (empty, made, tmp_path / "new"):
        assert gold.parse_args(["--out", str(out)]).out == out


def test_the_duckdb_mirror_builds_every_gold_table() -> None:
    # else a new Gold table fails bench/gold.py with a KeyError after minutes of computing
    import gold_job

    assert list(importlib.import_module("gold").DUCKDB_GOLD) == list(gold_job.GOLD_TABLES), (
        "a new Gold table needs its DuckDB SQL in bench/gold.py's DUCKDB_GOLD"
    )


def test_the_duckdb_mirror_reads_a_column_its_era_may_lack_as_null(tmp_path: Path, monkeypatch) -> None:
    # A column the City adds that Silver keeps is mapped in ERA_COLUMNS and optional (the files already in Bronze lack
    # it; docs/silver.md, "A new column or header"): Silver reads it as null from a file without it. The mirror
    # referred to it all the same and stopped tests/test_silver_differential.py with DuckDB's "Binder Error: Column
    # "case_origin" referenced that exists in the SELECT clause - but this column cannot be referenced before it is
    # defined", since none of the samples has it.
    duckdb = importlib.import_module("duckdb")
    silver_bench = importlib.import_module("silver")
    era = {**silver_job.ERA_COLUMNS["new_system"], "case_origin": "case_origin"}
    monkeypatch.setitem(silver_job.ERA_COLUMNS, "new_system", era)
    monkeypatch.setitem(
        silver_job.ERA_OPTIONAL, "new_system", {*silver_job.ERA_OPTIONAL["new_system"], "case_origin"}
    )
    monkeypatch.setattr(silver_job, "RAW_COLUMNS", [*silver_job.RAW_COLUMNS, "case_origin"])
    folder = tmp_path / "bronze" / "dataset=new_system" / "ingest_date=2026-02-11"
    folder.mkdir(parents=True)
    lines = REAL_SAMPLES["new_system"].read_text(encoding="utf-8").splitlines(keepends=True)
    (folder / "without.csv").write_text("".join(lines[:3]), encoding="utf-8")
    target = tmp_path / "silver"

    con = duckdb.connect()
    con.execute(
        silver_bench.duckdb_silver_sql(silver_bench.header_groups([str(folder / "without.csv")]), target)
    )

    read = con.execute(f"SELECT case_id, case_origin FROM read_parquet('{target}/**/*.parquet') ORDER BY 1")
    assert read.fetchall() == [("BCS-00065327", None), ("BCS-00065331", None)]
