"""Run one stage of the pipeline and kill it at its N-th durable write into the lake (the crash-point drill).

``python tests/crash_at.py STAGE JOB-ARGUMENTS…`` runs ``main`` of the stage's own module (``bronze``:
scripts/ingestao_bronze.py, ``silver``: glue/silver_job.py, ``gold``: emr/gold_job.py, ``serve``: the pipeline's
serve stage) with its choke points wrapped, so that each call that changes something under ``$CRASH_LAKE`` is
counted. At call ``$CRASH_AT`` (1-based) the process ends with ``os._exit(137)`` *before* that call runs, as a
SIGKILL would end it: no ``finally``, no handler, no flush. ``$CRASH_AT`` 0 never crashes. Each counted call is
appended to ``$CRASH_TRACE`` (when set) as ``<n>\\t<kind>\\t<path under the lake>``: the list of a run's points.
With ``$CRASH_SNAPSHOTS`` the run does not crash but copies the lake to ``$CRASH_SNAPSHOTS/<n>`` before each call:
what a kill at each point would leave, from one run (the writes before a point have all returned).
With ``$CRASH_SIGNAL`` (``TERM`` or ``INT``) the run is not ended at call ``$CRASH_AT`` but sent that signal, to itself
or, with ``$CRASH_SIGNAL_TO=parent``, to its parent (under ``spark-submit``, Spark's Java); it waits until the stage
has taken it (its ``INTERRUPTED`` flag is set), then makes the call and goes on: a ``kill`` at a known point.
``$CRASH_AT`` may then name a kind of call instead (``spark write``): the first call of that kind.

The choke points, found by reading the stages (nothing in them knows of this file):
- Silver and Gold: the Hadoop FileSystem every file operation of theirs goes through (``LakeFiles._fs`` and
  ``gold_job.filesystem``), wrapped so that ``create``, closing a created file (its bytes land), ``rename``,
  ``delete`` of something that exists and ``mkdirs`` of a missing folder count; Spark's own writes
  (``DataFrameWriter.parquet``: the staged tables); the run lock's folder (``os.makedirs``, ``os.rmdir``).
- Bronze and serving: the ``os``/``shutil``/``tempfile`` calls and ``open`` for writing, on paths under the lake.
"""

from __future__ import annotations

import builtins
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
KILLED = 137  # what a shell reports for a process ended by SIGKILL (128 + 9)
STAGE_MODULES = {
    "bronze": "ingestao_bronze",
    "silver": "silver_job",
    "gold": "gold_job",
    "serve": "run_pipeline",
}


class CrashPoints:
    """Counts the durable writes of one run under the lake root and ends the process at the chosen one."""

    def __init__(
        self, lake: str, crash_at: int | str, trace: str | None, snapshots: str | None = None
    ) -> None:
        self.lake = os.path.realpath(lake)
        self.crash_at = crash_at
        self.signal = os.environ.get("CRASH_SIGNAL")  # sent at crash_at instead of ending the process
        self.signal_to_parent = os.environ.get("CRASH_SIGNAL_TO") == "parent"
        self.taken: Any = None  # the stage's INTERRUPTED flag: the signal has been taken once it is set
        self.signalled = False
        self.count = 0
        self.trace = os.open(trace, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644) if trace else None
        self.snapshots = snapshots
        self.copytree, self.makedirs = shutil.copytree, os.makedirs  # the real ones, taken before wrap_os

    def relative(self, path: Any) -> str | None:
        """The path below the lake root ("" for the root itself), or None when it is outside the lake."""
        text = str(path).removeprefix("file:")
        if not text.startswith("/"):
            text = os.path.abspath(text)
        text = os.path.realpath(text)
        if text == self.lake:
            return ""
        return text[len(self.lake) + 1 :] if text.startswith(self.lake + os.sep) else None

    def point(self, kind: str, path: Any, target: Any = None) -> None:
        """One durable write about to happen: count it, trace it, and end the process when it is the chosen one."""
        where = self.relative(path)
        if where is None:
            return
        self.count += 1
        if target is not None:
            where = f"{where} -> {self.relative(target)}"
        if self.trace is not None:
            os.write(self.trace, f"{self.count}\t{kind}\t{where}\n".encode())
        if self.snapshots is not None:
            snapshot = os.path.join(self.snapshots, str(self.count))
            if os.path.isdir(self.lake):
                self.copytree(self.lake, snapshot, symlinks=True)
            else:  # nothing written yet: the lake is an empty folder's parent, or not there at all
                self.makedirs(snapshot)
        if self.signal and self.crash_at in (self.count, kind) and not self.signalled:
            self.signalled = True
            self.send_signal()
        elif self.count == self.crash_at and not self.signal:
            os._exit(KILLED)

    def send_signal(self) -> None:
        """Send ``$CRASH_SIGNAL`` and wait (at most a minute) until the stage has taken it."""
        os.kill(os.getppid() if self.signal_to_parent else os.getpid(), signal.Signals[f"SIG{self.signal}"])
        if self.taken is not None and not self.taken.wait(60):
            os.write(2, f"crash_at.py: the stage did not take SIG{self.signal} within a minute\n".encode())


class CountedStream:
    """A Hadoop output stream whose close (its bytes reach the file) is a crash point."""

    def __init__(self, stream: Any, path: str, points: CrashPoints) -> None:
        self._stream, self._path, self._points = stream, path, points

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def close(self) -> None:
        """Count, then close the Java stream."""
        self._points.point("close", self._path)
        self._stream.close()


