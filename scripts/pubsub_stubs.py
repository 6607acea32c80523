"""Regenerate the Pub/Sub API gRPC stubs from pubsub_api.proto (needs grpcio-tools, a dev tool).

    python scripts/pubsub_stubs.py          # write the stubs
    python scripts/pubsub_stubs.py --check  # exit 1 if the committed stubs are stale

The proto lives twice, byte for byte the same: salesforce_emulator/pubsub/ (the emulator's
server) and accounts/salesforce/pubsub_stubs/ (our client), because the emulator imports nothing
of ours and we import nothing of the emulator's. Both are compiled with the proto's own folder as
the include root, so both register the same file name ("pubsub_api.proto") with identical
content, which protobuf accepts when both are loaded in one process (the tests do).
grpcio-tools writes `import pubsub_api_pb2` in the _grpc module; it is made relative here.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = [
    ROOT / "salesforce_emulator" / "pubsub",
    ROOT / "accounts" / "salesforce" / "pubsub_stubs",
]
PROTO = "pubsub_api.proto"
OUTPUTS = ["pubsub_api_pb2.py", "pubsub_api_pb2_grpc.py"]


def generate(folder: Path, out: Path) -> None:
    from grpc_tools import protoc

    code = protoc.main(
        ["protoc", f"-I{folder}", f"--python_out={out}", f"--grpc_python_out={out}", PROTO]
    )
    if code != 0:
        raise SystemExit(f"protoc failed on {folder / PROTO}")
    grpc_module = out / OUTPUTS[1]
    text = grpc_module.read_text()
    text = text.replace("import pubsub_api_pb2 as", "from . import pubsub_api_pb2 as")
    grpc_module.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    protos = {(folder / PROTO).read_bytes() for folder in FOLDERS}
    if len(protos) != 1:
        print("the two copies of pubsub_api.proto differ", file=sys.stderr)
        return 1
    stale = []
    for folder in FOLDERS:
        with tempfile.TemporaryDirectory() as tmp:
            generate(folder, Path(tmp))
            for name in OUTPUTS:
                fresh = (Path(tmp) / name).read_text()
                target = folder / name
                if args.check:
                    if not target.exists() or target.read_text() != fresh:
                        stale.append(str(target.relative_to(ROOT)))
                else:
                    target.write_text(fresh)
    if stale:
        print("stale stubs (run scripts/pubsub_stubs.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
