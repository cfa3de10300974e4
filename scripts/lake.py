"""The lake's layout, declared once: where each stage reads and writes, locally or on S3.

A lake root is a local folder (the embedded default, ``./lake``) or ``s3://bucket[/prefix]``;
the same relative keys are used under both, so a local lake can be synced to S3 as-is.
"""

from __future__ import annotations

import argparse
import os
import shlex
from dataclasses import dataclass

DEFAULT_LAKE = "./lake"

BRONZE_PREFIX = "bronze/boston311"
BRONZE_MANIFESTS = f"{BRONZE_PREFIX}/_manifests"
BRONZE_STATE = f"{BRONZE_PREFIX}/_state/resources.json"

SILVER_PREFIX = "silver/boston311"
SILVER_TABLE = f"{SILVER_PREFIX}/service_requests"
SILVER_QUARANTINE = f"{SILVER_PREFIX}/quarantine"
SILVER_QUALITY = f"{SILVER_PREFIX}/_quality"

GOLD_PREFIX = "gold/boston311"
GOLD_TABLES = ("monthly_requests", "resolution_times", "neighborhood_scorecard", "open_backlog", "geo_grid")
GOLD_RUNS = f"{GOLD_PREFIX}/_runs"

DUCKDB_FILE = "lake.duckdb"
DASHBOARD_FILE = "dashboard/index.html"
SPARK_LOGS = "logs"  # the local runner's Spark log of each stage's last runs (on AWS: CloudWatch)


@dataclass(frozen=True)
class Lake:
    """A lake root and the paths of every stage under it."""

    root: str

    @classmethod
    def from_uri(cls, uri: str | None = None) -> Lake:
        """Build from a URI, ``$LAKE_ROOT`` or the default; local paths are made absolute, an S3 root is written
        ``s3://bucket/prefix`` (no slash around the prefix: ``s3://bucket//lake`` named the objects of key prefix
        ``lake/`` through ``key_prefix`` and of ``/lake/`` through ``path``)."""
        uri = uri or os.environ.get("LAKE_ROOT") or DEFAULT_LAKE
        if uri.startswith("s3://"):
            bucket, _, path = uri[len("s3://") :].partition("/")
            path = path.strip("/")
            return cls(f"s3://{bucket}/{path}" if path else f"s3://{bucket}")
        return cls(os.path.abspath(os.path.expanduser(uri)))

    @property
    def is_s3(self) -> bool:
        """True when the lake lives on S3."""
        return self.root.startswith("s3://")

    def _bucket_and_path(self) -> tuple[str, str]:
        """``s3://bucket/a/b`` -> (``bucket``, ``a/b``); ('', '') for a local lake."""
        bucket, _, path = self.root[len("s3://") :].partition("/") if self.is_s3 else ("", "", "")
        return bucket, path.strip("/")

    @property
    def bucket(self) -> str:
        """The S3 bucket of an ``s3://bucket[/prefix]`` lake ('' for a local lake, or a URI that names none)."""
        return self._bucket_and_path()[0]

    @property
    def key_prefix(self) -> str:
        """The S3 key prefix of the lake root with a trailing slash (``lake/``), or '' at the bucket's top."""
        path = self._bucket_and_path()[1]
        return f"{path}/" if path else ""

    def path(self, key: str) -> str:
        """The full path or URI of a key under the lake root."""
        return f"{self.root}/{key}"

    @property
    def bronze(self) -> str:
        return self.path(BRONZE_PREFIX)

    @property
    def silver(self) -> str:
        return self.path(SILVER_PREFIX)

    @property
    def gold(self) -> str:
        return self.path(GOLD_PREFIX)

    @property
    def duckdb(self) -> str:
        return self.path(DUCKDB_FILE)

    @property
    def dashboard(self) -> str:
        return self.path(DASHBOARD_FILE)

    def spark_log(self, stage: str) -> str:
        """The whole Spark log of the last local run of ``stage`` (``silver``, ``gold``), Java traces included; the
        four runs before it beside it as ``<stage>.log.1`` (the latest) to ``.4`` (scripts/spark-log4j2.properties)."""
        return self.path(f"{SPARK_LOGS}/{stage}.log")


def rerun_command(path: str, in_layout: str, stages: str) -> str:
    """The command that runs ``stages`` again on the local lake holding ``path`` where its layout puts ``in_layout``
    (``lake.duckdb``, ``gold/boston311``), as a message tells it to the user: ``make run LAKE=<root> ARGS="--stages
    <stages>"``, without LAKE= when ``path`` is not where the layout puts it (its lake is not known)."""
    path = path.rstrip("/")
    root = path.removesuffix(f"/{in_layout}") or "/"  # a lake at the file system's root
    return make_run_command(root if root != path else None, stages)


def make_run_command(root: str | None = None, stages: str | None = None) -> str:
    """``make run`` as a message tells it: on the lake at ``root`` (``LAKE=``, quoted for the shell; none: the
    default ``./lake``), of ``stages`` only (``ARGS="--stages …"``; none: the whole pipeline)."""
    lake = f" LAKE={shlex.quote(root)}" if root else ""
    only = f' ARGS="--stages {stages}"' if stages else ""
    return f"make run{lake}{only}"


def lake_argument(text: str) -> str:
    """The argparse type of every ``--lake``: a blank value (often an unset shell variable) is refused, not taken
    for the default ``./lake``."""
    if not text.strip():
        raise argparse.ArgumentTypeError(
            "is empty (an unset variable?): give a folder or s3://bucket[/prefix], or leave --lake out"
        )
    return text
