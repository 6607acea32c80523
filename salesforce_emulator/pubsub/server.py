"""The Pub/Sub API over gRPC with TLS: GetTopic, GetSchema, Subscribe (pull with flow control),
and Publish / PublishStream, which answer that change event topics take no publishing.

Behaviour follows the Pub/Sub API guide ("Subscribe RPC Method", "Pull Subscription and Flow
Control", "Handle Errors", "Event Message Durability"): authentication metadata
`accesstoken`, `instanceurl`, `tenantid` on every call; at most 100 events per FetchRequest;
`pending_num_requested` in each FetchResponse; an empty keep-alive with `latest_replay_id`
while events are owed and none come; errors as gRPC statuses with Salesforce's code in the
`error-code` trailer and the call's id in `rpc-id`. Faults (`PubSubFaults`) drop, repeat or
delay events and break streams.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from salesforce_pubsub import pubsub_api_pb2 as pb
from salesforce_pubsub import pubsub_api_pb2_grpc as pb_grpc

from .. import ids, oauth
from . import avro
from .events import replay_id, replay_seq

logger = logging.getLogger(__name__)

TOPICS = ("/data/TaskChangeEvent", "/data/ChangeEvents")
MAX_REQUESTED = 100
PREFIX = "sfdc.platform.eventbus.grpc."


@dataclass
class PubSubFaults:
    """What the next deliveries do wrong. Counters count down as they fire."""

    drop_events: int = 0  # the next N events are never delivered (their replay ids pass)
    repeat_events: int = 0  # the next N events are delivered twice
    break_after: int | None = None  # the stream fails (UNAVAILABLE) after N more events
    delay_seconds: float = 0.0  # every delivery waits this long first
    keepalive_seconds: float = 270.0  # Salesforce sends a keep-alive within 270 s
    cdc_disabled_orgs: set[str] = field(default_factory=set)  # Task not selected for CDC
    denied_users: set[str] = field(default_factory=set)  # no View All Data
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def clear(self) -> None:
        with self.lock:
            self.drop_events = self.repeat_events = 0
            self.break_after = None
            self.delay_seconds = 0.0
            self.keepalive_seconds = 270.0
            self.cdc_disabled_orgs.clear()
            self.denied_users.clear()

    def take(self, name: str) -> bool:
        with self.lock:
            if getattr(self, name) > 0:
                setattr(self, name, getattr(self, name) - 1)
                return True
            return False

    def take_break(self, delivered: int = 0) -> bool:
        """Whether the stream must fail now, `delivered` events after the last check."""
        with self.lock:
            if self.break_after is None:
                return False
            self.break_after -= delivered
            if self.break_after <= 0:
                self.break_after = None
                return True
            return False


class _Refused(Exception):
    def __init__(self, status: grpc.StatusCode, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class PubSubService(pb_grpc.PubSubServicer):
    def __init__(self, emulator, faults: PubSubFaults) -> None:
        self.emu = emulator
        self.faults = faults
        self.streams = 0
        self._streams_lock = threading.Lock()

    @property
    def log(self):
        return self.emu.store.change_events

    # -- helpers ------------------------------------------------------------------------------
    def _abort(self, context, refused: _Refused, rpc_id: str):
        context.set_trailing_metadata((("error-code", PREFIX + refused.code), ("rpc-id", rpc_id)))
        context.abort(refused.status, f"{refused.message} rpcId: {rpc_id}")

    @contextmanager
    def _call(self, context) -> Iterator[str]:
        """One RPC's id; a _Refused raised in the block ends the call with its gRPC status."""
        rpc_id = str(uuid.uuid4())
        try:
            yield rpc_id
        except _Refused as refused:
            self._abort(context, refused, rpc_id)

    def _caller(self, context) -> tuple[dict, dict]:
        """(token row, user) from the authentication metadata, or _Refused."""
        meta = dict(context.invocation_metadata())
        token, tenant = meta.get("accesstoken"), meta.get("tenantid")
        if not token or not tenant or not meta.get("instanceurl"):
            raise _Refused(
                grpc.StatusCode.UNAUTHENTICATED,
                "service.auth.headers.invalid",
                "accesstoken, instanceurl and tenantid are required",
            )
        row = oauth.access_token_row(self.emu, token)
        if row is None:
            raise _Refused(
                grpc.StatusCode.UNAUTHENTICATED, "service.auth.error", "Authentication exception"
            )
        if not ids.is_valid(tenant) or ids.to18(tenant) != row["org_id"]:
            raise _Refused(
                grpc.StatusCode.UNAUTHENTICATED,
                "service.auth.headers.invalid",
                "tenantid does not match the session's org",
            )
        return row, self.emu.store.user(row["user_id"])

    def _topic_caller(self, context, topic_name: str) -> tuple[dict, dict]:
        """(token row, user) of a caller who may see the topic, or _Refused."""
        row, user = self._caller(context)
        self._topic(topic_name, row["org_id"])
        return row, user

    def _topic(self, name: str, org_id: str) -> str:
        if not name:
            raise _Refused(
                grpc.StatusCode.INVALID_ARGUMENT, "topic.validation.empty", "Topic name is blank"
            )
        if name not in TOPICS or org_id in self.faults.cdc_disabled_orgs:
            raise _Refused(grpc.StatusCode.NOT_FOUND, "topic.not.found", f"Topic {name} not found")
        return name

    def _may_subscribe(self, user: dict) -> bool:
        return user["id"] not in self.faults.denied_users

    # -- unary RPCs ---------------------------------------------------------------------------
    def GetTopic(self, request, context):  # noqa: N802 - gRPC method name
        with self._call(context) as rpc_id:
            row, user = self._topic_caller(context, request.topic_name)
        return pb.TopicInfo(
            topic_name=request.topic_name,
            tenant_guid=row["org_id"],
            can_publish=False,
            can_subscribe=self._may_subscribe(user),
            schema_id=avro.SCHEMA_ID,
            rpc_id=rpc_id,
        )

    def GetSchema(self, request, context):  # noqa: N802
        with self._call(context) as rpc_id:
            self._caller(context)
            if not request.schema_id:
                raise _Refused(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    "schema.validation.failed",
                    "Schema ID is blank",
                )
            if request.schema_id != avro.SCHEMA_ID:
                raise _Refused(
                    grpc.StatusCode.NOT_FOUND,
                    "schema.meta.permission",
                    f"Schema {request.schema_id} not found",
                )
        return pb.SchemaInfo(schema_json=avro.SCHEMA_JSON, schema_id=avro.SCHEMA_ID, rpc_id=rpc_id)

    def Publish(self, request, context):  # noqa: N802
        with self._call(context) as rpc_id:
            self._topic_caller(context, request.topic_name)
        return self._refuse_publish(request, rpc_id)

    def PublishStream(self, request_iterator, context):  # noqa: N802
        for request in request_iterator:
            yield self.Publish(request, context)

    @staticmethod
    def _refuse_publish(request, rpc_id: str):
        # Change events are published by Salesforce itself; a client cannot publish them.
        error = pb.Error(code=pb.PUBLISH, msg="Change event topics do not accept publishing")
        return pb.PublishResponse(
            results=[
                pb.PublishResult(error=error, correlation_key=e.id or str(uuid.uuid4()))
                for e in request.events
            ],
            schema_id=avro.SCHEMA_ID,
            rpc_id=rpc_id,
        )

    # -- Subscribe ----------------------------------------------------------------------------
    def Subscribe(self, request_iterator, context):  # noqa: N802
        try:
            first = next(request_iterator)
        except StopIteration:
            return
        with self._call(context) as rpc_id:
            row, user = self._topic_caller(context, first.topic_name)
            topic = first.topic_name
            if not self._may_subscribe(user):
                raise _Refused(
                    grpc.StatusCode.PERMISSION_DENIED,
                    "subscription.topic.cannot.subscribe",
                    f"User lacks permission to subscribe to {topic}",
                )
            cursor = self._start(first, row["org_id"])
            _check_requested(first.num_requested)
        subscription = _Subscription(min(first.num_requested, MAX_REQUESTED), self.log.poke)
        reader = threading.Thread(
            target=subscription.read_more,
            args=(request_iterator, topic),
            daemon=True,
            name="pubsub-fetch-requests",
        )
        reader.start()
        with self._streams_lock:
            self.streams += 1
        try:
            yield from self._deliver(context, subscription, row["org_id"], cursor, rpc_id)
        finally:
            with self._streams_lock:
                self.streams -= 1

    def _start(self, first, org_id: str) -> int:
        lo, latest = self.log.bounds(org_id)
        if first.replay_preset == pb.LATEST:
            return latest
        if first.replay_preset == pb.EARLIEST:
            return max(lo - 1, 0)
        if not first.replay_id:
            raise _Refused(
                grpc.StatusCode.INVALID_ARGUMENT,
                "subscription.fetch.replayid.validation.failed",
                "A CUSTOM replay preset needs a replay ID",
            )
        seq = replay_seq(first.replay_id)
        problem = "invalid" if seq is None else self.log.replay_problem(org_id, seq)
        if problem:
            # One code for both: "Replay ID invalid or outside the retention window".
            raise _Refused(
                grpc.StatusCode.INVALID_ARGUMENT,
                "subscription.fetch.replayid.corrupted",
                f"The Replay ID validation failed ({problem})",
            )
        return seq

    def _deliver(self, context, subscription, org_id: str, cursor: int, rpc_id: str):
        version = -1
        last_sent = time.monotonic()
        broken = _Refused(
            grpc.StatusCode.UNAVAILABLE, "service.unavailable", "The stream broke (emulator fault)"
        )
        while context.is_active():
            if subscription.error is not None:
                self._abort(context, subscription.error, rpc_id)
            if self.faults.take_break():
                self._abort(context, broken, rpc_id)
            pending = subscription.pending
            batch, reached = [], cursor
            if pending:
                batch, reached = self.log.after(org_id, cursor, min(pending, MAX_REQUESTED))
            events = []
            for event in batch:
                cursor = event["seq"]
                if self.faults.take("drop_events"):
                    continue
                copies = 2 if self.faults.take("repeat_events") else 1
                events.extend([_consumer_event(event)] * copies)
            if events:
                if self.faults.delay_seconds:
                    time.sleep(self.faults.delay_seconds)
                subscription.spend(len(events))
                yield pb.FetchResponse(
                    events=events,
                    latest_replay_id=replay_id(cursor),
                    rpc_id=rpc_id,
                    pending_num_requested=subscription.pending,
                )
                last_sent = time.monotonic()
                if self.faults.take_break(len(events)):
                    self._abort(context, broken, rpc_id)
                continue
            if batch:
                continue  # all dropped: look again at once
            cursor = reached  # other orgs' events passed: a keep-alive reports the position
            if pending and time.monotonic() - last_sent >= self.faults.keepalive_seconds:
                yield pb.FetchResponse(
                    latest_replay_id=replay_id(cursor),
                    rpc_id=rpc_id,
                    pending_num_requested=pending,
                )
                last_sent = time.monotonic()
            version = self.log.wait(version, 0.5)


