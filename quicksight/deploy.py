"""Deploy the serving layer to AWS: Athena database, tables, views and named queries, then QuickSight.

Every step creates its asset or, when it exists, updates it, so running the command twice is safe. An Athena
table whose definition changed (its DDL or the lake's location) is dropped and created again (for an external table
that is its definition only); an unchanged one is left alone, recognised by the fingerprint of its DDL kept in its
table properties.
Credentials come from boto3's default chain (``--profile`` picks a named profile); nothing is in code.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import athena_sql
import definitions as qs_definitions
import lake as lake_layout  # run as a script, athena_sql has put scripts/ on the path
from command_line import ArgumentParser
from definitions import DATASETS, Target

log = logging.getLogger(__name__)

QUERY_POLL_SECONDS = 1.0
QUERY_TIMEOUT_SECONDS = 600.0
QUICKSIGHT_POLL_SECONDS = 3.0
QUICKSIGHT_TIMEOUT_SECONDS = 900.0
SUCCEEDED = {"CREATION_SUCCESSFUL", "UPDATE_SUCCESSFUL"}
FAILED = {"CREATION_FAILED", "UPDATE_FAILED", "DELETED"}

ACCOUNT_ID = re.compile(r"\d{12}")
REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d")
# Users and groups only (data sources and datasets take no other principals), in the commercial partition the
# asset ARNs are built in (definitions.Target.arn).
PRINCIPAL_ARN = re.compile(r"arn:aws:quicksight:[a-z0-9-]+:(\d{12}):(user|group)/.+")
# An S3 location Athena can use: a valid bucket name (3-63 lower-case letters, digits, dots, hyphens), no spaces, and
# no quote or backslash (the location goes inside a SQL string literal: athena_sql.load_sql refuses those too).
S3_LOCATION = re.compile(r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^\s'\\]*)?")
GLUE_DATABASE = re.compile(r"[a-z0-9_]{1,255}")
# The table property that carries the SHA-256 of the CREATE statement a table was made from (without this property).
DDL_FINGERPRINT = "boston311.ddl_sha256"
TABLE_PROPERTIES = re.compile(r"\bTBLPROPERTIES \((\s*)")
FINGERPRINT_PROPERTY = re.compile(rf"'{re.escape(DDL_FINGERPRINT)}' = '([0-9a-f]{{64}})'")

Sleep = Callable[[float], None]


class DeployError(Exception):
    """A deploy step failed; the message is one sentence naming the step and the asset."""


class BadArguments(Exception):
    """The command line cannot work; the message is one sentence."""


@dataclass(frozen=True)
class DeployConfig:
    """What to deploy where."""

    target: Target
    silver_location: str | None = None
    gold_location: str | None = None
    skip_athena: bool = False


@dataclass(frozen=True)
class Clients:
    """The AWS clients the deploy uses (Glue only to read the tables' properties)."""

    athena: Any
    glue: Any
    quicksight: Any


def make_clients(region: str, session: Any = None, profile: str | None = None) -> Clients:
    """Athena, Glue and QuickSight clients from a boto3 Session (the default credential chain, or ``profile``)."""
    import boto3
    from botocore.config import Config

    # Control-plane calls answer within seconds: an endpoint that accepts and never answers fails in about a
    # minute and a half (3 attempts of 30 s) instead of botocore's default of about three minutes, in silence.
    config = Config(
        connect_timeout=10, read_timeout=30, retries={"mode": "standard", "total_max_attempts": 3}
    )
    session = session or boto3.Session(profile_name=profile, region_name=region)
    return Clients(
        athena=session.client("athena", region_name=region, config=config),
        glue=session.client("glue", region_name=region, config=config),
        quicksight=session.client("quicksight", region_name=region, config=config),
    )


def dashboard_url(region: str) -> str:
    """The console URL of the published dashboard."""
    return f"https://{region}.quicksight.aws.amazon.com/sn/dashboards/{qs_definitions.DASHBOARD_ID}"


@contextmanager
def step(action: str, asset: str) -> Iterator[None]:
    """Log a step; turn any AWS error inside it into one DeployError sentence naming the step and asset."""
    from botocore.exceptions import BotoCoreError, ClientError

    log.info("%s %s", action, asset)
    try:
        yield
    except ClientError as error:
        details = error.response.get("Error", {})
        code, message = details.get("Code", "Error"), details.get("Message", str(error))
        raise DeployError(f"{action} {asset} failed: {code}: {one_line(message)}.") from None
    except BotoCoreError as error:
        raise DeployError(f"{action} {asset} failed: {one_line(str(error))}.") from None
    except (
        KeyError,
        TypeError,
    ) as error:  # botocore reads a 200 page that is no JSON as an answer without fields
        raise DeployError(
            f"{action} {asset} failed: the answer lacks {error}, so it is not AWS's (a proxy's or a captive portal's "
            "page?): check the network and AWS_ENDPOINT_URL."
        ) from None


def one_line(message: str) -> str:
    """An error message as one line of at most 300 characters (a proxy's error page is a whole HTML document)."""
    return " ".join(message.split())[:300].rstrip(".")


# ----------------------------------------------------------------------------------------------------------
# Athena
# ----------------------------------------------------------------------------------------------------------


def with_fingerprint(create_sql: str) -> str:
    """The CREATE TABLE statement with its own SHA-256 added as the first table property (DDL_FINGERPRINT)."""
    if len(TABLE_PROPERTIES.findall(create_sql)) != 1:
        raise athena_sql.SqlError(
            "A table's DDL must have one TBLPROPERTIES clause to carry its fingerprint."
        )
    fingerprint = hashlib.sha256(create_sql.encode("utf-8")).hexdigest()
    return TABLE_PROPERTIES.sub(
        lambda match: f"TBLPROPERTIES ({match[1]}'{DDL_FINGERPRINT}' = '{fingerprint}',{match[1] or ' '}",
        create_sql,
    )


def fingerprint_in(create_sql: str) -> str:
    """The fingerprint a ``with_fingerprint`` statement carries."""
    return FINGERPRINT_PROPERTY.search(create_sql).group(1)  # type: ignore[union-attr]


def athena_statements(database: str, silver_location: str, gold_location: str) -> list[tuple[str, str, str]]:
    """Every Athena statement in order: (what, asset, SQL) for the database, the tables (each dropped and created
    again, which ``deploy_athena`` skips for a table that is up to date), then the views."""
    locations = {"database": database, "silver_location": silver_location, "gold_location": gold_location}
    statements = [
        ("create database", database, athena_sql.load_sql("ddl", athena_sql.DATABASE_DDL, **locations))
    ]
    # External tables: dropping one removes only its definition (the data stays on S3), so a redeploy replaces a
    # table whose DDL or location changed instead of keeping a stale one (CREATE ... IF NOT EXISTS alone).
    for table in athena_sql.table_names():
        statements += [
            ("drop table", table, f"DROP TABLE IF EXISTS {database}.{table}"),
            ("create table", table, with_fingerprint(athena_sql.load_sql("ddl", table, **locations))),
        ]
    statements += [
        ("create view", view, athena_sql.load_sql("views", view, database=database))
        for view in athena_sql.view_names()
    ]
    return statements


def named_query_description(name: str) -> str:
    """A named query's description: the comment lines at the top of its SQL file."""
    lines = athena_sql.sql_path("named_queries", name).read_text(encoding="utf-8").splitlines()
    comments = []
    for text in lines:
        if not text.lstrip().startswith("--"):
            break
        comments.append(text.lstrip()[2:].strip())
    return " ".join(comments)[:1024] or name


def named_queries(database: str) -> list[dict[str, str]]:
    """The named queries to keep in the workgroup: Name, Description, Database, QueryString."""
    return [
        {
            "Name": name,
            "Description": named_query_description(name),
            "Database": database,
            "QueryString": athena_sql.load_sql("named_queries", name, database=database),
        }
        for name in athena_sql.named_query_names()
    ]


def database_context(what: str, database: str) -> str | None:
    """The database a statement runs in: none for CREATE DATABASE, which runs before the database exists."""
    return None if what == "create database" else database


def query_request(sql: str, workgroup: str, database: str | None) -> dict[str, Any]:
    """StartQueryExecution's request: the statement, the workgroup and, unless None, the database it runs in."""
    request: dict[str, Any] = {"QueryString": sql, "WorkGroup": workgroup}
    if database:
        request["QueryExecutionContext"] = {"Database": database}
    return request


def run_statement(
    athena: Any,
    sql: str,
    workgroup: str,
    database: str | None,
    sleep: Sleep = time.sleep,
    poll_seconds: float = QUERY_POLL_SECONDS,
    timeout_seconds: float = QUERY_TIMEOUT_SECONDS,
) -> str:
    """Run one statement in the workgroup and wait for it; returns the execution id, raises when it fails."""
    execution_id = athena.start_query_execution(**query_request(sql, workgroup, database))["QueryExecutionId"]
    waited = 0.0
    while True:
        status = athena.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]["Status"]
        if status["State"] == "SUCCEEDED":
            return execution_id
        if status["State"] in ("FAILED", "CANCELLED"):
            reason = status.get("StateChangeReason") or status["State"].lower()
            raise DeployError(f"query {execution_id} {status['State'].lower()}: {reason.rstrip('.')}")
        if waited >= timeout_seconds:
            raise DeployError(
                f"query {execution_id} still {status['State'].lower()} after {timeout_seconds:.0f} s"
            )
        sleep(poll_seconds)
        waited += poll_seconds


