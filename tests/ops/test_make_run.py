"""`make run` stops every process it started on Ctrl-C, every time (README "The two commands").

The real `make run` (set-up and rundev: web, qcluster with its sentinel and workers, emulator) on
free ports with its own SQLite file and emulator data, never port 8000. Ctrl-C is what a terminal
does: SIGINT to the whole foreground process group. Every process of the tree carries a marker
in its environment, so a worker that escaped its parent is still found.
"""

import os
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import requests
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
MARKER = "TASKSYNC_RUN_MARKER"

# `make run` always runs on its own SQLite file, so CI's PostgreSQL pass would only repeat it.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="make run uses its own SQLite database; it runs in the SQLite pass",
    ),
]


def _free_port(*, also_free_at: int = 0) -> int:
    """A free port ``p`` (and ``p + also_free_at`` free too: the emulator's Pub/Sub port)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if not also_free_at or _is_free(port + also_free_at):
            return port
    raise RuntimeError("no free port")


def _is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _marked(marker: str) -> list[tuple[int, str]]:
    """(pid, command line) of every live process whose environment holds the marker."""
    found = []
    needle = f"{MARKER}={marker}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            status = (entry / "status").read_text()
            if "\nState:\tZ" in status:
                continue  # exited, waiting to be reaped: not running
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        found.append((int(entry.name), cmdline.strip()))
    return found


def _env(tmp_path, marker, *, login_port):
    # A developer's shell, not the test process's (whose settings module put test values in
    # os.environ): only what a terminal has, plus this run's own places.
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "TMPDIR") if key in os.environ}
    env.update(
        {
            MARKER: marker,
            "TASKSYNC_IGNORE_DOTENV": "true",  # not the developer's .env, and none written
            "DEBUG": "true",
            "SECRET_KEY": "make-run-test-secret",
            "TOKEN_ENCRYPTION_KEYS": ",".join(settings.TOKEN_ENCRYPTION_KEYS),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "EMULATOR_DATA_DIR": str(tmp_path / "emulator"),
            "SALESFORCE_LOGIN_URL": f"http://127.0.0.1:{login_port}",
            "SYNC_POLL_SECONDS": "15",
            "Q_WORKERS": "3",
            "Q_POLL": "0.1",
        }
    )
    return env


def _wait_until(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.3)
    return False


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _make_run_and_ctrl_c(tmp_path, attempt: int):
    marker = uuid.uuid4().hex
    web, api, login = _free_port(), _free_port(also_free_at=2), _free_port()
    log_path = tmp_path / f"make-run-{attempt}.log"
    log = log_path.open("w")

    def log_text():
        return log_path.read_text(errors="replace")

    make = subprocess.Popen(
        [
            "make",
            "--no-print-directory",
            "run",
            f"RUN_ARGS=--addr 127.0.0.1:{web} --emulator-port {api}",
        ],
        cwd=ROOT,
        env=_env(tmp_path, marker, login_port=login),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own foreground group, as in a terminal
    )
    try:
        assert _wait_until(lambda: _answers(f"http://127.0.0.1:{web}/login/"), 180), log_text()
        assert _wait_until(lambda: _answers(f"http://127.0.0.1:{login}/ui/"), 30)
        # web, emulator, qcluster + its sentinel, monitor, pusher and 3 workers, rundev, make
        assert _wait_until(lambda: len(_marked(marker)) >= 10, 30), _marked(marker)
        # A demo that has run a while: the scheduler (its first look comes ~30 s after start)
        # has handed a worker the poll dispatcher, a job that does not end by itself at once.
        assert _wait_until(lambda: "tasksync.jobs.dispatch_polls" in log_text(), 90), log_text()
        time.sleep(1)
        started = _marked(marker)
        os.killpg(make.pid, signal.SIGINT)  # Ctrl-C
        make.wait(timeout=60)
        _wait_until(lambda: not _marked(marker), 15)
        left = _marked(marker)
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
        for pid, _ in _marked(marker):  # never leave a stray process to other tests
            os.kill(pid, signal.SIGKILL)
        log.close()
    return started, left


def test_ctrl_c_on_make_run_stops_every_process_it_started_twice(tmp_path):
    # README: "Stop everything with Ctrl-C"; a second `make run` must not find a first cluster.
    for attempt in (1, 2):
        started, left = _make_run_and_ctrl_c(tmp_path, attempt)
        assert any("qcluster" in cmd for _, cmd in started), started
        assert left == [], f"attempt {attempt}: still running after Ctrl-C: {left}"
