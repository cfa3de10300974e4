"""Submit the Gold job to AWS: as a step on a running EMR 7.x cluster, or as an EMR Serverless job run.

    python emr/submit.py step --cluster-id j-XXXXXXXX --script s3://bucket/code/gold_job.py \\
        --silver-path s3://bucket/silver/boston311 --gold-path s3://bucket/gold/boston311
    python emr/submit.py serverless --application-id 00abc... --execution-role-arn arn:aws:iam::123:role/x \\
        --script s3://bucket/code/gold_job.py --silver-path ... --gold-path ... [--log-uri s3://bucket/logs/]

The requests are the JSON files beside this script (``emr_step.json``: AddJobFlowSteps,
``emr_serverless_job_run.json``: StartJobRun) with ``${name}`` placeholders filled in; ``--dry-run``
prints the filled request instead of sending it. Nothing is submitted while a step or job run writing the
same Gold path is pending or running (two runs would swap the same tables in and out). Credentials and region
come from the default boto3 chain (environment, profile, instance role); nothing is stored here.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import posixpath
import re
import sys
from collections.abc import Mapping
from itertools import pairwise
from pathlib import Path
from string import Template
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

log = logging.getLogger(__name__)

DEFINITIONS = Path(__file__).resolve().parent
STEP_DEFINITION = DEFINITIONS / "emr_step.json"
SERVERLESS_DEFINITION = DEFINITIONS / "emr_serverless_job_run.json"
ACTIONS_ON_FAILURE = ("CONTINUE", "CANCEL_AND_WAIT", "TERMINATE_CLUSTER")
# A run in one of these states may still write Gold; a second run on the same Gold path would race it (both
# swap tables in and out of the same folders), so submit.py refuses to start one.
ACTIVE_STEP_STATES = ["PENDING", "RUNNING", "CANCEL_PENDING"]
ACTIVE_JOB_RUN_STATES = ["SUBMITTED", "PENDING", "SCHEDULED", "RUNNING", "QUEUED", "CANCELLING"]
CLUSTER_ID = re.compile(r"^j-[A-Z0-9]{1,255}$")
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$")


class GoldRunActive(Exception):
    """A Gold run on the same Gold path has not finished yet; the message is one sentence."""

    def __init__(self, runs: str, cancel_command: str, gold_path: str) -> None:
        super().__init__(
            f"a Gold run writing {gold_path} is not finished yet ({runs}): wait for it, or cancel it "
            f"({cancel_command}), then submit again"
        )


def render(definition: Any, values: Mapping[str, str]) -> Any:
    """Fill every ``${name}`` in the strings of a JSON structure; KeyError names a missing value."""
    if isinstance(definition, str):
        return Template(definition).substitute(values)
    if isinstance(definition, list):
        return [render(item, values) for item in definition]
    if isinstance(definition, dict):
        return {key: render(item, values) for key, item in definition.items()}
    return definition


def load_definition(path: Path) -> dict:
    """A request template from this folder."""
    return json.loads(path.read_text())


def step_request(
    cluster_id: str, script: str, silver_path: str, gold_path: str, action_on_failure: str = "CONTINUE"
) -> dict:
    """The AddJobFlowSteps request that runs the Gold job in cluster mode on an EMR cluster."""
    values = {
        "cluster_id": cluster_id,
        "script": script,
        "silver_path": silver_path,
        "gold_path": gold_path,
        "action_on_failure": action_on_failure,
    }
    return render(load_definition(STEP_DEFINITION), values)


def serverless_request(
    application_id: str,
    execution_role_arn: str,
    script: str,
    silver_path: str,
    gold_path: str,
    log_uri: str | None = None,
) -> dict:
    """The StartJobRun request that runs the Gold job on an EMR Serverless Spark application."""
    definition = load_definition(SERVERLESS_DEFINITION)
    if log_uri is None:
        # Without an S3 log location, EMR Serverless keeps the logs in its managed storage.
        definition.pop("configurationOverrides")
    values = {
        "application_id": application_id,
        "execution_role_arn": execution_role_arn,
        "script": script,
        "silver_path": silver_path,
        "gold_path": gold_path,
        "log_uri": log_uri or "",
    }
    return render(definition, values)


def s3_folder(uri: str) -> str:
    """An s3:// URI as the folder Hadoop reads it, to compare with another: repeated slashes, ``.`` and ``..``
    resolved, no trailing slash (``s3://b/lake//gold/`` is ``s3://b/lake/gold``: a lake root given with a trailing
    slash, then ``$LAKE/gold``)."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return f"s3://{bucket}{posixpath.normpath(re.sub('/+', '/', '/' + key))}".rstrip("/")


