"""quicksight/deploy.py: every request it sends, on the create path and the update path, checked against
botocore's Athena and QuickSight models (Stubber validates each call; ``model_errors`` adds enums, maxima,
patterns and unions); failures are one sentence naming the step and asset; moto where it supports the calls."""

from __future__ import annotations

import copy
import hashlib
import re
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws

import athena_sql
import definitions
import deploy

REGION = "us-east-1"
ACCOUNT = "123456789012"
PRINCIPAL = f"arn:aws:quicksight:{REGION}:{ACCOUNT}:user/default/analyst"
TARGET = definitions.Target(ACCOUNT, REGION, PRINCIPAL, "analytics", "boston311")
CONFIG = deploy.DeployConfig(
    TARGET, "s3://lake-bucket/lake/silver/boston311", "s3://lake-bucket/lake/gold/boston311"
)
ARGV = [
    "--account-id", ACCOUNT,
    "--region", REGION,
    "--principal-arn", PRINCIPAL,
    "--athena-workgroup", "analytics",
    "--database", "boston311",
    "--lake", "s3://lake-bucket/lake",
]  # fmt: skip
NO_WAIT = deploy.Waits(sleep=lambda seconds: None)
IDS = {"AwsAccountId": ACCOUNT}


class StubbedAws:
    """Athena, Glue and QuickSight clients behind Stubbers, recording every request the deploy builds."""

    def __init__(self) -> None:
        session = boto3.Session(region_name=REGION)
        self.clients = deploy.make_clients(REGION, session=session)
        self.athena = Stubber(self.clients.athena)
        self.glue = Stubber(self.clients.glue)
        self.quicksight = Stubber(self.clients.quicksight)
        self.stubbers = (self.athena, self.glue, self.quicksight)
        self.requests: list[tuple[str, str, dict[str, Any]]] = []
        for client in (self.clients.athena, self.clients.glue, self.clients.quicksight):
            client.meta.events.register("before-parameter-build", self._record)

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.requests.append((model.service_model.service_name, model.name, copy.deepcopy(params)))

    def client(self, service: str, region_name: str | None = None, config: Any = None) -> Any:
        """Stand in for boto3.Session.client, so main() gets these stubbed clients."""
        return getattr(self.clients, service)

    def __enter__(self) -> StubbedAws:
        for stubber in self.stubbers:
            stubber.activate()
        return self

    def __exit__(self, *exc: object) -> None:
        for stubber in self.stubbers:
            stubber.deactivate()

    def assert_done_and_valid(self) -> None:
        """Every queued answer was used, and every request passes the strict model check."""
        for stubber in self.stubbers:
            stubber.assert_no_pending_responses()
        for service, operation, params in self.requests:
            assert definitions.model_errors(service, operation, params) == [], operation

    def operations(self) -> list[str]:
        """The operations sent, in order."""
        return [operation for _, operation, _ in self.requests]

    # ---- Athena -------------------------------------------------------------------------------------

    def expect_statements(
        self, fail_at: str | None = None, reason: str = "", deployed: dict[str, str] | None = None
    ) -> None:
        """Glue lists the tables already deployed with their fingerprints (``deployed``; None: the database does
        not exist yet); each DDL/view statement is started and polled (once RUNNING, then SUCCEEDED, or FAILED at
        fail_at), except the drop and create of a table deployed with the current fingerprint."""
        listing = {"DatabaseName": TARGET.database}
        if deployed is None:
            self.glue.add_client_error("get_tables", "EntityNotFoundException", expected_params=listing)
            deployed = {}
        else:
            tables = [
                {
                    "Name": name,
                    "DatabaseName": TARGET.database,
                    "Parameters": {deploy.DDL_FINGERPRINT: fingerprint},
                }
                for name, fingerprint in deployed.items()
            ]
            self.glue.add_response("get_tables", {"TableList": tables}, listing)
        up_to_date = {
            table for table, fingerprint in fingerprints().items() if deployed.get(table) == fingerprint
        }
        for index, (what, asset, sql) in enumerate(statements()):
            if what in ("drop table", "create table") and asset in up_to_date:
                continue
            request = {"QueryString": sql, "WorkGroup": TARGET.athena_workgroup}
            if what != "create database":
                request["QueryExecutionContext"] = {"Database": TARGET.database}
            execution = f"q{index}"
            self.athena.add_response("start_query_execution", {"QueryExecutionId": execution}, request)
            polled = {"QueryExecutionId": execution}
            self.athena.add_response("get_query_execution", _execution(execution, "RUNNING"), polled)
            if f"{what} {asset}" == fail_at:
                self.athena.add_response(
                    "get_query_execution", _execution(execution, "FAILED", reason), polled
                )
                return
            self.athena.add_response("get_query_execution", _execution(execution, "SUCCEEDED"), polled)

    def expect_named_queries_created(self) -> None:
        """An empty workgroup: every named query is created."""
        self.athena.add_response("list_named_queries", {}, {"WorkGroup": "analytics"})
        for query in deploy.named_queries(TARGET.database):
            self.athena.add_response(
                "create_named_query",
                {"NamedQueryId": f"id-{query['Name']}"},
                {**query, "WorkGroup": "analytics"},
            )

    def expect_named_queries_updated(self, changed: str, field: str = "QueryString") -> None:
        """Every named query exists; only ``changed`` differs (in ``field``), so only it is updated."""
        queries = deploy.named_queries(TARGET.database)
        ids = [f"id-{query['Name']}" for query in queries]
        self.athena.add_response("list_named_queries", {"NamedQueryIds": ids}, {"WorkGroup": "analytics"})
        for query, query_id in zip(queries, ids, strict=True):
            stored = {**query, "NamedQueryId": query_id, "WorkGroup": "analytics"}
            if query["Name"] == changed:
                stored[field] = "SELECT 1" if field == "QueryString" else "an older description"
            self.athena.add_response("get_named_query", {"NamedQuery": stored}, {"NamedQueryId": query_id})
        changed_query = next(query for query in queries if query["Name"] == changed)
        self.athena.add_response(
            "update_named_query",
            {},
            {
                "NamedQueryId": f"id-{changed}",
                "Name": changed,
                "Description": changed_query["Description"],
                "QueryString": changed_query["QueryString"],
            },
        )

    # ---- QuickSight ---------------------------------------------------------------------------------

    def missing(self, operation: str, params: dict[str, Any]) -> None:
        """The Describe* call answers ResourceNotFoundException."""
        self.quicksight.add_client_error(
            operation, "ResourceNotFoundException", "not found", 404, expected_params=params
        )

    def expect_quicksight_created(self, analysis_errors: list[dict[str, Any]] | None = None) -> None:
        """Nothing exists yet: create the data source, datasets, schedules, analysis and dashboard."""
        qs = self.quicksight
        source = {**IDS, "DataSourceId": definitions.DATA_SOURCE_ID}
        self.missing("describe_data_source", source)
        qs.add_response("create_data_source", {"Status": 202}, definitions.data_source_request(TARGET))
        qs.add_response("describe_data_source", _data_source("CREATION_IN_PROGRESS"), source)
        qs.add_response("describe_data_source", _data_source("CREATION_SUCCESSFUL"), source)
        for spec in definitions.DATASETS:
            dataset = {**IDS, "DataSetId": spec.dataset_id}
            self.missing("describe_data_set", dataset)
            qs.add_response("create_data_set", {"Status": 201}, definitions.dataset_request(TARGET, spec))
            self.missing(
                "describe_refresh_schedule", {**dataset, "ScheduleId": definitions.REFRESH_SCHEDULE_ID}
            )
            qs.add_response(
                "create_refresh_schedule", {"Status": 200}, definitions.refresh_schedule_request(TARGET, spec)
            )
        analysis = {**IDS, "AnalysisId": definitions.ANALYSIS_ID}
        self.missing("describe_analysis", analysis)
        qs.add_response("create_analysis", {"Status": 202}, definitions.analysis_request(TARGET))
        if analysis_errors:
            qs.add_response("describe_analysis", _analysis("CREATION_FAILED", analysis_errors), analysis)
            return
        qs.add_response("describe_analysis", _analysis("CREATION_SUCCESSFUL"), analysis)
        dashboard = {**IDS, "DashboardId": definitions.DASHBOARD_ID}
        self.missing("describe_dashboard", dashboard)
        qs.add_response("create_dashboard", _dashboard_version_arn(1), definitions.dashboard_request(TARGET))
        qs.add_response(
            "describe_dashboard", _dashboard(1, "CREATION_SUCCESSFUL"), {**dashboard, "VersionNumber": 1}
        )

    def expect_quicksight_updated(self) -> None:
        """Everything exists: update each asset, re-grant the principal, publish the new dashboard version."""
        qs = self.quicksight
        grant = [{"Principal": PRINCIPAL, "Actions": ANY}]
        source = {**IDS, "DataSourceId": definitions.DATA_SOURCE_ID}
        qs.add_response("describe_data_source", _data_source("CREATION_SUCCESSFUL"), source)
        body = definitions.data_source_request(TARGET)
        update = {key: body[key] for key in ("AwsAccountId", "DataSourceId", "Name", "DataSourceParameters")}
        qs.add_response("update_data_source", {"Status": 202}, update)
        qs.add_response(
            "update_data_source_permissions", {"Status": 200}, {**source, "GrantPermissions": grant}
        )
        qs.add_response("describe_data_source", _data_source("UPDATE_SUCCESSFUL"), source)
        for spec in definitions.DATASETS:
            dataset = {**IDS, "DataSetId": spec.dataset_id}
            qs.add_response(
                "describe_data_set", {"DataSet": {"DataSetId": spec.dataset_id}, "Status": 200}, dataset
            )
            update = {
                k: v for k, v in definitions.dataset_request(TARGET, spec).items() if k != "Permissions"
            }
            qs.add_response("update_data_set", {"Status": 201}, update)
            qs.add_response(
                "update_data_set_permissions", {"Status": 200}, {**dataset, "GrantPermissions": grant}
            )
            schedule = definitions.refresh_schedule_request(TARGET, spec)
            qs.add_response(
                "describe_refresh_schedule",
                {"RefreshSchedule": schedule["Schedule"], "Status": 200},
                {**dataset, "ScheduleId": definitions.REFRESH_SCHEDULE_ID},
            )
            qs.add_response("update_refresh_schedule", {"Status": 200}, schedule)
        analysis = {**IDS, "AnalysisId": definitions.ANALYSIS_ID}
        qs.add_response("describe_analysis", _analysis("CREATION_SUCCESSFUL"), analysis)
        update = {k: v for k, v in definitions.analysis_request(TARGET).items() if k != "Permissions"}
        qs.add_response("update_analysis", {"Status": 202}, update)
        qs.add_response(
            "update_analysis_permissions", {"Status": 200}, {**analysis, "GrantPermissions": grant}
        )
        qs.add_response("describe_analysis", _analysis("UPDATE_SUCCESSFUL"), analysis)
        dashboard = {**IDS, "DashboardId": definitions.DASHBOARD_ID}
        qs.add_response("describe_dashboard", _dashboard(6, "CREATION_SUCCESSFUL"), dashboard)
        update = {k: v for k, v in definitions.dashboard_request(TARGET).items() if k != "Permissions"}
        qs.add_response("update_dashboard", _dashboard_version_arn(7), update)
        qs.add_response(
            "update_dashboard_permissions", {"Status": 200}, {**dashboard, "GrantPermissions": grant}
        )
        qs.add_response(
            "describe_dashboard", _dashboard(7, "CREATION_IN_PROGRESS"), {**dashboard, "VersionNumber": 7}
        )
        qs.add_response(
            "describe_dashboard", _dashboard(7, "CREATION_SUCCESSFUL"), {**dashboard, "VersionNumber": 7}
        )
        qs.add_response(
            "update_dashboard_published_version", {"Status": 200}, {**dashboard, "VersionNumber": 7}
        )


