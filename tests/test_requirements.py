"""requirements.txt (what the project uses) and constraints.txt (every package installed, pinned) agree.

make installs with both (``pip install -r requirements.txt -c constraints.txt``), so a fresh machine gets the
versions the suite passed with, transitive ones included; ``make lock`` re-pins constraints.txt.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

import pytest

from conftest import REPO

# what the virtualenv holds is checked only in it: elsewhere other packages are installed
IN_PROJECT_VIRTUALENV = pytest.mark.skipif(
    Path(sys.prefix).resolve() != (REPO / ".venv").resolve(),
    reason="runs in the project's virtualenv only (make test), whose packages constraints.txt describes",
)
PIN = re.compile(r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==(?P<version>\S+)")


def canonical(name: str) -> str:
    """A distribution name as pip compares them (PEP 503: case and runs of -_. do not count)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    """name -> version of every ``name==version`` line of a requirements file (comments and blanks skipped)."""
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = PIN.fullmatch(line)
        assert match, f"{path.name}: {line!r} is not pinned as name==version"
        found[canonical(match["name"])] = match["version"]
    return found


def test_every_requirement_is_pinned_to_the_same_version_in_the_constraints():
    requirements, constraints = pins(REPO / "requirements.txt"), pins(REPO / "constraints.txt")
    differing = {
        name: (version, constraints.get(name))
        for name, version in requirements.items()
        if constraints.get(name) != version
    }
    assert not differing, f"requirements.txt and constraints.txt differ (run make lock): {differing}"


@IN_PROJECT_VIRTUALENV
def test_every_installed_package_is_in_the_constraints_at_its_installed_version():
    constraints = pins(REPO / "constraints.txt")
    installed = {canonical(d.metadata["Name"]): d.version for d in metadata.distributions()}
    unpinned = {name: version for name, version in installed.items() if constraints.get(name) != version}
    assert not unpinned, (
        f"installed but not pinned at that version in constraints.txt (run make lock, then make test): {unpinned}"
    )


# The oldest Python 3.11 the project installs on: Debian 12's, which .ci/run installs on a fresh machine.
OLDEST_PYTHON = "3.11.2"


@IN_PROJECT_VIRTUALENV
def test_every_installed_package_installs_on_the_oldest_python_311():
    """A pin whose Requires-Python leaves out Debian 12's 3.11.2 makes pip's install fail there with
    ResolutionImpossible (soupsieve 3.x asks for 3.11.5), though every other 3.11 installs it."""
    from packaging.specifiers import SpecifierSet

    refusing = {
        d.metadata["Name"]: d.metadata["Requires-Python"]
        for d in metadata.distributions()
        if d.metadata["Requires-Python"] and OLDEST_PYTHON not in SpecifierSet(d.metadata["Requires-Python"])
    }
    assert not refusing, (
        f"these pins do not install on Python {OLDEST_PYTHON}: {refusing}; pin an older release in "
        "requirements.txt (with a comment saying why), then make lock"
    )
