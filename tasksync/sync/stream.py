"""R19: the org's change feed. A long-running subscriber (`manage.py stream_changes`) holds one
org's `/data/TaskChangeEvent` stream through the Pub/Sub API and turns each event into a targeted
pull of the owners it names.

- Events are hints (R19, R9): the pull stays the source of truth, so a dropped, repeated or
  out-of-order event loses nothing; an echo of tasksync's own write costs no pull.
- The replay id is stored after each event has been handed on, so a subscriber killed at any
  point resumes right after the last event it handed on; an event handed on twice only queues a
  second pull, which changes nothing (the pull is idempotent).
- A replay id Salesforce no longer keeps (72 h) is dropped: the stream restarts at LATEST and every
  syncing user of the org gets a catch-up pull.
- A lease per org (conditional UPDATE, like the per-user sync lease) lets any number of machines
  run the subscriber: one holds the org, the others wait for its lease to lapse.
- While the stream is healthy polling slows to SYNC_STREAM_SAFETY_POLL_SECONDS
  (`stream_is_healthy`, read by cadence.poll_interval); when it breaks, the org's users are due
  for a poll at once.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid

from django.conf import settings

from accounts.salesforce import pubsub
from tasksync.models import StreamHealth, StreamState
from tasksync.sync import stream_hints
from tasksync.sync.stream_services import (
    known_links,
    queue_owner_pulls,
    stream_batch_counted,
    stream_catch_up,
    stream_connection,
    stream_event_handed_on,
    stream_is_healthy,
    stream_lease_acquire,
    stream_lease_release,
    stream_lease_renew,
    stream_mark,
    streamable_orgs,
)

__all__ = ["OrgSubscriber", "run_subscribers", "stream_is_healthy", "stream_lease_acquire"]

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 2.0
BATCH = 100  # events granted per FetchRequest (the documented maximum)
_END = object()


class OrgSubscriber:
    """One org's subscription. `open()` subscribes, `process()` hands events on in the calling
    thread (a reader thread only moves gRPC responses into a queue), `run()` does both for as long
    as the lease holds, reconnecting with back-off."""

    def __init__(self, org_id: str, *, owner: str | None = None, target: str | None = None):
        self.org_id = org_id
        self.owner = owner or f"stream-{uuid.uuid4().hex[:12]}"
        self.target = target or settings.SALESFORCE_PUBSUB_URL
        self.client: pubsub.PubSubClient | None = None
        self.subscription: pubsub.Subscription | None = None
        self.schemas: dict[str, pubsub.Schema] = {}
        self.responses: queue.Queue = queue.Queue()
        self.handed_on = 0  # events handed on by this subscriber (tests, benchmark)

    # -- one subscription ------------------------------------------------------------------
    def open(self) -> None:
        """Subscribe from the stored replay id, or from LATEST with a catch-up pull. Raises a
        pubsub.PubSubError subclass, or LookupError when the org has no usable connection."""
        self.close()
        connection = stream_connection(self.org_id)
        if connection is None:
            raise LookupError("no connected user with sync on in this org")
        self.client = pubsub.PubSubClient(
            target=self.target,
            instance_url=connection.instance_url,
            org_id=self.org_id,
            access_token=connection.access_token,
            ca_bundle=settings.SALESFORCE_CA_BUNDLE,
            timeout=settings.SALESFORCE_TIMEOUT,
        )
        self.connection = connection
        topic = self.client.topic(pubsub.TASK_TOPIC)
        if not topic.can_subscribe:
            raise pubsub.NotPermitted("the user may not subscribe to Task change events")
        self._schema(topic.schema_id)
        state = StreamState.objects.get(org_id=self.org_id)
        replay = bytes.fromhex(state.replay_id) if state.replay_id else None
        self._subscribe(replay)
        if replay is None:
            stream_catch_up(org_id=self.org_id, why="no stored replay id: started at LATEST")

    def _subscribe(self, replay: bytes | None) -> None:
        self.responses = queue.Queue()
        self.subscription = self.client.subscribe(replay_id=replay, batch=BATCH)
        subscription, responses = self.subscription, self.responses

        def read():
            try:
                for response in subscription:
                    responses.put(response)
            except pubsub.PubSubError as exc:
                responses.put(exc)
            responses.put(_END)

        threading.Thread(target=read, daemon=True, name=f"stream-{self.org_id}").start()

    def _schema(self, schema_id: str) -> pubsub.Schema:
        if schema_id not in self.schemas:
            self.schemas[schema_id] = self.client.schema(schema_id)
        return self.schemas[schema_id]

    def close(self) -> None:
        if self.subscription is not None:
            self.subscription.close()
            self.subscription = None
        if self.client is not None:
            self.client.close()
            self.client = None

    def process(self, *, until=None, timeout: float | None = None) -> None:
        """Hand events on as they come, beating the lease, until `until()` is true, `timeout`
        seconds pass, the lease is lost (LeaseLost) or the stream fails (a PubSubError)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        healthy = False
        beat = time.monotonic()
        while not (until and until()):
            if deadline is not None and time.monotonic() >= deadline:
                return
            try:
                item = self.responses.get(timeout=HEARTBEAT_SECONDS if until is None else 0.05)
            except queue.Empty:
                item = None
            if isinstance(item, pubsub.PubSubError):
                raise item
            if item is _END:
                raise pubsub.StreamBroken("the stream ended")
            if not healthy:
                stream_mark(self.org_id, self.owner, StreamHealth.HEALTHY)
                healthy = True
            if item is not None:
                self._hand_on(item)
            if time.monotonic() - beat >= HEARTBEAT_SECONDS:
                beat = time.monotonic()
                if not stream_lease_renew(org_id=self.org_id, owner=self.owner):
                    raise LeaseLost(self.org_id)

    def _hand_on(self, response) -> None:
        """R19: one FetchResponse: each event's owners get a pull (once per batch), then its
        replay id is stored; the credit spent is granted again."""
        queued: set[int] = set()
        echoes = 0
        for consumer_event in response.events:
            event = self._schema(consumer_event.event.schema_id).decode(
                consumer_event.replay_id, consumer_event.event.payload
            )
            pulled = self._pulls_for(event)
            if pulled is None:
                echoes += 1
            else:
                queued |= pulled
            # Stored only now that the event is handed on: a crash before this line replays it.
            stream_event_handed_on(org_id=self.org_id, owner=self.owner, replay_id=event.replay_id)
            self.handed_on += 1
        stream_batch_counted(org_id=self.org_id, echoes=echoes, pulls=len(queued))
        if response.events and self.subscription is not None:
            self.subscription.request(len(response.events))
        elif not response.events and response.latest_replay_id:
            # A keep-alive: every event up to its position has been handed on (responses come in
            # order), so a quiet org's stored id stays inside the 72-hour window.
            StreamState.objects.filter(org_id=self.org_id, lease_owner=self.owner).update(
                replay_id=response.latest_replay_id.hex()
            )

    def _pulls_for(self, event) -> set[int] | None:
        """The users whose pull one event queued; None when it is an echo of our own write."""
        if event.change_type == "OVERFLOW":
            # Too many changes in one transaction for single events: pull everyone once.
            stream_catch_up(org_id=self.org_id, why="overflow event")
        links = known_links(self.org_id, event.record_ids)
        echo = len(event.record_ids) == 1 and stream_hints.is_echo(
            change_type=event.change_type,
            changed_fields=event.changed_fields,
            values=event.values,
            link=links[0] if links else None,
        )
        if echo:
            return None
        owners = stream_hints.owners_named(
            values=event.values, commit_user=event.commit_user, links=links
        )
        return set(queue_owner_pulls(org_id=self.org_id, sf_user_ids=owners))

    # -- the long run ----------------------------------------------------------------------
    def attempt(self, *, until=None, timeout: float | None = None) -> float | None:
        """One subscription, from open to failure: hands events on until `until()`/`timeout`,
        then says how long to wait before the next attempt (None: the lease is lost, stop)."""
        try:
            self.open()
            self.process(until=until, timeout=timeout)
            return 0.0
        except LeaseLost:
            return None
        except pubsub.ReplayIdRefused as exc:
            # Past the retention window: start again at LATEST, with a catch-up pull (open()).
            StreamState.objects.filter(org_id=self.org_id).update(replay_id="")
            stream_mark(self.org_id, self.owner, StreamHealth.BROKEN, f"replay id refused: {exc}")
            return 0.0
        except pubsub.AuthFailed:
            return 0.0 if self._refresh_token() else 60.0
        except pubsub.TopicNotFound as exc:
            stream_mark(self.org_id, self.owner, StreamHealth.NOT_ENABLED, str(exc))
            return 60.0
        except pubsub.NotPermitted as exc:
            stream_mark(self.org_id, self.owner, StreamHealth.NOT_PERMITTED, str(exc))
            return 60.0
        except LookupError as exc:
            stream_mark(self.org_id, self.owner, StreamHealth.NO_CONNECTION, str(exc))
            return 60.0
        except (pubsub.PubSubError, OSError) as exc:
            stream_mark(self.org_id, self.owner, StreamHealth.BROKEN, str(exc))
            return 2.0
        finally:
            self.close()

    def run(self, stop: threading.Event) -> None:
        """Hold the org's stream until `stop` is set or the lease is lost."""
        failures = 0
        while not stop.is_set():
            if not stream_lease_renew(org_id=self.org_id, owner=self.owner):
                return
            wait = self.attempt(until=stop.is_set)
            if wait is None:
                return
            failures = failures + 1 if wait else 0
            _wait_beating(stop, min(wait * 2 ** min(failures, 4), 60.0), self.org_id, self.owner)
        stream_lease_release(org_id=self.org_id, owner=self.owner)

    def _refresh_token(self) -> bool:
        from accounts.salesforce.errors import SalesforceProblem
        from accounts.services import connection_refresh

        try:
            connection_refresh(connection=self.connection)
            return True
        except SalesforceProblem as exc:
            stream_mark(self.org_id, self.owner, StreamHealth.NO_CONNECTION, str(exc))
            return False


