"""infra/boston311.yaml: valid CloudFormation, created under moto, and its IAM policies let each stage do exactly
its own work on the lake — checked with moto's IAM enforcement on real requests (Bronze: the ingest itself)."""

from __future__ import annotations

import ast
import fnmatch
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.exceptions import ClientError
from cfnlint.api import lint_all
from cfnlint.decode import decode
from moto import mock_aws
from moto.core.authorization import enable_iam_authentication
from moto.events.models import EventPattern
from moto.s3.responses import ACTION_MAP as S3_ACTIONS
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_glue as moto_sfn_glue,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import ResourceCondition
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_unsupported import (
    StateTaskServiceUnsupported,
)

from bronze_helpers import data_keys, ingest
from bronze_storage import RUN_LOCK
from conftest import REPO
from lake import BRONZE_PREFIX, GOLD_PREFIX, SILVER_PREFIX

TEMPLATE = REPO / "infra" / "boston311.yaml"
BUCKET = "boston311-lake-test"
LAKE_PREFIX = "lake"
# Resource types moto's CloudFormation does not model (or, for the state machine, only with a DefinitionString):
# they are checked by cfn-lint and by the tests below that read the template, and left out of the stack moto
# creates, with every resource that refers to one of them.
NOT_IN_MOTO = {
    "AWS::Glue::Job",
    "AWS::EMRServerless::Application",
    "AWS::Athena::WorkGroup",
    "AWS::S3::BucketPolicy",
    "AWS::StepFunctions::StateMachine",
    "AWS::Scheduler::Schedule",
}


def template() -> dict[str, Any]:
    """The template as a dict, short-form intrinsics (!Sub, !Ref) decoded the way CloudFormation reads them."""
    decoded, errors = decode(str(TEMPLATE))
    assert not errors, errors
    return json.loads(json.dumps(decoded))  # plain dicts and strings


def test_quicksight_refreshes_two_hours_after_the_stacks_pipeline_starts() -> None:
    """Refreshed before Silver and Gold ran, SPICE would show yesterday's Gold all day."""
    import definitions

    stack = template()
    default_schedule = stack["Parameters"]["PipelineSchedule"]["Default"]
    cron = re.fullmatch(r"cron\((\d+) (\d+) \* \* \? \*\)", default_schedule)
    assert cron, default_schedule
    pipeline_start = int(cron[2]) * 60 + int(cron[1])
    schedule = stack["Resources"]["PipelineScheduleRule"]["Properties"]
    assert schedule["ScheduleExpressionTimezone"] == definitions.REFRESH_TIMEZONE
    hour, minute = map(int, definitions.REFRESH_TIME_OF_DAY.split(":"))
    assert hour * 60 + minute - pipeline_start >= 120


def test_every_documented_deploy_tags_the_stack_for_cost_allocation() -> None:
    """CloudFormation copies the stack's tags to the resources that take them; a deploy without --tags leaves the
    pipeline's cost mixed with the account's."""
    deploys = [
        command
        for doc in (REPO / "README.md", REPO / "docs" / "infra.md")
        for command in re.findall(r"aws cloudformation deploy (?:[^`\n]|\\\n|\n(?=   ))*", doc.read_text())
    ]

    assert len(deploys) == 3
    assert all("--tags project=boston311" in command for command in deploys), deploys


def names_in(value: Any) -> set[str]:
    """Every word in a template value: the resource names its Ref, GetAtt and Sub mention among them."""
    return set(re.findall(r"\w+", json.dumps(value)))


def test_the_template_passes_cfn_lint():
    """No error or warning from cfn-lint, which checks every resource against CloudFormation's own schemas (the
    informational suggestions are not failures, as on its command line)."""
    problems = lint_all(TEMPLATE.read_text())

    assert [str(problem) for problem in problems if problem.rule.id[0] in "EW"] == []


PRIVATE = {
    "BlockPublicAcls": True,
    "BlockPublicPolicy": True,
    "IgnorePublicAcls": True,
    "RestrictPublicBuckets": True,
}


