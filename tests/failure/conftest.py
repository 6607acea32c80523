from tests.sync.conftest import rep, run, syncing, turn_on  # noqa: F401 - shared fixtures
