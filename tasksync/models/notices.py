"""What a rep is told about their tasks by the sync, kept until they dismiss it (R14, R18)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .base import model_meta
from .tasks import ReminderTask


class NoticeKind(models.TextChoices):
    CONFLICT_LOST = "conflict_lost", _("Your change was replaced by Salesforce's")
    EDIT_MET_DELETE = "edit_met_delete", _("Your change met a delete in Salesforce")
    DELETED = "deleted", _("Deleted in Salesforce")
    REASSIGNED = "reassigned", _("Reassigned in Salesforce")


_FIELD_LABELS = {
    "name": _("name"),
    "status": _("status"),
    "priority": _("priority"),
    "due_date": _("due date"),
    "details": _("details"),
}


class Notice(models.Model):
    """One thing the rep should know about one of their tasks. ``key`` makes recording it again
    (a run flushes its events several times; a job may run twice) a no-op."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notices"
    )
    task = models.ForeignKey(
        ReminderTask, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The name as it was: the task may be a tombstone by the time the rep reads this.
    task_name = models.CharField(_("task"), max_length=255)
    kind = models.CharField(_("kind"), max_length=16, choices=NoticeKind.choices)
    fields = models.JSONField(_("fields"), default=list, blank=True)
    key = models.CharField(max_length=64)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    Meta = model_meta(
        _("notice"),
        _("notices"),
        ordering=["-created_at", "-id"],
        constraints=[
            models.UniqueConstraint(fields=["user", "key"], name="one_notice_per_key"),
        ],
        indexes=[models.Index(fields=["user", "read_at"], name="notice_user_unread")],
    )

    def __str__(self):
        return f"{self.get_kind_display()}: {self.task_name}"

    @property
    def field_labels(self) -> str:
        """The fields in the rep's words ("due date, details")."""
        return ", ".join(str(_FIELD_LABELS.get(f, f)) for f in self.fields)


class ZoneChoice(models.Model):
    """Whether a user's time zone was already taken from their browser or chosen by them: the
    browser's zone is applied once, on the first visit, and never over the user's own choice."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="zone_choice"
    )
    zone = models.CharField(max_length=64)
    from_browser = models.BooleanField(default=False)
    chosen_at = models.DateTimeField(auto_now=True)

    Meta = model_meta(_("time zone choice"), _("time zone choices"))

    def __str__(self):
        return f"{self.user} · {self.zone}"
