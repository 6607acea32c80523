"""The sync fixtures (a rep connected to the emulator, real runs) for the browser tests."""

from tests.sync.conftest import rep, run, syncing, turn_on  # noqa: F401
