"""Our client of Salesforce's Pub/Sub API (gRPC over TLS, Avro payloads) for Change Data Capture.

The messages and the stub come from `salesforce_pubsub`, which compiles the documented interface
(`pubsub_api.proto`) when first imported; the emulator's server uses the same. Errors are classified
once, here, from the `error-code` trailer Salesforce adds to each gRPC status (Pub/Sub API guide,
"Handle Errors"): the subscriber reacts to the class, never to a status code.
"""

from __future__ import annotations

import io
import json
import queue
import threading
from dataclasses import dataclass
from pathlib import Path

import fastavro
import grpc

from salesforce_pubsub import pubsub_api_pb2 as pb
from salesforce_pubsub import pubsub_api_pb2_grpc as pb_grpc

TASK_TOPIC = "/data/TaskChangeEvent"
MAX_REQUESTED = 100  # "The maximum value for num_requested is 100" (Subscribe RPC Method)
_PREFIX = "sfdc.platform.eventbus.grpc."


class PubSubError(Exception):
    """A Pub/Sub API call failed; `code` is Salesforce's error code (without its prefix)."""

    def __init__(self, message: str, *, code: str = "", status: str = "") -> None:
        super().__init__(message)
        self.code, self.status = code, status


class ReplayIdRefused(PubSubError):
    """The stored replay id is invalid or past the 72-hour retention: resubscribe elsewhere."""


class TopicNotFound(PubSubError):
    """No such topic: Change Data Capture is not enabled for Task in this org."""


class NotPermitted(PubSubError):
    """The user may not subscribe (Task change events need View All Data)."""


class AuthFailed(PubSubError):
    """The access token was refused: refresh it and call again."""


class StreamBroken(PubSubError):
    """Transient: the service or the network dropped the call; retry with back-off."""


def classify(exc: grpc.RpcError) -> PubSubError:
    code = ""
    for key, value in (exc.trailing_metadata() or ()) if hasattr(exc, "trailing_metadata") else ():
        if key == "error-code":
            code = value.removeprefix(_PREFIX)
    status = exc.code() if hasattr(exc, "code") else grpc.StatusCode.UNKNOWN
    message = f"{status.name}: {exc.details() if hasattr(exc, 'details') else exc}"
    kwargs = {"code": code, "status": status.name}
    if code.startswith("subscription.fetch.replayid"):
        return ReplayIdRefused(message, **kwargs)
    if code == "topic.not.found" or status == grpc.StatusCode.NOT_FOUND:
        return TopicNotFound(message, **kwargs)
    if code.endswith("cannot.subscribe") or status == grpc.StatusCode.PERMISSION_DENIED:
        return NotPermitted(message, **kwargs)
    if code.startswith("service.auth") or status == grpc.StatusCode.UNAUTHENTICATED:
        return AuthFailed(message, **kwargs)
    return StreamBroken(message, **kwargs)


@dataclass(frozen=True)
class ChangeEvent:
    """One decoded change event: its replay id and the fields a subscriber acts on."""

    replay_id: bytes
    change_type: str
    record_ids: tuple[str, ...]
    changed_fields: tuple[str, ...]
    commit_user: str
    commit_timestamp: int
    values: dict  # the record fields the event carries (None for unchanged ones)


class Schema:
    """A change event's Avro schema, as GetSchema returns it, and the decoding it allows."""

    def __init__(self, schema_json: str) -> None:
        raw = json.loads(schema_json)
        self.parsed = fastavro.parse_schema(raw)
        self.field_names = [f["name"] for f in raw["fields"]]

    def decode(self, replay_id: bytes, payload: bytes) -> ChangeEvent:
        record = fastavro.schemaless_reader(io.BytesIO(payload), self.parsed)
        header = record.pop("ChangeEventHeader")
        return ChangeEvent(
            replay_id=replay_id,
            change_type=str(header["changeType"]).removeprefix("GAP_"),
            record_ids=tuple(header["recordIds"]),
            changed_fields=tuple(self.expand(header.get("changedFields") or [])),
            commit_user=header.get("commitUser") or "",
            commit_timestamp=int(header.get("commitTimestamp") or 0),
            values=record,
        )

    def expand(self, bitmaps: list[str]) -> list[str]:
        """Field names from a bitmap list ("Event Deserialization Considerations"): the first
        entry ("0x…") covers top-level fields, bit i = the schema's field i; entries of compound
        fields ("3-0x…") name the parts of field 3, which Task does not have, so are skipped."""
        names = []
        for entry in bitmaps:
            if not entry.startswith("0x"):
                continue
            bits = int(entry[2:], 16)
            names.extend(n for i, n in enumerate(self.field_names) if bits >> i & 1)
        return names


class Subscription:
    """One Subscribe stream: iterate it for FetchResponses; `request(n)` grants n more events."""

    def __init__(self, stub, metadata, first: pb.FetchRequest, timeout: float | None) -> None:
        self._requests: queue.Queue = queue.Queue()
        self._requests.put(first)
        self.topic = first.topic_name
        self._call = stub.Subscribe(self._outgoing(), metadata=metadata, timeout=timeout)
        self._closed = threading.Event()

    def _outgoing(self):
        while True:
            item = self._requests.get()
            if item is None:
                return
            yield item

    def request(self, n: int) -> None:
        self._requests.put(pb.FetchRequest(topic_name=self.topic, num_requested=n))

    def __iter__(self):
        try:
            yield from self._call
        except grpc.RpcError as exc:
            if self._closed.is_set() and exc.code() == grpc.StatusCode.CANCELLED:
                return
            raise classify(exc) from None

    def close(self) -> None:
        self._closed.set()
        self._requests.put(None)
        self._call.cancel()


class PubSubClient:
    """Authenticated calls to one org's Pub/Sub API (metadata: accesstoken, instanceurl,
    tenantid; "Pub/Sub API as a gRPC API")."""

    def __init__(
        self,
        *,
        target: str,
        instance_url: str,
        org_id: str,
        access_token: str,
        ca_bundle: str = "",
        timeout: float = 30.0,
    ) -> None:
        roots = Path(ca_bundle).read_bytes() if ca_bundle else None
        self.channel = grpc.secure_channel(target, grpc.ssl_channel_credentials(roots))
        self.stub = pb_grpc.PubSubStub(self.channel)
        self.timeout = timeout
        self.metadata = (
            ("accesstoken", access_token),
            ("instanceurl", instance_url),
            ("tenantid", org_id),
        )

    def close(self) -> None:
        self.channel.close()

    def topic(self, name: str = TASK_TOPIC):
        try:
            return self.stub.GetTopic(
                pb.TopicRequest(topic_name=name), metadata=self.metadata, timeout=self.timeout
            )
        except grpc.RpcError as exc:
            raise classify(exc) from None

    def schema(self, schema_id: str) -> Schema:
        try:
            info = self.stub.GetSchema(
                pb.SchemaRequest(schema_id=schema_id), metadata=self.metadata, timeout=self.timeout
            )
        except grpc.RpcError as exc:
            raise classify(exc) from None
        return Schema(info.schema_json)

    def subscribe(
        self, *, topic: str = TASK_TOPIC, replay_id: bytes | None = None, batch: int = 100
    ) -> Subscription:
        """From just after `replay_id`, or from the tip of the stream (LATEST) without one."""
        first = pb.FetchRequest(
            topic_name=topic,
            replay_preset=pb.CUSTOM if replay_id else pb.LATEST,
            replay_id=replay_id or b"",
            num_requested=min(batch, MAX_REQUESTED),
        )
        return Subscription(self.stub, self.metadata, first, timeout=None)
