"""What the repository's command lines share: a ``--help`` that a refusing stdout ends in one sentence.

``--help`` into a full disk (``> /dev/full``) or a pipe whose reader is gone (``| head -0``) ended as Python ends:
"Exception ignored … OSError", exit 120 (or, with ``PYTHONUNBUFFERED`` set, nothing at all and exit 0: argparse drops
the error); with no stdout at all (``>&-``) argparse wrote the help to stderr, exit 0. Now each of these is one
sentence on stderr and exit 2, as Bronze's report that stdout refuses is. Usage errors are not concerned: argparse
writes them to stderr.

The single-file jobs (``glue/silver_job.py``, ``emr/gold_job.py``) and ``emr/submit.py`` import nothing of the
repository and carry their own copies of ``help_to_stdout`` and ``stdout_to_devnull``, held equal to these by
tests/test_duplicated_on_purpose.py.
"""

from __future__ import annotations

import argparse
import os
import sys


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


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser, but for its ``--help``: one sentence (``prog: error: …``) and exit 2 when stdout refuses
    it (``help_to_stdout``)."""

    def print_help(self, file=None) -> None:  # noqa: ANN001 - argparse's signature
        """The help on stdout, as argparse prints it; SystemExit(2) after one sentence when stdout refuses it."""
        if file is not None:
            super().print_help(file)
        elif not help_to_stdout(self.format_help(), f"{self.prog}: error:"):
            self.exit(2)
