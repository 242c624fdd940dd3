"""Fixtures for ``slm serve`` (helpers in ``serve_helpers``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from serve_helpers import ServerProcess


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[type[ServerProcess]]:
    """Start servers with ``serve(paths, workdir, *args).start()``; all stopped at the end."""
    started: list[ServerProcess] = []

    class Tracked(ServerProcess):
        def start(self, timeout: float = 90.0) -> ServerProcess:
            started.append(self)
            return super().start(timeout)

    yield Tracked
    for server in started:
        server.kill()