def existing_named_queries(athena: Any, workgroup: str, database: str) -> dict[str, dict[str, Any]]:
    """The workgroup's named queries on this database, by name."""
    found: dict[str, dict[str, Any]] = {}
    for page in athena.get_paginator("list_named_queries").paginate(WorkGroup=workgroup):
        for query_id in page.get("NamedQueryIds", []):
            query = athena.get_named_query(NamedQueryId=query_id)["NamedQuery"]
            if query.get("Database") == database:
                found[query["Name"]] = query
    return found


def deployed_fingerprints(glue: Any, database: str) -> dict[str, str]:
    """The DDL fingerprint of each table already in the database (none when the database does not exist)."""
    found: dict[str, str] = {}
    try:
        for page in glue.get_paginator("get_tables").paginate(DatabaseName=database):
            for table in page.get("TableList", []):
                fingerprint = (table.get("Parameters") or {}).get(DDL_FINGERPRINT)
                if fingerprint:
                    found[table["Name"]] = fingerprint
    except glue.exceptions.EntityNotFoundException:
        return {}
    return found


def deploy_athena(athena: Any, glue: Any, config: DeployConfig, sleep: Sleep = time.sleep) -> None:
    """Create the database, the tables that are missing or changed, and the views (each statement waited for),
    then create/update the named queries."""
    target = config.target
    statements = athena_statements(target.database, config.silver_location, config.gold_location)
    with step("Glue: read table properties in", target.database):
        deployed = deployed_fingerprints(glue, target.database)
    up_to_date = {
        asset
        for what, asset, sql in statements
        if what == "create table" and deployed.get(asset) == fingerprint_in(sql)
    }
    for what, asset, sql in statements:
        if what in ("drop table", "create table") and asset in up_to_date:
            if what == "create table":
                log.info("table %s is up to date", asset)
            continue
        context = database_context(what, target.database)
        with step(f"Athena: {what}", asset):
            try:
                run_statement(athena, sql, target.athena_workgroup, context, sleep)
            except DeployError as error:
                raise DeployError(f"Athena: {what} {asset} failed: {error}.") from None
    with step("Athena: list named queries in workgroup", target.athena_workgroup):
        existing = existing_named_queries(athena, target.athena_workgroup, target.database)
    for query in named_queries(target.database):
        with step("Athena: named query", query["Name"]):
            current = existing.get(query["Name"])
            if current is None:
                athena.create_named_query(WorkGroup=target.athena_workgroup, **query)
            elif (current.get("QueryString"), current.get("Description")) != (
                query["QueryString"],
                query["Description"],
            ):
                athena.update_named_query(
                    NamedQueryId=current["NamedQueryId"],
                    Name=query["Name"],
                    Description=query["Description"],
                    QueryString=query["QueryString"],
                )
            else:
                log.info("named query %s is up to date", query["Name"])


