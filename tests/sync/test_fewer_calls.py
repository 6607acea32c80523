"""Fewer calls (issue 16): pulls chained through Composite, the TaskStatus picklist kept per org,
the delete log in the poll's one call, pushes packed into Composite calls. API calls are counted
exactly by the emulator; production engine and client over HTTPS, nothing of ours mocked."""

from __future__ import annotations

from django.test import Client

from tasksync.models import ReminderTask
from tests.factories import UserFactory


def test_a_first_import_of_10000_tasks_takes_two_calls_and_reads_the_picklist_once_per_org(
    rep, turn_on, sf_emulator
):
    # R13 (issue 16): the picklist (one of Composite's 5 queries) and four pages in the first
    # call, the fifth page in the second; a page chained past the last one is the normal end.
    sf_emulator.create_tasks([{"Subject": f"Task {i}"} for i in range(10_000)])
    sf_emulator.reset_api_calls()
    run = turn_on()
    assert ReminderTask.objects.filter(user=rep).count() == 10_000
    assert run.api_calls == sf_emulator.api_call_total() == 2, sf_emulator.api_calls()
    assert sf_emulator.api_calls() == {"composite": 2}
    assert run.outcome == "success"


def test_the_picklist_is_kept_per_org_so_a_colleagues_first_import_reads_only_tasks(
    rep, turn_on, sf_emulator
):
    # R1, R13: a second rep of the same org imports without reading TaskStatus again: five
    # pages of 2,000 in one call.
    from accounts.models import SalesforceOrg

    turn_on()
    org = SalesforceOrg.objects.get(org_id=sf_emulator.demo.org_id)
    assert org.task_statuses_at is not None
    assert {row["ApiName"] for row in org.task_statuses} >= {"Not Started", "Completed"}
    from tasksync.services.sync import sync_enable
    from tasksync.sync.engine import sync_user
    from tests.fixtures_salesforce import connect_via_emulator

    bea_sf = sf_emulator.create_user(
        sf_emulator.demo.org_id, "bea@tasksync.example", "pw-bea", "Bea"
    )
    sf_emulator.create_tasks([{"Subject": f"Bea {i}"} for i in range(10_000)], user_id=bea_sf["id"])
    bea = UserFactory(username="bea")
    client = Client()
    client.force_login(bea)
    connect_via_emulator(client, sf_emulator, username="bea@tasksync.example", password="pw-bea")
    sync_enable(user=bea)
    sf_emulator.reset_api_calls()
    run = sync_user(user_id=bea.pk, trigger="first_sync")
    assert ReminderTask.objects.filter(user=bea).count() == 10_000
    assert run.api_calls == sf_emulator.api_call_total() == 1, sf_emulator.api_calls()


def _state(user):
    from tasksync.models import SyncState

    return SyncState.objects.get(user=user)


def test_a_poll_that_reads_the_delete_log_is_one_call(syncing, run, sf_emulator):
    # R6, R7, R13 (issue 16): the changes query and sObject Get Deleted in one Composite call.
    from datetime import timedelta

    from django.utils import timezone

    from tasksync.models import SyncState
    from tasksync.services import tasks as services
    from tests.fixtures_sync import link_of

    task = services.task_create(user=syncing, name="Soon gone")
    run("push")
    sf_id = link_of(task).sf_id
    sf_emulator.delete_task(sf_id)
    SyncState.objects.filter(user=syncing).update(
        deleted_watermark=timezone.now() - timedelta(minutes=6)
    )
    sf_emulator.reset_api_calls()
    result = run()
    assert sf_emulator.api_calls() == {"composite": 1}
    assert result.api_calls == 1
    assert ReminderTask.objects.get(pk=task.pk).deleted_at is not None
    assert _state(syncing).deleted_watermark > timezone.now() - timedelta(minutes=2)


def test_an_idle_poll_right_after_the_first_sync_is_one_plain_query(syncing, run, sf_emulator):
    # R9, R13: the first import starts the delete log's clock (nothing was linked before it).
    run()
    assert sf_emulator.api_calls() == {"queryAll": 1}


def test_a_rejected_status_makes_the_next_poll_read_the_picklist_again(syncing, run, sf_emulator):
    # R1 (issue 16): the org's picklist is kept for a day, unless Salesforce rejects a status:
    # then the next poll reads it in its one call and the new closed value is used.
    from accounts.models import SalesforceOrg
    from tasksync.models import OutboundChange
    from tasksync.services import tasks as services
    from tests.fixtures_sync import link_of

    task = services.task_create(user=syncing, name="Finish me")
    run("push")
    sf_emulator.rename_status("Completed", "Done")
    services.task_complete(task=ReminderTask.objects.get(pk=task.pk))
    run("push", allow_partial=True)
    row = OutboundChange.objects.get(task=task)
    assert row.state == "failed" and "Status" in row.last_error
    assert SalesforceOrg.objects.get(org_id=sf_emulator.demo.org_id).task_statuses_at is None
    sf_emulator.reset_api_calls()
    run()
    assert sf_emulator.api_calls() == {"composite": 1}
    assert _state(syncing).status_complete_value == "Done"
    other = services.task_create(user=syncing, name="Finish me too")
    services.task_complete(task=ReminderTask.objects.get(pk=other.pk))
    run("push")
    assert sf_emulator.get_task(link_of(other).sf_id)["Status"] == "Done"


