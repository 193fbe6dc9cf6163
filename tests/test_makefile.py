"""What `make demo` and `make test` install: the demo only what it runs, the tests the rest."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.support import REPO

TEST_ONLY = {"libreoffice-calc", "postgresql", "mono-mcs", "libmono-system-data4.0-cil", "libmono-system-xml4.0-cil"}


def _debian_packages(target: str) -> set[str]:
    """The Debian packages ``make <target>`` would check for and install (a dry run: nothing is installed)."""
    planned = subprocess.run(["make", "-n", "-C", str(REPO), target], capture_output=True, text=True, timeout=60,
                             check=True).stdout
    return {p for packages in re.findall(r"for p in ([^;]*);", planned) for p in packages.split()}


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_demo_installs_only_the_broker_and_make_test_the_test_packages_too():
    # the demo used to install LibreOffice, PostgreSQL and Mono (86 packages, 332 MB) before it showed anything
    demo, tests = _debian_packages("demo"), _debian_packages("test")
    assert demo == {"mosquitto"}
    assert TEST_ONLY | {"mosquitto"} <= tests
