"""pytest fixtures: `pytest_plugins = ["salesforce_emulator.pytest_plugin"]`.

`sf_emulator_server` (session) runs the emulator in background threads of the test process on
free ports, data under pytest's tmp dir. `sf_emulator` (function) resets it and returns an
EmulatorHandle. Set SF_EMULATOR_URL=http://host:port (login port) and SF_EMULATOR_CA=path to
use an already running emulator instead (it is reset before each test all the same).
"""

from __future__ import annotations

import os

import pytest

from .testing import EmulatorHandle


@pytest.fixture(scope="session")
def sf_emulator_server(tmp_path_factory):
    if os.environ.get("SF_EMULATOR_URL"):
        yield None
        return
    from .server import EmulatorServer

    server = EmulatorServer(tmp_path_factory.mktemp("sf-emulator"), port=0, login_port=0)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def sf_emulator(sf_emulator_server) -> EmulatorHandle:
    if sf_emulator_server is None:
        handle = EmulatorHandle.remote(
            os.environ["SF_EMULATOR_URL"], os.environ.get("SF_EMULATOR_CA", "")
        )
    else:
        handle = EmulatorHandle.in_process(sf_emulator_server)
    handle.reset()
    return handle
