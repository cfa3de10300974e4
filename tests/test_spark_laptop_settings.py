"""The Spark stages start, and give the same rows, whatever the laptop's locale, time zone and folder names:
run_pipeline's spark-submit (what `make run` and `make demo` use) on laptops that are not the one it was built on."""

from __future__ import annotations

import json
import sys

import pytest

import run_pipeline
from conftest import REPO

pytestmark = pytest.mark.spark

# Run by spark-submit: a lake-path file read by Java, Silver's case-insensitive mapping of a text with a non-ASCII
# letter, and the JVM's own time zone, written back as JSON.
PROBE = """
import json, sys
sys.path.insert(0, {glue!r})
from pyspark.sql import SparkSession, functions as F
from silver_job import lookup

lake = sys.argv[1]
spark = SparkSession.builder.getOrCreate()
values = spark.read.text(lake + "/values.txt")
mapped = values.select(lookup(F.col("value"), {{"inspección": "Inspection"}}).alias("mapped")).first()["mapped"]
seen = {{"mapped": mapped, "jvm_time_zone": spark.sparkContext._jvm.java.util.TimeZone.getDefault().getID()}}
with open(lake + "/seen.json", "w", encoding="utf-8") as handle:
    json.dump(seen, handle)
"""


@pytest.mark.parametrize(
    "laptop",
    [
        # Java's defaults as a Turkish laptop in the Chatham Islands gives them (JAVA_TOOL_OPTIONS stands in for an
        # installed tr_TR locale): its lower() turned the I of "INSPECCIÓN" into a dotless ı, and no key matched.
        {"JAVA_TOOL_OPTIONS": "-Duser.language=tr -Duser.country=TR -Duser.timezone=Pacific/Chatham"},
        # The C locale (ASCII): Java named the lake folder "lac ??" and found no file in it.
        {"LC_ALL": "C", "TZ": "America/Los_Angeles"},
    ],
    ids=["turkish-chatham", "c-locale"],
)
def test_a_spark_stage_reads_and_maps_the_same_on_another_laptop(laptop, tmp_path, monkeypatch):
    lake = tmp_path / "lac ñ"
    lake.mkdir()
    (lake / "values.txt").write_text("INSPECCIÓN\n", encoding="utf-8")
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE.format(glue=str(REPO / "glue")), encoding="utf-8")
    for name, value in laptop.items():
        monkeypatch.setenv(name, value)

    run_pipeline.spark_submit(probe, [str(lake)], str(lake / "spark.log"))

    seen = json.loads((lake / "seen.json").read_text(encoding="utf-8"))
    assert seen == {"mapped": "Inspection", "jvm_time_zone": "UTC"}


def test_a_spark_stage_starts_from_a_virtualenv_in_a_folder_with_a_space(tmp_path, monkeypatch):
    venv = tmp_path / "My Projects ñ" / ".venv"  # the project checked out under ~/My Projects ñ/
    venv.parent.mkdir()
    venv.symlink_to(sys.prefix, target_is_directory=True)
    monkeypatch.setattr(sys, "executable", str(venv / "bin" / "python"))
    monkeypatch.delenv("SPARK_HOME", raising=False)
    probe = tmp_path / "probe.py"
    probe.write_text("import sys\nopen(sys.argv[1], 'w').write(sys.executable)\n", encoding="utf-8")

    run_pipeline.spark_submit(probe, [str(tmp_path / "ran.txt")], str(tmp_path / "spark.log"))

    assert (tmp_path / "ran.txt").read_text() == str(venv / "bin" / "python")


# A Spark task that fails as a full disk does: Spark logs the failure with the Python and Java traces (hundreds of
# lines on the terminal before the job's own sentence, as the resource-exhaustion drill of 2026-11-27 found).
FAILING_JOB = """
import sys
from pyspark.sql import SparkSession, functions as F

spark = SparkSession.builder.getOrCreate()
fill = F.udf(lambda value: open("/dev/full", "w").write("x" * 10_000), "int")
try:
    spark.range(2).select(fill("id")).collect()
except Exception:
    print("THE JOB'S SENTENCE: a disk is full", file=sys.stderr)
    sys.exit(1)
"""