def writes_gold_path(arguments: list[str], gold_path: str) -> bool:
    """True when a spark-submit argument list runs the Gold job on gold_path (as the same folder, ``s3_folder``)."""
    return any(
        name == "--gold_path" and s3_folder(value) == s3_folder(gold_path)
        for name, value in pairwise(arguments)
    )


def active_gold_steps(emr: Any, cluster_id: str, gold_path: str) -> list[tuple[str, str]]:
    """(id, state) of each of the cluster's pending or running steps that write gold_path."""
    pages = emr.get_paginator("list_steps").paginate(ClusterId=cluster_id, StepStates=ACTIVE_STEP_STATES)
    return [
        (step["Id"], step["Status"]["State"])
        for page in pages
        for step in page["Steps"]
        if writes_gold_path(step["Config"].get("Args", []), gold_path)
    ]


def active_gold_job_runs(emr_serverless: Any, application_id: str, gold_path: str) -> list[tuple[str, str]]:
    """(id, state) of each of the application's unfinished job runs that write gold_path."""
    pages = emr_serverless.get_paginator("list_job_runs").paginate(
        applicationId=application_id, states=ACTIVE_JOB_RUN_STATES
    )
    active = []
    for page in pages:
        for summary in page["jobRuns"]:
            job_run = emr_serverless.get_job_run(applicationId=application_id, jobRunId=summary["id"])[
                "jobRun"
            ]
            arguments = job_run.get("jobDriver", {}).get("sparkSubmit", {}).get("entryPointArguments", [])
            if writes_gold_path(arguments, gold_path):
                active.append((summary["id"], summary["state"]))
    return active


def listed(runs: list[tuple[str, str]]) -> str:
    """``id (STATE), id (STATE)`` for a message."""
    return ", ".join(f"{run_id} ({state})" for run_id, state in runs)


def aws_client(service: str, session: boto3.Session | None = None, region: str | None = None) -> Any:
    """A boto3 client from the given session or the default credential chain."""
    # EMR's control plane answers within seconds: an endpoint that accepts and never answers fails in about a
    # minute and a half (3 attempts of 30 s) instead of botocore's default of about three minutes, in silence.
    config = Config(
        connect_timeout=10, read_timeout=30, retries={"mode": "standard", "total_max_attempts": 3}
    )
    return (session or boto3.Session()).client(service, region_name=region, config=config)


def submit_step(request: dict, gold_path: str, emr: Any) -> str:
    """Add the step to the cluster with an EMR client; return the step id. GoldRunActive when a step on the cluster
    still writes the same Gold path."""
    cluster = request["JobFlowId"]
    active = active_gold_steps(emr, cluster, gold_path)
    if active:
        step_ids = " ".join(step_id for step_id, _ in active)
        raise GoldRunActive(
            f"step {listed(active)} on cluster {cluster}",
            f"aws emr cancel-steps --cluster-id {cluster} --step-ids {step_ids}",
            gold_path,
        )
    return emr.add_job_flow_steps(**request)["StepIds"][0]


def submit_serverless(request: dict, gold_path: str, emr_serverless: Any) -> str:
    """Start the job run with an EMR Serverless client; return the job run id. GoldRunActive when a job run of the
    application still writes the same Gold path. boto3 adds the clientToken, so its own retries of this call are
    idempotent."""
    application_id = request["applicationId"]
    active = active_gold_job_runs(emr_serverless, application_id, gold_path)
    if active:
        raise GoldRunActive(
            f"job run {listed(active)} on application {application_id}",
            f"aws emr-serverless cancel-job-run --application-id {application_id} --job-run-id {active[0][0]}",
            gold_path,
        )
    return emr_serverless.start_job_run(**request)["jobRunId"]


