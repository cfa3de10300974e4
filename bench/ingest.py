"""Benchmark the Bronze ingest: one >= 1 GB CSV on loopback, into the local lake and a moto S3 server, vs curl.

Builds ``bench/out/ingest/legacy_big.csv`` from the real samples' rows (the 29-column header, the 2011 and
2022 rows repeated), serves it through the portal stand-in (302 to the presigned-S3-like path), and
in the same run times ``curl -o`` of the same URL, ``curl | tee | sha256sum`` (the ingest's own work: download,
write, hash, in C tools) and the ingest into a local lake, alternately for
``--rounds`` rounds (best and median compared: the machine's load moves single runs a lot), then the
ingest into a ThreadedMotoServer. The ingest runs as a subprocess whose resident set is sampled (psutil).

    python bench/ingest.py [--size-mb 1100] [--rounds 3] [--skip-s3] [--keep]

Targets (issue 2): peak RSS <= 200 MB whatever the file size; local throughput >= 80% of curl's.
bench/out/ingest is git-ignored and removed at the end unless --keep.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import logging
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))

from portal_standin import FIXTURES, Portal, serve  # noqa: E402

OUT = REPO / "bench" / "out" / "ingest"  # its own folder: other benchmarks share bench/out
SCRIPT = REPO / "scripts" / "ingestao_bronze.py"
SOURCES = ("legacy_2011_old29col_raw_first3000.csv", "legacy_2022_old29col_qsv-sample100.csv")
BUCKET = "bench-lake"
MB = 1_000_000
RSS_TARGET_MB = 200
RATIO_TARGET = 0.80


def build_csv(path: Path, min_bytes: int) -> tuple[int, str]:
    """Write a legacy-29 CSV of at least ``min_bytes`` from the real rows; return (size, sha256)."""
    header, rows = b"", b""
    for name in SOURCES:
        lines = (FIXTURES / name).read_bytes().splitlines(keepends=True)
        header = header or lines[0]
        rows += b"".join(lines[1:])
    block = rows * max(1, (8 * MB) // len(rows))
    digest, size = hashlib.sha256(header), len(header)
    with open(path, "wb") as out:
        out.write(header)
        while size < min_bytes:
            out.write(block)
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()


def timed_curl(url: str, target: Path) -> tuple[float, float]:
    """(seconds, CPU seconds) for ``curl -L -o`` of the URL."""
    started = time.perf_counter()
    process = subprocess.Popen(["curl", "-sS", "-L", "--max-redirs", "3", "-o", str(target), url])
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"curl failed on {url}")
    target.unlink()
    return elapsed, usage.ru_utime + usage.ru_stime


def timed_curl_hashed(url: str, target: Path, sha256: str) -> tuple[float, float]:
    """(seconds, CPU seconds) for the ingest's own work done by C tools: ``curl -L`` piped through ``tee`` into the
    file and into ``sha256sum`` (the pipeline's CPU: wait4 on the shell counts the children it waited for)."""
    pipeline = (
        f"set -o pipefail; curl -sS -L --max-redirs 3 {shlex.quote(url)} | tee {shlex.quote(str(target))} "
        "| sha256sum"
    )
    started = time.perf_counter()
    process = subprocess.Popen(["bash", "-c", pipeline], stdout=subprocess.PIPE, text=True)
    printed = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0 or not printed.startswith(sha256):
        raise RuntimeError(f"curl | tee | sha256sum failed on {url}")
    target.unlink()
    return elapsed, usage.ru_utime + usage.ru_stime


def timed_ingest(
    portal_url: str, lake: str, size: int, env: dict[str, str]
) -> tuple[float, float, float, int]:
    """Run the ingest CLI as a child: (seconds, CPU seconds, peak RSS in MB, exit code).

    Its size cap is the file's own size, so that any --size-mb is timed (the cap is not what is measured).

    The peak is the child's resident set sampled every 50 ms (psutil). ``wait4``'s ru_maxrss is
    printed beside it but not used: Linux carries the parent's resident size at fork time into
    the child's high-water mark, so it over-states a small child forked from a large parent.
    """
    import psutil

    command = [
        sys.executable,
        str(SCRIPT),
        "--portal",
        portal_url,
        "--lake",
        lake,
        "--quiet",
        "--no-new-system",
        "--max-file-bytes",
        str(size),
    ]
    started = time.perf_counter()
    process = psutil.Popen(command, env=env, stdout=subprocess.DEVNULL)
    peak, done = 0, threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            with contextlib.suppress(psutil.Error):
                peak = max(peak, process.memory_info().rss)
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    print(f"  ({lake}: wait4 ru_maxrss {usage.ru_maxrss / 1024:,.0f} MB, sampled peak {peak / MB:,.0f} MB)")
    return elapsed, usage.ru_utime + usage.ru_stime, peak / MB, os.waitstatus_to_exitcode(status)


def sha256_of(path: Path) -> str:
    """The sha256 of a file, read in 8 MB blocks (the benchmark process stays small too)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(8 * MB):
            digest.update(block)
    return digest.hexdigest()


def moto_environment(endpoint: str) -> dict[str, str]:
    """The child's environment for the moto server: fake credentials, endpoint override."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ENDPOINT_URL=endpoint,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    return env


def build_parser() -> argparse.ArgumentParser:
    """The command line's flags (main checks the sizes)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1100, help="minimum file size in MB (default 1100)")
    parser.add_argument("--skip-s3", action="store_true", help="only the local lake")
    parser.add_argument("--keep", action="store_true", help="keep bench/out/ingest afterwards")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="alternating curl / local-ingest rounds (default 3); best and median",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Build the file, serve it, time curl and the two ingests, print the figures."""
    parser = build_parser()
    args = parser.parse_args(argv)
    for flag, value in (("--size-mb", args.size_mb), ("--rounds", args.rounds)):
        if value < 1:
            parser.error(f"{flag} must be at least 1, got {value}")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the moto server's request log

    if shutil.which("curl") is None:
        print("bench/ingest.py: curl is required for the comparison.", file=sys.stderr)
        return 2
    OUT.mkdir(parents=True, exist_ok=True)
    try:
        source = OUT / "legacy_big.csv"
        size, sha256 = build_csv(source, args.size_mb * MB)
        print(
            f"file: {size:,} bytes ({size / MB:,.0f} MB), sha256 {sha256[:16]}…; load average {os.getloadavg()}"
        )

        portal = Portal.from_fixtures()
        for resource in [r for r in portal.resources if r.path is not None]:
            portal.remove(resource.resource_id)
        resource_id = portal.add_csv("311 SERVICE REQUESTS - 2011", source, file_name="legacy_big.csv")
        with serve(portal) as base:
            url = portal.download_url(base, portal.resource(resource_id))
            rows, curl_runs, hashed_runs, local_runs = [], [], [], []
            for round_number in range(1, args.rounds + 1):
                seconds, cpu = timed_curl(url, OUT / "curl.csv")
                curl_runs.append(seconds)
                rows.append((f"curl -o #{round_number}", seconds, cpu, None, 0))
                seconds, cpu = timed_curl_hashed(url, OUT / "curl.csv", sha256)
                hashed_runs.append(seconds)
                rows.append((f"curl|tee|sha256sum #{round_number}", seconds, cpu, None, 0))
                lake = OUT / "lake"
                local = timed_ingest(base, str(lake), size, {**os.environ, "LAKE_ROOT": ""})
                landed = next(lake.glob("bronze/boston311/dataset=legacy_2011/ingest_date=*/legacy_big.csv"))
                assert sha256_of(landed) == sha256, "local copy differs"
                shutil.rmtree(lake)
                local_runs.append(local)
                rows.append((f"ingest -> local #{round_number}", *local))
            if not args.skip_s3:
                rows.append(("ingest -> moto S3", *s3_ingest(base, size, sha256)))

        best_curl = min(curl_runs)
        best_local = min(local_runs)
        print(
            f"\n{'run':<22} {'seconds':>8} {'MB/s':>8} {'CPU s':>7} {'peak RSS MB':>12} {'vs curl':>8}  exit"
        )
        for label, seconds, cpu, rss, code in rows:
            rss_text = f"{rss:,.0f}" if rss is not None else "-"
            print(
                f"{label:<22} {seconds:>8.2f} {size / MB / seconds:>8.0f} {cpu:>7.2f} {rss_text:>12} "
                f"{best_curl / seconds:>8.2f}  {code}"
            )
        print(
            f"\nlocal lake, best of {args.rounds} vs best of {args.rounds}: {best_curl / best_local[0]:.0%} of "
            f"curl's throughput (median {statistics.median(curl_runs) / statistics.median(r[0] for r in local_runs):.0%};"
            f" target >= {RATIO_TARGET:.0%}); peak RSS {max(r[2] for r in local_runs):.0f} MB "
            f"(target <= {RSS_TARGET_MB} MB); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
        )
        print(
            f"the same work in C tools (curl | tee | sha256sum: download, write, hash): the local lake at "
            f"{min(hashed_runs) / best_local[0]:.0%} of its throughput, best of {args.rounds} vs best of "
            f"{args.rounds} (median {statistics.median(hashed_runs) / statistics.median(r[0] for r in local_runs):.0%})"
        )
    finally:
        if not args.keep:
            shutil.rmtree(OUT, ignore_errors=True)
    return 0


def s3_ingest(base: str, size: int, sha256: str) -> tuple[float, float, float, int]:
    """Ingest into a ThreadedMotoServer bucket; checks size and the recorded sha256."""
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        env = moto_environment(f"http://{host}:{port}")
        client = boto3.client(
            "s3",
            endpoint_url=env["AWS_ENDPOINT_URL"],
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        )
        client.create_bucket(Bucket=BUCKET)
        result = timed_ingest(base, f"s3://{BUCKET}/lake", size, {**env, "LAKE_ROOT": ""})
        listing = client.list_objects_v2(Bucket=BUCKET, Prefix="lake/bronze/boston311/dataset=")["Contents"]
        head = client.head_object(Bucket=BUCKET, Key=listing[0]["Key"])
        assert head["ContentLength"] == size and head["Metadata"]["sha256"] == sha256, "S3 copy differs"
        return result
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
