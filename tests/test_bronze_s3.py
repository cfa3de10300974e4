"""Bronze into an S3 lake under moto: faithful objects, SSE, metadata, multipart, re-runs, parity with local."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from bronze_helpers import (
    FAST,
    S3_BUCKET,
    S3_LAKE,
    S3_PREFIX,
    SAMPLE_BY_DATASET,
    big_csv,
    by_dataset,
    cut_short,
    data_keys,
    ingest,
    lake_files,
    manifests,
    s3_client_calling,
    s3_json,
    s3_keys,
    s3_manifests,
)
from bronze_storage import RUN_LOCK
from lake import BRONZE_MANIFESTS, BRONZE_STATE, Lake
from portal_standin import Fault, Portal

REPO = Path(__file__).resolve().parent.parent
VOLATILE = {"ingested_at"}  # differs between two runs by design


@pytest.mark.parametrize(
    ("uri", "bucket", "key_prefix"),
    [
        ("s3://my-lake/lake", "my-lake", "lake/"),
        ("s3://my-lake/a/b/", "my-lake", "a/b/"),
        ("s3://my-lake", "my-lake", ""),
        ("s3://my-lake/", "my-lake", ""),
        ("s3:///lake", "", "lake/"),  # names no bucket: refused by the callers
        ("/data/lake", "", ""),  # a local lake
        ("/srv/lake", "", ""),  # read as s3://, "/data/lake" would also give no bucket
    ],
)
def test_a_lake_uri_names_its_bucket_and_key_prefix(uri: str, bucket: str, key_prefix: str) -> None:
    lake = Lake.from_uri(uri)
    assert (lake.bucket, lake.key_prefix) == (bucket, key_prefix)
    if lake.is_s3:  # built from the URI as given (ingestao_bronze's check): "s3://my-lake/" keeps its slash
        assert (Lake(uri).bucket, Lake(uri).key_prefix) == (bucket, key_prefix)


def test_the_s3_client_fails_fast_on_a_dead_network_and_retries_a_flaky_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import bronze_storage

    for name in ("AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)  # the developer's own ~/.aws/config must not decide
    config = bronze_storage.s3_client(boto3.Session(region_name="us-east-1")).meta.config
    assert (config.connect_timeout, config.read_timeout) == (10, 60)  # botocore's default: 60 s to connect
    assert config.retries == {"mode": "standard", "total_max_attempts": 10}  # botocore's: 3 attempts

    # the user's own retry settings win: in the profile of ~/.aws/config ...
    aws_config = tmp_path / "config"
    aws_config.write_text("[default]\nmax_attempts = 4\nretry_mode = adaptive\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(aws_config))
    config = bronze_storage.s3_client(boto3.Session(region_name="us-east-1")).meta.config
    assert config.retries == {"mode": "adaptive", "total_max_attempts": 4}
    # ... or in the environment
    monkeypatch.setenv("AWS_RETRY_MODE", "legacy")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "3")
    config = bronze_storage.s3_client(boto3.Session(region_name="us-east-1")).meta.config
    assert config.retries == {"mode": "legacy", "total_max_attempts": 3}


def test_objects_are_byte_identical_encrypted_and_carry_sha256_and_source(s3: Any, portal_url: str) -> None:
    code = ingest(portal_url, S3_LAKE)

    assert code == 0
    [manifest] = s3_manifests(s3)
    assert manifest["lake"] == S3_LAKE
    for dataset, entry in by_dataset(manifest).items():
        obj = s3.get_object(Bucket=S3_BUCKET, Key=f"{S3_PREFIX}/{entry['key']}")
        body = obj["Body"].read()
        assert body == SAMPLE_BY_DATASET[dataset].read_bytes()
        assert obj["ServerSideEncryption"] == "AES256"
        assert obj["Metadata"]["sha256"] == hashlib.sha256(body).hexdigest() == entry["sha256"]
        assert obj["Metadata"]["source-url"] == entry["url"]
        assert obj["Metadata"]["resource-id"] == entry["resource_id"]
        assert obj["ContentType"] == "text/csv"
    for key in (BRONZE_STATE, f"{BRONZE_MANIFESTS}/{manifest['run_id']}.json"):
        head = s3.head_object(Bucket=S3_BUCKET, Key=f"{S3_PREFIX}/{key}")
        assert (head["ServerSideEncryption"], head["ContentType"]) == ("AES256", "application/json")


def test_a_url_or_id_s3_metadata_cannot_carry_is_percent_encoded_and_lands_like_the_others(
    s3: Any, portal: Portal, portal_url: str
) -> None:
    """S3 metadata is US-ASCII header text: botocore refused the portal's URL with an en dash as a storage failure,
    and every later resource went unattempted."""
    added = portal.add_csv(
        "311 SERVICE REQUESTS - 2023", SAMPLE_BY_DATASET["legacy_2011"], file_name="311 \u2013 2023.csv"
    )
    portal.resource(added).raw["id"] = "r\u00e9source\n2023"

    assert ingest(portal_url, S3_LAKE, "--years", "2022-2023", "--no-new-system") == 0

    entries = by_dataset(s3_manifests(s3)[0])
    assert {entry["status"] for entry in entries.values()} == {"landed"}
    metadata = s3.head_object(Bucket=S3_BUCKET, Key=f"{S3_PREFIX}/{entries['legacy_2023']['key']}")[
        "Metadata"
    ]
    assert metadata["source-url"].endswith("/download/311%20%E2%80%93%202023.csv")
    assert metadata["resource-id"] == "r%C3%A9source%0A2023"
    # the manifest keeps the URL as the portal listed it
    assert metadata["source-url"] == entries["legacy_2023"]["url"].replace(" \u2013 ", "%20%E2%80%93%20")


def test_kms_key_id_switches_to_sse_kms(s3: Any, portal_url: str) -> None:
    key_id = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["KeyId"]

    code = ingest(portal_url, S3_LAKE, "--kms-key-id", key_id, "--years", "2022", "--no-new-system")

    assert code == 0
    entry = by_dataset(s3_manifests(s3)[0])["legacy_2022"]
    head = s3.head_object(Bucket=S3_BUCKET, Key=f"{S3_PREFIX}/{entry['key']}")
    assert head["ServerSideEncryption"] == "aws:kms"
    assert key_id in head["SSEKMSKeyId"]
    # the manifest and the state get the same encryption as the data
    for key in (BRONZE_STATE, f"{BRONZE_MANIFESTS}/{s3_manifests(s3)[0]['run_id']}.json"):
        head = s3.head_object(Bucket=S3_BUCKET, Key=f"{S3_PREFIX}/{key}")
        assert head["ServerSideEncryption"] == "aws:kms" and key_id in head["SSEKMSKeyId"]


def test_file_over_16_mb_is_uploaded_in_parts(s3: Any, portal: Portal, portal_url: str) -> None:
    payload = big_csv(17 * 1024 * 1024)
    portal.add_csv("311 SERVICE REQUESTS - 2019", payload)

    code = ingest(portal_url, S3_LAKE, "--years", "2019", "--no-new-system")

    assert code == 0
    entry = by_dataset(s3_manifests(s3)[0])["legacy_2019"]
    obj = s3.get_object(Bucket=S3_BUCKET, Key=f"{S3_PREFIX}/{entry['key']}")
    assert obj["ETag"].strip('"').endswith("-2")  # a multipart upload of two 16 MiB parts
    assert hashlib.sha256(obj["Body"].read()).hexdigest() == hashlib.sha256(payload).hexdigest()
    assert obj["Metadata"]["sha256"] == entry["sha256"]


def test_rerun_lands_nothing_and_a_changed_resource_lands_a_new_ingest(
    s3: Any, portal: Portal, portal_url: str
) -> None:
    ingest(portal_url, S3_LAKE)
    first_keys = data_keys(s3_keys(s3))
    downloads = sum(portal.downloads.values())

    assert ingest(portal_url, S3_LAKE) == 0
    assert data_keys(s3_keys(s3)) == first_keys
    assert sum(portal.downloads.values()) == downloads

    changed = SAMPLE_BY_DATASET["legacy_2015"].read_bytes().replace(b"Animal Found", b"Animal Found!")
    portal.rewrite(portal.resource_id("legacy_2015"), changed)
    assert ingest(portal_url, S3_LAKE) == 0

    third = by_dataset(s3_manifests(s3)[-1])
    assert [d for d, e in third.items() if e["status"] == "landed"] == ["legacy_2015"]
    assert third["legacy_2015"]["key"] not in first_keys  # same day, other bytes: a distinct key
    assert set(data_keys(s3_keys(s3))) == set(first_keys) | {third["legacy_2015"]["key"]}
    first_2015 = by_dataset(s3_manifests(s3)[0])["legacy_2015"]["key"]
    assert s3.get_object(Bucket=S3_BUCKET, Key=f"{S3_PREFIX}/{first_2015}")["Body"].read() == (
        SAMPLE_BY_DATASET["legacy_2015"].read_bytes()
    )
    assert (
        s3.get_object(Bucket=S3_BUCKET, Key=f"{S3_PREFIX}/{third['legacy_2015']['key']}")["Body"].read()
        == changed
    )


def test_a_much_smaller_reissue_lands_byte_for_byte_and_its_entry_says_it_shrank(
    s3: Any, portal: Portal, portal_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    ingest(portal_url, S3_LAKE)
    before = by_dataset(s3_manifests(s3)[0])["legacy_2015"]["bytes"]
    half = cut_short("legacy_2015", 0.5)
    portal.rewrite(portal.resource_id("legacy_2015"), half)

    assert ingest(portal_url, S3_LAKE) == 0

    entry = by_dataset(s3_manifests(s3)[-1])["legacy_2015"]
    assert entry["status"] == "landed" and entry["shrunk_from_bytes"] == before
    assert s3.get_object(Bucket=S3_BUCKET, Key=f"{S3_PREFIX}/{entry['key']}")["Body"].read() == half
    assert (
        "shrunk_from_bytes" not in s3_json(s3, BRONZE_STATE)["resources"][portal.resource_id("legacy_2015")]
    )
    assert f"legacy_2015: the portal's new file has {len(half):,} bytes" in caplog.text


def test_local_backend_has_the_same_layout_and_manifest_as_s3(
    s3: Any, portal_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ingestao_bronze

    # both runs in the same second: same run_id, so the layouts can be compared key for key
    frozen = ingestao_bronze.utc_now()
    monkeypatch.setattr(ingestao_bronze, "utc_now", lambda: frozen)

    assert ingest(portal_url, S3_LAKE) == 0
    assert ingest(portal_url, tmp_path) == 0

    assert s3_keys(s3) == lake_files(tmp_path)
    [on_s3], [local] = s3_manifests(s3), manifests(tmp_path)
    assert {k: v for k, v in on_s3.items() if k not in ("lake", "resources")} == {
        k: v for k, v in local.items() if k not in ("lake", "resources")
    }
    assert [{k: v for k, v in e.items() if k not in VOLATILE} for e in on_s3["resources"]] == [
        {k: v for k, v in e.items() if k not in VOLATILE} for e in local["resources"]
    ]
    assert set(s3_json(s3, BRONZE_STATE)["resources"]) == set(
        json.loads((tmp_path / BRONZE_STATE).read_text())["resources"]
    )


def test_missing_bucket_is_a_configuration_error(
    s3: Any, portal_url: str, capsys: pytest.CaptureFixture
) -> None:
    code = ingest(portal_url, "s3://no-such-bucket/lake")

    assert code == 2
    assert (
        capsys.readouterr().err.strip()
        == "ingestao_bronze.py: error: The bucket no-such-bucket does not exist."
    )


@pytest.mark.parametrize(
    ("lake", "bucket", "endpoint"),
    [
        ("s3://Bad_Bucket!/x", "Bad_Bucket!", ""),
        ("s3://b:80/x", "b:80", "; an endpoint such as host:port goes in $AWS_ENDPOINT_URL"),
        (f"s3://{'a' * 256}", "a" * 256, ""),
    ],
    ids=["characters", "host-and-port", "too-long"],
)
@pytest.mark.parametrize("dry_run", [[], ["--dry-run"]], ids=["run", "dry-run"])
def test_an_invalid_bucket_name_is_one_sentence(
    s3: Any,
    portal: Portal,
    portal_url: str,
    capsys: pytest.CaptureFixture,
    lake: str,
    bucket: str,
    endpoint: str,
    dry_run: list[str],
) -> None:
    """botocore refuses such a name before any request, and its refusal was two lines quoting its regexes."""
    code = ingest(portal_url, lake, *dry_run)

    assert code == 2
    assert capsys.readouterr() == (
        "",
        f"ingestao_bronze.py: error: --lake names an invalid S3 bucket {bucket!r} (bucket names are 3-63 lower-case "
        f"letters, digits, dots and hyphens{endpoint}).\n",
    )
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == [S3_BUCKET] and s3_keys(s3) == []
    assert portal.paths == []


def test_a_bucket_name_botocore_takes_is_not_refused_before_s3_answers(
    s3: Any, portal_url: str, capsys: pytest.CaptureFixture
) -> None:
    """Only what botocore refuses is refused: a name S3 no longer gives out (upper case, from before 2018) is asked
    about, and S3 answers for it."""
    assert ingest(portal_url, "s3://Old_Bucket/lake") == 2

    assert capsys.readouterr().err == "ingestao_bronze.py: error: The bucket Old_Bucket does not exist.\n"


def test_cli_subprocess_lands_into_a_moto_server(portal_url: str, tmp_path: Path) -> None:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }
        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        client.create_bucket(Bucket=S3_BUCKET)

        result = subprocess.run(
            [
                sys.executable,
                str(REPO / "scripts/ingestao_bronze.py"),
                "--portal",
                portal_url,
                "--lake",
                S3_LAKE,
            ]
            + FAST
            + ["--quiet", "--work-dir", str(tmp_path / "work")],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

        assert result.returncode == 0, result.stderr
        assert result.stdout.strip().splitlines()[-1] == "landed 4, unchanged 0, failed 0"
        assert len(data_keys(s3_keys(client))) == 4
        assert list((tmp_path / "work").iterdir()) == []  # the staging folder is cleaned up
    finally:
        server.stop()


def test_dry_run_against_a_missing_bucket_is_the_configuration_error_of_a_run(
    s3: Any, portal: Portal, portal_url: str, capsys: pytest.CaptureFixture
) -> None:
    code = ingest(portal_url, "s3://no-such-bucket/lake", "--dry-run")

    assert code == 2
    assert capsys.readouterr() == (
        "",
        "ingestao_bronze.py: error: The bucket no-such-bucket does not exist.\n",
    )  # the sentence of a run, not of the state it could not read
    assert portal.paths == []


def test_a_dry_run_needs_only_read_access_to_an_s3_lake(
    aws_credentials: None, portal_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """A principal that may only read the bucket (``s3:GetObject`` and ``s3:ListBucket``; moto enforcing IAM)
    previews with --dry-run, and its run is refused in one sentence. A dry run never wrote to S3 (its check is the
    run's ``HeadBucket``, a read); unlike a local lake's it cannot tell whether a run could write, which S3 says only
    to a write, so it says nothing of it."""
    from moto import mock_aws
    from moto.core import set_initial_no_auth_action_count

    def principal(iam: Any, name: str, actions: list[str]) -> dict[str, str]:
        iam.create_user(UserName=name)
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": actions,
                    "Resource": [f"arn:aws:s3:::{S3_BUCKET}", f"arn:aws:s3:::{S3_BUCKET}/*"],
                }
            ],
        }
        iam.put_user_policy(UserName=name, PolicyName="lake", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}

    def as_principal(credentials: dict[str, str], *flags: str) -> int:
        for name, value in credentials.items():
            monkeypatch.setenv(name, value)
        return ingest(portal_url, S3_LAKE, *flags)

    @set_initial_no_auth_action_count(7)  # the bucket, two users, their policies and keys; then IAM decides
    @mock_aws
    def scenario() -> None:
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=S3_BUCKET)
        iam = boto3.client("iam", region_name="us-east-1")
        writer = principal(iam, "writer", ["s3:*"])
        # AWS checks s3:ListBucket for HeadBucket; moto asks for an action of that name
        reader = principal(iam, "reader", ["s3:GetObject", "s3:ListBucket", "s3:HeadBucket"])
        assert as_principal(writer, "--years", "2022", "--no-new-system") == 0
        client = boto3.client("s3", region_name="us-east-1", aws_access_key_id=writer["AWS_ACCESS_KEY_ID"], aws_secret_access_key=writer["AWS_SECRET_ACCESS_KEY"])  # fmt: skip
        keys_before = s3_keys(client)
        capsys.readouterr()

        assert as_principal(reader, "--dry-run") == 0

        out, err = capsys.readouterr()
        assert "legacy_2022    unchanged" in out and out.count("would fetch") == 3  # the state, read
        assert err == ""
        assert as_principal(reader) == 2  # the run: its lock is a write
        err = capsys.readouterr().err
        assert (
            err.startswith("ingestao_bronze.py: error: ") and "AccessDenied" in err and "Traceback" not in err
        )
        assert s3_keys(client) == keys_before

    scenario()


def test_a_bucket_that_refuses_writes_is_a_configuration_error(
    s3: Any, portal_url: str, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError

    import bronze_storage

    def access_denied(params: dict[str, Any], **_: Any) -> None:
        if not params["Key"].endswith(RUN_LOCK):  # the run lock is let through, to reach the lake's records
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "PutObject")

    monkeypatch.setattr(
        bronze_storage, "s3_client", s3_client_calling("before-parameter-build.s3.PutObject", access_denied)
    )

    code = ingest(portal_url, S3_LAKE, "--years", "2022", "--no-new-system")

    err = capsys.readouterr().err
    assert code == 2  # the object's record in the state, then the manifest, were refused: nothing landed
    assert err.startswith(
        "ingestao_bronze.py: error: Cannot write s3://boston311-lake-test/lake/bronze/boston311/_manifests/"
    )
    assert "AccessDenied" in err and "Traceback" not in err
    assert "the next run announces" not in err  # nothing landed, so there is nothing to announce later
    assert s3_keys(s3) == []


def test_an_s3_client_without_credentials_is_a_configuration_error(
    s3: Any, portal_url: str, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import NoCredentialsError

    import bronze_storage

    def no_credentials(**_: Any) -> None:
        raise NoCredentialsError()

    monkeypatch.setattr(
        bronze_storage, "s3_client", s3_client_calling("before-call.s3.HeadBucket", no_credentials)
    )

    assert ingest(portal_url, S3_LAKE) == 2

    assert capsys.readouterr().err == (
        f"ingestao_bronze.py: error: Cannot reach the bucket {S3_BUCKET}: Unable to locate credentials.\n"
    )


def test_work_dir_holds_the_downloads_of_an_s3_lake(
    s3: Any, portal_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bronze_storage

    commit, staged_in = bronze_storage.S3Store.commit_file, []

    def recording_commit(self: Any, local_path: str, key: str, metadata: dict[str, str]) -> None:
        staged_in.append(Path(local_path).parent.parent)
        commit(self, local_path, key, metadata)

    monkeypatch.setattr(bronze_storage.S3Store, "commit_file", recording_commit)
    work = tmp_path / "work"

    assert ingest(portal_url, S3_LAKE, "--work-dir", str(work)) == 0

    assert staged_in == [work] * 4
    assert list(work.iterdir()) == []


def test_a_body_over_the_size_cap_uploads_nothing_and_leaves_nothing_in_the_work_dir(
    s3: Any, portal: Portal, portal_url: str, tmp_path: Path
) -> None:
    portal.inject(portal.resource_id("legacy_2022"), Fault("endless", times=None))
    work = tmp_path / "work"

    code = ingest(portal_url, S3_LAKE, "--work-dir", str(work), "--max-file-bytes", "2000000")

    assert code == 1
    entries = by_dataset(s3_manifests(s3)[0])
    assert entries["legacy_2022"]["status"] == "failed"
    assert "more than the cap of 2,000,000 bytes" in entries["legacy_2022"]["error"]
    assert data_keys(s3_keys(s3)) == sorted(e["key"] for e in entries.values() if e["status"] == "landed")
    assert len(data_keys(s3_keys(s3))) == 3
    assert list(work.iterdir()) == []


def test_a_staging_folder_a_killed_run_left_in_the_work_dir_is_removed_a_day_later(
    s3: Any, portal_url: str, tmp_path: Path
) -> None:
    # A run killed while downloading to an S3 lake left its partial file in the temp folder for good (up to 190 MB).
    from bronze_storage import ABANDONED_STAGING_HOURS, S3_STAGING_PREFIX

    work = tmp_path / "work"
    killed, live = work / f"{S3_STAGING_PREFIX}0f3c", work / f"{S3_STAGING_PREFIX}1a9e"
    not_ours = work / "bronze-0f3c"  # another program's folder in the shared temp
    for folder in (killed, live, not_ours):
        folder.mkdir(parents=True)
        (folder / "tmptahr44h_.csv").write_bytes(b"case_id,open_date\n")
    day_and_a_bit = time.time() - (ABANDONED_STAGING_HOURS + 1) * 3600
    for path in (killed / "tmptahr44h_.csv", killed, not_ours / "tmptahr44h_.csv", not_ours):
        os.utime(path, (day_and_a_bit, day_and_a_bit))

    assert ingest(portal_url, S3_LAKE, "--work-dir", str(work)) == 0

    assert sorted(work.iterdir()) == [live, not_ours]  # a live run may still be downloading into its own


@pytest.mark.parametrize(
    ("event", "sentence"),
    [
        # the bucket is there, but these credentials may not look at it
        ("before-call.s3.HeadBucket", rf"Cannot reach the bucket {S3_BUCKET}: 403\."),
        # the run's records (its manifests, asked for before anything lands) are there, but may not be read:
        # not taken for a lake without them
        (
            "before-call.s3.HeadObject",
            rf"Cannot read s3://{S3_BUCKET}/lake/{BRONZE_MANIFESTS}/\d{{8}}T\d{{6}}Z\.json: 403\.",
        ),
    ],
    ids=["bucket", "state-object"],
)
def test_a_bucket_or_state_these_credentials_may_not_read_is_a_configuration_error(
    s3: Any,
    portal_url: str,
    capsys: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    event: str,
    sentence: str,
) -> None:
    from botocore.exceptions import ClientError

    import bronze_storage

    assert ingest(portal_url, S3_LAKE, "--years", "2022", "--no-new-system") == 0
    before = s3_keys(s3)

    def forbidden(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "403", "Message": "Forbidden"}}, event.rsplit(".", 1)[-1])

    monkeypatch.setattr(bronze_storage, "s3_client", s3_client_calling(event, forbidden))

    assert ingest(portal_url, S3_LAKE, "--years", "2022", "--no-new-system", "--force") == 2

    assert re.fullmatch(f"ingestao_bronze.py: error: {sentence}\n", capsys.readouterr().err)
    assert s3_keys(s3) == before  # nothing landed again over records it could not read
