from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import DemoServer, start_demo_server


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[DemoServer]:
    """The demo MCP server as a child process on free loopback ports."""
    demo = start_demo_server(tmp_path)
    try:
        yield demo
    finally:
        demo.proc.stop()


@pytest.fixture(scope="module")
def shared_demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    """One demo server for a whole test module (cheaper when tests only read)."""
    demo = start_demo_server(tmp_path_factory.mktemp("demo"))
    try:
        yield demo
    finally:
        demo.proc.stop()
