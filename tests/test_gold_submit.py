"""The EMR step and EMR Serverless job-run requests for the Gold job, against moto and the real service models."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID as ACCOUNT_ID
from moto.emr.models import emr_backends
from moto.emrserverless.models import emrserverless_backends

import submit

SCRIPT = "s3://lake-bucket/code/gold_job.py"
SILVER = "s3://lake-bucket/silver/boston311"
GOLD = "s3://lake-bucket/gold/boston311"
ROLE = "arn:aws:iam::123456789012:role/boston311-gold"
GOLD_ARGS = ["--script", SCRIPT, "--silver-path", SILVER, "--gold-path", GOLD]


def create_application(emr_serverless) -> str:
    """A moto EMR Serverless Spark application. moto answers ListJobRuns on an application that has never run a
    job with ResourceNotFound (AWS answers with no runs), so its empty list of runs is made here."""
    application = emr_serverless.create_application(name="boston311", releaseLabel="emr-7.5.0", type="SPARK")[
        "applicationId"
    ]
    emrserverless_backends[ACCOUNT_ID]["us-east-1"].job_runs.setdefault(application, [])
    return application


def start_cluster(region: str = "us-east-1") -> str:
    """A moto EMR cluster kept alive for steps (moto never finishes a step: they stay pending or running)."""
    return boto3.client("emr", region_name=region).run_job_flow(
        Name="boston311",
        ReleaseLabel="emr-7.5.0",
        Instances={
            "MasterInstanceType": "m5.xlarge",
            "InstanceCount": 1,
            "KeepJobFlowAliveWhenNoSteps": True,
        },
        JobFlowRole="EMR_EC2_DefaultRole",
        ServiceRole="EMR_DefaultRole",
    )["JobFlowId"]


def test_step_request_runs_the_script_in_cluster_mode():
    request = submit.step_request("j-ABC123", SCRIPT, SILVER, GOLD)

    assert request["JobFlowId"] == "j-ABC123"
    [step] = request["Steps"]
    assert step["ActionOnFailure"] == "CONTINUE"
    assert step["HadoopJarStep"]["Jar"] == "command-runner.jar"
    args = step["HadoopJarStep"]["Args"]
    assert args[:3] == ["spark-submit", "--deploy-mode", "cluster"]
    assert args[3:5] == [
        "--conf",
        "spark.sql.session.timeZone=UTC",
    ]  # as on EMR Serverless: Gold's months are UTC
    assert args[-5:] == [SCRIPT, "--silver_path", SILVER, "--gold_path", GOLD]
    assert "${" not in json.dumps(request)


def test_serverless_request_matches_the_start_job_run_model(aws_credentials):
    request = submit.serverless_request(
        "00fabc123", ROLE, SCRIPT, SILVER, GOLD, log_uri="s3://lake-bucket/logs/"
    )
    client = boto3.client("emr-serverless", region_name="us-east-1")
    stubber = Stubber(client)
    # Stubber checks the request against botocore's model of the real service (names, types, required).
    stubber.add_response(
        "start_job_run",
        {
            "applicationId": "00fabc123",
            "jobRunId": "00frun456",
            "arn": "arn:aws:emr-serverless:us-east-1:123456789012:/applications/00fabc123/jobruns/00frun456",
        },
        request,
    )

    with stubber:
        job_run_id = client.start_job_run(**request)["jobRunId"]

    assert job_run_id == "00frun456"
    spark_submit = request["jobDriver"]["sparkSubmit"]
    assert spark_submit["entryPoint"] == SCRIPT
    assert spark_submit["entryPointArguments"] == ["--silver_path", SILVER, "--gold_path", GOLD]
    assert "spark.sql.session.timeZone=UTC" in spark_submit["sparkSubmitParameters"]
    assert request["configurationOverrides"]["monitoringConfiguration"]["s3MonitoringConfiguration"] == {
        "logUri": "s3://lake-bucket/logs/"
    }
    # EMR Serverless cancels a job run after 12 hours unless told otherwise; Gold takes minutes
    assert request["executionTimeoutMinutes"] == 120


def test_serverless_request_without_log_uri_has_no_empty_log_location():
    request = submit.serverless_request("00fabc123", ROLE, SCRIPT, SILVER, GOLD)

    assert "configurationOverrides" not in request
    assert "${" not in json.dumps(request)


@mock_aws
def test_step_command_adds_the_step_to_the_cluster(aws_credentials, capsys):
    emr = boto3.client("emr", region_name="us-east-1")
    cluster = start_cluster()

    code = submit.main(["step", "--cluster-id", cluster, *GOLD_ARGS])

    assert code == 0
    [step] = emr.list_steps(ClusterId=cluster)["Steps"]
    assert step["Name"] == "boston311-gold"
    assert step["Config"]["Jar"] == "command-runner.jar"
    assert (
        step["Config"]["Args"]
        == submit.step_request(cluster, SCRIPT, SILVER, GOLD)["Steps"][0]["HadoopJarStep"]["Args"]
    )
    assert f"Added step {step['Id']} to cluster {cluster}." in capsys.readouterr().out


@mock_aws
def test_serverless_command_starts_a_job_run(aws_credentials, capsys):
    emr_serverless = boto3.client("emr-serverless", region_name="us-east-1")
    application = create_application(emr_serverless)

    code = submit.main(
        [
            "serverless",
            "--application-id",
            application,
            "--execution-role-arn",
            ROLE,
            "--region",
            "us-east-1",
            *GOLD_ARGS,
        ]
    )

    assert code == 0
    [job_run] = emr_serverless.list_job_runs(applicationId=application)["jobRuns"]
    detail = emr_serverless.get_job_run(applicationId=application, jobRunId=job_run["id"])["jobRun"]
    assert detail["executionRole"] == ROLE
    assert detail["jobDriver"]["sparkSubmit"]["entryPoint"] == SCRIPT
    assert detail["jobDriver"]["sparkSubmit"]["entryPointArguments"] == [
        "--silver_path",
        SILVER,
        "--gold_path",
        GOLD,
    ]
    assert f"Started job run {job_run['id']}" in capsys.readouterr().out


@mock_aws
def test_no_second_step_while_one_writes_the_same_gold_path(aws_credentials, capsys):
    emr = boto3.client("emr", region_name="us-east-1")
    cluster = start_cluster()
    assert submit.main(["step", "--cluster-id", cluster, *GOLD_ARGS]) == 0
    [first] = emr.list_steps(ClusterId=cluster)["Steps"]
    capsys.readouterr()

    code = submit.main(["step", "--cluster-id", cluster, *GOLD_ARGS[:-1], GOLD + "/"])

    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert err == [
        f"submit.py: nothing submitted: a Gold run writing {GOLD}/ is not finished yet "
        f"(step {first['Id']} ({first['Status']['State']}) on cluster {cluster}): wait for it, or cancel it "
        f"(aws emr cancel-steps --cluster-id {cluster} --step-ids {first['Id']}), then submit again."
    ]
    assert len(emr.list_steps(ClusterId=cluster)["Steps"]) == 1
    # Another Gold path on the same cluster is another table set: no conflict.
    assert submit.main(["step", "--cluster-id", cluster, *GOLD_ARGS[:-1], "s3://other-bucket/gold"]) == 0
    assert len(emr.list_steps(ClusterId=cluster)["Steps"]) == 2


@mock_aws
def test_no_second_job_run_while_one_writes_the_same_gold_path(aws_credentials, capsys):
    emr_serverless = boto3.client("emr-serverless", region_name="us-east-1")
    application = create_application(emr_serverless)
    serverless_args = ["serverless", "--application-id", application, "--execution-role-arn", ROLE]
    serverless_args += ["--region", "us-east-1", *GOLD_ARGS]
    assert submit.main(serverless_args) == 0  # moto finishes a job run at once (SUCCESS)
    assert submit.main(serverless_args) == 0  # so a second one may start
    [_, second] = emrserverless_backends[ACCOUNT_ID]["us-east-1"].job_runs[application]
    second.state = "RUNNING"  # as a real job run would be for minutes
    capsys.readouterr()

    code = submit.main(serverless_args)

    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert err == [
        f"submit.py: nothing submitted: a Gold run writing {GOLD} is not finished yet "
        f"(job run {second.id} (RUNNING) on application {application}): wait for it, or cancel it "
        f"(aws emr-serverless cancel-job-run --application-id {application} --job-run-id {second.id}), "
        "then submit again."
    ]
    assert len(emr_serverless.list_job_runs(applicationId=application)["jobRuns"]) == 2


def test_dry_run_prints_the_request_and_sends_nothing(capsys):
    code = submit.main(["step", "--cluster-id", "j-ABC123", "--dry-run", *GOLD_ARGS])

    assert code == 0
    assert json.loads(capsys.readouterr().out) == submit.step_request("j-ABC123", SCRIPT, SILVER, GOLD)


@mock_aws
def test_aws_refusal_is_one_sentence_and_exit_1(aws_credentials, capsys):
    code = submit.main(
        [
            "serverless",
            "--application-id",
            "00fmissing",
            "--execution-role-arn",
            ROLE,
            "--region",
            "us-east-1",
            *GOLD_ARGS,
        ]
    )

    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1
    assert err[0].startswith("submit.py: AWS did not accept the serverless request")
    assert "00fmissing does not exist" in err[0]


def step_with_gold_path(gold_path: str) -> list[str]:
    """A step command line that is valid but for its Gold path."""
    return [
        "step",
        "--cluster-id",
        "j-ABC123",
        "--script",
        SCRIPT,
        "--silver-path",
        SILVER,
        "--gold-path",
        gold_path,
    ]


@pytest.mark.parametrize(
    "argv, complaint",
    [
        (["step", *GOLD_ARGS], "--cluster-id"),
        (["step", "--cluster-id", "cluster-1", *GOLD_ARGS], "not an EMR cluster id"),
        (
            ["step", "--cluster-id", "j-ABC123", "--script", "/home/me/gold_job.py", *GOLD_ARGS[2:]],
            "not an s3://",
        ),
        (
            ["serverless", "--application-id", "00f", "--execution-role-arn", "boston311-gold", *GOLD_ARGS],
            "IAM role",
        ),
        (["launch", *GOLD_ARGS], "invalid choice"),
        (["step", "--cluster-id", "j-ABC123", *GOLD_ARGS, "--region", "Boston"], "not an AWS region"),
        (step_with_gold_path(SILVER), "--gold-path must be apart from --silver-path"),
        # Hadoop reads // as / (a lake root given with a trailing slash, then $LAKE/gold)
        (
            step_with_gold_path("s3://lake-bucket//silver/boston311/"),
            "--gold-path must be apart from --silver-path",
        ),
        (["serverless", "--application-id", "", "--execution-role-arn", ROLE, *GOLD_ARGS], "application id"),
        (["step", "--cluster-id", "j-ABC123", *GOLD_ARGS, "--profile", ""], "is empty (an unset variable?)"),
        (step_with_gold_path(f"{SILVER}/gold"), "--gold-path must be apart from --silver-path"),
        (step_with_gold_path("s3://lake-bucket/silver"), "--gold-path must be apart from --silver-path"),
        (
            [
                "serverless",
                "--application-id",
                "00f",
                "--execution-role-arn",
                "arn:aws:iam::1234:role/x",
                *GOLD_ARGS,
            ],
            "IAM role",
        ),
        (
            ["step", "--cluster-id", "j-ABC123", "--script", "s3:///gold_job.py", *GOLD_ARGS[2:]],
            "not an s3://",
        ),
        (["step", "--cluster-id", "j-ABC123", *GOLD_ARGS, "--region", "us-east-1a"], "not an AWS region"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(argv, complaint, capsys):
    with pytest.raises(SystemExit) as exit_info:
        submit.main(argv)

    err = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2
    assert len(err) == 1
    assert complaint in err[0]


def test_clients_give_up_on_a_silent_endpoint_in_about_a_minute_and_a_half() -> None:
    config = submit.aws_client("emr-serverless", region="us-east-1").meta.config
    assert (config.connect_timeout, config.read_timeout) == (10, 30)
    assert config.retries == {"mode": "standard", "total_max_attempts": 3}


def test_action_on_failure_reaches_the_step_request(capsys):
    argv = ["step", "--cluster-id", "j-ABC123", "--action-on-failure", "TERMINATE_CLUSTER", "--dry-run"]

    assert submit.main([*argv, *GOLD_ARGS]) == 0

    [step] = json.loads(capsys.readouterr().out)["Steps"]
    assert step["ActionOnFailure"] == "TERMINATE_CLUSTER"


@mock_aws
def test_a_pending_step_on_the_same_gold_path_blocks_a_second_one(aws_credentials, capsys):
    emr = boto3.client("emr", region_name="us-east-1")
    cluster = start_cluster()
    other = ["--script", SCRIPT, "--silver-path", SILVER, "--gold-path", "s3://other-bucket/gold"]
    assert submit.main(["step", "--cluster-id", cluster, *other]) == 0  # runs first
    assert submit.main(["step", "--cluster-id", cluster, *GOLD_ARGS]) == 0  # queued behind it
    states = {
        step["Config"]["Args"][-1]: step["Status"]["State"]
        for step in emr.list_steps(ClusterId=cluster)["Steps"]
    }
    assert states[GOLD] == "PENDING"
    capsys.readouterr()

    assert submit.main(["step", "--cluster-id", cluster, *GOLD_ARGS]) == 1

    assert "(PENDING)" in capsys.readouterr().err
    assert len(emr.list_steps(ClusterId=cluster)["Steps"]) == 2


@mock_aws
def test_region_flag_picks_the_region_of_the_cluster(aws_credentials, capsys):
    west = boto3.client("emr", region_name="us-west-2")
    cluster = start_cluster("us-west-2")

    assert submit.main(["step", "--cluster-id", cluster, "--region", "us-west-2", *GOLD_ARGS]) == 0

    assert len(west.list_steps(ClusterId=cluster)["Steps"]) == 1


@mock_aws
def test_an_unknown_profile_submits_nothing(aws_credentials, capsys):
    emr = boto3.client("emr", region_name="us-east-1")
    cluster = start_cluster()

    code = submit.main(["step", "--cluster-id", cluster, "--profile", "no-such-profile", *GOLD_ARGS])

    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no-such-profile" in err[0]
    assert emr.list_steps(ClusterId=cluster)["Steps"] == []


def test_a_gold_path_beside_the_silver_path_is_accepted(capsys):
    beside = f"{SILVER}_gold"  # shares Silver's text as a prefix, not its folder

    assert submit.main(["step", "--dry-run", *step_with_gold_path(beside)[1:]]) == 0

    assert json.loads(capsys.readouterr().out)["Steps"][0]["HadoopJarStep"]["Args"][-1] == beside


@mock_aws
@pytest.mark.parametrize("state", ["SUBMITTED", "PENDING", "SCHEDULED", "RUNNING", "QUEUED", "CANCELLING"])
def test_a_job_run_in_any_unfinished_state_blocks_a_second_one(aws_credentials, capsys, state):
    emr_serverless = boto3.client("emr-serverless", region_name="us-east-1")
    application = create_application(emr_serverless)
    serverless_args = ["serverless", "--application-id", application, "--execution-role-arn", ROLE]
    serverless_args += ["--region", "us-east-1", *GOLD_ARGS]
    assert submit.main(serverless_args) == 0
    [first] = emrserverless_backends[ACCOUNT_ID]["us-east-1"].job_runs[application]
    first.state = state
    capsys.readouterr()

    assert submit.main(serverless_args) == 1

    assert f"({state})" in capsys.readouterr().err
    assert len(emr_serverless.list_job_runs(applicationId=application)["jobRuns"]) == 1


@mock_aws
def test_a_step_being_cancelled_still_blocks_a_second_one(aws_credentials, capsys):
    # CANCEL_PENDING: the step may still be swapping Gold tables until EMR has stopped it.
    emr = boto3.client("emr", region_name="us-east-1")
    cluster = start_cluster()
    assert submit.main(["step", "--cluster-id", cluster, *GOLD_ARGS]) == 0
    [step] = emr_backends[ACCOUNT_ID]["us-east-1"].clusters[cluster].steps
    step.state = "CANCEL_PENDING"
    capsys.readouterr()

    assert submit.main(["step", "--cluster-id", cluster, *GOLD_ARGS]) == 1

    assert "(CANCEL_PENDING)" in capsys.readouterr().err
    assert len(emr.list_steps(ClusterId=cluster)["Steps"]) == 1


@mock_aws
def test_a_running_step_given_its_gold_path_with_a_slash_blocks_one_given_it_without(aws_credentials, capsys):
    cluster = start_cluster()
    assert submit.main(["step", "--cluster-id", cluster, *GOLD_ARGS[:-1], GOLD + "/"]) == 0

    assert submit.main(["step", "--cluster-id", cluster, *GOLD_ARGS]) == 1

    assert "nothing submitted" in capsys.readouterr().err


def test_missing_credentials_are_one_sentence_and_exit_1(aws_credentials, monkeypatch, capsys):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # were a request ever sent, it stays local
    for name in ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        monkeypatch.delenv(name, raising=False)

    code = submit.main(["step", "--cluster-id", "j-ABC123", "--region", "us-east-1", *GOLD_ARGS])

    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1
    assert err[0].startswith("submit.py: AWS did not accept the step request") and "credentials" in err[0]


@mock_aws
def test_a_running_step_given_its_gold_path_with_two_slashes_blocks_one_given_it_with_one(
    aws_credentials, capsys
):
    cluster = start_cluster()
    assert (
        submit.main(["step", "--cluster-id", cluster, *GOLD_ARGS[:-1], GOLD.replace("/gold", "//gold")]) == 0
    )

    assert submit.main(["step", "--cluster-id", cluster, *GOLD_ARGS]) == 1

    assert "nothing submitted" in capsys.readouterr().err


def test_a_profile_in_the_environment_that_does_not_exist_is_bad_usage(aws_credentials, monkeypatch, capsys):
    monkeypatch.setenv("AWS_PROFILE", "ghost")  # was "AWS did not accept the step request", exit 1

    assert submit.main(["step", "--cluster-id", "j-ABC123", *GOLD_ARGS]) == 2

    assert capsys.readouterr().err == (
        "submit.py: cannot open an AWS session: The config profile (ghost) could not be found.\n"
    )


def test_an_answer_that_is_not_aws_s_is_one_sentence_not_a_traceback(a_proxy_page_for_aws, capsys):
    assert submit.main(["step", "--cluster-id", "j-ABC123", *GOLD_ARGS]) == 1  # was KeyError: 'Steps'

    assert capsys.readouterr().err == (
        "submit.py: the answer to the step request lacks 'Steps', so it is not AWS's (a proxy's or a captive "
        "portal's page?): check the network and AWS_ENDPOINT_URL, and the console for what was submitted.\n"
    )


def test_an_error_page_is_told_in_one_line(aws_credentials, monkeypatch, capsys):
    from botocore.exceptions import ClientError

    def refused(*_: object) -> str:
        page = "<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n</html>"
        raise ClientError({"Error": {"Code": "500", "Message": page}}, "AddJobFlowSteps")

    monkeypatch.setattr(submit, "submit_step", refused)

    assert submit.main(["step", "--cluster-id", "j-ABC123", *GOLD_ARGS]) == 1

    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("submit.py: AWS did not accept the step request: An error occurred (500)")
    assert line.endswith("<title>500 Internal Server Error</title> </html>.")


def test_ctrl_c_is_one_sentence_and_exit_130(aws_credentials, monkeypatch, capsys):
    def interrupted(*_: object) -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr(submit, "submit_serverless", interrupted)

    assert (
        submit.main(["serverless", "--application-id", "00f", "--execution-role-arn", ROLE, *GOLD_ARGS])
        == 130
    )

    assert capsys.readouterr().err == (
        "submit.py: interrupted; if the serverless request was sent, it may be running: see the console.\n"
    )
