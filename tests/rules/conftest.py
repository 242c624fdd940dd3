"""``promtool`` for the rules tests: the Debian ``prometheus`` package's binary.

Missing promtool skips the tests, or fails them under ``CI=true``
(``scripts/ensure-prometheus.sh`` installs it; ``make test`` runs it).
"""

from __future__ import annotations

import os
import shutil

import pytest


@pytest.fixture(scope="session")
def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        msg = (
            "promtool not found: install the Debian 'prometheus' package "
            "(scripts/ensure-prometheus.sh, run by `make test`)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return found
