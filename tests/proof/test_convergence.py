"""Convergence property: any interleaving of changes on both sides, with sync cycles and every R12
fault class in between, ends — once the faults are gone — with both sides equal under R1/R2, no
duplicates (R10), no resurrected deletion (R6), nothing lost (R11) and every same-field conflict
recorded (R8).

CI runs a fixed number of derandomized examples; TASKSYNC_LONG_PROPERTY_RUN=1 runs many more.
"""

from __future__ import annotations

import os
from datetime import date, timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks import harness
from tasksync.models import LinkState, OutboundChange, ReminderTask, SyncConflict, TaskLink
from tasksync.services import tasks as services
from tasksync.services.sync import sync_retry_failed
from tasksync.sync import mapping
from tests.proof.helpers import (
    STATUSES,
    convergence_problems,
    forget_org_usage,
    fresh_connected_user,
)

LONG = os.environ.get("TASKSYNC_LONG_PROPERTY_RUN") == "1"
QUIET_WITHIN = 8

LOCAL_VALUES = {
    "name": ["Call Ana", "Send quote", "Renewal"],
    "status": ["open", "complete"],
    "priority": ["normal", "high"],
    "due_date": [None, date(2030, 1, 1), date(2030, 2, 2)],
    "details": ["", "note A", "note B"],
}
SF_VALUES = {
    "Subject": ["Edited in Salesforce 1", "Edited in Salesforce 2", "Edited in Salesforce 3"],
    "Status": ["Not Started", "Completed", "In Progress"],  # In Progress: not synced (R1)
    "Priority": ["Normal", "High", "Low"],  # Low: not synced (R1)
    "ActivityDate": [None, "2030-01-01", "2030-03-03"],
    "Description": [None, "note A", "from Salesforce"],
}
FAULTS = [
    None,
    "503",
    "500",
    "lock",
    "expired",
    "reject",
    "drop_create",
    "drop_update",
    "drop_delete",
    "over_limit",
]
# "composite": a push's collection calls and its Composite calls alike (issue 16).
FAULT_PATHS = ["query", "composite", ".*"]
# A push's write call: a lone sObject Collections call, or one Composite call.
WRITE_CALL = "composite(/sobjects)?$"


def _at(values, index):
    return values[index % len(values)]


ref = st.integers(min_value=0, max_value=30)
operation = st.one_of(
    st.tuples(st.just("local_create"), st.integers(0, 2), st.sampled_from(["normal", "high"])),
    st.tuples(st.just("local_edit"), ref, st.sampled_from(sorted(LOCAL_VALUES)), st.integers(0, 2)),
    st.tuples(st.sampled_from(["local_complete", "local_reopen", "local_delete"]), ref),
    st.tuples(st.just("sf_create"), st.integers(0, 2), st.integers(0, 2)),
    st.tuples(st.just("sf_edit"), ref, st.sampled_from(sorted(SF_VALUES)), st.integers(0, 2)),
    st.tuples(st.just("sf_delete"), ref),
    st.tuples(
        st.just("sync"), st.sampled_from(FAULTS), st.sampled_from(FAULT_PATHS), st.integers(1, 3)
    ),
)