# ----------------------------------------------------------------------------------------------------------
# QuickSight
# ----------------------------------------------------------------------------------------------------------


def describe_or_none(describe: Callable[..., dict[str, Any]], **request: Any) -> dict[str, Any] | None:
    """The Describe* answer, or None when the asset does not exist (ResourceNotFoundException)."""
    from botocore.exceptions import ClientError

    try:
        return describe(**request)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return None
        raise


def fit_to(quicksight: Any, operation: str, body: dict[str, Any]) -> dict[str, Any]:
    """The members of a Create* body that the Update* operation accepts (drops Permissions, Type ...)."""
    members = quicksight.meta.service_model.operation_model(operation).input_shape.members
    return {key: value for key, value in body.items() if key in members}


def wait_for_status(
    describe: Callable[[], tuple[str, Any]],
    what: str,
    sleep: Sleep,
    poll_seconds: float,
    timeout_seconds: float,
) -> None:
    """Poll ``describe() -> (status, errors)`` until a *_SUCCESSFUL status; raise with QuickSight's errors on *_FAILED."""
    waited = 0.0
    while True:
        status, errors = describe()
        if status in SUCCEEDED:
            return
        if status in FAILED:
            raise DeployError(f"{what} ended {status}: {describe_errors(errors)}")
        if waited >= timeout_seconds:
            raise DeployError(f"{what} still {status} after {timeout_seconds:.0f} s")
        sleep(poll_seconds)
        waited += poll_seconds