@pytest.mark.parametrize("bucket_name", ["LakeBucket", "AthenaResultsBucket", "AccessLogsBucket"])
def test_each_bucket_is_private_encrypted_and_tls_only(bucket_name: str):
    """Read from the template: moto's CloudFormation ignores a bucket's public access block, ownership controls and
    lifecycle, and does not create bucket policies."""
    resources = template()["Resources"]
    bucket = resources[bucket_name]["Properties"]

    assert bucket["PublicAccessBlockConfiguration"] == PRIVATE
    assert bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    encryption = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption == [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
    assert resources[bucket_name]["DeletionPolicy"] == "RetainExceptOnCreate"
    # every request without TLS is refused, on the bucket and on every object
    [tls_only] = [
        statement
        for statement in resources[f"{bucket_name}Policy"]["Properties"]["PolicyDocument"]["Statement"]
        if statement.get("Sid") == "TlsOnly"
    ]
    assert resources[f"{bucket_name}Policy"]["Properties"]["Bucket"] == {"Ref": bucket_name}
    assert (tls_only["Effect"], tls_only["Principal"], tls_only["Action"]) == ("Deny", "*", "s3:*")
    assert tls_only["Resource"] == [
        {"Fn::GetAtt": [bucket_name, "Arn"]},
        {"Fn::Sub": f"${{{bucket_name}.Arn}}/*"},
    ]
    assert tls_only["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_every_request_on_the_lake_is_logged_where_only_s3_log_delivery_may_write():
    """S3 server access logs: who read, wrote or deleted which key of the lake, and when. They go to a bucket of
    their own, which the bucket policy opens to S3's log delivery only, only for the lake bucket of this account,
    only under the lake's log prefix; no role of the stack is granted anything in it. Kept a year, then expired."""
    resources = template()["Resources"]
    logging = resources["LakeBucket"]["Properties"]["LoggingConfiguration"]
    assert logging["DestinationBucketName"] == {"Ref": "AccessLogsBucket"}
    assert logging["LogFilePrefix"] == "lake-bucket/"
    assert (
        "LoggingConfiguration" not in resources["AccessLogsBucket"]["Properties"]
    )  # never logs its own reads

    policy = resources["AccessLogsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    allowed_always = [
        statement for statement in policy if "Effect" in statement and statement["Effect"] == "Allow"
    ]
    assert allowed_always == [
        {
            "Sid": "S3ServerAccessLogsOfTheLake",
            "Effect": "Allow",
            "Principal": {"Service": "logging.s3.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": {"Fn::Sub": "${AccessLogsBucket.Arn}/lake-bucket/*"},
            "Condition": {
                "ArnLike": {"aws:SourceArn": {"Fn::Sub": "arn:${AWS::Partition}:s3:::${BucketName}"}},
                "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
            },
        }
    ]
    # the lake bucket's ARN spelt from BucketName is the lake bucket's
    assert resources["LakeBucket"]["Properties"]["BucketName"] == {"Ref": "BucketName"}
    assert "AccessLogsBucket" not in json.dumps(policy_documents(resources))
    rules = resources["AccessLogsBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert [(rule["Status"], rule["ExpirationInDays"], "Prefix" in rule) for rule in rules] == [
        ("Enabled", 365, False)
    ]


def test_cloudtrail_data_events_of_the_lake_are_offered_and_off_by_default():
    """CloudTrail data events (billed per event) name the IAM principal behind each object request; offered with
    LakeDataEvents (NONE by default), for the lake bucket's objects only, writes only or reads too, delivered to the
    access-log bucket, where CloudTrail may write for this trail only."""
    body = template()
    resources = body["Resources"]
    assert body["Parameters"]["LakeDataEvents"]["Default"] == "NONE"
    assert body["Conditions"]["HasLakeDataEvents"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "LakeDataEvents"}, "NONE"]}]
    }
    assert body["Conditions"]["LakeDataEventsWritesOnly"] == {
        "Fn::Equals": [{"Ref": "LakeDataEvents"}, "WRITES"]
    }
    trail = resources["LakeDataEventsTrail"]
    assert trail["Condition"] == "HasLakeDataEvents"
    assert (
        trail["DependsOn"] == "AccessLogsBucketPolicy"
    )  # CloudTrail checks the bucket policy when it is created
    properties = trail["Properties"]
    assert (properties["S3BucketName"], properties["S3KeyPrefix"]) == (
        {"Ref": "AccessLogsBucket"},
        "cloudtrail",
    )
    assert properties["EnableLogFileValidation"] is True
    [selector] = properties["AdvancedEventSelectors"]
    fields = selector["FieldSelectors"]
    assert fields[:3] == [
        {"Field": "eventCategory", "Equals": ["Data"]},
        {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
        {"Field": "resources.ARN", "StartsWith": [{"Fn::Sub": "${LakeBucket.Arn}/"}]},
    ]
    assert fields[3:] == [
        {
            "Fn::If": [
                "LakeDataEventsWritesOnly",
                {"Field": "readOnly", "Equals": ["false"]},
                {"Ref": "AWS::NoValue"},
            ]
        }
    ]

    trail_arn = {
        "Fn::Sub": "arn:${AWS::Partition}:cloudtrail:${AWS::Region}:${AWS::AccountId}:trail/"
        + properties["TrailName"]["Fn::Sub"]
    }
    policy = resources["AccessLogsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    for_the_trail = [statement["Fn::If"] for statement in policy if "Fn::If" in statement]
    assert [(condition, otherwise) for condition, _, otherwise in for_the_trail] == [
        ("HasLakeDataEvents", {"Ref": "AWS::NoValue"})
    ] * 2
    check, put = (statement for _, statement, _ in for_the_trail)
    assert check["Principal"] == put["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert (check["Action"], check["Resource"]) == (
        "s3:GetBucketAcl",
        {"Fn::GetAtt": ["AccessLogsBucket", "Arn"]},
    )
    assert (put["Action"], put["Resource"]) == (
        "s3:PutObject",
        {"Fn::Sub": "${AccessLogsBucket.Arn}/cloudtrail/AWSLogs/${AWS::AccountId}/*"},
    )
    assert check["Condition"] == {"StringEquals": {"aws:SourceArn": trail_arn}}
    assert put["Condition"] == {
        "StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceArn": trail_arn}
    }


def test_only_what_is_disposable_expires_and_athena_results_stay_out_of_the_lake_bucket():
    resources = template()["Resources"]
    # EMR Serverless logs expire; nothing under the lake or code/ does (the jobs' _staging folders may hold the only
    # copy of a table while a publish is undone, and the jobs clean them themselves)
    rules = resources["LakeBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert all(rule["Status"] == "Enabled" for rule in rules)
    assert {rule["Prefix"]: rule["ExpirationInDays"] for rule in rules if "ExpirationInDays" in rule} == {
        "logs/": 30
    }
    assert [
        rule["AbortIncompleteMultipartUpload"] for rule in rules if "AbortIncompleteMultipartUpload" in rule
    ] == [{"DaysAfterInitiation": 7}]
    # QuickSight's role writes where Athena puts results: in the lake bucket that would reach code/glue/silver_job.py
    workgroup = resources["AthenaWorkGroup"]["Properties"]["WorkGroupConfiguration"]
    assert workgroup["ResultConfiguration"]["OutputLocation"] == {"Fn::Sub": "s3://${AthenaResultsBucket}/"}
    [results] = resources["AthenaResultsBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert (results["Status"], results["ExpirationInDays"], "Prefix" in results) == ("Enabled", 30, False)
    assert template()["Outputs"]["AthenaResultsBucket"]["Value"] == {"Ref": "AthenaResultsBucket"}
    assert template()["Outputs"]["GoldLogUri"]["Value"] == {
        "Fn::Sub": "s3://${LakeBucket}/logs/emr-serverless/"
    }


def test_the_glue_job_is_glue_job_definition_json():
    """The Silver job is declared in glue/job_definition.json (for `aws glue create-job`) and in the stack; the two
    must not drift. The stack's !Sub placeholders are put back to the JSON's BUCKET and lake/ spelling, and what a
    parameter left at its default leaves out (!If [..., AWS::NoValue]) is left out."""
    job = template()["Resources"]["SilverJob"]["Properties"]
    definition = json.loads((REPO / "glue" / "job_definition.json").read_text())

    def left_out(value: Any) -> bool:
        return isinstance(value, dict) and value.get("Fn::If", [None, None, None])[2] == {
            "Ref": "AWS::NoValue"
        }

    def as_in_definition(value: Any) -> Any:
        if isinstance(value, dict) and set(value) == {"Fn::Sub"}:
            return value["Fn::Sub"].replace("${LakeBucket}", "BUCKET").replace("${LakePrefix}", "lake")
        if isinstance(value, dict):
            return {key: as_in_definition(item) for key, item in value.items() if not left_out(item)}
        return value

    assert {key: as_in_definition(value) for key, value in job.items() if key != "Role"} == {
        key: value for key, value in definition.items() if key != "Role"
    }


def test_the_glue_jobs_arguments_are_ones_the_silver_job_takes():
    """What Glue passes the job from DefaultArguments parses as main parses it (no misspelling, no value the job
    refuses), and the stack stops a run only at a share of rejects above the one the job already warns at."""
    import silver_job

    arguments = json.loads((REPO / "glue" / "job_definition.json").read_text())["DefaultArguments"]
    argv = ["silver_job.py", *[word for pair in arguments.items() for word in pair]]

    args = silver_job.parse_args(argv)
    share = silver_job.parse_max_reject_share(args.get("max_reject_share"))
    assert silver_job.REJECT_SHARE_WARNING < share < 1
    assert silver_job.parse_overrides(args.get("time_basis_override")) == {}


def test_the_stacks_time_basis_override_is_one_the_silver_job_takes():
    """SilverTimeBasisOverride reaches the job's default arguments only when given, and CloudFormation refuses what
    the job would refuse, by a pattern made of the job's own grammar (a refusal at deploy, not at 07:00), but for a
    name given twice, which a regular expression cannot tell (docs/infra.md says so)."""
    import silver_job

    parameter = template()["Parameters"]["SilverTimeBasisOverride"]
    item = (
        f"({silver_job.OVERRIDE_NAME.pattern})(@{silver_job.OVERRIDE_MONTH.pattern})?="
        f"({'|'.join(silver_job.READINGS)})"
    )
    assert parameter["AllowedPattern"] == f"^$|^({item})(,({item}))*$"
    assert parameter["Default"] == ""
    allowed = re.compile(parameter["AllowedPattern"])
    for given in (
        "new_system@2025-11=utc",
        "new_system=wall_clock,new_system@2025-11=utc",
        "legacy_2015=utc",
    ):
        assert allowed.fullmatch(given) and silver_job.parse_overrides(given)
    for refused in (
        "new_system@2025-13=utc",
        "NEW_SYSTEM=utc",
        "new_system=eastern",
        "new_system@2025-1=utc",
    ):
        assert not allowed.fullmatch(refused)
        with pytest.raises(silver_job.SilverError):
            silver_job.parse_overrides(refused)
    # the one the pattern lets through: the job refuses it when it runs
    assert allowed.fullmatch("new_system=utc,new_system=wall_clock")
    with pytest.raises(silver_job.SilverError, match="given twice"):
        silver_job.parse_overrides("new_system=utc,new_system=wall_clock")
    arguments = template()["Resources"]["SilverJob"]["Properties"]["DefaultArguments"]
    assert arguments["--time_basis_override"] == {
        "Fn::If": ["HasTimeBasisOverride", {"Ref": "SilverTimeBasisOverride"}, {"Ref": "AWS::NoValue"}]
    }
    assert template()["Conditions"]["HasTimeBasisOverride"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "SilverTimeBasisOverride"}, ""]}]
    }