class LeaseLost(Exception):
    """Another subscriber holds the org now: stop without handing on more."""


def _wait_beating(stop: threading.Event, seconds: float, org_id: str, owner: str) -> None:
    deadline = time.monotonic() + seconds
    while not stop.is_set() and time.monotonic() < deadline:
        stream_lease_renew(org_id=org_id, owner=owner)
        stop.wait(min(HEARTBEAT_SECONDS, max(deadline - time.monotonic(), 0)))


def run_subscribers(*, stop: threading.Event, owner_prefix: str | None = None) -> None:
    """`manage.py stream_changes`: subscribe to every org with syncing users whose lease is free,
    one thread per org held; look again every few seconds for new orgs and lapsed leases."""
    prefix = owner_prefix or f"stream-{uuid.uuid4().hex[:8]}"
    running: dict[str, threading.Thread] = {}
    while not stop.is_set():
        for org_id in streamable_orgs():
            thread = running.get(org_id)
            if thread is not None and thread.is_alive():
                continue
            owner = f"{prefix}-{org_id}"
            if stream_lease_acquire(org_id=org_id, owner=owner):
                subscriber = OrgSubscriber(org_id, owner=owner)
                thread = threading.Thread(
                    target=_run_closing_db, args=(subscriber, stop), name=f"org-{org_id}"
                )
                thread.start()
                running[org_id] = thread
        stop.wait(HEARTBEAT_SECONDS * 2)
    for thread in running.values():
        thread.join(timeout=10)


def _run_closing_db(subscriber: OrgSubscriber, stop: threading.Event) -> None:
    from django.db import connection

    try:
        subscriber.run(stop)
    except Exception:  # noqa: BLE001 - one org's bug must not stop the others
        logger.exception("stream %s: subscriber failed", subscriber.org_id)
    finally:
        connection.close()