class CountedFileSystem:
    """A Hadoop FileSystem whose changing calls are crash points; every other call goes to the real one."""

    def __init__(self, fs: Any, points: CrashPoints) -> None:
        self._fs, self._points = fs, points

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fs, name)

    def create(self, path: Any, *args: Any) -> CountedStream:
        """Count, then create the file."""
        self._points.point("create", path.toString())
        return CountedStream(self._fs.create(path, *args), path.toString(), self._points)

    def rename(self, source: Any, target: Any, *args: Any) -> Any:
        """Count, then rename."""
        self._points.point("rename", source.toString(), target.toString())
        return self._fs.rename(source, target, *args)

    def delete(self, path: Any, *args: Any) -> Any:
        """Count a delete of something that exists, then delete."""
        if self._fs.exists(path):
            self._points.point("delete", path.toString())
        return self._fs.delete(path, *args)

    def mkdirs(self, path: Any, *args: Any) -> Any:
        """Count a mkdirs of a missing folder, then make it."""
        if not self._fs.exists(path):
            self._points.point("mkdirs", path.toString())
        return self._fs.mkdirs(path, *args)


def wrap_os(points: CrashPoints) -> None:
    """Make the file calls Bronze, serving and the run locks use crash points (paths outside the lake pass)."""
    makedirs, replace, remove, rmdir, rename = os.makedirs, os.replace, os.remove, os.rmdir, os.rename
    rmtree, named_temporary, real_open = shutil.rmtree, tempfile.NamedTemporaryFile, builtins.open

    def counted_makedirs(name: Any, *args: Any, **kwargs: Any) -> None:
        if not os.path.isdir(name):
            points.point("makedirs", name)
        makedirs(name, *args, **kwargs)

    def counted_replace(source: Any, target: Any, *args: Any, **kwargs: Any) -> None:
        points.point("replace", source, target)
        replace(source, target, *args, **kwargs)

    def counted_rename(source: Any, target: Any, *args: Any, **kwargs: Any) -> None:
        points.point("rename", source, target)
        rename(source, target, *args, **kwargs)

    def counted_remove(path: Any, *args: Any, **kwargs: Any) -> None:
        points.point("remove", path)
        remove(path, *args, **kwargs)

    def counted_rmdir(path: Any, *args: Any, **kwargs: Any) -> None:
        if os.path.isdir(path) and not os.listdir(path):
            points.point("rmdir", path)
        rmdir(path, *args, **kwargs)

    def counted_rmtree(path: Any, *args: Any, **kwargs: Any) -> None:
        if os.path.exists(path):
            points.point("rmtree", path)
        rmtree(path, *args, **kwargs)

    def counted_named_temporary(*args: Any, **kwargs: Any) -> Any:
        points.point(
            "create", os.path.join(kwargs.get("dir") or tempfile.gettempdir(), kwargs.get("prefix", ""))
        )
        return named_temporary(*args, **kwargs)

    def counted_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if isinstance(file, (str, os.PathLike)) and any(flag in mode for flag in "wax+"):
            points.point("open", file)
        return real_open(file, mode, *args, **kwargs)

    os.makedirs, os.replace, os.rename, os.remove, os.unlink, os.rmdir = (
        counted_makedirs,
        counted_replace,
        counted_rename,
        counted_remove,
        counted_remove,
        counted_rmdir,
    )
    shutil.rmtree, tempfile.NamedTemporaryFile, builtins.open = (
        counted_rmtree,
        counted_named_temporary,
        counted_open,
    )


def wrap_spark_jobs(points: CrashPoints, patch: Callable[[Any, str, Any], None] = setattr) -> None:
    """Make Silver's and Gold's file system and Spark's Parquet writes crash points (``patch``: setattr, or a test's
    ``monkeypatch.setattr``)."""
    from pyspark.sql.readwriter import DataFrameWriter

    import gold_job
    import silver_job

    lake_files_fs, gold_filesystem, parquet = (
        silver_job.LakeFiles._fs,
        gold_job.filesystem,
        DataFrameWriter.parquet,
    )

    def counted_lake_files_fs(self: Any, path: str) -> tuple[CountedFileSystem, Any]:
        fs, hadoop_path = lake_files_fs(self, path)
        return CountedFileSystem(fs, points), hadoop_path

    def counted_gold_filesystem(spark: Any, uri: str) -> CountedFileSystem:
        return CountedFileSystem(gold_filesystem(spark, uri), points)

    def counted_parquet(self: Any, path: str, *args: Any, **kwargs: Any) -> None:
        points.point("spark write", path)
        parquet(self, path, *args, **kwargs)

    patch(silver_job.LakeFiles, "_fs", counted_lake_files_fs)
    patch(gold_job, "filesystem", counted_gold_filesystem)
    patch(DataFrameWriter, "parquet", counted_parquet)


def main(argv: list[str]) -> int:
    """Run the stage named by argv[0] with the rest as its arguments, its writes counted; its exit code."""
    stage, job_arguments = argv[0], argv[1:]
    for folder in ("scripts", "glue", "emr", "quicksight"):
        sys.path.insert(0, str(REPO / folder))
    crash_at = os.environ.get("CRASH_AT", "0")  # a number, or with $CRASH_SIGNAL a kind of call
    points = CrashPoints(
        os.environ["CRASH_LAKE"],
        int(crash_at) if crash_at.isdigit() else crash_at,
        os.environ.get("CRASH_TRACE"),
        os.environ.get("CRASH_SNAPSHOTS"),
    )
    module = __import__(STAGE_MODULES[stage])
    points.taken = getattr(module, "INTERRUPTED", None)
    if stage in ("silver", "gold"):
        wrap_spark_jobs(points)
    wrap_os(points)
    if stage == "silver":
        return module.main(["silver_job.py", *job_arguments])
    if stage == "serve":
        return module.main(["--stages", "serve", *job_arguments])
    return module.main(job_arguments)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