def test_a_poll_of_4500_changes_reads_one_page_then_chains_the_rest(syncing, run, sf_emulator):
    # R13: an incremental pull starts with one plain page; the rest come five a call.
    sf_emulator.create_tasks([{"Subject": f"New {i}"} for i in range(4500)])
    sf_emulator.reset_api_calls()
    result = run()
    assert ReminderTask.objects.filter(user=syncing).count() == 4500
    assert sf_emulator.api_calls() == {"queryAll": 1, "composite": 1}
    assert result.api_calls == 2


def test_a_prefetched_call_that_fails_is_tried_again_and_nothing_is_lost(syncing, run, sf_emulator):
    # R12: the next call goes out while a page is written; if it fails, the ordinary client
    # (retries, token refresh) tries again in the run's own thread.
    sf_emulator.create_tasks([{"Subject": f"New {i}"} for i in range(4500)])
    sf_emulator.inject_fault(method="POST", path="composite$", status=503, times=1)
    sf_emulator.reset_api_calls()
    result = run()
    assert ReminderTask.objects.filter(user=syncing).count() == 4500
    assert sf_emulator.api_calls() == {"queryAll": 1, "composite": 2}
    assert result.outcome == "success"


def test_a_query_that_fails_inside_a_chained_call_fails_the_run_and_moves_no_cursor(
    syncing, run, sf_emulator
):
    # R12, R16: a subrequest's error is classified like a top-level one; the cursor stays.
    from tasksync.sync.engine import sync_user

    sf_emulator.create_tasks([{"Subject": f"New {i}"} for i in range(2500)])
    before = _state(syncing).watermark
    sf_emulator.inject_fault(method="POST", path="composite$", status=503, times=None)
    result = sync_user(user_id=syncing.pk, trigger="poll")
    assert result.outcome == "failed"
    assert _state(syncing).watermark == before
    sf_emulator.clear_faults()
    run()
    assert ReminderTask.objects.filter(user=syncing).count() == 2500


# --- pushes: up to 1,000 changes of a mix in one call after the pull (R5, R8, R9, R13) ------


def _linked_tasks(user, run, n, prefix="Task"):
    from tasksync.services import tasks as services
    from tests.fixtures_sync import link_of

    tasks = [services.task_create(user=user, name=f"{prefix} {i}") for i in range(n)]
    run("push")
    assert all(link_of(t).sf_id for t in tasks)
    return tasks


def test_a_push_of_1000_mixed_changes_is_one_call_after_the_pull(syncing, run, sf_emulator):
    # R13 (issue 16): 400 creates, 400 edits and 200 deletes in one Composite call of five
    # collections, after (never inside) the pull they depend on (R8, R9).
    from tasksync.models import OutboundChange
    from tasksync.services import tasks as services
    from tests.fixtures_sync import link_of

    old = _linked_tasks(syncing, run, 600)
    for task in old[:400]:
        services.task_update(task=ReminderTask.objects.get(pk=task.pk), details="edited")
    for task in old[400:]:
        services.task_delete(task=ReminderTask.objects.get(pk=task.pk))
    new = [services.task_create(user=syncing, name=f"New {i}") for i in range(400)]
    sf_emulator.reset_api_calls()
    result = run("push")
    assert sf_emulator.api_calls() == {"queryAll": 1, "composite": 1}
    assert result.api_calls == 2
    assert (result.pushed, result.deleted, result.failed) == (800, 200, 0)
    assert not OutboundChange.objects.filter(user=syncing).exists()
    live = {t["Id"]: t for t in sf_emulator.tasks(include_deleted=False)}
    assert len(live) == 800
    assert all(live[link_of(t).sf_id]["Description"] == "edited" for t in old[:400])
    assert all(link_of(t).sf_id in live for t in new)


def test_a_mix_beyond_five_collections_sends_the_rest_as_single_records(syncing, run, sf_emulator):
    # R13: 201 creates, an edit and a delete: one collection of 200 and three single-record
    # subrequests (a create, an update, a delete), still one call.
    from tasksync.services import tasks as services
    from tests.fixtures_sync import link_of

    edited, deleted = _linked_tasks(syncing, run, 2)
    services.task_update(task=ReminderTask.objects.get(pk=edited.pk), details="edited")
    services.task_delete(task=ReminderTask.objects.get(pk=deleted.pk))
    new = [services.task_create(user=syncing, name=f"New {i}") for i in range(201)]
    sf_emulator.reset_api_calls()
    result = run("push")
    assert sf_emulator.api_calls() == {"queryAll": 1, "composite": 1}
    assert (result.pushed, result.deleted, result.failed) == (202, 1, 0)
    assert sf_emulator.get_task(link_of(edited).sf_id)["Description"] == "edited"
    assert sf_emulator.get_task(link_of(deleted).sf_id)["IsDeleted"] is True
    assert len({link_of(t).sf_id for t in new}) == 201