def statements() -> list[tuple[str, str, str]]:
    """The Athena statements of CONFIG."""
    return deploy.athena_statements(TARGET.database, CONFIG.silver_location, CONFIG.gold_location)


def fingerprints(planned: list[tuple[str, str, str]] | None = None) -> dict[str, str]:
    """Each table's DDL fingerprint in the statements (by default CONFIG's)."""
    return {
        asset: deploy.fingerprint_in(sql)
        for what, asset, sql in planned or statements()
        if what == "create table"
    }


def _execution(execution_id: str, state: str, reason: str = "") -> dict[str, Any]:
    status: dict[str, Any] = {"State": state}
    if reason:
        status["StateChangeReason"] = reason
    return {"QueryExecution": {"QueryExecutionId": execution_id, "Status": status}}


def _data_source(status: str) -> dict[str, Any]:
    return {"DataSource": {"DataSourceId": definitions.DATA_SOURCE_ID, "Status": status}, "Status": 200}


def _analysis(status: str, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    analysis: dict[str, Any] = {"AnalysisId": definitions.ANALYSIS_ID, "Status": status}
    if errors:
        analysis["Errors"] = errors
    return {"Analysis": analysis, "Status": 200}


def _dashboard(version: int, status: str) -> dict[str, Any]:
    return {
        "Dashboard": {
            "DashboardId": definitions.DASHBOARD_ID,
            "Version": {"VersionNumber": version, "Status": status},
        },
        "Status": 200,
    }


def _dashboard_version_arn(version: int) -> dict[str, Any]:
    arn = f"arn:aws:quicksight:{REGION}:{ACCOUNT}:dashboard/{definitions.DASHBOARD_ID}"
    return {"Arn": arn, "VersionArn": f"{arn}/version/{version}", "Status": 202}


@pytest.fixture
def aws(aws_credentials: None) -> StubbedAws:
    """Stubbed clients over fake credentials: nothing can reach AWS."""
    with StubbedAws() as stubbed:
        yield stubbed


def test_first_deploy_creates_everything_with_valid_requests(
    aws: StubbedAws, capsys: pytest.CaptureFixture[str]
) -> None:
    aws.expect_statements()
    aws.expect_named_queries_created()
    aws.expect_quicksight_created()
    assert deploy.main(ARGV, session=aws, waits=NO_WAIT) == 0
    aws.assert_done_and_valid()
    assert (
        capsys.readouterr().out.strip()
        == f"https://{REGION}.quicksight.aws.amazon.com/sn/dashboards/boston311-dashboard"
    )
    operations = aws.operations()
    tables, views = len(athena_sql.table_names()), len(athena_sql.view_names())
    assert operations.count("StartQueryExecution") == 1 + 2 * tables + views  # each table dropped, created
    assert operations.count("CreateNamedQuery") == len(athena_sql.named_query_names())
    assert (
        operations.count("CreateDataSet")
        == operations.count("CreateRefreshSchedule")
        == len(definitions.DATASETS)
    )
    assert (
        operations.index("CreateDataSource")
        < operations.index("CreateDataSet")
        < operations.index("CreateAnalysis")
    )
    assert operations.index("CreateAnalysis") < operations.index("CreateDashboard")
    assert "UpdateDashboardPublishedVersion" not in operations  # a new dashboard publishes its first version


def test_second_deploy_updates_everything_and_publishes_the_new_version(aws: StubbedAws) -> None:
    aws.expect_statements(deployed=fingerprints())
    aws.expect_named_queries_updated(changed="channel_mix_over_time")
    aws.expect_quicksight_updated()
    assert deploy.deploy(CONFIG, aws.clients, NO_WAIT) == deploy.dashboard_url(REGION)
    aws.assert_done_and_valid()
    operations = aws.operations()
    # every table is up to date: the database and the views only
    assert operations.count("StartQueryExecution") == 1 + len(athena_sql.view_names())
    assert "CreateNamedQuery" not in operations and operations.count("UpdateNamedQuery") == 1
    assert not [operation for operation in operations if operation.startswith("Create")]
    assert operations[-1] == "UpdateDashboardPublishedVersion"


def test_skip_athena_sends_no_athena_request(aws: StubbedAws) -> None:
    aws.expect_quicksight_created()
    assert deploy.main([*ARGV, "--skip-athena"], session=aws, waits=NO_WAIT) == 0
    aws.assert_done_and_valid()
    assert {service for service, _, _ in aws.requests} == {"quicksight"}


def test_a_failed_athena_statement_is_one_sentence_naming_it(
    aws: StubbedAws, capsys: pytest.CaptureFixture[str]
) -> None:
    aws.expect_statements(
        fail_at="create table gold_monthly_requests", reason="FAILED: SemanticException table exists."
    )
    assert deploy.main(ARGV, session=aws, waits=NO_WAIT) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    failed_at = [f"{what} {asset}" for what, asset, _ in deploy.athena_statements("b", "s", "g")].index(
        "create table gold_monthly_requests"
    )
    assert err.startswith(f"Athena: create table gold_monthly_requests failed: query q{failed_at} failed:")
    assert "SemanticException table exists" in err


def test_an_aws_error_names_the_quicksight_step_and_asset(
    aws: StubbedAws, capsys: pytest.CaptureFixture[str]
) -> None:
    source = {**IDS, "DataSourceId": definitions.DATA_SOURCE_ID}
    aws.missing("describe_data_source", source)
    aws.quicksight.add_client_error(
        "create_data_source",
        "AccessDeniedException",
        "User is not authorized to perform CreateDataSource.",
        403,
    )
    assert deploy.main([*ARGV, "--skip-athena"], session=aws, waits=NO_WAIT) == 1
    err = capsys.readouterr().err
    assert err == (
        "QuickSight: data source boston311-athena failed: AccessDeniedException: "
        "User is not authorized to perform CreateDataSource.\n"
    )


def test_quicksight_definition_errors_are_reported_with_the_offending_path(
    aws: StubbedAws, capsys: pytest.CaptureFixture[str]
) -> None:
    errors = [
        {
            "Type": "COLUMN_NOT_FOUND",
            "Message": "Column channel not found",
            "ViolatedEntities": [{"Path": "sheet/management/visual/donut_source"}],
        }
    ]
    aws.expect_quicksight_created(analysis_errors=errors)
    assert deploy.main([*ARGV, "--skip-athena"], session=aws, waits=NO_WAIT) == 1
    err = capsys.readouterr().err
    assert err.startswith("the analysis ended CREATION_FAILED: COLUMN_NOT_FOUND Column channel not found")
    assert "sheet/management/visual/donut_source" in err


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"--account-id": "12345"}, "--account-id must be 12 digits"),
        ({"--account-id": "1234567890123"}, "--account-id must be 12 digits"),
        ({"--region": "Boston"}, "--region must be an AWS region"),
        (
            {"--principal-arn": "arn:aws:iam::123456789012:user/alice"},
            "--principal-arn must be a QuickSight user or group ARN",
        ),
        (
            {"--principal-arn": "arn:aws:quicksight:us-east-1:123456789012:namespace/default"},
            "--principal-arn must be a QuickSight user or group ARN",
        ),
        (
            {"--principal-arn": "arn:aws:quicksight:us-east-1:999999999999:user/default/alice"},
            "--principal-arn belongs to account 999999999999, not to --account-id 123456789012.",
        ),
        ({"--database": "Boston-311"}, "--database must be lower-case"),
        ({"--athena-workgroup": " "}, "--athena-workgroup must not be empty"),
        (
            {"--lake": "s3://Bad_Bucket!!/x y"},
            "--silver-location must be an s3://bucket/prefix URI with a valid",
        ),
        ({"--lake": "/tmp/lake"}, "--lake must be an s3:// URI"),
        ({"--lake": "s3://bucket/it's"}, "--silver-location must be an s3://bucket/prefix URI with a valid"),
        (
            {"--lake": "s3://Lake_Bucket/lake"},
            "--silver-location must be an s3://bucket/prefix URI with a valid",
        ),
        ({"--lake": None}, "The Athena step needs --silver-location and --gold-location"),
        ({"--region": None}, "The following arguments are required: --region"),
    ],
)
def test_bad_arguments_exit_2_with_one_sentence(
    change: dict[str, str | None], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = list(ARGV)
    for flag, value in change.items():
        position = argv.index(flag)
        if value is None:
            del argv[position : position + 2]
        else:
            argv[position + 1] = value
    assert deploy.main(argv, session=NoAws()) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1 and "Traceback" not in err


def test_locations_must_be_s3_and_not_mixed_with_lake(capsys: pytest.CaptureFixture[str]) -> None:
    base = ARGV[:-2]
    assert deploy.main([*base, "--silver-location", "/local/silver", "--gold-location", "s3://b/gold"]) == 2
    assert capsys.readouterr().err.startswith("--silver-location must be an s3://bucket/prefix URI")
    assert deploy.main([*ARGV, "--gold-location", "s3://b/gold"]) == 2
    assert capsys.readouterr().err.startswith("Give either --lake or --silver-location/--gold-location")


def test_an_unknown_profile_is_bad_input(aws_credentials: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert deploy.main([*ARGV, "--profile", "no-such-profile"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Cannot open an AWS session:") and "no-such-profile" in err


class NoAws:
    """A session that fails the test if the code under test tries to talk to AWS."""

    def client(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("no AWS client may be created here")


def test_dry_run_checks_every_request_and_calls_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert deploy.main([*ARGV, "--dry-run"], session=NoAws()) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1].endswith("https://us-east-1.quicksight.aws.amazon.com/sn/dashboards/boston311-dashboard")
    checked = [line for line in out[:-1] if line.startswith("ok")]
    assert len(checked) == len(out) - 1 == len(deploy.planned_requests(CONFIG))
    assert "ok   quicksight CreateDashboard dashboard" in out
    # as deploy_athena sends them: CREATE DATABASE runs before the database exists, so without its context
    contexts = {
        asset: "QueryExecutionContext" in body
        for _, operation, asset, body in deploy.planned_requests(CONFIG)
        if operation == "StartQueryExecution"
    }
    assert contexts.pop("create database boston311") is False and all(contexts.values())


def test_dry_run_fails_when_a_request_breaks_the_api_model(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def model_errors(service: str, operation: str, body: dict[str, Any]) -> list[str]:
        return ["Name: too long"] if operation == "CreateAnalysis" else []

    monkeypatch.setattr(definitions, "model_errors", model_errors)

    assert deploy.main([*ARGV, "--dry-run"], session=NoAws()) == 1
    out = capsys.readouterr().out
    assert "FAIL quicksight CreateAnalysis analysis" in out and "Name: too long" in out


def test_a_table_is_replaced_when_missing_or_changed_and_left_alone_when_up_to_date(aws: StubbedAws) -> None:
    current = fingerprints()
    stale, missing, *unchanged = athena_sql.table_names()
    deployed = {stale: "0" * 64, **{table: current[table] for table in unchanged}}
    aws.expect_statements(deployed=deployed)
    aws.expect_named_queries_created()
    deploy.deploy_athena(aws.clients.athena, aws.clients.glue, CONFIG, sleep=lambda seconds: None)
    aws.assert_done_and_valid()
    sent = [
        params["QueryString"]
        for service, operation, params in aws.requests
        if operation == "StartQueryExecution"
    ]
    assert [sql for sql in sent if sql.startswith("DROP TABLE")] == [
        f"DROP TABLE IF EXISTS boston311.{stale}",
        f"DROP TABLE IF EXISTS boston311.{missing}",
    ]
    created = [sql.split("(")[0] for sql in sent if sql.startswith("CREATE EXTERNAL TABLE")]
    assert created == [
        f"CREATE EXTERNAL TABLE IF NOT EXISTS boston311.{table} " for table in (stale, missing)
    ]


def test_a_redeploy_replaces_each_table_so_a_moved_lake_is_read_from_its_new_place() -> None:
    planned = statements()
    moved_fingerprints = fingerprints(
        deploy.athena_statements("boston311", "s3://other/silver/boston311", "s3://other/gold/boston311")
    )
    for table in athena_sql.table_names():
        drop = planned.index(("drop table", table, f"DROP TABLE IF EXISTS boston311.{table}"))
        what, asset, sql = planned[drop + 1]
        assert (what, asset) == ("create table", table) and "s3://lake-bucket/lake/" in sql
        # another location is another fingerprint, so the deployed table is not taken as up to date
        assert moved_fingerprints[table] != deploy.fingerprint_in(sql)


def test_the_fingerprint_is_the_sha256_of_the_statement_without_it() -> None:
    for what, asset, sql in statements():
        if what == "create table":
            fingerprint = deploy.fingerprint_in(sql)
            bare = athena_sql.load_sql(
                "ddl",
                asset,
                database=TARGET.database,
                silver_location=CONFIG.silver_location,
                gold_location=CONFIG.gold_location,
            )
            assert hashlib.sha256(bare.encode()).hexdigest() == fingerprint
            properties = sql.split("TBLPROPERTIES (", 1)[1].lstrip()
            assert properties.startswith(f"'{deploy.DDL_FINGERPRINT}' = '{fingerprint}',")
            assert re.sub(rf"'{deploy.DDL_FINGERPRINT}' = '{fingerprint}',\s*", "", sql) == bare
    with pytest.raises(athena_sql.SqlError, match="TBLPROPERTIES"):
        deploy.with_fingerprint("CREATE EXTERNAL TABLE t (a int) LOCATION 's3://b/t/'")
    with pytest.raises(athena_sql.SqlError, match="one TBLPROPERTIES clause"):
        deploy.with_fingerprint(
            "CREATE EXTERNAL TABLE t (a int) TBLPROPERTIES ('a' = '1') TBLPROPERTIES ('b' = '2')"
        )


def test_a_catalog_that_cannot_be_read_is_one_sentence(
    aws: StubbedAws, capsys: pytest.CaptureFixture[str]
) -> None:
    aws.glue.add_client_error(
        "get_tables", "AccessDeniedException", "User is not authorized to perform glue:GetTables."
    )
    assert deploy.main(ARGV, session=aws, waits=NO_WAIT) == 1
    assert capsys.readouterr().err == (
        "Glue: read table properties in boston311 failed: AccessDeniedException: "
        "User is not authorized to perform glue:GetTables.\n"
    )
    assert "StartQueryExecution" not in aws.operations()


def test_the_athena_sql_carries_the_deploy_locations() -> None:
    by_asset = {asset: sql for _, asset, sql in statements()}
    assert by_asset["boston311"].startswith("CREATE DATABASE IF NOT EXISTS boston311")
    assert (
        "LOCATION 's3://lake-bucket/lake/gold/boston311/monthly_requests/'"
        in by_asset["gold_monthly_requests"]
    )
    assert "s3://lake-bucket/lake/silver/boston311/service_requests/" in by_asset["silver_service_requests"]
    placeholders = ("${database}", "${silver_location}", "${gold_location}")
    assert not [
        sql
        for sql in by_asset.values()
        if sql.lstrip().startswith("--") or any(p in sql for p in placeholders)
    ]
    # Athena's own template keys stay for partition projection.
    assert "monthly_requests/year=${year}/" in by_asset["gold_monthly_requests"]


def test_moto_athena_deploy_is_idempotent(aws_credentials: None) -> None:
    with mock_aws():
        athena = boto3.client("athena", region_name=REGION)
        athena.create_work_group(
            Name="analytics", Configuration={"ResultConfiguration": {"OutputLocation": "s3://r/"}}
        )
        glue = boto3.client("glue", region_name=REGION)
        deploy.deploy_athena(athena, glue, CONFIG, sleep=lambda seconds: None)
        first = athena.list_named_queries(WorkGroup="analytics")["NamedQueryIds"]
        first_executions = len(athena.list_query_executions(WorkGroup="analytics")["QueryExecutionIds"])
        # moto records Athena statements without running them: make the catalog what the DDL would have made
        glue.create_database(DatabaseInput={"Name": "boston311"})
        for table, fingerprint in fingerprints().items():
            glue.create_table(
                DatabaseName="boston311",
                TableInput={"Name": table, "Parameters": {deploy.DDL_FINGERPRINT: fingerprint}},
            )
        deploy.deploy_athena(athena, glue, CONFIG, sleep=lambda seconds: None)
        second = athena.list_named_queries(WorkGroup="analytics")["NamedQueryIds"]
        executions = len(athena.list_query_executions(WorkGroup="analytics")["QueryExecutionIds"])
        stored = {athena.get_named_query(NamedQueryId=i)["NamedQuery"]["Name"] for i in second}
    assert sorted(first) == sorted(second) and len(second) == len(athena_sql.named_query_names())
    assert stored == set(athena_sql.named_query_names())
    views = len(athena_sql.view_names())
    # first deploy: the database, each table dropped and created, each view; second: the database and the views
    assert first_executions == 1 + 2 * len(athena_sql.table_names()) + views
    assert executions - first_executions == 1 + views


def test_moto_creates_the_athena_data_source(aws_credentials: None) -> None:
    with mock_aws():
        quicksight = boto3.client("quicksight", region_name=REGION)
        deploy.ensure_data_source(quicksight, TARGET, NO_WAIT)
        source = quicksight.describe_data_source(
            AwsAccountId=ACCOUNT, DataSourceId=definitions.DATA_SOURCE_ID
        )
    assert source["DataSource"]["Type"] == "ATHENA"
    assert source["DataSource"]["DataSourceParameters"] == {"AthenaParameters": {"WorkGroup": "analytics"}}


def test_clients_give_up_on_a_silent_endpoint_in_about_a_minute_and_a_half() -> None:
    clients = deploy.make_clients("us-east-1")
    for client in (clients.athena, clients.glue, clients.quicksight):
        config = client.meta.config
        assert (config.connect_timeout, config.read_timeout) == (10, 30)
        assert config.retries == {"mode": "standard", "total_max_attempts": 3}


def test_a_named_query_whose_description_changed_is_updated(aws: StubbedAws) -> None:
    aws.expect_statements(deployed=fingerprints())
    aws.expect_named_queries_updated(changed="channel_mix_over_time", field="Description")
    deploy.deploy_athena(aws.clients.athena, aws.clients.glue, CONFIG, sleep=lambda seconds: None)
    aws.assert_done_and_valid()
    assert aws.operations().count("UpdateNamedQuery") == 1


def test_a_named_query_of_another_database_is_left_alone(aws: StubbedAws) -> None:
    # Same workgroup, same names, another database (another deployment): ours are created beside them.
    aws.expect_statements(deployed=fingerprints())
    queries = deploy.named_queries(TARGET.database)
    ids = [f"other-{query['Name']}" for query in queries]
    aws.athena.add_response("list_named_queries", {"NamedQueryIds": ids}, {"WorkGroup": "analytics"})
    for query, query_id in zip(queries, ids, strict=True):
        theirs = {**query, "Database": "other_db", "NamedQueryId": query_id, "WorkGroup": "analytics"}
        aws.athena.add_response("get_named_query", {"NamedQuery": theirs}, {"NamedQueryId": query_id})
    for query in queries:
        aws.athena.add_response(
            "create_named_query", {"NamedQueryId": f"id-{query['Name']}"}, {**query, "WorkGroup": "analytics"}
        )
    deploy.deploy_athena(aws.clients.athena, aws.clients.glue, CONFIG, sleep=lambda seconds: None)
    aws.assert_done_and_valid()
    assert "UpdateNamedQuery" not in aws.operations()


class RunningForever:
    """An Athena client whose query never finishes (stops the test if the deploy never gives up)."""

    def __init__(self) -> None:
        self.polls = 0

    def start_query_execution(self, **request: Any) -> dict[str, Any]:
        return {"QueryExecutionId": "q1"}

    def get_query_execution(self, QueryExecutionId: str) -> dict[str, Any]:  # noqa: N803 - boto3's name
        self.polls += 1
        assert self.polls < 100, "the deploy never gives up on a running query"
        return _execution(QueryExecutionId, "RUNNING")


def test_a_query_that_never_finishes_is_given_up_after_the_timeout() -> None:
    athena = RunningForever()

    with pytest.raises(deploy.DeployError, match="query q1 still running after 3 s"):
        deploy.run_statement(athena, "SELECT 1", "analytics", "boston311", lambda s: None, 1.0, 3.0)
    assert athena.polls == 4


def test_quicksight_waits_give_up_after_the_timeout_and_at_once_on_deleted() -> None:
    polls: list[str] = []

    def in_progress() -> tuple[str, Any]:
        polls.append("poll")
        assert len(polls) < 100, "the deploy never gives up"
        return "CREATION_IN_PROGRESS", None

    with pytest.raises(deploy.DeployError, match="the analysis still CREATION_IN_PROGRESS after 3 s"):
        deploy.wait_for_status(in_progress, "the analysis", lambda s: None, 1.0, 3.0)
    assert len(polls) == 4

    deleted = [("DELETED", None), ("CREATION_SUCCESSFUL", None)]
    with pytest.raises(deploy.DeployError, match="the data source ended DELETED"):
        deploy.wait_for_status(lambda: deleted.pop(0), "the data source", lambda s: None, 1.0, 3.0)
    failed = [("UPDATE_FAILED", None), ("UPDATE_SUCCESSFUL", None)]
    with pytest.raises(deploy.DeployError, match="the analysis ended UPDATE_FAILED: no details given"):
        deploy.wait_for_status(lambda: failed.pop(0), "the analysis", lambda s: None, 1.0, 3.0)


def test_a_cancelled_query_fails_at_once() -> None:
    class Cancelled(RunningForever):
        def get_query_execution(self, QueryExecutionId: str) -> dict[str, Any]:  # noqa: N803 - boto3's name
            super().get_query_execution(QueryExecutionId)
            return _execution(QueryExecutionId, "CANCELLED")

    athena = Cancelled()

    with pytest.raises(deploy.DeployError, match="^query q1 cancelled: cancelled$"):
        deploy.run_statement(athena, "SELECT 1", "analytics", "boston311", lambda s: None, 1.0, 3.0)
    assert athena.polls == 1


def test_a_describe_that_is_refused_is_reported_not_taken_for_a_missing_asset(
    aws: StubbedAws, capsys: pytest.CaptureFixture[str]
) -> None:
    # Only ResourceNotFoundException means "create it": any other refusal stops the step (no CreateDataSource).
    source = {**IDS, "DataSourceId": definitions.DATA_SOURCE_ID}
    aws.quicksight.add_client_error(
        "describe_data_source", "AccessDeniedException", "Not authorized.", 403, expected_params=source
    )

    assert deploy.main([*ARGV, "--skip-athena"], session=aws, waits=NO_WAIT) == 1

    assert capsys.readouterr().err == (
        "QuickSight: data source boston311-athena failed: AccessDeniedException: Not authorized.\n"
    )
    assert aws.operations() == ["DescribeDataSource"]


def test_an_endpoint_that_cannot_be_reached_is_one_sentence(
    aws_credentials: None, capsys: pytest.CaptureFixture[str]
) -> None:
    from botocore.exceptions import EndpointConnectionError

    def unreachable(**_: Any) -> None:
        raise EndpointConnectionError(endpoint_url="https://quicksight.us-east-1.amazonaws.com/")

    class UnreachableAws:
        """Clients whose every request fails before it is sent, as when the endpoint cannot be reached."""

        def client(self, service: str, region_name: str | None = None, config: Any = None) -> Any:
            client = boto3.Session(region_name=REGION).client(service, region_name=region_name, config=config)
            client.meta.events.register("before-send", unreachable)
            return client

    assert deploy.main([*ARGV, "--skip-athena"], session=UnreachableAws(), waits=NO_WAIT) == 1

    assert capsys.readouterr().err == (
        "QuickSight: data source boston311-athena failed: Could not connect to the endpoint URL: "
        '"https://quicksight.us-east-1.amazonaws.com/".\n'
    )


def test_a_named_query_description_is_cut_to_athenas_limit(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sql = tmp_path / "long.sql"
    sql.write_text("-- " + "word " * 400 + "\n-- more\nSELECT 1\n", encoding="utf-8")
    monkeypatch.setattr(athena_sql, "sql_path", lambda kind, name: sql)

    description = deploy.named_query_description("long")

    assert len(description) == 1024 and description.startswith("word word")


def test_a_lake_with_a_trailing_slash_gives_the_same_locations() -> None:
    argv = [*ARGV[:-1], "s3://lake-bucket/lake/"]

    config = deploy.config_from_args(deploy.parse_args(argv))

    assert (config.silver_location, config.gold_location) == (CONFIG.silver_location, CONFIG.gold_location)


def test_dry_run_with_skip_athena_checks_only_the_quicksight_requests(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert deploy.main([*ARGV, "--dry-run", "--skip-athena"], session=NoAws()) == 0

    checked = [line.split()[1] for line in capsys.readouterr().out.splitlines() if line.startswith("ok")]
    assert checked and set(checked) == {"quicksight"}
    assert len(checked) == len([step for step in deploy.planned_requests(CONFIG) if step[0] == "quicksight"])


@pytest.mark.parametrize(
    ("errors", "line"),
    [
        # DescribeIngestion's ErrorInfo is one object, the Describe* of the assets a list of them
        (
            {"Type": "ACCESS_DENIED", "Message": "no access to the workgroup"},
            "ACCESS_DENIED no access to the workgroup",
        ),
        (
            [
                {"Type": "COLUMN_NOT_FOUND", "Message": "a", "ViolatedEntities": [{"Path": "sheet/visual"}]},
                {"Message": "b"},
            ],
            "COLUMN_NOT_FOUND a (sheet/visual); ERROR b",
        ),
        (None, "no details given"),
    ],
)
def test_quicksights_errors_are_one_line(errors: Any, line: str) -> None:
    assert deploy.describe_errors(errors) == line


def test_an_answer_that_is_not_aws_s_is_one_sentence_not_a_traceback(
    a_proxy_page_for_aws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert deploy.main([*ARGV, "--skip-athena"], waits=NO_WAIT) == 1  # was KeyError: 'DataSource'

    assert capsys.readouterr().err == (
        "QuickSight: data source boston311-athena failed: the answer lacks 'DataSource', so it is not AWS's (a "
        "proxy's or a captive portal's page?): check the network and AWS_ENDPOINT_URL.\n"
    )


def test_ctrl_c_is_one_sentence_and_exit_130(
    aws: StubbedAws, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(*_: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(deploy, "deploy", interrupted)

    assert deploy.main(ARGV, session=aws, waits=NO_WAIT) == 130

    assert capsys.readouterr().err == (
        "Interrupted: the deploy stopped part-way (a table it dropped to create again is missing until then); run it "
        "again to finish.\n"
    )
