"""One Subscribe stream: where it starts (the replay preset of its first FetchRequest) and its
flow control ("Pull Subscription and Flow Control", Pub/Sub API guide), the events the client has
asked for and not yet received, topped up by each FetchRequest; and the refusals that end a call
with a gRPC status and Salesforce's error code."""

from __future__ import annotations

import threading

import grpc

from salesforce_pubsub import pubsub_api_pb2 as pb

from .events import replay_seq

MAX_REQUESTED = 100  # "The maximum value for num_requested is 100" (Subscribe RPC Method)


class Refused(Exception):
    """A call refused: its gRPC status, Salesforce's error code (unprefixed) and message."""

    def __init__(self, status: grpc.StatusCode, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class Subscription:
    """The flow-control account of one Subscribe stream."""

    def __init__(self, requested: int, wake) -> None:
        self.pending = requested
        self.error: Refused | None = None
        self._lock = threading.Lock()
        self._wake = wake  # the delivery loop waits on the event log: new credit wakes it too

    def read_more(self, request_iterator, topic: str) -> None:
        try:
            for request in request_iterator:
                if request.topic_name and request.topic_name != topic:
                    self.error = Refused(
                        grpc.StatusCode.INVALID_ARGUMENT,
                        "subscription.fetch.topic.mismatch",
                        "Topic name differs from the subscription's",
                    )
                    break
                try:
                    check_requested(request.num_requested)
                except Refused as refused:
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


def check_requested(n: int) -> None:
    if n <= 0:
        raise Refused(
            grpc.StatusCode.INVALID_ARGUMENT,
            "subscription.fetch.requested.events.invalid",
            "num_requested must be greater than zero",
        )


def start_cursor(log, first, org_id: str) -> int:
    """Where the stream starts: the sequence after which the first FetchRequest's replay preset
    (LATEST, EARLIEST, or CUSTOM with a replay id) has it deliver, or Refused."""
    lo, latest = log.bounds(org_id)
    if first.replay_preset == pb.LATEST:
        return latest
    if first.replay_preset == pb.EARLIEST:
        return max(lo - 1, 0)
    if not first.replay_id:
        raise Refused(
            grpc.StatusCode.INVALID_ARGUMENT,
            "subscription.fetch.replayid.validation.failed",
            "A CUSTOM replay preset needs a replay ID",
        )
    seq = replay_seq(first.replay_id)
    problem = "invalid" if seq is None else log.replay_problem(org_id, seq)
    if problem:
        # One code for both: "Replay ID invalid or outside the retention window".
        raise Refused(
            grpc.StatusCode.INVALID_ARGUMENT,
            "subscription.fetch.replayid.corrupted",
            f"The Replay ID validation failed ({problem})",
        )
    return seq