def describe_errors(errors: Any) -> str:
    """QuickSight's Errors list (or ErrorInfo) as one line."""
    if isinstance(errors, dict):
        errors = [errors]
    parts = []
    for error in errors or []:
        entities = ", ".join(entity.get("Path", "") for entity in error.get("ViolatedEntities", []))
        parts.append(
            f"{error.get('Type', 'ERROR')} {error.get('Message', '')}"
            + (f" ({entities})" if entities else "")
        )
    return "; ".join(parts) or "no details given"


@dataclass(frozen=True)
class Waits:
    """How the QuickSight steps wait for asynchronous creations (tests pass a no-op sleep)."""

    sleep: Sleep = time.sleep
    poll_seconds: float = QUICKSIGHT_POLL_SECONDS
    timeout_seconds: float = QUICKSIGHT_TIMEOUT_SECONDS


def ensure_data_source(quicksight: Any, target: Target, waits: Waits) -> None:
    """Create or update the Athena data source and grant the principal; wait until it is ready."""
    body = qs_definitions.data_source_request(target)
    ids = {"AwsAccountId": target.account_id, "DataSourceId": body["DataSourceId"]}
    with step("QuickSight: data source", body["DataSourceId"]):
        if describe_or_none(quicksight.describe_data_source, **ids) is None:
            quicksight.create_data_source(**body)
        else:
            quicksight.update_data_source(**fit_to(quicksight, "UpdateDataSource", body))
            quicksight.update_data_source_permissions(**ids, GrantPermissions=body["Permissions"])

        def status() -> tuple[str, Any]:
            source = quicksight.describe_data_source(**ids)["DataSource"]
            return source.get("Status", ""), source.get("ErrorInfo")

        wait_for_status(status, "the data source", waits.sleep, waits.poll_seconds, waits.timeout_seconds)


