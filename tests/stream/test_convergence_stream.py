"""The convergence property with the change feed on (R19): the same interleavings of changes on
both sides and sync cycles with faults as tests/proof/test_convergence.py, plus the stream
handing events on in between — with dropped and repeated events, broken streams, and subscribers
killed and restarted from their stored replay id. Once the faults are gone, the stream is drained
and the safety-net poll runs: both sides equal, nothing duplicated, nothing lost, no deletion
resurrected, every same-field conflict recorded.
"""

from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks import harness
from tasksync.models import StreamState, SyncState
from tasksync.sync.stream import OrgSubscriber, stream_lease_acquire
from tests.proof.helpers import fresh_connected_user
from tests.proof.test_convergence import LONG, Model, operation

STREAM_FAULTS = ["none", "none", "drop", "repeat", "break", "restart"]
with_stream = st.one_of(operation, st.tuples(st.just("stream"), st.sampled_from(STREAM_FAULTS)))


class StreamModel(Model):
    def __init__(self, sf_emulator, connection, pubsub_server):
        super().__init__(sf_emulator, connection)
        self.faults = pubsub_server.faults
        self.org_id = connection.org.org_id
        self.generation = 0
        self.subscriber = self._start()

    def _start(self):
        self.generation += 1
        subscriber = OrgSubscriber(self.org_id, owner=f"machine-{self.generation}")
        StreamState.objects.filter(org_id=self.org_id).update(
            lease_until=timezone.now() - timedelta(seconds=1)
        )
        assert stream_lease_acquire(org_id=self.org_id, owner=subscriber.owner)
        return subscriber

    def stream(self, fault):
        if fault == "restart":  # killed; another machine resumes from the stored replay id
            self.subscriber = self._start()
        self.faults.break_after = 0 if fault == "break" else None
        self.faults.drop_events = int(fault == "drop")
        self.faults.repeat_events = int(fault == "repeat")
        # One subscription, as run() makes them: resume from the stored id, hand events on.
        self.subscriber.attempt(timeout=0.15)
        self.log.append(f"  -> stream handed on {self.subscriber.handed_on} events so far")
        self.faults.clear()

    def settle(self):
        self.faults.clear()
        self.subscriber.attempt(timeout=0.3)  # the stream drained, faults gone
        super().settle()  # the safety-net poll


@pytest.mark.django_db
@settings(
    max_examples=150 if LONG else 8,
    deadline=None,
    derandomize=not LONG,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(with_stream, min_size=1, max_size=30 if LONG else 20))
def test_it_converges_with_the_feed_on_whatever_the_stream_does(
    ops, sf_emulator, stream_settings, pubsub_server
):
    # R19 (events are hints: a dropped, repeated or replayed event loses and duplicates nothing),
    # with R1, R2, R6, R8, R10, R11, R12 as in the property without the feed.
    connection = fresh_connected_user(sf_emulator)
    SyncState.objects.update(enabled=False)  # earlier examples' users: not in this org any more
    StreamState.objects.all().delete()
    with harness.jobs_suppressed():
        harness.turn_on(connection.user)
        harness.cycle(connection.user, "first_sync")
        model = StreamModel(sf_emulator, connection, pubsub_server)
        for op in ops:
            model.apply(op)
        model.settle()
        model.check()
