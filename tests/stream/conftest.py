"""Fixtures for the change stream (R19): the emulator's Pub/Sub API server (in this process, so
its faults can be set), settings pointed at it, and a subscriber for the demo org."""

import pytest

from tasksync.sync.stream import OrgSubscriber, stream_lease_acquire


@pytest.fixture
def pubsub_server(sf_emulator_server, sf_emulator):
    if sf_emulator_server is None:
        pytest.skip("the Pub/Sub API faults need the emulator in this process")
    server = sf_emulator_server.pubsub
    server.faults.clear()
    server.service.emu.store.change_events.retention_ms = 72 * 3600 * 1000
    yield server
    server.faults.clear()


@pytest.fixture
def stream_settings(salesforce_settings, pubsub_server):
    salesforce_settings.SALESFORCE_PUBSUB_URL = pubsub_server.target
    return salesforce_settings


@pytest.fixture
def subscriber(stream_settings, syncing):
    """A subscriber holding the demo org's stream lease (not yet subscribed)."""
    org_id = syncing.salesforce_connection.org.org_id
    holder = OrgSubscriber(org_id, owner="test-subscriber")
    assert stream_lease_acquire(org_id=org_id, owner=holder.owner)
    yield holder
    holder.close()