def ensure_dataset(quicksight: Any, target: Target, spec: qs_definitions.DatasetSpec) -> None:
    """Create or update one SPICE dataset (which starts an ingestion) and grant the principal."""
    body = qs_definitions.dataset_request(target, spec)
    ids = {"AwsAccountId": target.account_id, "DataSetId": spec.dataset_id}
    with step("QuickSight: dataset", spec.dataset_id):
        if describe_or_none(quicksight.describe_data_set, **ids) is None:
            quicksight.create_data_set(**body)
        else:
            quicksight.update_data_set(**fit_to(quicksight, "UpdateDataSet", body))
            quicksight.update_data_set_permissions(**ids, GrantPermissions=body["Permissions"])


def ensure_refresh_schedule(quicksight: Any, target: Target, spec: qs_definitions.DatasetSpec) -> None:
    """Create or update the dataset's daily SPICE refresh."""
    body = qs_definitions.refresh_schedule_request(target, spec)
    ids = {"AwsAccountId": target.account_id, "DataSetId": spec.dataset_id}
    with step("QuickSight: refresh schedule of", spec.dataset_id):
        found = describe_or_none(
            quicksight.describe_refresh_schedule, **ids, ScheduleId=body["Schedule"]["ScheduleId"]
        )
        if found is None:
            quicksight.create_refresh_schedule(**body)
        else:
            quicksight.update_refresh_schedule(**body)


def ensure_analysis(quicksight: Any, target: Target, waits: Waits) -> None:
    """Create or update the analysis from its Definition, grant the principal, wait until QuickSight built it."""
    body = qs_definitions.analysis_request(target)
    ids = {"AwsAccountId": target.account_id, "AnalysisId": body["AnalysisId"]}
    with step("QuickSight: analysis", body["AnalysisId"]):
        if describe_or_none(quicksight.describe_analysis, **ids) is None:
            quicksight.create_analysis(**body)
        else:
            quicksight.update_analysis(**fit_to(quicksight, "UpdateAnalysis", body))
            quicksight.update_analysis_permissions(**ids, GrantPermissions=body["Permissions"])

        def status() -> tuple[str, Any]:
            analysis = quicksight.describe_analysis(**ids)["Analysis"]
            return analysis.get("Status", ""), analysis.get("Errors")

        wait_for_status(status, "the analysis", waits.sleep, waits.poll_seconds, waits.timeout_seconds)


def version_number(version_arn: str) -> int:
    """The dashboard version number at the end of a VersionArn (``.../dashboard/<id>/version/<n>``)."""
    return int(version_arn.rsplit("/", 1)[1])


def ensure_dashboard(quicksight: Any, target: Target, waits: Waits) -> None:
    """Create the dashboard, or add a version and publish it; grant the principal; wait for the version."""
    body = qs_definitions.dashboard_request(target)
    ids = {"AwsAccountId": target.account_id, "DashboardId": body["DashboardId"]}
    with step("QuickSight: dashboard", body["DashboardId"]):
        created = describe_or_none(quicksight.describe_dashboard, **ids) is None
        if created:
            answer = quicksight.create_dashboard(**body)
        else:
            answer = quicksight.update_dashboard(**fit_to(quicksight, "UpdateDashboard", body))
            quicksight.update_dashboard_permissions(**ids, GrantPermissions=body["Permissions"])
        number = version_number(answer["VersionArn"])

        def status() -> tuple[str, Any]:
            version = quicksight.describe_dashboard(**ids, VersionNumber=number)["Dashboard"]["Version"]
            return version.get("Status", ""), version.get("Errors")

        wait_for_status(
            status, f"dashboard version {number}", waits.sleep, waits.poll_seconds, waits.timeout_seconds
        )
        if not created:  # a new version of an existing dashboard is a draft until published
            quicksight.update_dashboard_published_version(**ids, VersionNumber=number)