def test_the_glue_job_ships_every_mapping_file_the_silver_job_reads():
    """--extra-files (stack and glue/job_definition.json) lists exactly silver_job.MAPPING_FILES, all in
    glue/mappings/ and uploaded under code/glue/mappings/ (docs/infra.md)."""
    import silver_job

    definition = json.loads((REPO / "glue" / "job_definition.json").read_text())
    shipped = definition["DefaultArguments"]["--extra-files"].split(",")

    assert shipped == [f"s3://BUCKET/code/glue/mappings/{name}" for name in silver_job.MAPPING_FILES]
    assert sorted(path.name for path in (REPO / "glue" / "mappings").glob("*.csv")) == sorted(
        silver_job.MAPPING_FILES
    )


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


# ---- the state machine: Silver then Gold ---------------------------------------------------------------------

Sync, WaitForTaskToken = ResourceCondition.Sync, ResourceCondition.WaitForTaskToken

# What each .sync integration the state machine uses calls on the state machine role's behalf (Step Functions'
# IAM policy pages for Glue and EMR Serverless): start, follow, stop; for EMR Serverless also passing the job's
# execution role and the EventBridge rule Step Functions manages to learn that a job run ended.
INTEGRATION_ACTIONS = {
    "arn:aws:states:::glue:startJobRun.sync": {
        "glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun",
    },
    "arn:aws:states:::emr-serverless:startJobRun.sync": {
        "emr-serverless:StartJobRun", "emr-serverless:GetJobRun", "emr-serverless:CancelJobRun", "iam:PassRole",
        "events:PutTargets", "events:PutRule", "events:DescribeRule",
    },
}  # fmt: skip


def pipeline() -> tuple[dict[str, Any], dict[str, Any]]:
    """The state machine's definition and its substitutions."""
    properties = template()["Resources"]["PipelineStateMachine"]["Properties"]
    return properties["Definition"], properties["DefinitionSubstitutions"]


def pascal_case(value: Any) -> Any:
    """An EMR Serverless request in the Step Functions spelling: every member name capitalised."""
    if isinstance(value, dict):
        return {key[0].upper() + key[1:]: pascal_case(item) for key, item in value.items()}
    if isinstance(value, list):
        return [pascal_case(item) for item in value]
    return value


