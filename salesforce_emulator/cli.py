"""Command-line entry point shared by `python -m salesforce_emulator` and the Django command."""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_DATA_DIR = Path("var") / "emulator"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8443, help="HTTPS API/instance port")
    parser.add_argument("--login-port", type=int, default=8444, help="plain-HTTP login/UI port")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind")
    parser.add_argument(
        "--data-dir",
        default=str(DEFAULT_DATA_DIR),
        help="where the SQLite file and certificate live",
    )
    parser.add_argument("--reset", action="store_true", help="wipe state and recreate the demo")
    parser.add_argument(
        "--callback-url",
        action="append",
        default=[],
        help="extra callback URL for the demo connected app (repeatable)",
    )
    parser.add_argument(
        "--cert-host",
        action="append",
        default=[],
        help="extra DNS name/IP for the certificate (repeatable)",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request")


def run(options: dict) -> None:
    from .server import EmulatorServer

    server = EmulatorServer(
        options["data_dir"],
        host=options["host"],
        port=options["port"],
        login_port=options["login_port"],
        reset=options["reset"],
        callback_urls=options["callback_url"],
        cert_hosts=options["cert_host"],
        verbose=options["verbose"],
    )
    print(server.banner(), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="salesforce_emulator", description=__doc__)
    add_arguments(parser)
    run(vars(parser.parse_args(argv)))