def deploy_quicksight(quicksight: Any, target: Target, waits: Waits) -> str:
    """Data source, datasets with their refresh schedules, analysis, dashboard; returns the dashboard URL."""
    ensure_data_source(quicksight, target, waits)
    for spec in DATASETS:
        ensure_dataset(quicksight, target, spec)
        ensure_refresh_schedule(quicksight, target, spec)
    ensure_analysis(quicksight, target, waits)
    ensure_dashboard(quicksight, target, waits)
    return dashboard_url(target.region)


def deploy(config: DeployConfig, clients: Clients, waits: Waits | None = None) -> str:
    """The whole deploy: Athena (unless skipped), then QuickSight; returns the dashboard URL."""
    waits = waits or Waits()
    if not config.skip_athena:
        deploy_athena(clients.athena, clients.glue, config, waits.sleep)
    return deploy_quicksight(clients.quicksight, config.target, waits)


# ----------------------------------------------------------------------------------------------------------
# Dry run: build and check every request locally, send nothing
# ----------------------------------------------------------------------------------------------------------


def planned_requests(config: DeployConfig) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(service, operation, asset, body) of every request a first deploy sends (polls aside), in order."""
    target = config.target
    plan: list[tuple[str, str, str, dict[str, Any]]] = []
    if not config.skip_athena:
        plan.append(("glue", "GetTables", target.database, {"DatabaseName": target.database}))
        for what, asset, sql in athena_statements(
            target.database, config.silver_location, config.gold_location
        ):
            request = query_request(sql, target.athena_workgroup, database_context(what, target.database))
            plan.append(("athena", "StartQueryExecution", f"{what} {asset}", request))
        plan += [
            ("athena", "CreateNamedQuery", query["Name"], {**query, "WorkGroup": target.athena_workgroup})
            for query in named_queries(target.database)
        ]
    for stem, (operation, body) in qs_definitions.all_requests(target).items():
        plan.append(("quicksight", operation, stem, body))
    return plan


def dry_run(config: DeployConfig) -> int:
    """Print the plan and check each request against the API model; 0 when all pass, 1 otherwise."""
    failures = 0
    for service, operation, asset, body in planned_requests(config):
        errors = qs_definitions.model_errors(service, operation, body)
        print(f"{'FAIL' if errors else 'ok  '} {service} {operation} {asset}")
        for error in errors:
            print(f"       {error}")
        failures += bool(errors)
    print(f"dashboard (after a real deploy): {dashboard_url(config.target.region)}")
    return 1 if failures else 0


# ----------------------------------------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------------------------------------


class _Parser(ArgumentParser):
    """An ArgumentParser whose errors are one sentence (BadArguments), not usage text and SystemExit."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise BadArguments(f"{message[0].upper()}{message[1:].rstrip('.')} (see --help).")