class OneLineArgumentParser(argparse.ArgumentParser):
    """argparse that reports bad usage as one sentence on stderr and exits with 2, and so a --help that stdout
    refuses (``help_to_stdout``)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        """Print one sentence and exit 2."""
        self.exit(2, f"{self.prog}: {message} (see --help).\n")

    def print_help(self, file=None) -> None:  # noqa: ANN001 - argparse's signature
        """The help on stdout, as argparse prints it; SystemExit(2) after one sentence when stdout refuses it."""
        if file is not None:
            super().print_help(file)
        elif not help_to_stdout(self.format_help(), f"{self.prog}:"):
            self.exit(2)


# A copy of scripts/command_line.py's (this file imports nothing of the repository; held equal by a test).
def help_to_stdout(text: str, prefix: str) -> bool:
    """Write a ``--help`` text to stdout, flushed now; True when it went, else False after one sentence on stderr
    (``prefix`` begins it, e.g. ``"dashboard.py: error:"``) saying why stdout refused it: a full disk, a pipe whose
    reader is gone, or no stdout at all."""
    if sys.stdout is None:
        reason = "stdout is closed"
    else:
        try:
            sys.stdout.write(text)
            sys.stdout.flush()
            return True
        except OSError as error:  # BrokenPipeError too
            reason = error.strerror or str(error)
            stdout_to_devnull()
    print(f"{prefix} Could not write the help to stdout ({reason}); nothing was run.", file=sys.stderr)
    return False


def stdout_to_devnull() -> None:
    """After stdout refused a write, point its file descriptor at the null device (Python's advice for a closed pipe,
    "Note on SIGPIPE" in the signal module's docs): what is left in its buffer is flushed as the process ends, which
    would fail again ("Exception ignored … BrokenPipeError", exit 120). Nothing to do for a stdout that is no file
    (none at all, a test's capture)."""
    try:
        descriptor = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both of the last two
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, descriptor)
    finally:
        os.close(devnull)


def s3_uri_argument(value: str) -> str:
    """An argparse type: an s3:// URI with a bucket."""
    if not re.match(r"^s3://[^/]+", value):
        raise argparse.ArgumentTypeError(f"{value!r} is not an s3://bucket/... URI")
    return value


def cluster_id_argument(value: str) -> str:
    """An argparse type: an EMR cluster id such as j-2AXXXXXXGAPLF."""
    if not CLUSTER_ID.match(value):
        raise argparse.ArgumentTypeError(f"{value!r} is not an EMR cluster id like j-2AXXXXXXGAPLF")
    return value


def region_argument(value: str) -> str:
    """An argparse type: an AWS region name such as us-east-1."""
    if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", value):
        raise argparse.ArgumentTypeError(f"{value!r} is not an AWS region like us-east-1")
    return value


def application_id_argument(value: str) -> str:
    """An argparse type: an EMR Serverless application id such as 00fabcdexample (1-64 lower-case letters and
    digits)."""
    if not re.fullmatch(r"[0-9a-z]{1,64}", value):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an EMR Serverless application id like 00fabcdexample"
        )
    return value


def profile_argument(value: str) -> str:
    """An argparse type: a named AWS profile, not blank (an unset variable would fall back to the default chain's
    account)."""
    if not value.strip():
        raise argparse.ArgumentTypeError(
            "is empty (an unset variable?): name a profile, or leave --profile out"
        )
    return value


def role_arn_argument(value: str) -> str:
    """An argparse type: an IAM role ARN."""
    if not ROLE_ARN.match(value):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an IAM role ARN like arn:aws:iam::123456789012:role/name"
        )
    return value


