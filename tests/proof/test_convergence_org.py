"""Convergence property for an org: two tasksync reps and an outsider in one Salesforce org, tasks
changing hands between them (R18), restores from the recycle bin (R6), local edits and deletes
saved while a push is on the wire (the emulator holds the answer after committing, and the edit is
made from another thread with its own database connection: R6, R11), every R12 fault class, and
an app clock five minutes ahead of or behind Salesforce's (R16).

Once the faults are gone both reps converge: each live Salesforce task of a rep has exactly one
live local copy, the rep's; a task owned by the outsider has none; nothing was resurrected (R6),
nothing lost (R11), nothing duplicated (R10). CI runs fixed seeds; TASKSYNC_LONG_PROPERTY_RUN=1
runs 400 examples.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from benchmarks import harness
from tasksync.models import (
    FeedHealth,
    LinkState,
    OrgFeed,
    OutboundChange,
    ReminderTask,
    SyncRun,
    SyncState,
    TaskLink,
)
from tasksync.services import tasks as services
from tasksync.services.sync import sync_retry_failed
from tasksync.sync.org_pull import org_pull
from tests.concurrency import Background
from tests.proof.helpers import convergence_problems, forget_org_usage, fresh_connected_user

LONG = os.environ.get("TASKSYNC_LONG_PROPERTY_RUN") == "1"
QUIET_WITHIN = 8
REPS = ("a", "b")
OWNERS = ("a", "b", "outsider")
NAMES = ["Call Ana", "Send quote", "Renewal"]
DETAILS = ["", "note A", "note B"]
# A push's write call: a lone sObject Collections call, or one Composite call (issue 16).
WRITE_CALL = "composite(/sobjects)?$"
SUBJECTS = ["Edited in Salesforce 1", "Edited in Salesforce 2"]
FAULTS = [None, None, "503", "lock", "expired", "drop_create", "drop_update", "over_limit"]

ref = st.integers(min_value=0, max_value=20)
rep = st.sampled_from(REPS)
operation = st.one_of(
    st.tuples(st.just("local_create"), rep, st.integers(0, 2)),
    st.tuples(st.just("local_edit"), rep, ref, st.integers(0, 2)),
    st.tuples(st.just("local_delete"), rep, ref),
    st.tuples(st.just("sf_create"), rep, st.integers(0, 1)),
    st.tuples(st.just("sf_edit"), ref, st.integers(0, 2)),
    st.tuples(st.just("sf_delete"), ref),
    st.tuples(st.just("sf_undelete"), ref),
    st.tuples(st.just("sf_reassign"), ref, st.sampled_from(OWNERS)),
    st.tuples(
        st.just("in_flight"),
        rep,
        st.sampled_from(["create", "edit"]),
        st.sampled_from(["delete", "edit"]),
        ref,
    ),
    st.tuples(st.just("sync"), rep, st.sampled_from(FAULTS)),
    st.tuples(st.just("org_pull"), st.sampled_from(FAULTS)),
)


class OrgModel:
    def __init__(self, sf_emulator, connections, outsider_id, feed=None):
        self.sf = sf_emulator
        self.feed = feed  # R19: the org's one pull, with its integration user
        self.users = {name: c.user for name, c in connections.items()}
        self.sf_ids = {name: c.sf_user_id for name, c in connections.items()}
        self.sf_ids["outsider"] = outsider_id
        self.deleted_local: set[int] = set()
        self.deleted_remote: set[str] = set()
        self.revived: set[str] = set()  # Salesforce ids restored or handed back after a delete
        self.log: list[str] = []

    def apply(self, op):
        self.log.append(repr(op))
        getattr(self, op[0])(*op[1:])

    @staticmethod
    def pick(items, index):
        return items[index % len(items)] if items else None

    def live_local(self, who):
        return list(
            ReminderTask.objects.filter(user=self.users[who], deleted_at__isnull=True).order_by(
                "pk"
            )
        )

    def remote(self, *, deleted=False):
        return sorted(
            (t for t in self.sf.tasks() if bool(t["IsDeleted"]) == deleted),
            key=lambda t: t["Id"],
        )

    # --- local side -----------------------------------------------------------------------
    def local_create(self, who, name):
        return services.task_create(user=self.users[who], name=NAMES[name])

    def local_edit(self, who, index, value):
        task = self.pick(self.live_local(who), index)
        if task is not None:
            services.task_update(task=task, details=DETAILS[value])
        return task

    def local_delete(self, who, index):
        task = self.pick(self.live_local(who), index)
        if task is not None:
            self._delete(task)

    def _delete(self, task):
        services.task_delete(task=ReminderTask.objects.get(pk=task.pk))
        self.deleted_local.add(task.pk)

    # --- Salesforce side --------------------------------------------------------------------
    def sf_create(self, who, subject):
        self.sf.create_task(user_id=self.sf_ids[who], Subject=f"From Salesforce {subject}")

    def sf_edit(self, index, value):
        record = self.pick(self.remote(), index)
        if record is not None:
            self.sf.update_task(record["Id"], Description=DETAILS[value] or None)

    def sf_delete(self, index):
        record = self.pick(self.remote(), index)
        if record is not None:
            self.sf.delete_task(record["Id"])
            self.deleted_remote.add(record["Id"])

    def sf_undelete(self, index):
        record = self.pick(self.remote(deleted=True), index)
        if record is not None:
            self.sf.undelete_task(record["Id"])
            self.deleted_remote.discard(record["Id"])
            self.revived.add(record["Id"])

    def sf_reassign(self, index, to):
        record = self.pick(self.remote(), index)
        if record is not None and record["OwnerId"] != self.sf_ids[to]:
            self.sf.update_task(record["Id"], OwnerId=self.sf_ids[to])
            self.revived.add(record["Id"])  # R18: back to an owner is like a restore

    # --- a change saved while a push is on the wire ---------------------------------------
    def in_flight(self, who, call, change, index):
        """The push's collection call commits in Salesforce and its answer is held; meanwhile
        the rep deletes or edits the same task (R6, R11)."""
        if call == "create":
            task = self.local_create(who, index % len(NAMES))
            method = "POST"
        else:
            task = self.local_edit(who, index, (index + 1) % len(DETAILS))
            method = "*"  # PATCH for a lone collection, POST for a Composite call (issue 16)
        if task is None:
            return
        # The push's write: a lone sObject Collections call, or one Composite call when it
        # carries several kinds or more than 200 records (faults match the top-level path).
        hold = self.sf.hold_response(method=method, path=WRITE_CALL)["id"]
        pushing = Background(lambda: harness.cycle(self.users[who], "push"))
        pushing.start()
        held = self.sf.wait_until_held(hold, timeout=10)
        # A new task is always pushed by that run: its create must be the call held.
        if call == "create":
            assert held, "the create's call was never held"
        if held:
            if change == "delete":
                self._delete(task)
            else:
                services.task_update(
                    task=ReminderTask.objects.get(pk=task.pk), name=f"{task.name} (edited)"
                )
        self.sf.release(hold)
        run = pushing.value()
        self.log.append(f"  held={held} -> {run.outcome} {run.summary()} {run.error[:120]}")

    # --- cycles -------------------------------------------------------------------------------
    def sync(self, who, fault):
        _inject(self.sf, fault)
        try:
            run = harness.cycle(self.users[who])
        finally:
            self.sf.clear_faults()
            if fault == "over_limit":
                forget_org_usage()  # R12: the next cycle comes after the budget recovered
        self.log.append(f"  -> {run.outcome} {run.summary()} {run.error[:120]}")

    def org_pull(self, fault):
        """The org's one pull (R19); without a feed, the reps' own polls stand in for it."""
        if self.feed is None:
            for who in REPS:
                self.sync(who, fault)
            return
        _inject(self.sf, fault)
        try:
            done = org_pull(org_id=self.feed.org_id)
        finally:
            self.sf.clear_faults()
            if fault == "over_limit":
                forget_org_usage()
        self.log.append(f"  org pull -> {done} {OrgFeed.objects.get(pk=self.feed.pk).message}")

    def _settle_org_pull(self) -> bool:
        """One org pull after the faults; True when it changed nothing for anyone."""
        if self.feed is None:
            return True
        OrgFeed.objects.filter(pk=self.feed.pk).update(health=FeedHealth.OK, message="")
        before = set(SyncRun.objects.filter(trigger="org_pull").values_list("pk", flat=True))
        done = org_pull(org_id=self.feed.org_id)
        runs = SyncRun.objects.filter(trigger="org_pull").exclude(pk__in=before)
        self.log.append(f"settle org pull: {done}")
        return (
            bool(done)
            and not done["busy"]
            and all((r.pulled, r.deleted, r.failed) == (0, 0, 0) for r in runs)
        )

    def settle(self):
        self.sf.clear_faults()
        for attempt in range(QUIET_WITHIN):
            for who in REPS:
                TaskLink.objects.filter(user=self.users[who], state=LinkState.CREATING).update(
                    resend_after=timezone.now() - timedelta(seconds=1)
                )
            forget_org_usage()
            quiet = self._settle_org_pull()
            for who in REPS:
                user = self.users[who]
                OutboundChange.objects.filter(user=user).update(not_before=None)
                TaskLink.objects.filter(user=user, state=LinkState.CREATING).update(
                    resend_after=timezone.now() - timedelta(seconds=1)
                )
                sync_retry_failed(user=user)
                forget_org_usage()
                run = harness.cycle(user)
                self.log.append(f"settle {attempt} {who}: {run.outcome} {run.summary()}")
                quiet &= run.outcome == "success" and (
                    run.pulled,
                    run.pushed,
                    run.deleted,
                    run.failed,
                ) == (0, 0, 0, 0)
            if quiet:
                return
        raise AssertionError("no quiet cycle after the faults were cleared\n" + "\n".join(self.log))

    def check(self):
        problems = []
        for who in REPS:
            problems += [
                f"{who}: {p}"
                for p in convergence_problems(
                    self.users[who], self.sf, self.sf_ids[who], sf_subjects=_subjects()
                )
            ]
        # R18: one live local copy per Salesforce task, its owner's; none of the outsider's.
        live_links = TaskLink.objects.filter(
            task__deleted_at__isnull=True,
            task__user__in=self.users.values(),
            sf_id__isnull=False,
        ).select_related("task")
        owner_of = {t["Id"]: t["OwnerId"] for t in self.sf.tasks()}
        copies: dict[str, list[int]] = {}
        for link in live_links:
            copies.setdefault(link.sf_id, []).append(link.task.user_id)
        by_user = {u.pk: self.sf_ids[name] for name, u in self.users.items()}
        for sf_id, holders in copies.items():
            if len(holders) > 1:
                problems.append(f"R18: {sf_id} has {len(holders)} live local copies")
            for holder in holders:
                if owner_of.get(sf_id) != by_user[holder]:
                    problems.append(f"R18: {sf_id} is live for a user who does not own it")
        # R6: no resurrection, unless Salesforce restored the task (or handed it back).
        for task in ReminderTask.objects.filter(pk__in=self.deleted_local, deleted_at__isnull=True):
            link = TaskLink.objects.filter(task=task).first()
            if link is None or link.sf_id not in self.revived:
                problems.append(f"R6: local task {task.pk} was deleted here and came back")
        for sf_id in self.deleted_remote:
            record = self.sf.get_task(sf_id)
            if record is not None and not record["IsDeleted"]:
                problems.append(f"R6: Salesforce task {sf_id} was deleted there and came back")
        assert not problems, "\n".join(problems + ["", "operations:"] + self.log)


def _subjects():
    return {*SUBJECTS, *(f"From Salesforce {i}" for i in range(2))}


def _inject(sf, fault):
    if fault == "503":
        sf.inject_fault(path=".*", status=503, error_code="SERVER_UNAVAILABLE", times=1)
    elif fault == "lock":
        sf.inject_fault(path="composite", status=400, error_code="UNABLE_TO_LOCK_ROW", times=1)
    elif fault == "expired":
        sf.expire_access_tokens()
    elif fault == "drop_create":
        sf.drop_response(method="POST", path=WRITE_CALL, times=1)
    elif fault == "drop_update":
        sf.drop_response(method="PATCH", path="composite/sobjects$", times=1)
        sf.drop_response(method="POST", path="composite$", times=1)
    elif fault == "over_limit":
        sf.inject_fault(path=".*", status=403, error_code="REQUEST_LIMIT_EXCEEDED", times=1)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("with_feed", [False, True], ids=["own-polls", "org-feed"])
@example(  # R6: a delete saved while the create is on the wire, the app clock ahead
    ops=[("in_flight", "a", "create", "delete", 0), ("sync", "a", None)],
    skew=timedelta(minutes=5),
)
@example(  # R11 + R18: an edit saved mid-push, then the task changes hands twice
    ops=[
        ("local_create", "a", 0),
        ("sync", "a", None),
        ("in_flight", "a", "edit", "edit", 0),
        ("sf_reassign", 0, "b"),
        ("sync", "b", None),
        ("sf_reassign", 0, "outsider"),
        ("sync", "a", None),
        ("sf_delete", 0),
        ("sf_undelete", 0),
    ],
    skew=timedelta(minutes=-5),
)
@settings(
    max_examples=400 if LONG else 12,
    deadline=None,
    derandomize=not LONG,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    ops=st.lists(operation, min_size=1, max_size=40 if LONG else 20),
    skew=st.sampled_from([timedelta(0), timedelta(minutes=5), timedelta(minutes=-5)]),
)
def test_an_org_of_reps_converges_whatever_changes_hands(
    ops, skew, with_feed, sf_emulator, salesforce_settings
):
    # R6, R10, R11, R12, R16, R18; with the org's feed on, R19 (its one pull for both reps).
    # A fresh org per example: the earlier examples' reps and feed (this test keeps its rows
    # between examples, its database being transactional) are gone with the emulator's reset.
    SyncState.objects.update(enabled=False)
    OrgFeed.objects.all().delete()
    first = fresh_connected_user(sf_emulator)
    sf_emulator.set_now(timezone.now() - skew)  # the app's clock runs `skew` ahead
    second = harness.connect_user(sf_emulator)
    outsider = sf_emulator.create_user(
        sf_emulator.demo.org_id, f"outsider-{first.user.pk}@example.com", "pw"
    )["id"]
    connections = {"a": first, "b": second}
    with harness.jobs_suppressed():
        for c in connections.values():
            harness.turn_on(c.user)
            harness.cycle(c.user, "first_sync")
        feed = None
        if with_feed:
            feed = OrgFeed.objects.create(
                org_id=sf_emulator.demo.org_id,
                integration_user=harness.connect_user(sf_emulator).user,
                can_read_all=True,
            )
        model = OrgModel(sf_emulator, connections, outsider, feed)
        for op in ops:
            model.apply(op)
        model.settle()
        model.check()
