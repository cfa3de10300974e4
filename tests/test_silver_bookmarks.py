"""Silver with Glue job bookmarks on: the bookmarked read of Bronze's manifests decides which objects are new.

GlueContext needs Glue's jars, which exist only on AWS, so a stand-in plays the bookmark as Glue documents it: a
read with a ``transformation_ctx`` returns only the objects not seen by a committed run, and ``Job.commit`` moves
the bookmark on. What these tests prove is the job's side of the contract: the read it makes, what it does with
the answer, and that it commits only after a successful run.
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber
from pyspark.sql import functions as F
from pyspark.sql import types as T

import silver_job
from conftest import REPO
from silver_helpers import land, land_legacy29, legacy29_row, silver_rows, write_manifest

pytestmark = pytest.mark.spark

FIRST = "dataset=legacy_2022/ingest_date=2026-11-20/311_service_requests_2022.csv"
SECOND = "dataset=legacy_2023/ingest_date=2026-11-25/311_service_requests_2023.csv"


class BookmarkedGlue:
    """GlueContext stand-in: ``create_dynamic_frame.from_options`` with a job bookmark over JSON files."""

    def __init__(self, spark):
        self.spark, self.calls, self.committed, self.pending = spark, [], set(), set()
        self.create_dynamic_frame = self  # glue_context.create_dynamic_frame.from_options(...)

    def from_options(self, connection_type, connection_options, format, format_options, transformation_ctx):
        self.calls.append(
            {"connection_type": connection_type, "connection_options": connection_options, "format": format,
             "format_options": format_options, "transformation_ctx": transformation_ctx}
        )  # fmt: skip
        folder = Path(connection_options["paths"][0])
        self.pending = {str(p) for p in folder.glob("*.json")} - self.committed
        if not self.pending:
            return Frame(self.spark.createDataFrame([], T.StructType([])))
        documents = self.spark.read.option("multiLine", True).json(sorted(self.pending))
        return Frame(documents.select(F.explode("resources").alias("resource")).select("resource.*"))


class Frame:
    """DynamicFrame stand-in: only ``toDF``."""

    def __init__(self, df):
        self.df = df

    def toDF(self):  # noqa: N802 - Glue's name
        return self.df


def glue_job_class(glue: BookmarkedGlue):
    """awsglue.job.Job stand-in whose commit moves the stand-in's bookmark on."""

    class Job:
        commits = 0

        def __init__(self, glue_context):
            assert glue_context is glue

        def init(self, name, args):
            self.name = name

        def commit(self):
            Job.commits += 1
            glue.committed |= glue.pending

    return Job


@pytest.fixture
def on_glue(spark, monkeypatch):
    """main() as it runs on Glue: the stand-in GlueContext and Job."""
    glue = BookmarkedGlue(spark)
    monkeypatch.setattr(silver_job, "glue_or_spark", lambda: (spark, glue))
    monkeypatch.setattr(silver_job, "Job", glue_job_class(glue))
    return glue


def argv(bronze: Path, silver: Path, bookmarks: str) -> list[str]:
    return ["silver_job.py", "--JOB_NAME", "boston311-silver", "--bronze_path", str(bronze),
            "--silver_path", str(silver), "--job-bookmark-option", bookmarks]  # fmt: skip


def latest_report(silver: Path) -> dict:
    return json.loads((silver / "_quality" / "latest.json").read_text())


def test_with_bookmarks_on_the_bookmarked_manifests_decide_what_is_read(spark, tmp_path: Path, on_glue):
    bronze, silver = tmp_path / "bronze" / "boston311", tmp_path / "silver" / "boston311"
    land_legacy29(bronze, "legacy_2022", "2026-11-20", [legacy29_row("101004000001", "2022-01-10 09:00:00")])
    write_manifest(bronze, "20261120T060000Z", {FIRST: "2026-11-20T06:00:00Z"})

    assert silver_job.main(argv(bronze, silver, "job-bookmark-enable")) == 0
    assert on_glue.calls == [
        {"connection_type": "s3", "connection_options": {"paths": [f"{bronze}/_manifests/"], "recurse": True},
         "format": "json", "format_options": {"jsonPath": "$.resources[*]", "multiline": True},
         "transformation_ctx": "bronze_manifests"}
    ]  # fmt: skip
    assert latest_report(silver)["new_objects_from"] == "job_bookmark"
    assert silver_job.Job.commits == 1

    # the state file no longer decides: without it, only what the bookmark announces is read
    (silver / "_state" / "processed.json").unlink()
    land_legacy29(bronze, "legacy_2023", "2026-11-25", [legacy29_row("101004000002", "2023-02-10 09:00:00")])
    write_manifest(bronze, "20261125T060000Z", {SECOND: "2026-11-25T06:00:00Z"})
    assert silver_job.main(argv(bronze, silver, "job-bookmark-enable")) == 0
    assert [f["source_file"] for f in latest_report(silver)["files"]] == [SECOND]
    assert sorted(silver_rows(spark, silver)) == ["101004000001", "101004000002"]

    # nothing announced: nothing read, and the (empty) run still commits
    assert silver_job.main(argv(bronze, silver, "job-bookmark-enable")) == 0
    assert silver_job.Job.commits == 3
    assert sorted(silver_rows(spark, silver)) == ["101004000001", "101004000002"]


