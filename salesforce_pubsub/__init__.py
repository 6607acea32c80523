"""Salesforce's Pub/Sub API: its interface, `pubsub_api.proto`, and the two Python modules protoc
makes of it, `pubsub_api_pb2` (the messages) and `pubsub_api_pb2_grpc` (PubSubStub, PubSubServicer).

The modules are compiled from the .proto when this package is first imported, by grpcio-tools'
protoc (a runtime dependency), so the tree holds the interface once and no generated code. Our
client (accounts.salesforce.pubsub) and the emulator's server (salesforce_emulator.pubsub) both
import them from here; this package imports neither.

    from salesforce_pubsub import pubsub_api_pb2 as pb
    from salesforce_pubsub import pubsub_api_pb2_grpc as pb_grpc
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
from pathlib import Path
from types import ModuleType

from grpc_tools import protoc

PROTO = Path(__file__).resolve().with_name("pubsub_api.proto")


def _compile(out: Path) -> Path:
    """Write protoc's Python and gRPC modules of the .proto below `out`; their folder.

    The include root is this package's parent, so the gRPC module imports the messages as
    `salesforce_pubsub.pubsub_api_pb2`, the name they are loaded under."""
    root = PROTO.parent.parent
    proto = PROTO.relative_to(root).as_posix()
    args = ["protoc", f"-I{root}", f"--python_out={out}", f"--grpc_python_out={out}", proto]
    if protoc.main(args) != 0:
        raise ImportError(f"protoc could not compile {PROTO}")
    return out / PROTO.parent.name


def _load(path: Path) -> ModuleType:
    """Import a generated file as a module of this package."""
    name = f"{__name__}.{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


with tempfile.TemporaryDirectory(prefix="salesforce_pubsub-") as _out:
    _generated = _compile(Path(_out))
    pubsub_api_pb2 = _load(_generated / "pubsub_api_pb2.py")
    pubsub_api_pb2_grpc = _load(_generated / "pubsub_api_pb2_grpc.py")

__all__ = ["PROTO", "pubsub_api_pb2", "pubsub_api_pb2_grpc"]
