"""infra/boston311.yaml: valid CloudFormation, created under moto, and its IAM policies let each stage do exactly
its own work on the lake — checked with moto's IAM enforcement on real requests (Bronze: the ingest itself)."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from cfnlint.api import lint_all
from cfnlint.decode import decode
from moto import mock_aws
from moto.core.authorization import enable_iam_authentication
from moto.s3.responses import ACTION_MAP as S3_ACTIONS

from bronze_helpers import data_keys, ingest
from conftest import REPO
from lake import BRONZE_PREFIX, GOLD_PREFIX, SILVER_PREFIX

TEMPLATE = REPO / "infra" / "boston311.yaml"
BUCKET = "boston311-lake-test"
LAKE_PREFIX = "lake"
# Resource types moto's CloudFormation does not model: they are checked by cfn-lint and by the tests below that
# read the template, and left out of the stack moto creates.
NOT_IN_MOTO = {
    "AWS::Glue::Job",
    "AWS::EMRServerless::Application",
    "AWS::Athena::WorkGroup",
    "AWS::S3::BucketPolicy",
}


def template() -> dict[str, Any]:
    """The template as a dict, short-form intrinsics (!Sub, !Ref) decoded the way CloudFormation reads them."""
    decoded, errors = decode(str(TEMPLATE))
    assert not errors, errors
    return json.loads(json.dumps(decoded))  # plain dicts and strings


def test_the_template_passes_cfn_lint():
    """No error or warning from cfn-lint, which checks every resource against CloudFormation's own schemas (the
    informational suggestions are not failures, as on its command line)."""
    problems = lint_all(TEMPLATE.read_text())

    assert [str(problem) for problem in problems if problem.rule.id[0] in "EW"] == []


def test_the_glue_job_is_glue_job_definition_json():
    """The Silver job is declared in glue/job_definition.json (for `aws glue create-job`) and in the stack; the two
    must not drift. The stack's !Sub placeholders are put back to the JSON's BUCKET and lake/ spelling."""
    job = template()["Resources"]["SilverJob"]["Properties"]
    definition = json.loads((REPO / "glue" / "job_definition.json").read_text())

    def as_in_definition(value: Any) -> Any:
        if isinstance(value, dict) and set(value) == {"Fn::Sub"}:
            return value["Fn::Sub"].replace("${LakeBucket}", "BUCKET").replace("${LakePrefix}", "lake")
        if isinstance(value, dict):
            return {key: as_in_definition(item) for key, item in value.items()}
        return value

    assert {key: as_in_definition(value) for key, value in job.items() if key != "Role"} == {
        key: value for key, value in definition.items() if key != "Role"
    }


def test_the_gold_application_fits_the_job_run_it_is_given():
    application = template()["Resources"]["GoldApplication"]["Properties"]
    parameters = json.loads((REPO / "emr" / "emr_serverless_job_run.json").read_text())["jobDriver"][
        "sparkSubmit"
    ]["sparkSubmitParameters"]
    conf = dict(setting.strip().split("=", 1) for setting in parameters.split("--conf ")[1:])
    asked = int(conf["spark.driver.cores"]) + int(conf["spark.dynamicAllocation.maxExecutors"]) * int(
        conf["spark.executor.cores"]
    )

    assert application["Type"] == "SPARK"
    assert int(application["MaximumCapacity"]["Cpu"].split()[0]) >= asked


@pytest.fixture
def stack(aws_credentials: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The stack created under moto (without the resources moto does not model); its outputs by key."""
    # moto checks HeadBucket against an "s3:HeadBucket" action, which IAM does not have: AWS checks s3:ListBucket.
    monkeypatch.setitem(S3_ACTIONS["BUCKET"]["HEAD"], "DEFAULT", "ListBucket")
    body = template()
    left_out = {name for name, resource in body["Resources"].items() if resource["Type"] in NOT_IN_MOTO}
    body["Resources"] = {name: r for name, r in body["Resources"].items() if name not in left_out}
    body["Outputs"] = {
        name: output
        for name, output in body["Outputs"].items()
        if not left_out & set(re.findall(r"\w+", json.dumps(output["Value"])))
    }
    with mock_aws():
        cloudformation = boto3.client("cloudformation", region_name="us-east-1")
        cloudformation.create_stack(
            StackName="boston311",
            TemplateBody=json.dumps(body),
            Parameters=[{"ParameterKey": "BucketName", "ParameterValue": BUCKET}],
            Capabilities=["CAPABILITY_IAM"],
        )
        [described] = cloudformation.describe_stacks(StackName="boston311")["Stacks"]
        assert described["StackStatus"] == "CREATE_COMPLETE"
        store_role_policies_as_iam_does()
        yield {output["OutputKey"]: output["OutputValue"] for output in described["Outputs"]}


def store_role_policies_as_iam_does() -> None:
    """moto's CloudFormation keeps a role's inline policies as Python dicts, which its own IAM enforcement cannot
    read (it answers GetRolePolicy with the dict's repr); put each document back through the IAM API, as JSON."""
    iam = boto3.client("iam", region_name="us-east-1")
    for role in iam.list_roles()["Roles"]:
        for name in iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"]:
            document = iam.get_role_policy(RoleName=role["RoleName"], PolicyName=name)["PolicyDocument"]
            if isinstance(document, str):
                document = ast.literal_eval(document)
            iam.put_role_policy(
                RoleName=role["RoleName"], PolicyName=name, PolicyDocument=json.dumps(document)
            )