@pytest.mark.parametrize(
    "log_folder", ["My Projects ñ/lake/logs", "/dev/full"], ids=["new-folder", "unwritable"]
)
def test_a_failing_spark_task_shows_one_line_a_message_and_keeps_its_traces_in_the_stage_log(
    log_folder, tmp_path, capfd
):
    log_file = tmp_path / log_folder / "silver.log"
    job = tmp_path / "failing_job.py"
    job.write_text(FAILING_JOB, encoding="utf-8")

    with pytest.raises(run_pipeline.StageFailed) as failure:
        run_pipeline.spark_submit(job, [], str(log_file))

    terminal = capfd.readouterr()
    said = terminal.out + terminal.err
    assert "THE JOB'S SENTENCE: a disk is full" in said
    assert "Lost task" in said  # Spark's own line of what failed stays on the terminal …
    assert "\tat " not in said and "Traceback (most recent call last):\n" not in said  # … without its traces
    assert "StatusConsoleListener" not in said  # nor Log4j's own complaint of a log it cannot write
    assert str(failure.value) == (
        f"failing_job.py failed (exit 1); see its message above, and Spark's whole log in {log_file}"
    )
    if log_folder != "/dev/full":
        whole = log_file.read_text(encoding="utf-8")
        assert "No space left on device" in whole and "\tat org.apache.spark" in whole


# A task whose one value outgrows a 600 MB heap (a 1.5 GB string): Spark's Java exits at once with its code 52.
MEMORY_HUNGRY_JOB = """
from pyspark.sql import SparkSession

spark = SparkSession.builder.getOrCreate()
spark.range(2).selectExpr("length(repeat('xxxxxxxxxx', 150000000 + id))").collect()
print("THE JOB'S SENTENCE, which it never gets to say")
"""


def test_a_task_out_of_memory_stops_the_stage_with_a_sentence_on_memory(tmp_path, monkeypatch, capfd):
    job = tmp_path / "memory_hungry_job.py"
    job.write_text(MEMORY_HUNGRY_JOB, encoding="utf-8")
    monkeypatch.setenv("SPARK_DRIVER_MEMORY", "600m")

    with pytest.raises(run_pipeline.StageFailed) as failure:
        run_pipeline.spark_submit(job, [], str(tmp_path / "gold.log"))

    assert str(failure.value).startswith(
        "memory_hungry_job.py stopped: Spark ran out of memory (exit 52, java.lang.OutOfMemoryError): give it more "
        "than SPARK_DRIVER_MEMORY's 600m"
    )
    assert "THE JOB'S SENTENCE" not in capfd.readouterr().out
    assert "java.lang.OutOfMemoryError: Java heap space" in (tmp_path / "gold.log").read_text(
        encoding="utf-8"
    )


# A Spark job that says which run it is in Spark's log (a WARN line, which the log keeps).
LOGGING_JOB = """
import sys
from pyspark.sql import SparkSession

spark = SparkSession.builder.getOrCreate()
spark.sparkContext._jvm.org.apache.log4j.LogManager.getLogger("boston311").warn("THIS RUN'S LOG")
"""


def test_a_stage_log_keeps_the_four_runs_before_it(tmp_path):
    # A failed run's log was written over by the rerun that followed it, and with it the failure's traces.
    logs = tmp_path / "lake" / "logs"
    logs.mkdir(parents=True)
    earlier = ["silver.log", "silver.log.1", "silver.log.2", "silver.log.3", "silver.log.4"]
    for age, name in enumerate(earlier, start=1):
        (logs / name).write_text(f"run {age} before\n", encoding="utf-8")
    job = tmp_path / "logging_job.py"
    job.write_text(LOGGING_JOB, encoding="utf-8")

    run_pipeline.spark_submit(job, [], str(logs / "silver.log"))

    kept = {path.name: path.read_text(encoding="utf-8") for path in logs.iterdir()}
    assert "THIS RUN'S LOG" in kept.pop("silver.log")
    # the fifth is dropped
    assert kept == {f"silver.log.{age}": f"run {age} before\n" for age in (1, 2, 3, 4)}
    # what the runner says it keeps is what Log4j keeps
    assert (
        f"appender.file.strategy.max = {run_pipeline.SPARK_LOGS_KEPT}\n"
        in run_pipeline.SPARK_LOG_CONFIG.read_text()
    )


def test_a_stage_log_in_a_folder_named_with_a_percent_keeps_the_run_before_it_beside_it(tmp_path):
    # Log4j reads the rolled file's name as a pattern: "%d" was today's date, and the run before went to a folder
    # "2026-11-27 lake" beside the lake, which nothing names
    logs = tmp_path / "100%d lake" / "logs"
    logs.mkdir(parents=True)
    (logs / "silver.log").write_text("the run before\n", encoding="utf-8")
    job = tmp_path / "logging_job.py"
    job.write_text(LOGGING_JOB, encoding="utf-8")

    run_pipeline.spark_submit(job, [], str(logs / "silver.log"))

    assert "THIS RUN'S LOG" in (logs / "silver.log").read_text(encoding="utf-8")
    assert (logs / "silver.log.1").read_text(encoding="utf-8") == "the run before\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["100%d lake", "logging_job.py"]