def statements(role: str) -> list[dict[str, Any]]:
    """Every statement of a role's inline policies in the template."""
    policies = template()["Resources"][role]["Properties"]["Policies"]
    return [statement for policy in policies for statement in policy["PolicyDocument"]["Statement"]]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def policy_documents(resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every identity policy of the template (roles' inline policies, managed policies), by a readable name."""
    documents = {}
    for name, resource in resources.items():
        properties = resource["Properties"]
        if resource["Type"] == "AWS::IAM::ManagedPolicy":
            documents[name] = properties["PolicyDocument"]
        for policy in properties.get("Policies", []) if resource["Type"] == "AWS::IAM::Role" else []:
            documents[f"{name}/{policy['PolicyName']}"] = policy["PolicyDocument"]
    return documents


ACCOUNT = "123456789012"
REGION = "us-east-1"


def as_deployed(value: Any, resources: dict[str, Any]) -> Any:
    """A template value with its intrinsics replaced by what CloudFormation would give the test stack (a made-up id
    where AWS makes one up), so that a policy reads as IAM would read it."""

    def arn(name: str) -> str:
        kind = resources[name]["Type"]
        if kind == "AWS::S3::Bucket":
            return f"arn:aws:s3:::{ref(name)}"
        if kind == "AWS::IAM::Role":
            return f"arn:aws:iam::{ACCOUNT}:role/boston311-{name}-ABC123"
        if kind == "AWS::EMRServerless::Application":
            return f"arn:aws:emr-serverless:{REGION}:{ACCOUNT}:/applications/00abc123"
        raise AssertionError(f"no ARN made up for {kind}")

    def ref(name: str) -> str:
        fixed = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT}
        fixed |= {"AWS::StackName": "boston311", "BucketName": BUCKET, "LakePrefix": LAKE_PREFIX}
        if name in fixed:
            return fixed[name]
        kind = resources[name]["Type"]
        if kind == "AWS::S3::Bucket":
            named = "BucketName" in resources[name]["Properties"]  # the lake; the others' names are made up
            return BUCKET if named else f"boston311-{name.lower()}-abc123"
        if kind == "AWS::Glue::Job":
            return resources[name]["Properties"]["Name"]
        if kind == "AWS::StepFunctions::StateMachine":
            return f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:boston311-pipeline"
        raise AssertionError(f"no Ref made up for {kind}")

    def sub(match: re.Match) -> str:
        name, _, attribute = match.group(1).partition(".")
        return arn(name) if attribute == "Arn" else ref(name)

    if isinstance(value, list):
        return [as_deployed(item, resources) for item in value]
    if not isinstance(value, dict):
        return value
    if "Fn::Sub" in value:
        return re.sub(r"\$\{([\w:.]+)\}", sub, value["Fn::Sub"])
    if "Fn::GetAtt" in value:
        assert value["Fn::GetAtt"][1] == "Arn", value
        return arn(value["Fn::GetAtt"][0])
    if "Ref" in value:
        return ref(value["Ref"])
    return {key: as_deployed(item, resources) for key, item in value.items()}


def test_every_policy_passes_parliament():
    """parliament checks each identity policy, offline, against AWS's own list of actions, the resources each takes
    and its condition keys: an action that does not exist, a resource an action cannot be scoped to (it caught
    glue:GetJobBookmark, which takes only "*"), a condition key the action does not carry."""
    from parliament import analyze_policy_string

    resources = template()["Resources"]
    findings = set()
    for name, document in policy_documents(resources).items():
        policy = analyze_policy_string(
            json.dumps(as_deployed(document, resources)), include_community_auditors=True
        )
        findings |= {(name, finding.issue) for finding in policy.findings}

    # iam:PassRole is what parliament calls permissions management; the state machine must hand Gold its role (the
    # statement is scoped to GoldJobRole, passed to EMR Serverless only: test_the_pipeline_role_may_do_...)
    assert findings == {("PipelineRole/boston311-pipeline", "PERMISSIONS_MANAGEMENT_ACTIONS")}


def test_no_role_holds_an_aws_managed_policy_or_a_wildcard_action():
    """AWSGlueServiceRole gave the Silver job glue:* on every resource, and S3, EC2 and IAM reads everywhere; every
    permission in the stack is now written out, and the one on every resource is scoped by a condition."""
    resources = template()["Resources"]
    roles = {name: r["Properties"] for name, r in resources.items() if r["Type"] == "AWS::IAM::Role"}

    assert all("ManagedPolicyArns" not in role for role in roles.values())
    assert ":iam::aws:policy/" not in json.dumps(resources)  # nor attached any other way
    for name, document in policy_documents(resources).items():
        for statement in document["Statement"]:
            assert statement["Effect"] == "Allow", name
            assert not any(action.endswith("*") for action in as_list(statement["Action"])), (name, statement)
            if statement["Resource"] == "*":  # an action that takes no resource
                assert (statement["Action"], statement["Condition"]) == (
                    "cloudwatch:PutMetricData",
                    {"StringEquals": {"cloudwatch:namespace": "Glue"}},
                ), (name, statement)


def test_the_silver_job_reads_only_its_own_job_and_the_default_database():
    resources = template()["Resources"]
    by_sid = {statement["Sid"]: statement for statement in statements("SilverJobRole")}
    job_name = resources["SilverJob"]["Properties"]["Name"]

    glue_actions = {
        action
        for statement in by_sid.values()
        for action in as_list(statement["Action"])
        if "glue:" in action
    }
    assert glue_actions == {
        "glue:GetDatabase",
        "glue:GetDatabases",
        "glue:GetJob",
        "glue:GetJobRun",
    }
    assert by_sid["ReadItsOwnJob"]["Resource"] == {
        "Fn::Sub": f"arn:${{AWS::Partition}}:glue:${{AWS::Region}}:${{AWS::AccountId}}:job/{job_name}"
    }
    # the same catalog look-up as Gold's, on the same two resources
    gold = {statement["Sid"]: statement for statement in statements("GoldJobRole")}
    assert by_sid["LookUpTheDefaultDatabase"] == gold["LookUpTheDefaultDatabase"]
    assert by_sid["FindTheBucketsRegion"]["Resource"] == {"Fn::GetAtt": ["LakeBucket", "Arn"]}


def template_value(value: Any) -> str:
    """A policy string as CloudFormation would make it for the test stack (LakePrefix left at its default)."""
    text = value["Fn::Sub"] if isinstance(value, dict) else value
    return text.replace("${LakePrefix}", LAKE_PREFIX)


def may_list(granted: list[dict[str, Any]], prefix: str | None) -> bool:
    """Whether the statements let a principal list the lake bucket with this prefix (None: no prefix at all, as in
    HeadBucket), their StringLike and Null conditions on s3:prefix evaluated as IAM does (moto evaluates neither)."""
    for statement in granted:
        if "s3:ListBucket" not in as_list(statement["Action"]):
            continue
        condition = statement.get("Condition", {})
        if not condition:
            return True
        if "Null" in condition:
            allows = (prefix is None) == (condition["Null"]["s3:prefix"] == "true")
        else:
            patterns = [template_value(pattern) for pattern in as_list(condition["StringLike"]["s3:prefix"])]
            allows = prefix is not None and any(fnmatch.fnmatchcase(prefix, pattern) for pattern in patterns)
        if allows:
            return True
    return False


def test_every_listing_of_the_lake_bucket_is_held_to_prefixes():
    """s3:ListBucket on the bucket without a condition would let any of the stack's principals list every key of
    the lake; each statement that grants it names the prefixes (or only HeadBucket's absence of one)."""
    for name, document in policy_documents(template()["Resources"]).items():
        for statement in document["Statement"]:
            if "s3:ListBucket" in as_list(statement["Action"]):
                assert statement["Resource"] == {"Fn::GetAtt": ["LakeBucket", "Arn"]}, name
                condition = statement.get("Condition", {})
                held = list(condition) == ["StringLike"] and list(condition["StringLike"]) == ["s3:prefix"]
                assert held or condition == {"Null": {"s3:prefix": "true"}}, (name, statement)


@pytest.mark.parametrize(
    "principal, lists",
    [
        ("BronzeIngestPolicy", [BRONZE_PREFIX]),
        ("SilverJobRole/boston311-silver-lake", ["code/glue", BRONZE_PREFIX, SILVER_PREFIX]),
        ("GoldJobRole/boston311-gold-lake", ["code/emr", SILVER_PREFIX, GOLD_PREFIX, "logs/emr-serverless"]),
    ],
)
def test_each_principal_lists_only_the_prefixes_it_reads_or_writes(principal, lists):
    granted = policy_documents(template()["Resources"])[principal]["Statement"]
    every_folder = ["code/glue", "code/emr", "logs/emr-serverless", BRONZE_PREFIX, SILVER_PREFIX, GOLD_PREFIX]

    def key_of(folder: str) -> str:
        return folder if folder.startswith(("code/", "logs/")) else f"{LAKE_PREFIX}/{folder}"

    for folder in every_folder:
        mine = folder in lists
        assert may_list(granted, f"{key_of(folder)}/") == mine, folder
        assert may_list(granted, f"{key_of(folder)}/year=2026/") == mine, folder
        assert may_list(granted, key_of(folder)) == mine, (
            folder
        )  # a probe of the folder itself, without the /
        assert not may_list(granted, f"{key_of(folder)}_old/"), folder
    for above in ["", "lake", "lake/", "code/", "logs/", f"{LAKE_PREFIX}/bronze/"]:
        assert not may_list(granted, above), above
    assert may_list(granted, None)  # HeadBucket


def test_every_service_may_assume_a_role_only_for_this_account():
    """A trust policy naming only a service lets that service assume the role for anyone's resource (the confused
    deputy); each is held to this account, EMR Serverless also to its applications in this region. Glue is the one
    left unheld on purpose: AWS documents no such key for a Glue job role, and a key Glue does not send would stop
    every Silver run."""
    resources = template()["Resources"]
    trusted = {}
    for name, resource in resources.items():
        if resource["Type"] == "AWS::IAM::Role":
            for statement in resource["Properties"]["AssumeRolePolicyDocument"]["Statement"]:
                trusted[statement["Principal"]["Service"]] = statement
                assert (statement["Effect"], statement["Action"]) == ("Allow", "sts:AssumeRole"), name
                held_to = statement.get("Condition", {}).get("StringEquals")
                if statement["Principal"]["Service"] == "glue.amazonaws.com":
                    assert "Condition" not in statement, name
                else:
                    assert held_to == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}, name

    assert set(trusted) == {
        "glue.amazonaws.com",
        "emr-serverless.amazonaws.com",
        "states.amazonaws.com",
        "scheduler.amazonaws.com",
    }
    assert trusted["emr-serverless.amazonaws.com"]["Condition"]["ArnLike"] == {
        "aws:SourceArn": {
            "Fn::Sub": "arn:${AWS::Partition}:emr-serverless:${AWS::Region}:${AWS::AccountId}:/applications/*"
        }
    }


