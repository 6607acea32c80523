"""B4 fleet: one poll round of many users, run by two real qcluster processes on PostgreSQL:
every user polled exactly once, never two runs of one user at once, an idle poll at most 2 API
calls (R5, R10, R13).

Only on PostgreSQL, like tests/failure/test_workers.py: SQLite serialises every writer, so it
cannot show two workers racing (CI runs the suite on both).
"""

import json
import time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

FLEET = 20


def on_postgres(test):
    """Real worker processes: a transactional database, and PostgreSQL only."""
    for mark in (
        pytest.mark.postgres,
        pytest.mark.django_db(transaction=True),
        pytest.mark.usefixtures("_postgres_only"),
    ):
        test = mark(test)
    return test


@pytest.fixture
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL): SQLite serialises every writer")


def _database_url():
    db = connection.settings_dict
    user = db.get("USER") or "postgres"
    auth = f"{user}:{db['PASSWORD']}@" if db.get("PASSWORD") else f"{user}@"
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


@pytest.mark.parametrize("url", [None, "sqlite:////tmp/not-postgres.sqlite3"])
def test_b4_refuses_anything_but_postgresql(url):
    args = ["benchmark_sync", "--only", "B4", "--fleet-users", "2"]
    with pytest.raises(CommandError, match="PostgreSQL"):
        call_command(*args, *(["--database-url", url] if url else []), verbosity=0)


@on_postgres
def test_a_fleet_poll_round_with_two_workers(tmp_path):
    out = tmp_path / "b4.json"
    started = time.monotonic()
    call_command(
        "benchmark_sync",
        "--only",
        "B4",
        "--fleet-users",
        str(FLEET),
        "--database-url",
        _database_url(),
        "--json",
        str(out),
        verbosity=0,
    )
    b4 = json.loads(out.read_text())["B4"]
    print(json.dumps(b4, indent=1), f"\n{time.monotonic() - started:.1f} s in all")
    assert b4["queued"] == FLEET and b4["all_done"]
    assert b4["users_polled_once"] == FLEET, b4  # every user polled exactly once…
    assert b4["users_polled_twice_or_more"] == 0
    assert b4["lost"] == b4["unfinished"] == 0  # …and no queued poll lost
    assert b4["outcomes"] == {"success": FLEET}, b4["errors"]
    assert b4["overlapping_runs"] == 0  # R10: never two runs of one user at once
    assert b4["idle_api_calls_max"] <= 2, b4["api_calls_by_kind"]  # R13, as B3
    assert b4["api_calls"] == b4["api_calls_engine"]
    assert b4["pulled_by_changed_users"] == b4["changed_users"] * b4["changed_records_per_user"]
    assert len(b4["worker_pids"]) == 2
