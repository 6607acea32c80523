"""The emulator's Pub/Sub API, driven by a plain gRPC client built from the documented interface
(the modules protoc makes of pubsub_api.proto, used as generated) and fastavro."""

import io
import json
import threading
from datetime import timedelta
from pathlib import Path

import fastavro
import grpc
import pytest

from accounts.salesforce import pubsub as client
from salesforce_emulator.pubsub import server
from salesforce_pubsub import pubsub_api_pb2 as pb
from salesforce_pubsub import pubsub_api_pb2_grpc as pb_grpc

TOPIC = "/data/TaskChangeEvent"
ROOT = Path(__file__).resolve().parents[2]
PRODUCT_FOLDERS = ("accounts", "tasksync", "salesforce_emulator", "salesforce_pubsub", "scripts")


@pytest.fixture
def api(pubsub_server, sf_emulator):
    channel = grpc.secure_channel(
        pubsub_server.target,
        grpc.ssl_channel_credentials(Path(sf_emulator.ca_bundle).read_bytes()),
    )
    stub = pb_grpc.PubSubStub(channel)
    token = sf_emulator.tokens()["access_token"]
    stub.md = (
        ("accesstoken", token),
        ("instanceurl", sf_emulator.api_url),
        ("tenantid", sf_emulator.demo.org_id),
    )
    yield stub
    channel.close()


def _schema(api):
    info = api.GetTopic(pb.TopicRequest(topic_name=TOPIC), metadata=api.md)
    raw = json.loads(
        api.GetSchema(pb.SchemaRequest(schema_id=info.schema_id), metadata=api.md).schema_json
    )
    return raw, fastavro.parse_schema(raw)


def _subscribe(api, *, n, first, more=()):
    """Run one Subscribe: send `first`, then `more`; collect responses until n events came."""
    requests = [first, *more]
    done = threading.Event()

    def outgoing():
        yield from requests
        done.wait(10)

    call = api.Subscribe(outgoing(), metadata=api.md, timeout=10)
    responses, events = [], []
    for response in call:
        responses.append(response)
        events.extend(response.events)
        if len(events) >= n:
            break
    done.set()
    call.cancel()
    return responses, events


def _decode(parsed, event):
    return fastavro.schemaless_reader(io.BytesIO(event.event.payload), parsed)


def _bits(raw, bitmaps):
    names = [f["name"] for f in raw["fields"]]
    value = int(bitmaps[0], 16) if bitmaps else 0
    return {n for i, n in enumerate(names) if value >> i & 1}


def test_every_task_write_publishes_a_change_event_with_the_documented_header(api, sf_emulator):
    # R19: create, update, delete, undelete → CREATE, UPDATE (with bitmaps), DELETE, UNDELETE.
    raw, parsed = _schema(api)
    task = sf_emulator.create_task(Subject="Call Ana", Description="x")
    sf_emulator.update_task(task["Id"], Subject="Call Ana now", Description=None)
    sf_emulator.delete_task(task["Id"])
    sf_emulator.undelete_task(task["Id"])
    first = pb.FetchRequest(topic_name=TOPIC, replay_preset=pb.EARLIEST, num_requested=10)
    _, events = _subscribe(api, n=4, first=first)
    decoded = [_decode(parsed, e) for e in events]
    headers = [d["ChangeEventHeader"] for d in decoded]
    assert [h["changeType"] for h in headers] == ["CREATE", "UPDATE", "DELETE", "UNDELETE"]
    assert all(h["entityName"] == "Task" and h["recordIds"] == [task["Id"]] for h in headers)
    assert all(h["commitUser"] == sf_emulator.demo.user_id and h["transactionKey"] for h in headers)
    assert decoded[0]["Subject"] == "Call Ana" and decoded[0]["OwnerId"] == sf_emulator.demo.user_id
    assert {"Subject", "Description"} <= _bits(raw, headers[1]["changedFields"])
    assert _bits(raw, headers[1]["nulledFields"]) == {"Description"}
    assert decoded[1]["Subject"] == "Call Ana now" and decoded[1]["OwnerId"] is None
    replay_ids = [e.replay_id for e in events]
    assert replay_ids == sorted(replay_ids) and len(set(replay_ids)) == 4


def test_flow_control_delivers_no_more_than_requested(api, sf_emulator):
    # Subscribe RPC Method: num_requested events at most, pending_num_requested counts down.
    for i in range(3):
        sf_emulator.create_task(Subject=f"T{i}")
    first = pb.FetchRequest(topic_name=TOPIC, replay_preset=pb.EARLIEST, num_requested=2)
    responses, events = _subscribe(api, n=2, first=first)
    assert len(events) == 2 and responses[-1].pending_num_requested == 0
    more = [pb.FetchRequest(num_requested=1)]
    _, events = _subscribe(api, n=3, first=first, more=more)
    assert len(events) == 3


def test_a_stored_replay_id_resumes_right_after_its_event(api, sf_emulator):
    sf_emulator.create_task(Subject="A")
    sf_emulator.create_task(Subject="B")
    first = pb.FetchRequest(topic_name=TOPIC, replay_preset=pb.EARLIEST, num_requested=1)
    _, events = _subscribe(api, n=1, first=first)
    custom = pb.FetchRequest(
        topic_name=TOPIC, replay_preset=pb.CUSTOM, replay_id=events[0].replay_id, num_requested=5
    )
    raw, parsed = _schema(api)
    _, after = _subscribe(api, n=1, first=custom)
    assert _decode(parsed, after[0])["Subject"] == "B"


def _error(call):
    with pytest.raises(grpc.RpcError) as info:
        call()
    trailers = dict(info.value.trailing_metadata() or ())
    return info.value.code(), trailers.get("error-code")