def test_the_pipeline_runs_silver_then_gold_and_ends():
    definition, _ = pipeline()
    states = definition["States"]

    assert definition["StartAt"] == "Silver" and states["Silver"]["Next"] == "Gold" and states["Gold"]["End"]
    assert {name: state["Resource"] for name, state in states.items()} == {
        "Silver": "arn:aws:states:::glue:startJobRun.sync",
        "Gold": "arn:aws:states:::emr-serverless:startJobRun.sync",
    }
    # No retry: a second execution while one runs Silver fails there (the Glue job takes one run at a time)
    # instead of waiting for it.
    assert "Retry" not in states["Silver"]
    resources = template()["Resources"]
    assert resources["SilverJob"]["Properties"]["ExecutionProperty"] == {"MaxConcurrentRuns": 1}
    # and Gold job runs on the application wait for each other
    gold = resources["GoldApplication"]["Properties"]
    assert gold["SchedulerConfiguration"]["MaxConcurrentRuns"] == 1
    # Silver is bounded by the Glue job's own timeout; Gold by the task's, and EMR Serverless cancels the job run
    # itself at the same limit (also one emr/submit.py started, the default being 12 hours)
    assert resources["SilverJob"]["Properties"]["Timeout"] == 60
    assert states["Gold"]["TimeoutSeconds"] == states["Gold"]["Parameters"]["ExecutionTimeoutMinutes"] * 60


def test_the_pipeline_runs_the_stacks_silver_job_and_the_gold_job_run_of_emr_serverless_job_run_json():
    """Gold's task is emr/emr_serverless_job_run.json (what emr/submit.py sends) with the stack's values in its
    placeholders; Silver's task is the stack's Glue job, whose own arguments name the same Silver path."""
    definition, substitutions = pipeline()
    job_run = json.loads((REPO / "emr" / "emr_serverless_job_run.json").read_text())
    placeholders = {
        "${application_id}": "${GoldApplicationId}",
        "${execution_role_arn}": "${GoldExecutionRoleArn}",
        "${script}": "${GoldScript}",
        "${silver_path}": "${SilverPath}",
        "${gold_path}": "${GoldPath}",
        "${log_uri}": "${GoldLogUri}",
    }
    expected = json.dumps(pascal_case(job_run))
    for placeholder, substitution in placeholders.items():
        expected = expected.replace(placeholder, substitution)

    assert definition["States"]["Gold"]["Parameters"] == json.loads(expected)
    assert definition["States"]["Silver"]["Parameters"] == {"JobName": "${SilverJobName}"}
    body = template()
    silver_job = body["Resources"]["SilverJob"]["Properties"]
    assert substitutions["SilverJobName"] == {"Ref": "SilverJob"}
    assert substitutions["SilverPath"] == silver_job["DefaultArguments"]["--silver_path"]
    assert substitutions["GoldApplicationId"] == {"Fn::GetAtt": ["GoldApplication", "ApplicationId"]}
    assert substitutions["GoldExecutionRoleArn"] == {"Fn::GetAtt": ["GoldJobRole", "Arn"]}
    assert substitutions["GoldLogUri"] == body["Outputs"]["GoldLogUri"]["Value"]
    assert substitutions["GoldPath"] == {"Fn::Sub": "s3://${LakeBucket}/${LakePrefix}/gold/boston311"}
    assert substitutions["GoldScript"] == {"Fn::Sub": "s3://${LakeBucket}/code/emr/gold_job.py"}
    # every ${…} in the definition has a substitution
    assert set(re.findall(r"\$\{(\w+)\}", json.dumps(definition))) == set(substitutions)