def user_with_policy(policy_arn: str) -> dict[str, str]:
    """Access keys of a new IAM user whose only permissions are the managed policy."""
    iam = boto3.client("iam", region_name="us-east-1")
    name = policy_arn.rsplit("/", 1)[-1][:60]
    iam.create_user(UserName=name)
    iam.attach_user_policy(UserName=name, PolicyArn=policy_arn)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}


def test_the_bucket_is_encrypted_and_the_outputs_name_the_lake(stack):
    s3 = boto3.client("s3", region_name="us-east-1")

    [rule] = s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert stack["LakeUri"] == f"s3://{BUCKET}/{LAKE_PREFIX}"
    assert stack["GoldLogUri"] == f"s3://{BUCKET}/logs/emr-serverless/"


def test_the_bronze_policy_is_enough_to_run_the_ingest_and_no_more(stack, portal_url, monkeypatch, capsys):
    s3 = boto3.client("s3", region_name="us-east-1")
    for name, value in user_with_policy(stack["BronzeIngestPolicyArn"]).items():
        monkeypatch.setenv(name, value)

    with enable_iam_authentication():
        landed = ingest(portal_url, stack["LakeUri"], "--quiet")
        elsewhere = ingest(portal_url, f"s3://{BUCKET}/another-lake", "--quiet")

    assert landed == 0
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert len(data_keys([key.removeprefix(f"{LAKE_PREFIX}/") for key in keys])) == 4
    assert all(key.startswith(f"{LAKE_PREFIX}/{BRONZE_PREFIX}/") for key in keys)
    assert elsewhere != 0  # the policy is scoped to the lake's Bronze prefix
    assert "AccessDenied" in capsys.readouterr().err


def role_credentials(role_arn: str) -> dict[str, str]:
    """Temporary credentials of the role, as the service that runs the job would get them."""
    credentials = boto3.client("sts", region_name="us-east-1").assume_role(
        RoleArn=role_arn, RoleSessionName="test"
    )["Credentials"]
    return {
        "aws_access_key_id": credentials["AccessKeyId"],
        "aws_secret_access_key": credentials["SecretAccessKey"],
        "aws_session_token": credentials["SessionToken"],
    }


def allowed(s3: Any, operation: str, key: str) -> bool:
    """Whether the client may do one S3 operation on one key of the lake bucket (moto enforcing IAM)."""
    call = {
        "read": lambda: s3.get_object(Bucket=BUCKET, Key=key),
        "write": lambda: s3.put_object(Bucket=BUCKET, Key=key, Body=b"x"),
        "delete": lambda: s3.delete_object(Bucket=BUCKET, Key=key),
        "list": lambda: s3.list_objects_v2(Bucket=BUCKET, Prefix=key),
    }[operation]
    try:
        with enable_iam_authentication():
            call()
    except ClientError as error:
        assert error.response["Error"]["Code"] == "AccessDenied", error
        return False
    return True


@pytest.mark.parametrize(
    "role_output, reads, writes, writes_logs",
    [
        # Silver reads its code and Bronze, writes (and renames: copy + delete) only Silver.
        ("SilverJobRoleArn", ["code/glue/silver_job.py", BRONZE_PREFIX], [SILVER_PREFIX], False),
        # Gold reads its code and Silver, writes only Gold, and its driver and executor logs (--log-uri).
        ("GoldExecutionRoleArn", ["code/emr/gold_job.py", SILVER_PREFIX], [GOLD_PREFIX], True),
    ],
)
def test_each_job_role_reads_its_input_and_writes_only_its_own_stage(
    stack, role_output, reads, writes, writes_logs
):
    admin = boto3.client("s3", region_name="us-east-1")
    every_key = [
        "code/glue/silver_job.py",
        "code/emr/gold_job.py",
        *(f"{LAKE_PREFIX}/{prefix}/part-0.parquet" for prefix in (BRONZE_PREFIX, SILVER_PREFIX, GOLD_PREFIX)),
    ]
    for key in every_key:
        admin.put_object(Bucket=BUCKET, Key=key, Body=b"x")
    job = boto3.client("s3", region_name="us-east-1", **role_credentials(stack[role_output]))

    def in_lake(where: str) -> str:
        return where if where.startswith("code/") else f"{LAKE_PREFIX}/{where}/part-0.parquet"

    assert allowed(job, "list", f"{LAKE_PREFIX}/")
    for key in every_key:
        may_write = any(key == in_lake(where) for where in writes)
        assert allowed(job, "read", key) == (may_write or any(key == in_lake(where) for where in reads)), key
        assert allowed(job, "write", key) == may_write, key
        assert allowed(job, "delete", key) == may_write, key
    assert allowed(job, "write", "logs/emr-serverless/applications/x/jobs/y/stdout.gz") == writes_logs