class _Subscription:
    """The flow-control account of one Subscribe stream."""

    def __init__(self, requested: int, wake) -> None:
        self.pending = requested
        self.error: _Refused | None = None
        self._lock = threading.Lock()
        self._wake = wake  # the delivery loop waits on the event log: new credit wakes it too

    def read_more(self, request_iterator, topic: str) -> None:
        try:
            for request in request_iterator:
                if request.topic_name and request.topic_name != topic:
                    self.error = _Refused(
                        grpc.StatusCode.INVALID_ARGUMENT,
                        "subscription.fetch.topic.mismatch",
                        "Topic name differs from the subscription's",
                    )
                    break
                try:
                    _check_requested(request.num_requested)
                except _Refused as refused:
                    self.error = refused
                    break
                with self._lock:
                    self.pending += min(request.num_requested, MAX_REQUESTED)
                self._wake()
        except grpc.RpcError:
            pass  # the client went away; the delivery loop sees the context end
        self._wake()

    def spend(self, n: int) -> None:
        with self._lock:
            self.pending = max(self.pending - n, 0)


def _check_requested(n: int) -> None:
    if n <= 0:
        raise _Refused(
            grpc.StatusCode.INVALID_ARGUMENT,
            "subscription.fetch.requested.events.invalid",
            "num_requested must be greater than zero",
        )


def _consumer_event(event: dict):
    return pb.ConsumerEvent(
        event=pb.ProducerEvent(
            id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"emulator-event-{event['seq']}")),
            schema_id=avro.SCHEMA_ID,
            payload=bytes(event["payload"]),
        ),
        replay_id=replay_id(event["seq"]),
    )


class PubSubServer:
    """The gRPC listener beside the emulator's HTTPS port, with the same certificate."""

    def __init__(
        self, emulator, host: str, port: int, cert_path: Path, key_path: Path, workers: int = 32
    ) -> None:
        self.faults = PubSubFaults()
        self.service = PubSubService(emulator, self.faults)
        # Each open Subscribe holds a worker thread for as long as it streams.
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=workers))
        pb_grpc.add_PubSubServicer_to_server(self.service, self.server)
        credentials = grpc.ssl_server_credentials(
            [(Path(key_path).read_bytes(), Path(cert_path).read_bytes())]
        )
        self.port = self.server.add_secure_port(f"{host}:{port}", credentials)
        self.host = host

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> PubSubServer:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop(grace=0.5).wait(2)