def test_the_documented_errors_come_with_salesforce_error_codes(api, pubsub_server, sf_emulator):
    # Pub/Sub API "Handle Errors": gRPC status + the error code in the trailers.
    def subscribe(**kwargs):
        first = pb.FetchRequest(topic_name=TOPIC, num_requested=1, **kwargs)
        return lambda: _subscribe(api, n=1, first=first)

    assert _error(
        lambda: api.GetTopic(pb.TopicRequest(topic_name="/data/Nope"), metadata=api.md)
    ) == (
        grpc.StatusCode.NOT_FOUND,
        "sfdc.platform.eventbus.grpc.topic.not.found",
    )
    assert _error(subscribe(replay_preset=pb.CUSTOM, replay_id=b"bogus")) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted",
    )
    assert _error(subscribe(replay_preset=pb.CUSTOM)) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.validation.failed",
    )
    # Expired: past the retention window.
    sf_emulator.create_task(Subject="Old")
    _, events = _subscribe(
        api,
        n=1,
        first=pb.FetchRequest(topic_name=TOPIC, replay_preset=pb.EARLIEST, num_requested=1),
    )
    sf_emulator.create_task(Subject="Newer")
    log = pubsub_server.service.emu.store.change_events
    sf_emulator.advance(timedelta(seconds=1))  # both events are older than the window
    log.retention_ms = 0
    log.purge_expired()
    assert _error(subscribe(replay_preset=pb.CUSTOM, replay_id=events[0].replay_id)) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted",
    )
    pubsub_server.faults.denied_users.add(sf_emulator.demo.user_id)
    assert _error(subscribe()) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "sfdc.platform.eventbus.grpc.subscription.topic.cannot.subscribe",
    )
    bad = (("accesstoken", "nope"), api.md[1], api.md[2])
    assert _error(lambda: api.GetTopic(pb.TopicRequest(topic_name=TOPIC), metadata=bad)) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "sfdc.platform.eventbus.grpc.service.auth.error",
    )


def test_a_rolled_back_write_publishes_nothing(api, sf_emulator):
    # An allOrNone batch that fails commits no task, so no change event either.
    sf = sf_emulator.salesforce()
    body = {
        "allOrNone": True,
        "records": [
            {"attributes": {"type": "Task"}, "Subject": "ok"},
            {"attributes": {"type": "Task"}, "Subject": "bad", "Status": "No Such Status"},
        ],
    }
    sf.restful("composite/sobjects", method="POST", json=body)
    sf_emulator.create_task(Subject="after")
    raw, parsed = _schema(api)
    first = pb.FetchRequest(topic_name=TOPIC, replay_preset=pb.EARLIEST, num_requested=5)
    _, events = _subscribe(api, n=1, first=first)
    assert _decode(parsed, events[0])["Subject"] == "after"


def test_the_interface_is_one_proto_compiled_at_import_and_the_tree_holds_no_generated_code():
    folders = [ROOT / name for name in PRODUCT_FOLDERS]
    protos = sorted(p.relative_to(ROOT).as_posix() for d in folders for p in d.rglob("*.proto"))
    generated = sorted(str(p) for d in folders for p in d.rglob("*_pb2*.py"))
    assert protos == ["salesforce_pubsub/pubsub_api.proto"]
    assert generated == []
    # Our client and the emulator's server speak through the same compiled modules.
    assert client.pb is server.pb is pb
    assert client.pb_grpc is server.pb_grpc is pb_grpc


def test_a_keep_alive_carries_the_latest_replay_id_while_events_are_owed(
    api, pubsub_server, sf_emulator
):
    # "Subscribe RPC Method": an empty FetchResponse with latest_replay_id keeps the stream alive.
    sf_emulator.create_task(Subject="Before")
    pubsub_server.faults.keepalive_seconds = 0.2
    first = pb.FetchRequest(topic_name=TOPIC, replay_preset=pb.EARLIEST, num_requested=5)
    done = threading.Event()

    def outgoing():
        yield first
        done.wait(10)

    call = api.Subscribe(outgoing(), metadata=api.md, timeout=10)
    responses = []
    for response in call:
        responses.append(response)
        if not response.events:
            break
    done.set()
    call.cancel()
    keep_alive = responses[-1]
    assert responses[0].events and keep_alive.pending_num_requested == 4
    assert keep_alive.latest_replay_id == responses[0].events[-1].replay_id


def test_a_delay_fault_holds_each_delivery(api, pubsub_server, sf_emulator):
    import time

    pubsub_server.faults.delay_seconds = 0.4
    sf_emulator.create_task(Subject="Slow")
    first = pb.FetchRequest(topic_name=TOPIC, replay_preset=pb.EARLIEST, num_requested=1)
    started = time.monotonic()
    _, events = _subscribe(api, n=1, first=first)
    assert len(events) == 1 and time.monotonic() - started >= 0.4


def test_another_topic_later_on_the_stream_is_refused(api, sf_emulator):
    first = pb.FetchRequest(topic_name=TOPIC, num_requested=1)
    other = pb.FetchRequest(topic_name="/data/ChangeEvents", num_requested=1)
    assert _error(lambda: _subscribe(api, n=1, first=first, more=[other])) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "sfdc.platform.eventbus.grpc.subscription.fetch.topic.mismatch",
    )


def test_change_events_cannot_be_published_by_a_client(api):
    request = pb.PublishRequest(
        topic_name=TOPIC, events=[pb.ProducerEvent(id="e1", schema_id="x", payload=b"")]
    )
    response = api.Publish(request, metadata=api.md)
    assert response.results[0].error.code == pb.PUBLISH
    assert response.results[0].correlation_key == "e1"
    assert api.GetTopic(pb.TopicRequest(topic_name=TOPIC), metadata=api.md).can_publish is False
