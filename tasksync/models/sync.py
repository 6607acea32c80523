"""What the sync knows: per-user state, linked pairs, the outbox of local changes, and its log."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .base import model_meta
from .tasks import ReminderTask


class SyncPhase(models.TextChoices):
    OFF = "off", _("Off")
    FIRST_SYNC = "first_sync", _("Importing")
    ON = "on", _("On")
    PAUSED = "paused", _("Paused")


class PauseReason(models.TextChoices):
    NONE = "", _("—")
    RECONNECT = "reconnect", _("Reconnect Salesforce")
    OVER_LIMIT = "over_limit", _("Salesforce API limit reached")
    STAFF = "staff", _("Paused by staff")


class SyncState(models.Model):
    """One row per user who ever touched the sync checkbox (R3, R4, R7, R14)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sync_state"
    )
    enabled = models.BooleanField(_("sync enabled"), default=False)
    phase = models.CharField(_("state"), max_length=16, choices=SyncPhase.choices, default="off")
    pause_reason = models.CharField(
        _("pause reason"), max_length=16, choices=PauseReason.choices, blank=True, default=""
    )
    message = models.TextField(_("message"), blank=True, default="")
    first_enabled_at = models.DateTimeField(_("first enabled"), null=True, blank=True)
    last_enabled_at = models.DateTimeField(_("last enabled"), null=True, blank=True)
    last_disabled_at = models.DateTimeField(_("last disabled"), null=True, blank=True)
    # Whom the links and cursors below belong to: a different Salesforce user or org starts fresh.
    org_id = models.CharField(_("Salesforce org id"), max_length=18, blank=True, default="")
    sf_user_id = models.CharField(_("Salesforce user id"), max_length=18, blank=True, default="")
    # Pull cursor: the highest SystemModstamp applied (R5); a small overlap is re-read each time.
    watermark = models.DateTimeField(_("pull watermark"), null=True, blank=True)
    # Cursor of sobjects/Task/deleted/ (latestDateCovered of the last call).
    deleted_watermark = models.DateTimeField(_("deletions watermark"), null=True, blank=True)
    # The last read that brought many records in full: while the cursor is before it, the
    # overlap holds them and polls read it as ids and stamps (sync.pull.overlap).
    busy_read_at = models.DateTimeField(null=True, blank=True)
    # Colleagues' tasks the last read saw (R18): from pull.overlap.CROWD on, polls read the
    # rep's own tasks in full and the colleagues' as ids, stamps and owners.
    colleagues_seen = models.PositiveIntegerField(default=0)
    last_success_at = models.DateTimeField(_("last successful sync"), null=True, blank=True)
    next_poll_at = models.DateTimeField(_("next poll"), null=True, blank=True, db_index=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    # Status values detected from the org's TaskStatus picklist (R1, go beyond).
    status_open_value = models.CharField(max_length=255, blank=True, default="")
    status_complete_value = models.CharField(max_length=255, blank=True, default="")
    # One run per user at a time, across workers and machines: a lease that expires (R10).
    lease_owner = models.CharField(max_length=64, blank=True, default="")
    lease_until = models.DateTimeField(null=True, blank=True)
    # Coalescing: a push job is queued at most once until it starts; a run that finds another
    # one holding the lease asks it to go round once more.
    push_queued = models.BooleanField(default=False)
    rerun_requested = models.BooleanField(default=False)

    Meta = model_meta(_("sync state"), _("sync states"))

    def __str__(self):
        return f"{self.user} · {self.get_phase_display()}"

    @property
    def is_active(self):
        return self.enabled and self.phase in (SyncPhase.FIRST_SYNC, SyncPhase.ON)


class LinkState(models.TextChoices):
    CREATING = "creating", _("Being created in Salesforce")
    SYNCED = "synced", _("Synced")
    FAILED = "failed", _("Failed")
    REMOTE_DELETED = "remote_deleted", _("Deleted in Salesforce")
    LOCAL_DELETED = "local_deleted", _("Deleted here and in Salesforce")
    # R18: the Salesforce task now belongs to another Salesforce user; it left this user's sync.
    REASSIGNED = "reassigned", _("Reassigned in Salesforce")
    RETIRED = "retired", _("Retired (other Salesforce account)")


class TaskLink(models.Model):
    """A linked pair: a local task and the Salesforce Task that is the same reminder."""

    task = models.OneToOneField(ReminderTask, on_delete=models.CASCADE, related_name="link")
    # The task's user, kept on the link for the per-user queries. Its database key is the task's
    # (the task's own key checks the user): a second key on the same user would be checked again
    # for each of a first import's 10,000 links at commit on PostgreSQL (issue 16). Deleting a
    # user still deletes their links (Django's CASCADE; tests/accounts/test_user_deletion.py).
    # No index of its own either: the user's indexes below lead with it.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    org_id = models.CharField(max_length=18)
    sf_user_id = models.CharField(max_length=18)
    # NULL until the create is confirmed, so the unique constraint ignores pending links.
    sf_id = models.CharField(_("Salesforce id"), max_length=18, null=True, blank=True)  # noqa: DJ001
    state = models.CharField(max_length=16, choices=LinkState.choices, default=LinkState.SYNCED)
    # The last values both sides agreed on: echoes are recognised by content (R9), field-level
    # pushes and conflicts are computed against them (R1, R8).
    synced_local = models.JSONField(default=dict, blank=True)
    synced_remote = models.JSONField(default=dict, blank=True)
    sf_system_modstamp = models.DateTimeField(null=True, blank=True)
    sf_last_modified = models.DateTimeField(null=True, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    # R10: set before a create is sent; cleared when its id is recorded. A link still holding one
    # after a crash or a lost response is "in doubt" and is matched, never created twice.
    create_started_at = models.DateTimeField(null=True, blank=True)
    # R10: an in-doubt create is sent again only by a run that started after this time and whose
    # pull did not find it. A request that got no answer may still be running in Salesforce (and
    # commit) until its 10-minute limit; one that got an answer, even an error, is over.
    resend_after = models.DateTimeField(null=True, blank=True)
    # R10: with SALESFORCE_TASK_EXTERNAL_ID_FIELD set, the create carries this key in that field,
    # and the pull recognises an in-doubt create by it.
    create_key = models.CharField(max_length=32, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    Meta = model_meta(
        _("task link"),
        _("task links"),
        constraints=[
            # R10/R18: one link per user and Salesforce task. Another user of the org may hold
            # the same task once it is reassigned to them; the previous owner's link is then
            # "reassigned" (their run lets it go).
            models.UniqueConstraint(
                fields=["user", "org_id", "sf_id"],
                name="one_link_per_user_and_salesforce_task",
                condition=models.Q(sf_id__isnull=False) & ~models.Q(state="retired"),
            )
        ],
        indexes=[
            models.Index(fields=["user", "state"], name="link_user_state"),
            # R18: who else holds a Salesforce task (an import asks for each page it writes),
            # found by the task, not by scanning every link of the org.
            models.Index(fields=["org_id", "sf_id"], name="link_org_sf_id"),
        ],
    )

    def __str__(self):
        return f"{self.task_id} ↔ {self.sf_id or '(pending)'}"


class OutboxOperation(models.TextChoices):
    CREATE = "create", _("Create")
    UPDATE = "update", _("Update")
    DELETE = "delete", _("Delete")


class OutboxState(models.TextChoices):
    PENDING = "pending", _("Pending")
    FAILED = "failed", _("Failed")


class OutboundChange(models.Model):
    """A local change waiting to reach Salesforce; one row per task, coalescing edits (R5, R11)."""

    task = models.OneToOneField(ReminderTask, on_delete=models.CASCADE, related_name="outbound")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    operation = models.CharField(max_length=8, choices=OutboxOperation.choices)
    fields = models.JSONField(default=list, blank=True)
    state = models.CharField(
        max_length=8, choices=OutboxState.choices, default=OutboxState.PENDING, db_index=True
    )
    queued_at = models.DateTimeField(auto_now_add=True)
    changed_at = models.DateTimeField(auto_now=True)
    attempts = models.PositiveIntegerField(default=0)
    # R11: when the first of the current run of transient failures happened; the change is failed
    # only after a day of retries.
    failing_since = models.DateTimeField(null=True, blank=True)
    not_before = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    last_error_code = models.CharField(max_length=64, blank=True, default="")

    Meta = model_meta(
        _("outbound change"),
        _("outbound changes"),
        indexes=[models.Index(fields=["user", "state"], name="outbox_user_state")],
    )

    def __str__(self):
        return f"{self.operation} task {self.task_id}"


class SyncTrigger(models.TextChoices):
    FIRST_SYNC = "first_sync", _("First sync")
    POLL = "poll", _("Poll")
    PUSH = "push", _("Push")
    MANUAL = "manual", _("Manual")
    RESYNC = "resync", _("Resync")
    STREAM = "stream", _("Change event")  # R19: a pull asked for by the change stream
    ORG_PULL = "org_pull", _("Org pull")  # R19: a rep's share of the org's one pull


class RunOutcome(models.TextChoices):
    RUNNING = "running", _("Running")
    SUCCESS = "success", _("Success")
    PARTIAL = "partial", _("Some records failed")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped")


class SyncRun(models.Model):
    """One sync cycle of one user: what it did and what it cost (R14)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sync_runs"
    )
    trigger = models.CharField(max_length=16, choices=SyncTrigger.choices)
    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(
        max_length=16, choices=RunOutcome.choices, default=RunOutcome.RUNNING, db_index=True
    )
    pulled = models.PositiveIntegerField(default=0)
    pushed = models.PositiveIntegerField(default=0)
    deleted = models.PositiveIntegerField(default=0)
    conflicts = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    api_calls = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")

    Meta = model_meta(_("sync run"), _("sync runs"), ordering=["-started_at"])

    def __str__(self):
        return f"{self.get_trigger_display()} · {self.user} · {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def duration(self):
        if self.finished_at:
            return self.finished_at - self.started_at
        return None

    def summary(self):
        return (
            f"pulled={self.pulled} pushed={self.pushed} deleted={self.deleted} "
            f"conflicts={self.conflicts} failed={self.failed} api_calls={self.api_calls}"
        )


class Direction(models.TextChoices):
    PULL = "pull", _("Salesforce → here")
    PUSH = "push", _("Here → Salesforce")


class EventAction(models.TextChoices):
    IMPORT = "import", _("Imported")
    CREATE = "create", _("Created")
    UPDATE = "update", _("Updated")
    DELETE = "delete", _("Deleted")
    UNDELETE = "undelete", _("Restored")
    CONFLICT = "conflict", _("Conflict")
    RECOVERED_CREATE = "recovered_create", _("Create recovered")
    REASSIGNED = "reassigned", _("Reassigned in Salesforce")
    RESYNC_REPAIR = "resync_repair", _("Resync repair")


class SyncEvent(models.Model):
    """One record's change in one run: the history of a task (R14)."""

    # A run's and a task's events are read newest first (the admin's lists, a task's History):
    # each key's index carries the order too (see Meta), in place of the plain key index.
    run = models.ForeignKey(
        SyncRun, on_delete=models.CASCADE, related_name="events", null=True, db_index=False
    )
    # The run's user, kept on each event for the per-user lists; no database key of its own, as
    # the link's user (a first import writes 10,000 events; the run's and the task's keys stay).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    task = models.ForeignKey(
        ReminderTask,
        on_delete=models.CASCADE,
        related_name="sync_events",
        null=True,
        blank=True,
        db_index=False,
    )
    sf_id = models.CharField(max_length=18, blank=True, default="")
    direction = models.CharField(max_length=8, choices=Direction.choices)
    action = models.CharField(max_length=16, choices=EventAction.choices)
    changes = models.JSONField(default=dict, blank=True)
    ok = models.BooleanField(default=True)
    message = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    Meta = model_meta(
        _("sync event"),
        _("sync events"),
        ordering=["-created_at", "-id"],
        indexes=[
            models.Index(fields=["run", "created_at", "id"], name="event_run_time"),
            models.Index(fields=["task", "created_at", "id"], name="event_task_time"),
        ],
    )

    def __str__(self):
        return f"{self.direction} {self.action} {self.sf_id}"


class Winner(models.TextChoices):
    LOCAL = "local", _("This app")
    SALESFORCE = "salesforce", _("Salesforce")


class SyncConflict(models.Model):
    """R8: the same field changed on both sides since the pair's last sync."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    task = models.ForeignKey(ReminderTask, on_delete=models.CASCADE, related_name="conflicts")
    run = models.ForeignKey(SyncRun, on_delete=models.SET_NULL, null=True, blank=True)
    sf_id = models.CharField(max_length=18, blank=True, default="")
    field = models.CharField(max_length=32)
    local_value = models.JSONField(null=True, blank=True)
    remote_value = models.JSONField(null=True, blank=True)
    local_changed_at = models.DateTimeField(null=True, blank=True)
    remote_changed_at = models.DateTimeField(null=True, blank=True)
    winner = models.CharField(max_length=16, choices=Winner.choices)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True, default="")

    Meta = model_meta(_("sync conflict"), _("sync conflicts"), ordering=["-created_at"])

    def __str__(self):
        return f"{self.field} on task {self.task_id}: {self.winner} won"