def build_parser() -> argparse.ArgumentParser:
    """The command line's flags (config_from_args checks their values)."""
    parser = _Parser(description=__doc__.splitlines()[0])
    parser.add_argument("--account-id", required=True, help="12-digit AWS account id")
    parser.add_argument("--region", required=True, help="AWS region of QuickSight and Athena, e.g. us-east-1")
    parser.add_argument(
        "--principal-arn", required=True, help="QuickSight user or group ARN that will own the assets"
    )
    parser.add_argument(
        "--athena-workgroup", required=True, help="Athena workgroup (with a query result location)"
    )
    parser.add_argument("--database", required=True, help="Glue/Athena database, e.g. boston311")
    parser.add_argument("--silver-location", help="s3://… of Silver (…/silver/boston311)")
    parser.add_argument("--gold-location", help="s3://… of Gold (…/gold/boston311)")
    parser.add_argument(
        "--lake", help="s3://bucket[/prefix] lake root: sets both locations from the lake layout"
    )
    parser.add_argument("--skip-athena", action="store_true", help="only the QuickSight assets")
    parser.add_argument(
        "--dry-run", action="store_true", help="build and check every request locally, send nothing"
    )
    parser.add_argument("--profile", help="named AWS profile (default: the default credential chain)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    return build_parser().parse_args(argv)


def config_from_args(args: argparse.Namespace) -> DeployConfig:
    """Check the arguments and build the DeployConfig; BadArguments names the first problem."""
    if not ACCOUNT_ID.fullmatch(args.account_id):
        raise BadArguments(f"--account-id must be 12 digits, got {args.account_id!r}.")
    if not REGION.fullmatch(args.region):
        raise BadArguments(f"--region must be an AWS region such as us-east-1, got {args.region!r}.")
    principal = PRINCIPAL_ARN.fullmatch(args.principal_arn)
    if not principal:
        raise BadArguments(
            "--principal-arn must be a QuickSight user or group ARN "
            f"(arn:aws:quicksight:<region>:<account>:user/default/<name>), got {args.principal_arn!r}."
        )
    if principal.group(1) != args.account_id:
        raise BadArguments(
            f"--principal-arn belongs to account {principal.group(1)}, not to --account-id {args.account_id}."
        )
    if not args.athena_workgroup.strip():
        raise BadArguments("--athena-workgroup must not be empty.")
    if not GLUE_DATABASE.fullmatch(args.database):
        raise BadArguments(
            f"--database must be lower-case letters, digits and underscores, got {args.database!r}."
        )
    silver, gold = args.silver_location, args.gold_location
    if args.lake:
        if silver or gold:
            raise BadArguments("Give either --lake or --silver-location/--gold-location, not both.")
        root = lake_layout.Lake.from_uri(args.lake)
        if not root.is_s3:
            raise BadArguments(f"--lake must be an s3:// URI for Athena, got {args.lake!r}.")
        silver, gold = root.silver, root.gold
    if not args.skip_athena:
        if not (silver and gold):
            raise BadArguments(
                "The Athena step needs --silver-location and --gold-location (or --lake); use --skip-athena to skip it."
            )
        for flag, location in (("--silver-location", silver), ("--gold-location", gold)):
            if not S3_LOCATION.fullmatch(location):
                raise BadArguments(
                    f"{flag} must be an s3://bucket/prefix URI with a valid bucket name and no spaces, quotes or "
                    f"backslashes, got {location!r}."
                )
    target = Target(
        args.account_id, args.region, args.principal_arn, args.athena_workgroup.strip(), args.database
    )
    return DeployConfig(target, silver, gold, args.skip_athena)


def main(argv: list[str] | None = None, session: Any = None, waits: Waits | None = None) -> int:
    """Deploy the Athena and QuickSight assets and print the dashboard URL.

    Parameters
    ----------
    argv
        ``--account-id --region --principal-arn --athena-workgroup --database`` (all required),
        ``--silver-location/--gold-location`` or ``--lake`` (needed unless ``--skip-athena``),
        ``--dry-run``, ``--profile``, ``-v``.
    session
        An optional ``boto3.Session`` (tests); by default one is made from the default credential chain.
    waits
        How to wait for asynchronous steps (tests pass a no-op sleep).

    Returns
    -------
    int
        0 on success, 2 for bad arguments, 1 when an AWS step fails (one sentence on stderr), 130 when interrupted
        (Ctrl-C).
    """
    try:
        args = parse_args(argv)
        config = config_from_args(args)
    except BadArguments as error:
        print(error, file=sys.stderr)
        return 2
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(message)s"
    )
    try:
        if args.dry_run:
            return dry_run(config)
        try:
            clients = make_clients(config.target.region, session, args.profile)
        except Exception as error:  # botocore's ProfileNotFound and friends: a bad --profile
            print(f"Cannot open an AWS session: {str(error).rstrip('.')}.", file=sys.stderr)
            return 2
        url = deploy(config, clients, waits)
    except (DeployError, athena_sql.SqlError) as error:
        print(error, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            "Interrupted: the deploy stopped part-way (a table it dropped to create again is missing until then); "
            "run it again to finish.",
            file=sys.stderr,
        )
        return 130
    print(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
