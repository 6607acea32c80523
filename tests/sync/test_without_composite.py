"""SALESFORCE_COMPOSITE off (issue 16): the same sync without the Composite resource. Chained
query pages become a query and its queryMore pages, the delete log and the picklist calls of
their own, a packed push sObject Collection calls (up to 200 records each) and single-record
calls. API calls are counted exactly by the emulator; production engine and client over HTTPS,
nothing of ours mocked."""

from __future__ import annotations

import pytest

from tasksync.models import OutboundChange, ReminderTask, TaskLink
from tasksync.services import tasks as services
from tests.fixtures_sync import link_of


@pytest.fixture(autouse=True)
def without_composite(settings):
    settings.SALESFORCE_COMPOSITE = False


def _linked_tasks(user, run, n, prefix="Task"):
    tasks = [services.task_create(user=user, name=f"{prefix} {i}") for i in range(n)]
    run("push")
    assert all(link_of(t).sf_id for t in tasks)
    return tasks


def _fresh(task):
    return ReminderTask.objects.get(pk=task.pk)


# --- pulls -------------------------------------------------------------------------------------


def _pulled(sf_emulator, sync, n: int):
    """``n`` new Salesforce tasks, then ``sync()``: (its run, the calls Salesforce counted)."""
    sf_emulator.create_tasks([{"Subject": f"Task {i}"} for i in range(n)])
    sf_emulator.reset_api_calls()
    result = sync()
    return result, sf_emulator.api_calls()


def _delete_log_due(user, sf_id, sf_emulator):
    """``sf_id`` deleted in Salesforce, and the delete log due in the next poll (R7)."""
    from datetime import timedelta

    from django.utils import timezone

    from tasksync.models import SyncState

    sf_emulator.delete_task(sf_id)
    SyncState.objects.filter(user=user).update(
        deleted_watermark=timezone.now() - timedelta(minutes=6)
    )


def test_a_first_import_of_2500_tasks_is_the_picklist_a_query_and_one_query_more(
    rep, turn_on, sf_emulator
):
    # R1, R4, R13: the TaskStatus picklist and the import query, each a plain query, then the
    # second page of 2,000 through queryMore.
    result, calls = _pulled(sf_emulator, turn_on, 2500)
    assert ReminderTask.objects.filter(user=rep).count() == 2500
    assert calls == {"query": 2, "queryMore": 1}
    assert (result.api_calls, result.outcome) == (3, "success")


@pytest.mark.parametrize("fault", [False, True], ids=["plain", "prefetch-fails-once"])
def test_a_poll_of_4500_changes_is_a_query_and_two_query_mores(fault, syncing, run, sf_emulator):
    # R12, R13: the next page is fetched while this one is written; a prefetch that fails is
    # tried again by the ordinary client in the run's own thread, and nothing is lost.
    if fault:
        sf_emulator.inject_fault(method="GET", path=r"/query(All)?/\w", status=503, times=1)
    result, calls = _pulled(sf_emulator, run, 4500)
    assert ReminderTask.objects.filter(user=syncing).count() == 4500
    assert calls == {"queryAll": 1, "queryMore": 3 if fault else 2}
    assert (result.api_calls, result.outcome) == (4 if fault else 3, "success")


def test_a_poll_that_reads_the_delete_log_is_two_calls(syncing, run, sf_emulator):
    # R6, R7: sObject Get Deleted, then the changes query.
    (task,) = _linked_tasks(syncing, run, 1)
    _delete_log_due(syncing, link_of(task).sf_id, sf_emulator)
    sf_emulator.reset_api_calls()
    result = run()
    assert sf_emulator.api_calls() == {"sobjects/Task/deleted GET": 1, "queryAll": 1}
    assert result.api_calls == 2
    assert _fresh(task).deleted_at is not None


def test_a_refused_delete_log_falls_back_to_reconciling_ids(syncing, run, sf_emulator):
    # R7: Salesforce's refusal of the delete log (as inside Composite: a result, not a crash)
    # makes the pull ask which linked ids still exist.
    task, kept = _linked_tasks(syncing, run, 2)
    _delete_log_due(syncing, link_of(task).sf_id, sf_emulator)
    sf_emulator.inject_fault(
        method="GET", path="deleted", status=403, error_code="INSUFFICIENT_ACCESS", times=1
    )
    sf_emulator.reset_api_calls()
    result = run()
    assert result.outcome == "success"
    assert sf_emulator.api_calls() == {
        "sobjects/Task/deleted GET": 1,
        "queryAll": 2,  # the changes query, then the linked ids
    }
    assert _fresh(task).deleted_at is not None
    assert _fresh(kept).deleted_at is None