def test_the_pipeline_role_may_do_what_its_integrations_need_on_its_own_jobs_only():
    definition, _ = pipeline()
    granted = statements("PipelineRole")
    actions = {action for statement in granted for action in as_list(statement["Action"])}
    needed = set().union(*(INTEGRATION_ACTIONS[state["Resource"]] for state in definition["States"].values()))

    assert actions == needed
    assert all(statement["Resource"] != "*" for statement in granted)
    by_sid = {statement["Sid"]: statement for statement in granted}
    assert by_sid["RunSilver"]["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:job/${SilverJob}"
    }
    assert by_sid["RunGold"]["Resource"] == {"Fn::GetAtt": ["GoldApplication", "Arn"]}
    # the only role it may hand over is Gold's, and only to EMR Serverless
    assert by_sid["PassTheGoldRole"]["Resource"] == {"Fn::GetAtt": ["GoldJobRole", "Arn"]}
    assert by_sid["PassTheGoldRole"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "emr-serverless.amazonaws.com"}
    }


def test_the_schedule_starts_the_pipeline_and_is_off_until_turned_on():
    body = template()
    schedule = body["Resources"]["PipelineScheduleRule"]["Properties"]

    assert schedule["Target"]["Arn"] == {"Ref": "PipelineStateMachine"}
    assert schedule["Target"]["RoleArn"] == {"Fn::GetAtt": ["PipelineScheduleRole", "Arn"]}
    assert statements("PipelineScheduleRole") == [
        {
            "Sid": "StartThePipeline",
            "Effect": "Allow",
            "Action": "states:StartExecution",
            "Resource": {"Ref": "PipelineStateMachine"},
        }
    ]
    assert schedule["ScheduleExpressionTimezone"] == "America/New_York"
    assert body["Parameters"]["PipelineScheduleState"]["Default"] == "DISABLED"


def test_an_execution_that_fails_times_out_or_is_stopped_is_alerted_and_nothing_else():
    """The rule's pattern, matched the EventBridge way (moto's matcher), against the events Step Functions sends."""
    body = template()
    resources = body["Resources"]
    rule = resources["PipelineFailedRule"]["Properties"]
    machine = "arn:aws:states:us-east-1:123456789012:stateMachine:boston311-pipeline"
    pattern = json.dumps(rule["EventPattern"]).replace(
        json.dumps({"Ref": "PipelineStateMachine"}), json.dumps(machine)
    )

    def alerted(status: str, state_machine: str = machine) -> bool:
        event = {
            "source": "aws.states",
            "detail-type": "Step Functions Execution Status Change",
            "detail": {
                "status": status,
                "stateMachineArn": state_machine,
                "executionArn": f"{state_machine}:run",
            },
        }
        return EventPattern.load(pattern).matches_event(event)

    assert [alerted(status) for status in ("FAILED", "TIMED_OUT", "ABORTED")] == [True, True, True]
    assert [alerted(status) for status in ("RUNNING", "SUCCEEDED")] == [False, False]
    assert not alerted("FAILED", machine.replace("boston311-pipeline", "another-pipeline"))
    [target] = rule["Targets"]
    assert target["Arn"] == {"Ref": "PipelineAlerts"}
    assert target["InputTransformer"]["InputPathsMap"] == {
        "status": "$.detail.status",
        "execution": "$.detail.executionArn",
    }
    # only EventBridge, for this rule, may publish to the topic (and CloudWatch for the two alarms, tested below)
    [statement, _, _] = resources["PipelineAlertsPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert (statement["Principal"], statement["Action"]) == (
        {"Service": "events.amazonaws.com"},
        "sns:Publish",
    )
    assert statement["Condition"] == {
        "ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["PipelineFailedRule", "Arn"]}}
    }
    # the email subscription exists only when an address is given
    assert resources["PipelineAlertsEmail"]["Condition"] == "HasAlertEmail"
    assert body["Conditions"]["HasAlertEmail"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlertEmail"}, ""]}]}


def as_api_request(self: Any, parameters: dict[str, Any], *args: Any, **kwargs: Any) -> None:
    """What Step Functions does with a task's Parameters: the members renamed to the API's (ApplicationId ->
    applicationId, recursively); a name the API does not have stays as written, and botocore then refuses it."""
    action = self.resource.api_action
    model = botocore.session.get_session().get_service_model(self._get_boto_service_name())
    self._to_boto_request(parameters, model.operation_model(action[0].upper() + action[1:]).input_shape)


def test_under_moto_the_pipeline_runs_the_silver_job_then_the_gold_job_run(aws_credentials, monkeypatch):
    """The definition executed by moto's Step Functions interpreter against moto's Glue and EMR Serverless: Silver's
    task starts the Glue job and waits for it, then Gold's task starts an EMR Serverless job run, whose parameters
    botocore checks against the EMR Serverless API model on the way. Two moto gaps are bridged here: its Glue .sync
    crashes when the task has no task-token endpoint (it is given one), and it cannot wait for an EMR Serverless job
    run (.sync), so Gold's task is sent as a plain request — after renaming its members to the API's, which moto's
    interpreter has the code for but does not call for this service."""
    monkeypatch.setattr(moto_sfn_glue, "_SUPPORTED_INTEGRATION_PATTERNS", {Sync, WaitForTaskToken})
    monkeypatch.setattr(StateTaskServiceUnsupported, "_normalise_parameters", as_api_request)
    definition, _ = pipeline()
    definition["States"]["Gold"]["Resource"] = "arn:aws:states:::emr-serverless:startJobRun"
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        glue = boto3.client("glue", region_name="us-east-1")
        glue.create_job(
            Name="boston311-silver", Role="arn:aws:iam::123456789012:role/silver", Command={"Name": "glueetl"}
        )
        emr = boto3.client("emr-serverless", region_name="us-east-1")
        application = emr.create_application(name="boston311-gold", releaseLabel="emr-7.5.0", type="SPARK")
        values = {
            "SilverJobName": "boston311-silver",
            "GoldApplicationId": application["applicationId"],
            "GoldExecutionRoleArn": "arn:aws:iam::123456789012:role/gold",
            "GoldScript": f"s3://{BUCKET}/code/emr/gold_job.py",
            "SilverPath": f"s3://{BUCKET}/{LAKE_PREFIX}/{SILVER_PREFIX}",
            "GoldPath": f"s3://{BUCKET}/{LAKE_PREFIX}/{GOLD_PREFIX}",
            "GoldLogUri": f"s3://{BUCKET}/logs/emr-serverless/",
        }
        rendered = re.sub(r"\$\{(\w+)\}", lambda found: values[found[1]], json.dumps(definition))
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        machine = sfn.create_state_machine(
            name="boston311-pipeline", definition=rendered, roleArn="arn:aws:iam::123456789012:role/pipeline"
        )
        execution = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], input="{}")[
            "executionArn"
        ]
        for _ in range(200):
            described = sfn.describe_execution(executionArn=execution)
            if described["status"] != "RUNNING":
                break
            time.sleep(0.05)
        history = sfn.get_execution_history(executionArn=execution)["events"]
        silver_runs = glue.get_job_runs(JobName="boston311-silver")["JobRuns"]
        output = json.loads(described["output"])
        # the bridged plain request answers in the API's spelling (jobRunId)
        gold_run_id = output["gold"]["jobRunId"]
        gold_run = emr.get_job_run(applicationId=application["applicationId"], jobRunId=gold_run_id)["jobRun"]

    assert described["status"] == "SUCCEEDED", described.get("cause")
    entered = [
        event["stateEnteredEventDetails"]["name"] for event in history if event["type"] == "TaskStateEntered"
    ]
    assert entered == ["Silver", "Gold"]
    assert [run["JobRunState"] for run in silver_runs] == ["SUCCEEDED"]
    assert output["silver"] == {"JobRunId": silver_runs[0]["Id"], "JobRunState": "SUCCEEDED"}
    assert gold_run["executionRole"] == values["GoldExecutionRoleArn"]
    assert gold_run["jobDriver"]["sparkSubmit"]["entryPoint"] == values["GoldScript"]
    assert gold_run["jobDriver"]["sparkSubmit"]["entryPointArguments"] == [
        "--silver_path", values["SilverPath"], "--gold_path", values["GoldPath"],
    ]  # fmt: skip
    assert gold_run["configurationOverrides"]["monitoringConfiguration"]["s3MonitoringConfiguration"] == {
        "logUri": values["GoldLogUri"]
    }


