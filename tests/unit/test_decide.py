"""The decide layer on its own: no database, no network, no clock. One test per branch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tasksync.sync import decide
from tasksync.sync.decide import (
    Candidate,
    InDoubt,
    Link,
    Pair,
    PullAction,
    PushAction,
    Queued,
    Remote,
    SettleAction,
    Winner,
)
from tasksync.sync.mapping import StatusMap

ME, OTHER = "005000000000001AAA", "005000000000002AAA"
T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
STATUSES = StatusMap()
LOCAL = {
    "name": "Call Ana",
    "status": "open",
    "priority": "normal",
    "due_date": None,
    "details": "",
}
REMOTE = {
    "Subject": "Call Ana",
    "Status": "Not Started",
    "Priority": "Normal",
    "ActivityDate": None,
    "Description": "",
}


def remote(owner=ME, deleted=False, archived=False, at=T0, **fields):
    return Remote(
        id="00T000000000001AAA",
        snapshot={**REMOTE, **fields},
        owner_id=owner,
        deleted=deleted,
        archived=archived,
        last_modified=at,
    )


def pair(state="synced", local=None, queued=None, changed_at=None, synced_local=None):
    return Pair(
        state=state,
        synced_local=dict(synced_local or LOCAL),
        synced_remote=dict(REMOTE),
        local={**LOCAL, **(local or {})},
        local_deleted=state in decide.DELETED_STATES,
        changed_at=changed_at or {},
        queued=queued,
    )


def pulled(r, p):
    return decide.pulled(r, p, me=ME, statuses=STATUSES)


# --- pulled ----------------------------------------------------------------------------------


def test_it_skips_our_own_write_coming_back():
    # R9: content equal to what was last synced is no change.
    assert pulled(remote(), pair()).action == PullAction.SKIP


def test_it_skips_an_archived_task():
    # R15: archived is neither an edit nor a deletion.
    assert pulled(remote(archived=True, Description="x"), pair()).action == PullAction.SKIP


def test_it_skips_an_in_doubt_create_and_a_retired_link():
    assert pulled(remote(Description="x"), pair(state="creating")).action == PullAction.SKIP
    assert pulled(remote(Description="x"), pair(state="retired")).action == PullAction.SKIP


def test_it_takes_a_salesforce_edit_of_a_field_not_changed_here():
    # R5, R8: different fields merge.
    plan = pulled(remote(Description="from Salesforce"), pair())
    assert plan.action == PullAction.UPDATE
    assert plan.updates == {"details": "from Salesforce"}
    assert plan.synced_local["details"] == "from Salesforce"
    assert plan.conflicts == ()


def test_a_subject_edit_never_renames_and_an_unmapped_status_changes_nothing():
    # R2, R1.
    plan = pulled(remote(Subject="Renamed", Status="In Progress", Priority="Low"), pair())
    assert plan.action == PullAction.UPDATE and plan.updates == {}
    assert plan.synced_remote["Subject"] == "Renamed"


def test_the_same_field_changed_on_both_sides_goes_to_the_later_change():
    # R8: later wins; the conflict is recorded either way.
    local_later = pair(local={"details": "here"}, changed_at={"details": T0 + timedelta(1)})
    plan = pulled(remote(Description="there", at=T0), local_later)
    assert plan.updates == {} and plan.conflicts[0].winner == Winner.LOCAL
    remote_later = pair(local={"details": "here"}, changed_at={"details": T0 - timedelta(1)})
    plan = pulled(remote(Description="there", at=T0), remote_later)
    assert plan.updates == {"details": "there"} and plan.conflicts[0].winner == Winner.SALESFORCE


def test_a_tie_goes_to_salesforce_and_salesforces_win_leaves_the_queue():
    # R8: a tie goes to Salesforce; the older local value must not be pushed.
    p = pair(
        local={"details": "here"},
        changed_at={"details": T0},
        queued=Queued("update", ("details", "name")),
    )
    plan = pulled(remote(Description="there", at=T0), p)
    assert plan.conflicts[0].winner == Winner.SALESFORCE
    assert plan.drop_fields == ("details",)


def test_the_same_value_on_both_sides_is_no_conflict():
    plan = pulled(remote(Description="same"), pair(local={"details": "same"}))
    assert plan.conflicts == () and plan.updates == {}
    assert plan.synced_local["details"] == "same"


def test_an_edit_that_meets_a_queued_local_delete_is_a_conflict_the_delete_wins():
    # R6.
    plan = pulled(remote(Description="there"), pair(queued=Queued("delete")))
    assert plan.action == PullAction.EDIT_MEETS_DELETE
    assert plan.conflicts[0].field == "deleted" and plan.conflicts[0].winner == Winner.LOCAL
    assert plan.synced_remote["Description"] == "there"


def test_a_salesforce_delete_removes_the_task_and_beats_a_queued_edit():
    # R6: delete vs edit: the delete wins, recorded.
    p = pair(local={"details": "edited"}, queued=Queued("update", ("details",)))
    plan = pulled(remote(deleted=True), p)
    assert plan.action == PullAction.REMOTE_DELETE and plan.drop_queued
    [conflict] = plan.conflicts
    assert (conflict.field, conflict.winner) == ("details", Winner.SALESFORCE)


def test_a_known_deletion_is_skipped():
    assert pulled(remote(deleted=True), pair(state="remote_deleted")).action == PullAction.SKIP
    assert pulled(remote(deleted=True), pair(state="local_deleted")).action == PullAction.SKIP


def test_a_restore_takes_salesforces_values_and_the_last_agreed_name():
    # R6: back from the recycle bin: Salesforce's values, synced; a rename that lost stays lost.
    p = pair(state="remote_deleted", local={"name": "Renamed here", "details": "old"})
    plan = pulled(remote(Description="restored"), p)
    assert plan.action == PullAction.RESTORE
    assert plan.updates == {"name": "Call Ana", "details": "restored"}
    assert plan.synced_local == {**LOCAL, "details": "restored"}
    assert plan.synced_remote["Description"] == "restored"


def test_a_task_reassigned_away_leaves_and_its_queued_change_goes():
    # R18.
    plan = pulled(remote(owner=OTHER), pair(queued=Queued("update", ("details",))))
    assert plan.action == PullAction.REASSIGNED_AWAY and plan.drop_queued


def test_a_task_owned_by_someone_else_and_already_let_go_is_quiet():
    # R18: nothing to do for a reassigned link while the task stays elsewhere.
    assert pulled(remote(owner=OTHER, Description="x"), pair(state="reassigned")).action == (
        PullAction.SKIP
    )
    assert pulled(remote(owner=OTHER), pair(state="local_deleted")).action == PullAction.SKIP


def test_a_task_reassigned_back_returns_like_a_restore():
    # R18.
    plan = pulled(remote(Priority="High"), pair(state="reassigned"))
    assert plan.action == PullAction.RESTORE and plan.reassigned_back
    assert plan.updates == {"priority": "high"}


def test_remote_deleted_of_a_deleted_pair_is_nothing():
    assert decide.remote_deleted(pair(state="remote_deleted"), removed_at=T0) == decide.SKIP


# --- in-doubt creates --------------------------------------------------------------------------


def candidate(cid, created=T0, key=None, **fields):
    return Candidate(id=cid, snapshot={**REMOTE, **fields}, created_at=created, key_value=key)


def in_doubt(key, started=T0, create_key="", **fields):
    return InDoubt(key=key, started_at=started, sent={**REMOTE, **fields}, create_key=create_key)


def test_with_a_key_field_only_the_key_matches():
    # R10: a task typed in Salesforce with the same content is not ours.
    typed = candidate("typed", key=None)
    ours = candidate("ours", key="k1")
    matched = decide.match_in_doubt([typed, ours], [in_doubt(1, create_key="k1")], by_key=True)
    assert matched == {"ours": 1}
    assert decide.match_in_doubt([typed], [in_doubt(1, create_key="k1")], by_key=True) == {}


def test_without_a_key_content_then_subject_and_never_a_record_created_before_we_sent():
    # R10, R16: times on Salesforce's clock; a minute of margin.
    early = candidate("early", created=T0 - timedelta(minutes=2))
    assert decide.match_in_doubt([early], [in_doubt(1)], by_key=False) == {}
    touched = candidate("touched", Priority="High")
    assert decide.match_in_doubt([touched], [in_doubt(1)], by_key=False) == {"touched": 1}


def test_exact_content_matches_are_made_before_subject_matches():
    # R10: two creates of one Subject are never swapped.
    a = candidate("a", Description="A")
    b = candidate("b", Description="B")
    matched = decide.match_in_doubt(
        [a, b], [in_doubt(1, Description="B"), in_doubt(2, Description="A")], by_key=False
    )
    assert matched == {"a": 2, "b": 1}


# --- queued ---------------------------------------------------------------------------------


def link(state="synced", sf_id=True, sent=False, cannot_land=False):
    return Link(state=state, has_sf_id=sf_id, create_sent=sent, create_cannot_land=cannot_land)


@pytest.mark.parametrize(
    ("operation", "the_link", "expected"),
    [
        ("create", None, PushAction.CREATE),
        ("create", link(sf_id=False, sent=True), PushAction.WAIT),
        ("create", link(sf_id=False, sent=True, cannot_land=True), PushAction.CREATE),
        ("create", link(), PushAction.UPDATE),
        ("update", link(), PushAction.UPDATE),
        ("update", link(sf_id=False, sent=True), PushAction.WAIT),
        ("update", link(state="reassigned"), PushAction.DROP),
        ("update", link(state="remote_deleted"), PushAction.DROP),
        ("update", link(state="local_deleted"), PushAction.DROP),
        ("delete", link(), PushAction.DELETE),
        ("delete", link(state="local_deleted"), PushAction.DROP),
        ("delete", None, PushAction.DROP),
        ("delete", link(sf_id=False, sent=False), PushAction.DROP),
        ("delete", link(sf_id=False, sent=True), PushAction.WAIT),
        ("delete", link(sf_id=False, sent=True, cannot_land=True), PushAction.DROP_NEVER_LANDED),
        ("delete", link(state="reassigned"), PushAction.DROP),
    ],
)
def test_what_a_queued_change_becomes(operation, the_link, expected):
    # R6, R10, R18.
    assert decide.queued(Queued(operation), the_link) == expected


def test_update_fields_are_those_still_different_from_what_was_synced():
    # R1: only what changed travels.
    assert decide.update_fields(("details", "name"), {**LOCAL, "details": "x"}, LOCAL) == [
        "details"
    ]
    assert decide.update_fields((), {**LOCAL, "priority": "high"}, LOCAL) == ["priority"]


# --- settled --------------------------------------------------------------------------------


def test_a_delete_saved_while_the_call_was_on_the_wire_stays_queued():
    # R6: the operation first, whatever the fields say.
    verdict = decide.settled(Queued("delete"), local=LOCAL, synced_local=LOCAL)
    assert (verdict.action, verdict.operation) == (SettleAction.KEEP, "delete")


def test_an_edit_saved_meanwhile_stays_queued_with_what_still_differs():
    # R11.
    verdict = decide.settled(
        Queued("update", ("details",)), local={**LOCAL, "details": "newer"}, synced_local=LOCAL
    )
    assert (verdict.action, verdict.operation, verdict.fields) == (
        SettleAction.KEEP,
        "update",
        ("details",),
    )


def test_a_row_whose_change_landed_goes_and_a_gone_row_is_nothing():
    assert decide.settled(Queued("create"), local=LOCAL, synced_local=LOCAL).action == (
        SettleAction.DROP
    )
    assert decide.settled(None, local=LOCAL, synced_local=LOCAL).action == SettleAction.NONE


# --- back-off --------------------------------------------------------------------------------


def test_back_off_doubles_from_half_a_minute_and_caps_at_an_hour():
    # R11/R12.
    assert decide.backoff_ceiling(1) == timedelta(seconds=30)
    assert decide.backoff_ceiling(2) == timedelta(minutes=1)
    assert decide.backoff_ceiling(30) == timedelta(hours=1)
    assert decide.backoff(3, jitter=0.0) == timedelta(minutes=1)
    assert decide.backoff(3, jitter=1.0) == timedelta(minutes=2)


def test_a_transient_failure_gives_up_only_after_a_day():
    # R11.
    assert not decide.gives_up(T0, T0 + timedelta(hours=23, minutes=59))
    assert decide.gives_up(T0, T0 + timedelta(hours=24))
    assert not decide.gives_up(None, T0)


def test_the_later_change_wins_and_a_tie_or_unknown_goes_to_salesforce():
    # R8.
    assert decide.winner(T0 + timedelta(seconds=1), T0) == Winner.LOCAL
    assert decide.winner(T0, T0) == Winner.SALESFORCE
    assert decide.winner(None, T0) == Winner.SALESFORCE


# --- what rides in the cycle's calls (issue 16) ----------------------------------------------


def test_the_picklist_is_read_once_a_day_per_org_or_again_after_a_rejected_status():
    # R1, R13
    assert decide.picklist_due(None, T0, have_rows=False)
    assert decide.picklist_due(T0, T0, have_rows=False)
    assert not decide.picklist_due(T0, T0 + timedelta(hours=23), have_rows=True)
    assert decide.picklist_due(T0, T0 + timedelta(days=1), have_rows=True)
    assert decide.picklist_due(None, T0, have_rows=True)  # thrown away after a rejection


def test_a_restricted_picklist_error_on_status_means_the_picklist_changed():
    # R1
    code = "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert decide.status_rejected(code, ["Status"])
    assert decide.status_rejected(code, [], "Status: bad value for restricted picklist field: X")
    assert not decide.status_rejected(code, ["Priority"], "Priority: bad value")
    assert not decide.status_rejected("STRING_TOO_LONG", ["Status"])


def test_statuses_are_picked_from_the_picklist():
    # R1 (beyond): the configured value where the org has it, else its default, else by order.
    rows = [
        {"ApiName": "To Do", "IsClosed": False, "IsDefault": True, "SortOrder": 2},
        {"ApiName": "Doing", "IsClosed": False, "IsDefault": False, "SortOrder": 1},
        {"ApiName": "Done", "IsClosed": True, "IsDefault": False, "SortOrder": 3},
        {"ApiName": "Dropped", "IsClosed": True, "IsDefault": False, "SortOrder": 4},
    ]
    assert decide.pick_statuses(rows, StatusMap()) == StatusMap("To Do", "Done")
    assert decide.pick_statuses(rows, StatusMap("Doing", "Dropped")) == StatusMap(
        "Doing", "Dropped"
    )
    assert decide.pick_statuses([], StatusMap("A", "B")) == StatusMap("A", "B")


def test_the_delete_log_is_read_every_5_minutes_within_its_15_days():
    # R6, R7
    assert decide.deleted_log_window(T0 - timedelta(minutes=4), T0) is None
    assert decide.deleted_log_window(T0 - timedelta(minutes=5), T0) == (
        T0 - timedelta(minutes=5),
        T0,
    )
    start, end = decide.deleted_log_window(None, T0)
    assert end == T0 and start == T0 - timedelta(days=15) + timedelta(minutes=5)
    old = T0 - timedelta(days=40)
    assert decide.deleted_log_window(old, T0)[0] == start
    assert decide.deleted_log_window(T0, T0, force=True) == (T0, T0)


def _packed(counts):
    calls = decide.pack_push(counts)
    for parts in calls:
        assert len(parts) <= 25
        assert sum(1 for p in parts if not p.single) <= 5
        assert all(p.stop - p.start <= 200 for p in parts)
        assert all(p.stop - p.start == 1 for p in parts if p.single)
    for kind, n in counts.items():
        covered = sorted(
            i for parts in calls for p in parts if p.kind == kind for i in range(p.start, p.stop)
        )
        assert covered == list(range(n)), kind
    return calls


@pytest.mark.parametrize(
    ("counts", "calls"),
    [
        ({"create": 1000}, 1),
        ({"update": 1000}, 1),
        ({"delete": 1000}, 1),
        ({"create": 1}, 1),
        ({"create": 600, "update": 380, "delete": 20}, 1),
        ({"create": 201, "update": 201, "delete": 598}, 1),
        ({"create": 400, "update": 400, "delete": 200}, 1),
        ({"create": 333, "update": 333, "delete": 333}, 2),
        ({"create": 1001}, 1),
        ({"create": 2500}, 3),
    ],
)
def test_a_push_is_packed_into_as_few_composite_calls_as_the_limits_allow(counts, calls):
    # R13 (issue 16): five collections of 200 and twenty single records a call.
    assert len(_packed(counts)) == calls


def test_a_packed_call_keeps_creates_then_updates_then_deletes():
    parts = decide.pack_push({"create": 3, "update": 2, "delete": 1})[0]
    assert [p.kind for p in parts] == ["create", "update", "delete"]