# --- pushes ------------------------------------------------------------------------------------


def _mixed_push(user, run, sf_emulator, *, creates: int, edits: int, deletes: int):
    """Linked tasks edited and deleted here, new ones created, then one push cycle:
    (its run, the calls Salesforce counted, the edited, the deleted, the created)."""
    old = _linked_tasks(user, run, edits + deletes)
    edited, deleted = old[:edits], old[edits:]
    for task in edited:
        services.task_update(task=_fresh(task), details="edited")
    for task in deleted:
        services.task_delete(task=_fresh(task))
    new = [services.task_create(user=user, name=f"New {i}") for i in range(creates)]
    sf_emulator.reset_api_calls()
    result = run("push")
    assert not OutboundChange.objects.filter(user=user).exists()
    live = {t["Id"]: t for t in sf_emulator.tasks(include_deleted=False)}
    assert len(live) == creates + edits
    assert all(live[link_of(t).sf_id]["Description"] == "edited" for t in edited)
    assert all(link_of(t).sf_id in live for t in new)
    assert len({link_of(t).sf_id for t in new}) == creates
    return result, sf_emulator.api_calls()


@pytest.mark.parametrize(
    ("creates", "edits", "deletes", "calls"),
    [
        # 450 creates: collections of 200, 200 and 50.
        (450, 0, 0, {"composite/sobjects POST": 3}),
        # 1,000 of a mix: one collection call per 200 of a kind.
        (
            400,
            400,
            200,
            {
                "composite/sobjects POST": 2,
                "composite/sobjects PATCH": 2,
                "composite/sobjects DELETE": 1,
            },
        ),
        # Composite would carry a collection of 200 and three single-record subrequests (a
        # create, an update, a delete): without it, each of those is a call of its own.
        (
            201,
            1,
            1,
            {
                "composite/sobjects POST": 1,
                "sobjects/Task POST": 1,
                "sobjects/Task/{id} PATCH": 1,
                "sobjects/Task/{id} DELETE": 1,
            },
        ),
        # Composite would carry five collections and three singles: without it the three go as
        # one more collection, not three calls.
        (1003, 0, 0, {"composite/sobjects POST": 6}),
    ],
    ids=["450-creates", "1000-mixed", "201-1-1", "1003-creates"],
)
def test_a_push_is_one_collection_call_per_200_of_a_kind_after_the_pull(
    creates, edits, deletes, calls, syncing, run, sf_emulator
):
    # R5, R6, R13: every change lands, in the calls listed, after the cycle's one pull.
    result, counted = _mixed_push(
        syncing, run, sf_emulator, creates=creates, edits=edits, deletes=deletes
    )
    assert counted == {"queryAll": 1, **calls}
    assert result.api_calls == 1 + sum(calls.values())
    assert (result.pushed, result.deleted, result.failed) == (creates + edits, deletes, 0)


@pytest.mark.parametrize(
    ("per_kind", "calls"),
    [
        (2, {"composite/sobjects POST": 1, "composite/sobjects PATCH": 1}),
        (1, {"sobjects/Task POST": 1, "sobjects/Task/{id} PATCH": 1}),
    ],
    ids=["collections", "single-records"],
)
def test_refused_records_fail_alone_with_salesforces_message(
    per_kind, calls, syncing, run, sf_emulator
):
    # R11, R12: creates and edits, each kind in a collection (two of a kind) or in single-record
    # calls (one); the first of each kind is refused by a validation rule. Salesforce's refusal
    # is that record's failure, with its words, as inside Composite; the rest lands.
    old = _linked_tasks(syncing, run, per_kind)
    sf_emulator.reject_records(field="Subject", contains="BLOCK", message="No BLOCK here")
    services.task_update(task=_fresh(old[0]), name="BLOCK edit")
    for task in old[1:]:
        services.task_update(task=_fresh(task), details="fine")
    new = [services.task_create(user=syncing, name="BLOCK create")]
    new += [services.task_create(user=syncing, name=f"Fine {i}") for i in range(per_kind - 1)]
    sf_emulator.reset_api_calls()
    result = run("push", allow_partial=True)
    assert sf_emulator.api_calls() == {"queryAll": 1, **calls}
    assert (result.pushed, result.failed) == (2 * per_kind - 2, 2)
    failed = OutboundChange.objects.filter(user=syncing, state="failed")
    assert {row.task_id for row in failed} == {old[0].pk, new[0].pk}
    assert all("No BLOCK here" in row.last_error for row in failed)
    assert all(sf_emulator.get_task(link_of(t).sf_id)["Description"] == "fine" for t in old[1:])
    assert all(link_of(t).sf_id for t in new[1:])