@pytest.fixture
def stack(aws_credentials: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The stack created under moto (without the resources moto does not model); its outputs by key."""
    # moto checks HeadBucket against an "s3:HeadBucket" action, which IAM does not have: AWS checks s3:ListBucket.
    monkeypatch.setitem(S3_ACTIONS["BUCKET"]["HEAD"], "DEFAULT", "ListBucket")
    body = template()
    left_out = {name for name, resource in body["Resources"].items() if resource["Type"] in NOT_IN_MOTO}
    while referring := {
        name
        for name, resource in body["Resources"].items()
        if name not in left_out and left_out & names_in(resource)
    }:
        left_out |= referring
    body["Resources"] = {name: r for name, r in body["Resources"].items() if name not in left_out}
    body["Outputs"] = {
        name: output for name, output in body["Outputs"].items() if not left_out & names_in(output["Value"])
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


def test_the_silver_jobs_logs_go_to_the_stacks_log_groups_kept_30_days(stack):
    """Glue 5.0 writes to <--custom-logGroup-prefix>/error and /output; the stack creates both groups, with a
    retention, before the job (otherwise the first run creates them, kept for ever)."""
    resources = template()["Resources"]
    prefix = resources["SilverJob"]["Properties"]["DefaultArguments"]["--custom-logGroup-prefix"]
    groups = boto3.client("logs", region_name="us-east-1").describe_log_groups(logGroupNamePrefix=prefix)

    assert {group["logGroupName"]: group["retentionInDays"] for group in groups["logGroups"]} == {
        f"{prefix}/error": 30,
        f"{prefix}/output": 30,
    }
    # the job's role may write there, and to no other log group
    [logs] = [statement for statement in statements("SilverJobRole") if statement["Sid"] == "WriteItsLogs"]
    assert logs["Resource"] == {
        "Fn::Sub": f"arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:{prefix}/*"
    }
    assert sorted(resources["SilverJob"]["DependsOn"]) == ["SilverJobErrorLogs", "SilverJobOutputLogs"]


def test_the_lake_bucket_stays_with_the_stack_and_drops_abandoned_uploads():
    resources = template()["Resources"]
    bucket = resources["LakeBucket"]
    # the lake is data; a first creation that fails and rolls back takes its empty bucket with it, so that the
    # next deploy can name the bucket again
    assert (bucket["DeletionPolicy"], bucket["UpdateReplacePolicy"]) == ("RetainExceptOnCreate", "Retain")
    rules = {rule["Id"]: rule for rule in bucket["Properties"]["LifecycleConfiguration"]["Rules"]}
    abort = rules["abort-incomplete-multipart-uploads"]
    assert abort["Status"] == "Enabled" and "Prefix" not in abort
    assert 0 < abort["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] <= 30
    # boto3's managed transfer aborts the multipart upload of a Bronze object it could not finish
    [land] = [
        statement
        for statement in resources["BronzeIngestPolicy"]["Properties"]["PolicyDocument"]["Statement"]
        if statement["Sid"] == "LandBronze"
    ]
    assert "s3:AbortMultipartUpload" in land["Action"]


def test_the_lake_bucket_keeps_what_was_replaced_or_deleted_for_30_days():
    """Versioned, so a Bronze file the portal no longer serves can be restored after a mistaken delete or overwrite;
    the versions a run replaces and the delete markers left behind go after 30 days, for every key (no prefix)."""
    bucket = template()["Resources"]["LakeBucket"]["Properties"]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    [replaced] = [
        rule for rule in bucket["LifecycleConfiguration"]["Rules"] if "NoncurrentVersionExpiration" in rule
    ]
    assert replaced == {
        "Id": "expire-replaced-versions",
        "Status": "Enabled",
        "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
        "ExpiredObjectDeleteMarker": True,
    }


def test_old_bronze_ingests_move_to_cheaper_storage_that_still_reads_at_once():
    """Every daily ingest of a re-issued file is kept for replay (~100 MB a day); after 30 and 90 days it moves to
    classes a plain GET still reads (never GLACIER or DEEP_ARCHIVE, which Silver could not read without a restore),
    and nothing under Bronze expires. Manifests and state stay outside the rule's prefix."""
    rules = template()["Resources"]["LakeBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    [bronze] = [rule for rule in rules if "Transitions" in rule]
    assert bronze["Prefix"] == {"Fn::Sub": "${LakePrefix}/bronze/boston311/dataset="}
    assert bronze["Status"] == "Enabled" and "ExpirationInDays" not in bronze
    assert [(t["TransitionInDays"], t["StorageClass"]) for t in bronze["Transitions"]] == [
        (30, "STANDARD_IA"),
        (90, "GLACIER_IR"),
    ]


def test_with_the_schedule_on_no_success_for_stale_after_hours_is_alerted():
    """The failure rule cannot see a schedule that never fired; this alarm can: hourly counts of successful
    executions of this state machine, all of the last StaleAfterHours below 1, missing hours counting as 0 (Step
    Functions sends nothing when nothing runs). Only with the schedule on, or it would ring from the first day."""
    body = template()
    resources = body["Resources"]
    alarm = resources["PipelineStaleAlarm"]
    assert alarm["Condition"] == "ScheduleEnabled"
    assert body["Conditions"]["ScheduleEnabled"] == {
        "Fn::Equals": [{"Ref": "PipelineScheduleState"}, "ENABLED"]
    }
    properties = alarm["Properties"]
    assert (properties["Namespace"], properties["MetricName"], properties["Statistic"]) == (
        "AWS/States",
        "ExecutionsSucceeded",
        "Sum",
    )
    assert properties["Dimensions"] == [{"Name": "StateMachineArn", "Value": {"Ref": "PipelineStateMachine"}}]
    assert (properties["ComparisonOperator"], properties["Threshold"]) == ("LessThanThreshold", 1)
    assert properties["TreatMissingData"] == "breaching"
    hours = {"Ref": "StaleAfterHours"}
    assert (properties["Period"], properties["EvaluationPeriods"], properties["DatapointsToAlarm"]) == (
        3600,
        hours,
        hours,
    )
    stale_after = body["Parameters"]["StaleAfterHours"]
    # a day's schedule and two hours to run it; CloudWatch evaluates at most 7 days of hourly periods
    assert stale_after["Default"] == 26
    assert stale_after["MinValue"] > 1 and stale_after["MaxValue"] * 3600 <= 7 * 24 * 3600
    assert properties["AlarmActions"] == properties["OKActions"] == [{"Ref": "PipelineAlerts"}]
    # CloudWatch may publish to the topic for this alarm only, and only when the alarm exists
    [_, _, stale_only] = resources["PipelineAlertsPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    condition, statement, otherwise = stale_only["Fn::If"]
    assert (condition, otherwise) == ("ScheduleEnabled", {"Ref": "AWS::NoValue"})
    assert (statement["Principal"], statement["Action"], statement["Resource"]) == (
        {"Service": "cloudwatch.amazonaws.com"},
        "sns:Publish",
        {"Ref": "PipelineAlerts"},
    )
    assert statement["Condition"] == {
        "ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["PipelineStaleAlarm", "Arn"]}}
    }


def filter_phrase_matches(pattern: str, line: str) -> bool:
    """A CloudWatch Logs filter pattern of one quoted phrase, as documented: the event holds the phrase exactly."""
    assert pattern.startswith('"') and pattern.endswith('"') and pattern.count('"') == 2, pattern
    return pattern[1:-1] in line


def test_a_silver_run_that_logged_a_warning_is_alerted(tmp_path):
    """A run below --max_reject_share succeeds with a WARNING in its log (a file rejecting over 1 %, objects to read
    again): a metric filter on both of the job's log groups counts such lines and an alarm sends them to the topic.
    The filter's phrase is checked against what the job really prints when run as a script, as on Glue."""
    resources = template()["Resources"]
    filters = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Logs::MetricFilter"]
    assert sorted(f["LogGroupName"]["Ref"] for f in filters) == ["SilverJobErrorLogs", "SilverJobOutputLogs"]
    [pattern] = {f["FilterPattern"] for f in filters}
    [metric] = {json.dumps(f["MetricTransformations"], sort_keys=True) for f in filters}
    [transformation] = json.loads(metric)
    assert transformation["MetricValue"] == "1"

    alarm = resources["SilverWarningsAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == (
        transformation["MetricNamespace"],
        transformation["MetricName"],
        "Sum",
    )
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanOrEqualToThreshold", 1)
    assert alarm["TreatMissingData"] == "notBreaching"  # an hour without a run is no warning
    assert alarm["AlarmActions"] == [{"Ref": "PipelineAlerts"}]
    statements = resources["PipelineAlertsPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert {
        "Sid": "SilverWarningsAlarmOnly",
        "Effect": "Allow",
        "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Action": "sns:Publish",
        "Resource": {"Ref": "PipelineAlerts"},
        "Condition": {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["SilverWarningsAlarm", "Arn"]}}},
    } in statements

    # the job as a script, with an argument it ignores (a WARNING) and a Bronze path that is not there (exit 1)
    shown = subprocess.run(
        [
            sys.executable,
            str(REPO / "glue" / "silver_job.py"),
            "--bronze_path",
            str(tmp_path / "missing"),
            "--silver_path",
            str(tmp_path / "silver"),
            "--unknown_argument",
            "x",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    lines = (shown.stdout + shown.stderr).splitlines()
    warned = [line for line in lines if filter_phrase_matches(pattern, line)]
    assert len(warned) == 1 and "Ignored argument(s) --unknown_argument" in warned[0], lines
    assert any(" WARN " in line for line in lines)  # Spark's own warnings are there, and not counted
    assert not filter_phrase_matches(pattern, "2026-11-27 03:26:20,381 INFO __main__: Silver: nothing new")


def test_the_workgroup_enforces_its_encrypted_result_location_and_a_scan_cutoff():
    configuration = template()["Resources"]["AthenaWorkGroup"]["Properties"]["WorkGroupConfiguration"]
    assert configuration["EnforceWorkGroupConfiguration"] is True
    assert configuration["ResultConfiguration"]["EncryptionConfiguration"] == {"EncryptionOption": "SSE_S3"}
    assert 0 < configuration["BytesScannedCutoffPerQuery"] <= 100 * 1024**3


def test_the_bronze_policy_is_enough_to_run_the_ingest_and_no_more(stack, portal_url, monkeypatch, capsys):
    s3 = boto3.client("s3", region_name="us-east-1")
    user_keys = user_with_policy(stack["BronzeIngestPolicyArn"])
    for name, value in user_keys.items():
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
    bronze_user = boto3.client(
        "s3",
        region_name="us-east-1",
        aws_access_key_id=user_keys["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=user_keys["AWS_SECRET_ACCESS_KEY"],
    )
    for stage in (SILVER_PREFIX, GOLD_PREFIX):  # not even in this lake: Bronze never writes another stage
        assert not allowed(bronze_user, "write", f"{LAKE_PREFIX}/{stage}/part-0.parquet"), stage
    assert f"{LAKE_PREFIX}/{RUN_LOCK}" not in keys  # the run removed its lock: the one thing it may delete
    assert not allowed(bronze_user, "delete", keys[0])


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

    for where in [*reads, *writes]:  # moto leaves out the s3:prefix conditions: the template tests check them
        assert allowed(job, "list", in_lake(where).rsplit("/", 1)[0] + "/")
    for key in every_key:
        may_write = any(key == in_lake(where) for where in writes)
        assert allowed(job, "read", key) == (may_write or any(key == in_lake(where) for where in reads)), key
        assert allowed(job, "write", key) == may_write, key
        assert allowed(job, "delete", key) == may_write, key
    assert allowed(job, "write", "logs/emr-serverless/applications/x/jobs/y/stdout.gz") == writes_logs