def test_records_refused_inside_a_composite_push_fail_alone_with_salesforces_message(
    syncing, run, sf_emulator
):
    # R11, R12: allOrNone false: a refused create and a refused edit are marked failed with
    # Salesforce's message; the rest of the call lands.
    from tasksync.models import OutboundChange
    from tasksync.services import tasks as services

    edited, fine = _linked_tasks(syncing, run, 2)
    sf_emulator.reject_records(field="Subject", contains="BLOCK", message="No BLOCK here")
    services.task_update(task=ReminderTask.objects.get(pk=edited.pk), name="BLOCK edit")
    services.task_update(task=ReminderTask.objects.get(pk=fine.pk), details="fine")
    services.task_create(user=syncing, name="BLOCK create")
    services.task_create(user=syncing, name="Fine create")
    sf_emulator.reset_api_calls()
    result = run("push", allow_partial=True)
    assert sf_emulator.api_calls() == {"queryAll": 1, "composite": 1}
    assert (result.pushed, result.failed) == (2, 2)
    failed = OutboundChange.objects.filter(user=syncing, state="failed")
    assert failed.count() == 2
    assert all("No BLOCK here" in row.last_error for row in failed)


def test_a_composite_push_whose_answer_is_lost_leaves_its_creates_in_doubt_never_sent_twice(
    syncing, run, sf_emulator
):
    # R10: the call committed, its answer never came: the creates are in doubt, exactly as with
    # a lost collection call; the next pull finds and links them; the edit is sent again.
    from tasksync.models import TaskLink
    from tasksync.services import tasks as services
    from tasksync.sync.engine import sync_user
    from tests.fixtures_sync import link_of

    (edited,) = _linked_tasks(syncing, run, 1)
    services.task_update(task=ReminderTask.objects.get(pk=edited.pk), details="edited")
    new = [services.task_create(user=syncing, name=f"New {i}") for i in range(3)]
    sf_emulator.drop_response(method="POST", path="composite$")
    failed = sync_user(user_id=syncing.pk, trigger="push")
    assert failed.outcome == "failed"
    assert all(link_of(t).state == "creating" and link_of(t).sf_id is None for t in new)
    assert len(sf_emulator.tasks(include_deleted=False)) == 4  # they did land
    run()  # the pull matches them (R10)
    assert all(link_of(t).sf_id for t in new)
    from tasksync.models import OutboundChange

    OutboundChange.objects.filter(user=syncing).update(not_before=None)
    run("push")
    assert len(sf_emulator.tasks(include_deleted=False)) == 4  # never sent twice
    assert TaskLink.objects.filter(user=syncing, state="synced").count() == 4
    assert sf_emulator.get_task(link_of(edited).sf_id)["Description"] == "edited"


def test_an_idle_polls_bookkeeping_is_three_writes_in_one_transaction(syncing, run, sf_emulator):
    # R13 (issue 16, B3): after the lease's claim (which must commit before the call), an idle
    # poll writes its run, the org's usage and the user's state (cursor, success, next poll,
    # the lease's release) in one transaction, and nothing else.
    from django.db import connection

    run()  # settle
    writes = []

    def record(execute, sql, params, many, context):
        verb = sql.lstrip().split(None, 1)[0].upper()
        if verb in ("INSERT", "UPDATE", "DELETE"):
            writes.append((verb, sql.split(" SET ")[0][:60], connection.in_atomic_block))
        return execute(sql, params, many, context)

    sf_emulator.reset_api_calls()
    with connection.execute_wrapper(record):
        result = run()
    assert sf_emulator.api_calls() == {"queryAll": 1}
    assert (result.pulled, result.pushed) == (0, 0)
    claim, *bookkeeping = writes
    assert claim[0] == "UPDATE" and "tasksync_syncstate" in claim[1], writes
    assert len(bookkeeping) == 3, writes
    assert all(in_transaction for *_, in_transaction in bookkeeping), writes
    tables = sorted(
        next(t for t in ("syncrun", "salesforceorg", "syncstate") if t in w[1]) for w in bookkeeping
    )
    assert tables == ["salesforceorg", "syncrun", "syncstate"], writes


def test_at_the_budget_share_the_pages_already_read_are_applied_and_no_more_is_called(
    syncing, sf_emulator
):
    # R13: the next call waits for the budget; what the last call brought is not thrown away.
    from tasksync.sync.engine import sync_user

    sf_emulator.create_tasks([{"Subject": f"New {i}"} for i in range(4500)])
    sf_emulator.set_api_limit(1000, used=499)
    sf_emulator.reset_api_calls()
    result = sync_user(user_id=syncing.pk, trigger="poll")
    assert result.outcome == "partial"
    assert sf_emulator.api_calls() == {"queryAll": 1}
    assert ReminderTask.objects.filter(user=syncing).count() == 2000