class Model:
    """Drives one example and remembers what the end state must respect."""

    def __init__(self, sf_emulator, connection):
        self.sf = sf_emulator
        self.user = connection.user
        self.sf_user_id = connection.sf_user_id
        self.deleted_local: set[int] = set()  # local task ids deleted here (R6)
        self.deleted_remote: set[str] = set()  # Salesforce ids deleted there (R6)
        self.sf_subjects: set[str] = set(SF_VALUES["Subject"])
        self.expected_conflicts: set[tuple[int, str]] = set()
        self.touched_local: set[tuple[int, str]] = set()  # since the last good pull
        self.touched_remote: set[tuple[str, str]] = set()
        self.log: list[str] = []

    # --- targets ------------------------------------------------------------------------------
    def live_local(self):
        return list(ReminderTask.objects.filter(user=self.user, deleted_at__isnull=True))

    def live_remote(self):
        return [
            t
            for t in self.sf.tasks(include_deleted=False)
            if t["OwnerId"] == self.sf_user_id and not t["IsDeleted"]
        ]

    @staticmethod
    def pick(items, index):
        return items[index % len(items)] if items else None

    # --- operations ---------------------------------------------------------------------------
    def apply(self, op):
        kind = op[0]
        self.log.append(repr(op))
        getattr(self, kind)(*op[1:])

    def local_create(self, name, priority):
        services.task_create(
            user=self.user, name=_at(LOCAL_VALUES["name"], name), priority=priority
        )

    def local_edit(self, index, field, value):
        task = self.pick(self.live_local(), index)
        if task is not None and services.task_update(
            task=task, **{field: _at(LOCAL_VALUES[field], value)}
        ):
            self.touched_local.add((task.pk, field))

    def local_complete(self, index):
        self.local_edit(index, "status", 1)

    def local_reopen(self, index):
        self.local_edit(index, "status", 0)

    def local_delete(self, index):
        task = self.pick(self.live_local(), index)
        if task is not None:
            services.task_delete(task=task)
            self.deleted_local.add(task.pk)

    def sf_create(self, subject, status):
        self.sf.create_task(
            user_id=self.sf_user_id,
            Subject=f"From Salesforce {subject}",
            Status=_at(SF_VALUES["Status"], status),
        )

    def sf_edit(self, index, field, value):
        record = self.pick(self.live_remote(), index)
        if record is None:
            return
        new = _at(SF_VALUES[field], value)
        if (record.get(field) or None) != (new or None):
            self.sf.update_task(record["Id"], **{field: new})
            self.touched_remote.add((record["Id"], field))

    def sf_delete(self, index):
        record = self.pick(self.live_remote(), index)
        if record is not None:
            self.sf.delete_task(record["Id"])
            self.deleted_remote.add(record["Id"])

    def sync(self, fault, path, times):
        candidates = self._conflict_candidates()
        self._inject(fault, path, times)
        try:
            run = harness.cycle(self.user)
        finally:
            self.sf.clear_faults()
            if fault == "over_limit":
                forget_org_usage()  # R12: the next cycle comes after the budget recovered
        self.log.append(f"  -> {run.outcome} {run.summary()} {run.error[:120]}")
        if run.outcome in ("success", "partial"):
            # The pull of this run saw both edits: R8 says each is recorded.
            self.expected_conflicts |= candidates
            self.touched_local.clear()
            self.touched_remote.clear()

    def _inject(self, fault, path, times):
        sf = self.sf
        if fault == "503":
            sf.inject_fault(path=path, status=503, error_code="SERVER_UNAVAILABLE", times=times)
        elif fault == "500":
            sf.inject_fault(path=path, status=500, error_code="UNKNOWN_EXCEPTION", times=times)
        elif fault == "lock":
            sf.inject_fault(path=path, status=400, error_code="UNABLE_TO_LOCK_ROW", times=times)
        elif fault == "expired":
            sf.expire_access_tokens()  # R12: 401 INVALID_SESSION_ID, refresh, retry once
        elif fault == "reject":
            sf.reject_records(field="Subject", contains="quote", times=None)
        elif fault == "drop_create":
            sf.drop_response(method="POST", path=WRITE_CALL, times=1)
        elif fault == "drop_update":
            sf.drop_response(method="PATCH", path="composite/sobjects$", times=1)
            sf.drop_response(method="POST", path="composite$", times=1)
        elif fault == "drop_delete":
            sf.drop_response(method="DELETE", path="composite/sobjects$", times=1)
            sf.drop_response(method="POST", path="composite$", times=1)
        elif fault == "over_limit":
            sf.inject_fault(path=path, status=403, error_code="REQUEST_LIMIT_EXCEEDED", times=1)

    def _conflict_candidates(self) -> set[tuple[int, str]]:
        """(task, field) pairs changed on both sides since the last good pull, to different
        mapped values, on a pair that was in step before (R8)."""
        out = set()
        remote_by_id = {t["Id"]: t for t in self.live_remote()}
        for link in TaskLink.objects.filter(user=self.user, sf_id__isnull=False).select_related(
            "task"
        ):
            task = link.task
            record = remote_by_id.get(link.sf_id)
            if task.deleted_at is not None or record is None:
                continue
            for local_field, remote_field in mapping.FIELD_MAP.items():
                if local_field == "name":
                    continue  # R2: a Subject edited in Salesforce never renames: no conflict
                both = (task.pk, local_field) in self.touched_local and (
                    link.sf_id,
                    remote_field,
                ) in self.touched_remote
                if not both:
                    continue
                new = mapping.local_value(
                    remote_field, mapping.remote_snapshot(record), statuses=STATUSES
                )
                current = mapping.local_snapshot(task)[local_field]
                if new is mapping.NOT_MAPPED or new == current:
                    continue
                if link.synced_local.get(local_field) in (current,):
                    continue  # the local edit was undone: nothing changed here
                if (
                    link.synced_remote.get(remote_field)
                    == mapping.remote_snapshot(record)[remote_field]
                ):
                    continue  # the Salesforce edit was undone
                out.add((task.pk, local_field))
        return out

    # --- the end ------------------------------------------------------------------------------
    def settle(self):
        """Faults gone: let back-offs elapse, retry what failed (after the fix, R11) and run
        cycles until one pulls and pushes nothing."""
        self.sf.clear_faults()
        for attempt in range(QUIET_WITHIN):
            # Time passing, without moving clocks: the back-off delays are over, and so is
            # Salesforce's limit for a running call (the emulator's calls here are all over): a
            # create still in doubt may be sent again (R10).
            OutboundChange.objects.filter(user=self.user).update(not_before=None)
            TaskLink.objects.filter(user=self.user, state=LinkState.CREATING).update(
                resend_after=timezone.now() - timedelta(seconds=1)
            )
            sync_retry_failed(user=self.user)
            forget_org_usage()
            run = harness.cycle(self.user)
            self.log.append(f"settle {attempt}: {run.outcome} {run.summary()} {run.error[:200]}")
            quiet = (run.pulled, run.pushed, run.deleted, run.failed) == (0, 0, 0, 0)
            if run.outcome == "success" and quiet:
                return
        raise AssertionError("no quiet cycle after the faults were cleared")

    def check(self):
        problems = convergence_problems(
            self.user, self.sf, self.sf_user_id, sf_subjects=self.sf_subjects
        )
        for task in ReminderTask.objects.filter(pk__in=self.deleted_local):
            if task.deleted_at is None:
                problems.append(f"R6: local task {task.pk} was deleted here and came back")
        for sf_id in self.deleted_remote:
            record = self.sf.get_task(sf_id)
            if record is not None and not record["IsDeleted"]:
                problems.append(f"R6: Salesforce task {sf_id} was deleted there and came back")
        recorded = set(SyncConflict.objects.filter(user=self.user).values_list("task_id", "field"))
        for missing in self.expected_conflicts - recorded:
            problems.append(f"R8: conflict on task {missing[0]} field {missing[1]} not recorded")
        assert not problems, "\n".join(problems + ["", "operations:"] + self.log)


@pytest.mark.django_db
@pytest.mark.parametrize("key_field", ["", "TasksyncId__c"], ids=["no-key-field", "key-field"])
@settings(
    max_examples=400 if LONG else 25,
    stateful_step_count=50,
    deadline=None,
    derandomize=not LONG,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(operation, min_size=1, max_size=40 if LONG else 25))
def test_it_converges_after_any_interleaving_of_changes_and_faults(
    ops, key_field, sf_emulator, salesforce_settings
):
    # R1, R2, R5, R6, R8, R10, R11, R12. A fresh emulator org and a fresh user per example; with
    # and without SALESFORCE_TASK_EXTERNAL_ID_FIELD (R10's creation keys).
    salesforce_settings.SALESFORCE_TASK_EXTERNAL_ID_FIELD = key_field
    connection = fresh_connected_user(sf_emulator)
    with harness.jobs_suppressed():
        harness.turn_on(connection.user)
        harness.cycle(connection.user, "first_sync")
        model = Model(sf_emulator, connection)
        for op in ops:
            model.apply(op)
        model.settle()
        model.check()
