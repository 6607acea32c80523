"""One pool of kept-alive connections per process (issue 16, B3 and B4): a worker runs one sync
after another, for one rep or many, and each used to open its own TLS connection to Salesforce.
The emulator counts the connections it accepts; production engine and client over HTTPS."""

from __future__ import annotations

import multiprocessing
import time

import pytest

from tasksync.models import PauseReason, ReminderTask
from tests.fixtures_sync import state_of
from tests.sync.test_trust import _colleague


def test_idle_polls_one_after_another_use_one_connection(syncing, run, sf_emulator):
    # B3: five idle polls, five runs of the engine, each with its own client and session.
    run()  # settle: the poll after the first sync reads the delete log too
    sf_emulator.reset_api_calls()
    for _ in range(5):
        result = run()
        assert (result.pulled, result.pushed) == (0, 0)
    assert sf_emulator.api_call_total() == 5
    assert sf_emulator.connections_opened() <= 1


def test_two_reps_of_one_org_share_the_workers_connection(syncing, run, sf_emulator):
    # R18: a connection carries no one's credentials (each request sends its own token), so a
    # worker serving two reps of one org keeps one connection; what each run reads stays theirs.
    colleague, _ = _colleague(sf_emulator)
    sf_emulator.create_task(Subject="Mine only")
    run()
    run(user=colleague)
    sf_emulator.reset_api_calls()
    for _ in range(3):
        run()
        run(user=colleague)
    assert sf_emulator.api_call_total() == 6
    assert sf_emulator.connections_opened() <= 1
    assert ReminderTask.objects.filter(user=syncing, name="Mine only").count() == 1
    assert not ReminderTask.objects.filter(user=colleague, name="Mine only").exists()


def test_a_connection_the_server_closed_while_idle_is_replaced_not_failed(
    syncing, run, sf_emulator
):
    # R12: Salesforce closes a kept-alive connection left idle; the next run opens a new one
    # and succeeds: no transient error, no retry, nothing in doubt.
    sf_emulator.set_keepalive_timeout(0.2)
    run()  # the kept connection now waits for its next request under the short timeout
    time.sleep(0.6)  # the server has closed it
    sf_emulator.reset_api_calls()
    sf_emulator.create_task(Subject="After the close")
    result = run()
    assert result.pulled == 1 and result.error == ""
    assert sf_emulator.api_calls() == {"queryAll": 1}
    assert sf_emulator.connections_opened() == 1
    assert state_of(syncing).pause_reason == PauseReason.NONE
    assert ReminderTask.objects.filter(user=syncing, name="After the close").exists()


def _adapter_in_child(queue, parent_adapter_id):
    from accounts.salesforce.client import session

    inherited = session._pool is not None and id(session._pool[1]) == parent_adapter_id
    queue.put((inherited, id(session.shared_adapter()) != parent_adapter_id))


@pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="needs the fork start method"
)
def test_a_forked_worker_opens_a_pool_of_its_own():
    # django-q2 forks its workers: the parent's sockets must never be read by two processes.
    from accounts.salesforce.client import session

    parent = session.shared_adapter()
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_adapter_in_child, args=(queue, id(parent)))
    child.start()
    inherited, fresh = queue.get(timeout=30)
    child.join(30)
    assert inherited, "the child starts with the parent's pool in its memory"
    assert fresh, "and makes its own before its first call"
    assert session.shared_adapter() is parent