def build_parser() -> argparse.ArgumentParser:
    """The command line: the step and serverless subcommands and their flags (parse_args also checks the paths)."""
    parser = OneLineArgumentParser(
        prog="submit.py", description="Submit the Gold job to EMR or EMR Serverless."
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineArgumentParser)
    step = commands.add_parser("step", help="add the Gold job as a step to a running EMR 7.x cluster")
    step.add_argument("--cluster-id", type=cluster_id_argument, required=True)
    step.add_argument("--action-on-failure", choices=ACTIONS_ON_FAILURE, default="CONTINUE")
    serverless = commands.add_parser("serverless", help="start the Gold job on an EMR Serverless application")
    serverless.add_argument("--application-id", type=application_id_argument, required=True)
    serverless.add_argument("--execution-role-arn", type=role_arn_argument, required=True)
    serverless.add_argument(
        "--log-uri", type=s3_uri_argument, default=None, help="S3 prefix for the driver/executor logs"
    )
    for command in (step, serverless):
        command.add_argument(
            "--script", type=s3_uri_argument, required=True, help="gold_job.py uploaded to S3"
        )
        command.add_argument(
            "--silver-path", type=s3_uri_argument, required=True, help="e.g. s3://bucket/silver/boston311"
        )
        command.add_argument(
            "--gold-path", type=s3_uri_argument, required=True, help="e.g. s3://bucket/gold/boston311"
        )
        command.add_argument(
            "--region", type=region_argument, default=None, help="AWS region (default: the boto3 chain)"
        )
        command.add_argument(
            "--profile",
            type=profile_argument,
            default=None,
            help="named AWS profile (default: the boto3 chain)",
        )
        command.add_argument("--dry-run", action="store_true", help="print the request instead of sending it")
    return parser


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    parser = build_parser()
    args = parser.parse_args(argv)
    silver, gold = s3_folder(args.silver_path), s3_folder(args.gold_path)
    if silver == gold or gold.startswith(silver + "/") or silver.startswith(gold + "/"):
        parser.error("--gold-path must be apart from --silver-path (Gold replaces its tables under it)")
    return args


def main(argv: list[str] | None = None) -> int:
    """Render the request and send it; 0 on success, 1 when AWS refuses or a Gold run on the same Gold path is
    not finished yet, 2 on bad usage (a profile that does not exist, no region), 130 when interrupted (Ctrl-C).

    Parameters
    ----------
    argv
        ``step ...`` or ``serverless ...`` (default: ``sys.argv[1:]``); see ``--help``.
    """
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.command == "step":
        request = step_request(
            args.cluster_id, args.script, args.silver_path, args.gold_path, args.action_on_failure
        )
    else:
        request = serverless_request(
            args.application_id,
            args.execution_role_arn,
            args.script,
            args.silver_path,
            args.gold_path,
            args.log_uri,
        )
    if args.dry_run:
        print(json.dumps(request, indent=2))
        return 0
    service = "emr" if args.command == "step" else "emr-serverless"
    try:  # a profile that does not exist (--profile or AWS_PROFILE), no region: a usage error, as in deploy.py
        client = aws_client(service, boto3.Session(profile_name=args.profile), args.region)
    except BotoCoreError as error:
        print(f"submit.py: cannot open an AWS session: {one_line(str(error))}.", file=sys.stderr)
        return 2
    try:
        if args.command == "step":
            step_id = submit_step(request, args.gold_path, client)
            print(f"Added step {step_id} to cluster {args.cluster_id}.")
        else:
            job_run_id = submit_serverless(request, args.gold_path, client)
            print(f"Started job run {job_run_id} on application {args.application_id}.")
    except GoldRunActive as error:
        print(f"submit.py: nothing submitted: {error}.", file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError) as error:
        print(
            f"submit.py: AWS did not accept the {args.command} request: {one_line(str(error))}.",
            file=sys.stderr,
        )
        return 1
    except (
        KeyError,
        TypeError,
    ) as error:  # botocore reads a 200 page that is no JSON as an answer without fields
        print(
            f"submit.py: the answer to the {args.command} request lacks {error}, so it is not AWS's (a proxy's or a "
            "captive portal's page?): check the network and AWS_ENDPOINT_URL, and the console for what was submitted.",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        print(
            f"submit.py: interrupted; if the {args.command} request was sent, it may be running: see the console.",
            file=sys.stderr,
        )
        return 130
    return 0


def one_line(message: str) -> str:
    """An error message as one line of at most 300 characters (a proxy's error page is a whole HTML document)."""
    return " ".join(message.split())[:300].rstrip(".")


if __name__ == "__main__":
    sys.exit(main())