def test_a_failed_run_does_not_move_the_bookmark(spark, tmp_path: Path, on_glue):
    bronze, silver = tmp_path / "bronze" / "boston311", tmp_path / "silver" / "boston311"
    land(bronze, "legacy_2022", "2026-11-20", "311_service_requests_2022.csv", "id,what\n1,x\n")
    write_manifest(bronze, "20261120T060000Z", {FIRST: "2026-11-20T06:00:00Z"})
    assert silver_job.main(argv(bronze, silver, "job-bookmark-enable")) == 1  # unknown header, refused
    assert silver_job.Job.commits == 0 and on_glue.committed == set()

    # the file is mended in place (same key): the same manifest is handed over again
    land_legacy29(bronze, "legacy_2022", "2026-11-20", [legacy29_row("101004000001", "2022-01-10 09:00:00")])
    assert silver_job.main(argv(bronze, silver, "job-bookmark-enable")) == 0
    assert sorted(silver_rows(spark, silver)) == ["101004000001"]
    assert silver_job.Job.commits == 1


def test_with_bookmarks_off_the_state_file_decides_and_no_bookmarked_read_is_made(
    spark, tmp_path: Path, on_glue
):
    bronze, silver = tmp_path / "bronze" / "boston311", tmp_path / "silver" / "boston311"
    land_legacy29(bronze, "legacy_2022", "2026-11-20", [legacy29_row("101004000001", "2022-01-10 09:00:00")])
    assert silver_job.main(argv(bronze, silver, "job-bookmark-disable")) == 0
    assert silver_job.main(argv(bronze, silver, "job-bookmark-disable")) == 0
    assert on_glue.calls == []
    assert latest_report(silver)["new_objects_from"] == "state_file"
    assert silver_job.Job.commits == 2


def test_with_bookmarks_on_objects_read_with_other_rules_are_named_until_the_bookmark_is_reset(
    spark, tmp_path: Path, on_glue, monkeypatch, caplog: pytest.LogCaptureFixture
):
    """The bookmark decides what is read, the state still says how each object was read: a run the bookmark hands
    nothing warns, and the warning's remedy on Glue (reset the bookmark) reads the objects again."""
    bronze, silver = tmp_path / "bronze" / "boston311", tmp_path / "silver" / "boston311"
    land_legacy29(bronze, "legacy_2022", "2026-11-20", [legacy29_row("101004000001", "2022-01-10 09:00:00")])
    write_manifest(bronze, "20261120T060000Z", {FIRST: "2026-11-20T06:00:00Z"})
    assert silver_job.main(argv(bronze, silver, "job-bookmark-enable")) == 0
    monkeypatch.setattr(silver_job, "SILVER_RULES_VERSION", silver_job.SILVER_RULES_VERSION + 1)

    with caplog.at_level("WARNING", logger=silver_job.log.name):
        assert silver_job.main(argv(bronze, silver, "job-bookmark-enable")) == 0
    assert "1 of the 1 Bronze objects read earlier were read with other Silver rules" in caplog.text
    assert "aws glue reset-job-bookmark" in caplog.text

    on_glue.committed = set()  # aws glue reset-job-bookmark
    assert silver_job.main(argv(bronze, silver, "job-bookmark-enable")) == 0
    assert [f["source_file"] for f in latest_report(silver)["files"]] == [FIRST]
    caplog.clear()
    with caplog.at_level("WARNING", logger=silver_job.log.name):
        assert silver_job.main(argv(bronze, silver, "job-bookmark-enable")) == 0
    assert "other Silver rules" not in caplog.text


def test_the_job_definition_is_a_valid_create_job_request_with_the_bookmark_on():
    definition = json.loads((REPO / "glue" / "job_definition.json").read_text())
    glue = boto3.client("glue", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(glue) as stubbed:  # checks the request against botocore's model of CreateJob
        stubbed.add_response("create_job", {"Name": definition["Name"]}, definition)
        glue.create_job(**definition)
    assert definition["GlueVersion"] == "5.0"
    assert definition["DefaultArguments"]["--job-bookmark-option"] == "job-bookmark-enable"