def test_a_lost_single_create_answer_leaves_it_in_doubt_never_sent_twice(syncing, run, sf_emulator):
    # R10: a lone create goes as a single-record call beside the edit's, the two on the wire
    # at once; the create committed, its answer never came: the run stops there (the edit's
    # answer is not settled, so it is sent again later: an update is idempotent), the create is
    # in doubt, and the next pull links it.
    from tasksync.sync.engine import sync_user

    (edited,) = _linked_tasks(syncing, run, 1)
    services.task_update(task=_fresh(edited), details="edited")
    made = services.task_create(user=syncing, name="Made here")
    sf_emulator.drop_response(method="POST", path="sobjects/Task$")
    sf_emulator.reset_api_calls()
    assert sync_user(user_id=syncing.pk, trigger="push").outcome == "failed"
    assert sf_emulator.api_calls() == {
        "queryAll": 1,
        "sobjects/Task POST": 1,
        "sobjects/Task/{id} PATCH": 1,
    }
    assert (link_of(made).state, link_of(made).sf_id) == ("creating", None)
    run()  # the pull finds it (R10)
    assert link_of(made).sf_id
    OutboundChange.objects.filter(user=syncing).update(not_before=None)
    sf_emulator.reset_api_calls()
    run("push")
    # The pull read the edit as Salesforce holds it, the same as here: nothing is sent again.
    assert sf_emulator.api_calls() == {"queryAll": 1}
    assert not OutboundChange.objects.filter(user=syncing).exists()
    assert len(sf_emulator.tasks(include_deleted=False)) == 2  # never sent twice
    assert TaskLink.objects.filter(user=syncing, state="synced").count() == 2
    assert sf_emulator.get_task(link_of(edited).sf_id)["Description"] == "edited"


def test_changes_on_both_sides_converge(syncing, run, sf_emulator):
    # R5, R6, R8: edits and deletes on both sides, a few cycles, then both sides agree.
    tasks = _linked_tasks(syncing, run, 5)
    sf_emulator.update_task(link_of(tasks[0]).sf_id, Description="from Salesforce")
    sf_emulator.delete_task(link_of(tasks[1]).sf_id)
    sf_emulator.create_task(Subject="Made in Salesforce")
    services.task_update(task=_fresh(tasks[2]), details="from here")
    services.task_delete(task=_fresh(tasks[3]))
    services.task_create(user=syncing, name="Made here")
    run("push")
    run()
    live_remote = {t["Subject"]: t for t in sf_emulator.tasks(include_deleted=False)}
    live_local = {t.name: t for t in ReminderTask.objects.filter(user=syncing, deleted_at=None)}
    assert (
        set(live_remote)
        == set(live_local)
        == {
            "Task 0",
            "Task 2",
            "Task 4",
            "Made in Salesforce",
            "Made here",
        }
    )
    assert live_local["Task 0"].details == "from Salesforce"
    assert live_remote["Task 2"]["Description"] == "from here"
    assert not OutboundChange.objects.filter(user=syncing).exists()


def test_a_collection_answer_that_cannot_be_read_leaves_its_creates_in_doubt(
    syncing, run, sf_emulator
):
    # R12 + R10: a 200 whose body is not a collection's list (a proxy's page): the run fails as
    # transient, the creates stay in doubt, and are sent again once they cannot have landed.
    from datetime import timedelta

    from django.utils import timezone

    from tasksync.sync.engine import sync_user

    (edited,) = _linked_tasks(syncing, run, 1)
    services.task_update(task=_fresh(edited), details="edited")
    new = [services.task_create(user=syncing, name=f"New {i}") for i in range(2)]
    sf_emulator.inject_fault(
        method="POST", path="composite/sobjects$", status=200, body=42, times=1
    )
    failed = sync_user(user_id=syncing.pk, trigger="push")
    assert failed.outcome == "failed" and failed.error.startswith("Transient")
    assert all(link_of(t).state == "creating" for t in new)
    OutboundChange.objects.filter(user=syncing).update(not_before=None)
    # Time passing, without moving clocks: the back-off is over, and so is any call that could
    # still have been running in Salesforce (R10).
    TaskLink.objects.filter(user=syncing, state="creating").update(
        resend_after=timezone.now() - timedelta(seconds=1)
    )
    run("push")
    assert len(sf_emulator.tasks(include_deleted=False)) == 3
    assert all(link_of(t).sf_id for t in new)
    assert sf_emulator.get_task(link_of(edited).sf_id)["Description"] == "edited"


# --- calls on the wire at once -----------------------------------------------------------------


