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
from pathlib import Path

import grpc

from salesforce_pubsub import pubsub_api_pb2 as pb
from salesforce_pubsub import pubsub_api_pb2_grpc as pb_grpc

from .. import ids, oauth
from . import avro
from .events import replay_id
from .faults import PubSubFaults
from .subscription import (
    MAX_REQUESTED,
    Refused,
    Subscription,
    check_requested,
    start_cursor,
)

logger = logging.getLogger(__name__)

TOPICS = ("/data/TaskChangeEvent", "/data/ChangeEvents")
PREFIX = "sfdc.platform.eventbus.grpc."
_BROKEN = Refused(
    grpc.StatusCode.UNAVAILABLE, "service.unavailable", "The stream broke (emulator fault)"
)


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
    def _abort(self, context, refused: Refused, rpc_id: str):
        context.set_trailing_metadata((("error-code", PREFIX + refused.code), ("rpc-id", rpc_id)))
        context.abort(refused.status, f"{refused.message} rpcId: {rpc_id}")

    @contextmanager
    def _call(self, context) -> Iterator[str]:
        """One RPC's id; a Refused raised in the block ends the call with its gRPC status."""
        rpc_id = str(uuid.uuid4())
        try:
            yield rpc_id
        except Refused as refused:
            self._abort(context, refused, rpc_id)

    def _caller(self, context) -> tuple[dict, dict]:
        """(token row, user) from the authentication metadata, or Refused."""
        meta = dict(context.invocation_metadata())
        token, tenant = meta.get("accesstoken"), meta.get("tenantid")
        if not token or not tenant or not meta.get("instanceurl"):
            raise Refused(
                grpc.StatusCode.UNAUTHENTICATED,
                "service.auth.headers.invalid",
                "accesstoken, instanceurl and tenantid are required",
            )
        row = oauth.access_token_row(self.emu, token)
        if row is None:
            raise Refused(
                grpc.StatusCode.UNAUTHENTICATED, "service.auth.error", "Authentication exception"
            )
        if not ids.is_valid(tenant) or ids.to18(tenant) != row["org_id"]:
            raise Refused(
                grpc.StatusCode.UNAUTHENTICATED,
                "service.auth.headers.invalid",
                "tenantid does not match the session's org",
            )
        return row, self.emu.store.user(row["user_id"])

    def _topic_caller(self, context, topic_name: str) -> tuple[dict, dict]:
        """(token row, user) of a caller who may see the topic, or Refused."""
        row, user = self._caller(context)
        self._topic(topic_name, row["org_id"])
        return row, user

    def _topic(self, name: str, org_id: str) -> str:
        if not name:
            raise Refused(
                grpc.StatusCode.INVALID_ARGUMENT, "topic.validation.empty", "Topic name is blank"
            )
        if name not in TOPICS or org_id in self.faults.cdc_disabled_orgs:
            raise Refused(grpc.StatusCode.NOT_FOUND, "topic.not.found", f"Topic {name} not found")
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
                raise Refused(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    "schema.validation.failed",
                    "Schema ID is blank",
                )
            if request.schema_id != avro.SCHEMA_ID:
                raise Refused(
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
                raise Refused(
                    grpc.StatusCode.PERMISSION_DENIED,
                    "subscription.topic.cannot.subscribe",
                    f"User lacks permission to subscribe to {topic}",
                )
            cursor = start_cursor(self.log, first, row["org_id"])
            check_requested(first.num_requested)
        subscription = Subscription(min(first.num_requested, MAX_REQUESTED), self.log.poke)
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

    def _deliver(self, context, subscription: Subscription, org_id: str, cursor: int, rpc_id: str):
        """The org's events after `cursor`, as many as the client asked for, in FetchResponses;
        a keep-alive with the latest replay id when events are owed and none have come."""
        version = -1
        last_sent = time.monotonic()
        while context.is_active():
            self._check_stream(context, subscription, rpc_id)
            pending = subscription.pending
            batch, reached = [], cursor
            if pending:
                batch, reached = self.log.after(org_id, cursor, min(pending, MAX_REQUESTED))
            if batch:
                cursor = batch[-1]["seq"]
                events = [_consumer_event(e) for e in self.faults.deliverable(batch)]
                if events:  # else all were dropped: look again at once
                    yield from self._send(context, subscription, events, cursor, rpc_id)
                    last_sent = time.monotonic()
                continue
            cursor = reached  # other orgs' events passed: a keep-alive reports the position
            if pending and time.monotonic() - last_sent >= self.faults.keepalive_seconds:
                yield pb.FetchResponse(
                    latest_replay_id=replay_id(cursor),
                    rpc_id=rpc_id,
                    pending_num_requested=pending,
                )
                last_sent = time.monotonic()
            version = self.log.wait(version, 0.5)

    def _check_stream(self, context, subscription: Subscription, rpc_id: str) -> None:
        """End the call if a FetchRequest was refused or a fault breaks the stream now."""
        if subscription.error is not None:
            self._abort(context, subscription.error, rpc_id)
        if self.faults.take_break():
            self._abort(context, _BROKEN, rpc_id)

    def _send(self, context, subscription: Subscription, events: list, cursor: int, rpc_id: str):
        """One FetchResponse of `events`, spending the client's credit (and faults' delay/break)."""
        if self.faults.delay_seconds:
            time.sleep(self.faults.delay_seconds)
        subscription.spend(len(events))
        yield pb.FetchResponse(
            events=events,
            latest_replay_id=replay_id(cursor),
            rpc_id=rpc_id,
            pending_num_requested=subscription.pending,
        )
        if self.faults.take_break(len(events)):
            self._abort(context, _BROKEN, rpc_id)


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
