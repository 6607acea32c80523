"""What one sync run carries around: the user, their state, the client, counters and the log."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import NamedTuple

from django.conf import settings
from django.utils import timezone

from tasksync.bulk import insert_rows
from tasksync.models import Direction, SyncEvent, SyncRun, SyncState
from tasksync.services.notices import notice_record_for_events
from tasksync.sync import budget
from tasksync.sync.first_read import EVERYTHING, MayHave
from tasksync.sync.lease import LeaseLost, lease_extend
from tasksync.sync.mapping import StatusMap


class Event(NamedTuple):
    """One history event of a run, as its row's values (``SyncEvent``'s columns but the run and
    the stamp, which the flush adds): a run records thousands, and a model instance apiece cost
    more than writing them (issue 16)."""

    user_id: int
    task_id: int | None
    sf_id: str
    direction: str
    action: str
    changes: dict
    ok: bool
    message: str


EVENT_COLUMNS = ("run_id", *Event._fields)


class IdentityChanged(Exception):
    """The user switched Salesforce account, disconnected or turned sync off during the run."""


@dataclass
class RunContext:
    user: object
    state: SyncState
    run: SyncRun
    client: object
    connection: object
    statuses: StatusMap
    lease_owner: str
    events: list = field(default_factory=list)
    # Set once this run's pull has read everything since its cursor and matched the creates in
    # doubt against it (R10): only then may one that was not found be sent again.
    in_doubt_checked: bool = False
    # When that pull started: an in-doubt create whose request was over by then, and that it did
    # not find, never landed. None: this run's own start (the org feed's pull gives its own).
    in_doubt_checked_at: object = None
    # SyncState fields this run has settled (the cursor after a complete read, the delete log's
    # watermark, the success bookkeeping): written once, with the lease's release, in the run's
    # last transaction (an idle poll's three writes: its run, the org's usage, its state).
    state_updates: dict = field(default_factory=dict)
    # When the lease was last claimed or extended (time.monotonic()).
    lease_at: float = field(default_factory=time.monotonic)
    # What the run's first read found none of, so the run does not ask again (first_read).
    may_have: MayHave = EVERYTHING
    # Whether any colleague in the org held a live link when the run's first imported page
    # asked (R18's previous owners, pull.importing); None until then.
    colleagues_hold_links: bool | None = None
    # The push's reads made while the pull's first call was on the wire (push.read_ahead), and
    # whether the pull then wrote any of the rep's tasks, links or outbox rows beyond the stamps
    # it read them at: if it did, the push reads them again.
    push_read: object = None
    pull_wrote: bool = False

    @property
    def template(self) -> str:
        return self.user.subject_template

    @property
    def org_id(self) -> str:
        return self.connection.org.org_id

    @property
    def sf_user_id(self) -> str:
        return self.connection.sf_user_id

    def event(
        self,
        *,
        direction,
        action,
        task=None,
        task_id=None,
        sf_id="",
        changes=None,
        ok=True,
        message="",
    ):
        self.events.append(
            Event(
                self.user.pk,
                task.pk if task is not None else task_id,
                sf_id or "",
                # The choices' plain values: insert_rows hands text to the driver as it is.
                getattr(direction, "value", direction),
                getattr(action, "value", action),
                changes or {},
                ok,
                message[:2000],
            )
        )

    def pulled(self, **kwargs):
        self.event(direction=Direction.PULL, **kwargs)

    def pushed(self, **kwargs):
        self.event(direction=Direction.PUSH, **kwargs)

    def save_run(self) -> None:
        """The run's row is written when it first has something to hold (events, conflicts, a
        push on its way) or at the run's end: an idle poll writes it once."""
        if self.run.pk is None:
            self.run.api_calls = self.client.calls
            self.run.save()

    def flush(self):
        """Write the buffered events and counters; check we still hold the lease."""
        if self.events:
            self.save_run()
            run_id = self.run.pk
            insert_rows(SyncEvent, EVENT_COLUMNS, [(run_id, *event) for event in self.events])
            notice_record_for_events(events=self.events, run=self.run)
            self.events = []
        if self.run.pk is not None:
            self.run.api_calls = self.client.calls
            self.run.save(
                update_fields=["pulled", "pushed", "deleted", "conflicts", "failed", "api_calls"]
            )
        self.keep_lease()

    def keep_lease(self) -> None:
        """Extend the lease once a third of it has gone (nobody can take a lease that has not
        run out, so until then it is still ours); LeaseLost if another worker has it."""
        if time.monotonic() - self.lease_at < settings.SYNC_LEASE_SECONDS / 3:
            return
        if not lease_extend(user_id=self.user.pk, owner=self.lease_owner):
            raise LeaseLost()
        self.lease_at = time.monotonic()

    def guard(self) -> None:
        """At the start of every transaction that applies a plan: lock the user's sync state and
        check the run still speaks for it (R17: a run that started under one Salesforce identity
        never writes under another; sync turned off stops it too). The lock orders this apply
        with the switch itself, which updates the same row."""
        identity = (
            SyncState.objects.select_for_update()
            .filter(pk=self.state.pk)
            .values_list("enabled", "org_id", "sf_user_id")
            .first()
        )
        if identity != (True, self.org_id, self.sf_user_id):
            raise IdentityChanged()

    def sf_now(self):
        """Now on Salesforce's clock (R16)."""
        return self.client.sf_now()

    def to_sf_clock(self, moment):
        """A time of ours as Salesforce's clock read it then (R16: the measured skew)."""
        if moment is None:
            return None
        return moment + (self.client.skew or timedelta(0))

    def from_sf_clock(self, moment):
        if moment is None:
            return None
        return moment - (self.client.skew or timedelta(0))

    def check_budget(self):
        budget.check(self.client)

    def now(self):
        return timezone.now()