class _Watcher:
    """Counts the calls a hold keeps answered-but-waiting at one moment; lets them all go once
    ``expect`` are held together, or after ``patience`` seconds (calls made one after another
    are held one at a time, and each is let go at the timeout)."""

    def __init__(self, sf_emulator, hold: dict, expect: int, patience: float = 3.0):
        import threading

        self.sf_emulator, self.hold_id, self.expect = sf_emulator, hold["id"], expect
        self.patience, self.most = patience, 0
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _waiting(self) -> int:
        holds = self.sf_emulator.faults()["holds"]
        return next((h["waiting"] for h in holds if h["id"] == self.hold_id), 0)

    def _watch(self):
        import time

        deadline = time.monotonic() + self.patience
        while time.monotonic() < deadline and self.most < self.expect:
            self.most = max(self.most, self._waiting())
            time.sleep(0.005)
        self.sf_emulator.release(self.hold_id)

    def done(self) -> int:
        self.thread.join()
        return self.most


def test_a_pushs_collection_calls_are_on_the_wire_at_once(syncing, run, sf_emulator):
    # R5, R6 (issue 16, B2 without Composite): the calls Composite would have packed into one go
    # together, so a push of 1,000 changes takes about one call's time, not five. The emulator
    # commits each collection and holds its answer: all three are held at one moment.
    old = _linked_tasks(syncing, run, 400)
    for task in old[:200]:
        services.task_update(task=_fresh(task), details="edited")
    for task in old[200:]:
        services.task_delete(task=_fresh(task))
    new = [services.task_create(user=syncing, name=f"New {i}") for i in range(200)]
    watcher = _Watcher(
        sf_emulator, sf_emulator.hold_response(path="composite/sobjects", times=None), 3
    )
    result = run("push")
    assert watcher.done() == 3  # 1 when the calls are made one after another
    assert (result.pushed, result.deleted, result.failed) == (400, 200, 0)
    live = {t["Id"]: t for t in sf_emulator.tasks(include_deleted=False)}
    assert len(live) == 400
    assert all(live[link_of(t).sf_id]["Description"] == "edited" for t in old[:200])
    assert all(link_of(t).sf_id in live for t in new)
    assert not OutboundChange.objects.filter(user=syncing).exists()


def test_a_first_imports_picklist_and_query_are_on_the_wire_at_once(rep, turn_on, sf_emulator):
    # R1, R4 (issue 16, B1 without Composite): the TaskStatus picklist and the import's first
    # page, which Composite would have carried in one call, go together.
    sf_emulator.create_tasks([{"Subject": f"Task {i}"} for i in range(10)])
    watcher = _Watcher(
        sf_emulator, sf_emulator.hold_response(method="GET", path="query", times=None), 2
    )
    result = turn_on()
    assert watcher.done() == 2
    assert result.api_calls == 2
    assert ReminderTask.objects.filter(user=rep).count() == 10


def test_a_session_that_expires_under_calls_made_at_once_is_refreshed_once(
    syncing, run, sf_emulator
):
    # R12: the access token expires while the cycle's pull is on the wire; the push's three
    # collection calls, made at once, are each refused. The session is refreshed once, in the
    # run's own thread (the refresh writes the new token), and each call is made again; every
    # change lands once.
    import threading

    from accounts.models import SalesforceConnection

    old = _linked_tasks(syncing, run, 4)
    services.task_update(task=_fresh(old[0]), details="edited")
    services.task_update(task=_fresh(old[1]), details="edited")
    services.task_delete(task=_fresh(old[2]))
    services.task_delete(task=_fresh(old[3]))
    new = [services.task_create(user=syncing, name=f"New {i}") for i in range(2)]
    token_before = SalesforceConnection.objects.get(user=syncing).access_token
    hold = sf_emulator.hold_response(method="GET", path="queryAll", times=1)

    def expire_while_held():
        assert sf_emulator.wait_until_held(hold["id"], timeout=10)
        sf_emulator.expire_access_tokens()
        sf_emulator.release(hold["id"])

    expirer = threading.Thread(target=expire_while_held, daemon=True)
    expirer.start()
    sf_emulator.reset_api_calls()
    result = run("push")
    expirer.join()
    assert (result.pushed, result.deleted, result.failed) == (4, 2, 0)
    live = {t["Id"]: t for t in sf_emulator.tasks(include_deleted=False)}
    assert len(live) == 4
    assert all(live[link_of(t).sf_id]["Description"] == "edited" for t in old[:2])
    assert all(link_of(t).sf_id in live for t in new)
    assert SalesforceConnection.objects.get(user=syncing).access_token != token_before
    assert not OutboundChange.objects.filter(user=syncing).exists()
