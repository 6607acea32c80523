from django.conf import settings
from django.core.validators import MaxLengthValidator, MinLengthValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from .base import model_meta

NAME_MAX_LENGTH = 255
DETAILS_MAX_LENGTH = 32_000


class TaskStatus(models.TextChoices):
    OPEN = "open", _("Open")
    COMPLETE = "complete", _("Complete")


class TaskPriority(models.TextChoices):
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")


class TaskOrigin(models.TextChoices):
    LOCAL = "local", _("Created here")
    SALESFORCE = "salesforce", _("Imported from Salesforce")


class ReminderTaskQuerySet(models.QuerySet):
    def live(self):
        """Tasks that have not been deleted (tombstones stay for the sync, hidden everywhere)."""
        return self.filter(deleted_at__isnull=True)

    def for_user(self, user):
        return self.filter(user=user)

    def due_on(self, day):
        return self.filter(due_date=day)


class ReminderTask(models.Model):
    """A reminder task kept by tasksync: the local side of a sync pair (R1)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="tasks",
        verbose_name=_("user"),
    )
    name = models.CharField(
        _("name"),
        max_length=NAME_MAX_LENGTH,
        validators=[MinLengthValidator(1), MaxLengthValidator(NAME_MAX_LENGTH)],
    )
    status = models.CharField(
        _("status"), max_length=16, choices=TaskStatus.choices, default=TaskStatus.OPEN
    )
    priority = models.CharField(
        _("priority"), max_length=16, choices=TaskPriority.choices, default=TaskPriority.NORMAL
    )
    # R1/R16: a pure calendar date, never converted between time zones.
    due_date = models.DateField(_("due date"), null=True, blank=True)
    details = models.TextField(
        _("details"), blank=True, validators=[MaxLengthValidator(DETAILS_MAX_LENGTH)]
    )
    origin = models.CharField(
        _("origin"), max_length=16, choices=TaskOrigin.choices, default=TaskOrigin.LOCAL
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    modified_at = models.DateTimeField(_("modified"), auto_now=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    # Deletion keeps a tombstone so the sync can still carry the delete to Salesforce (R6).
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True, db_index=True)
    # When each mapped field was last changed here by the user (UTC ISO times): R8 compares these
    # with Salesforce's LastModifiedDate to decide which side's edit of a field is later.
    field_changed_at = models.JSONField(_("field change times"), default=dict, blank=True)
    # R14: what the task is about in Salesforce (its Who and What names), read with the pull's
    # own queries. Display only: never pushed, never compared for conflicts (not R1 fields).
    related_who = models.CharField(_("name (Salesforce)"), max_length=255, blank=True, default="")
    related_what = models.CharField(
        _("related to (Salesforce)"), max_length=255, blank=True, default=""
    )

    objects = ReminderTaskQuerySet.as_manager()

    Meta = model_meta(
        _("reminder task"),
        _("reminder tasks"),
        ordering=[models.F("due_date").asc(nulls_last=True), "-created_at"],
        indexes=[
            # A rep's live tasks in the pages' order: the task list's page of 100 (and the
            # Command Center's two days) read from the index, not sorted from all of them. The
            # condition, not a deleted_at column: PostgreSQL orders by an index only past
            # columns fixed by "=", and "IS NULL" is not one.
            models.Index(
                fields=["user", "due_date", "-created_at"],
                condition=models.Q(deleted_at__isnull=True),
                name="task_user_live_order",
            ),
        ],
    )

    def __str__(self):
        return self.name

    @property
    def is_complete(self):
        return self.status == TaskStatus.COMPLETE

    @property
    def is_deleted(self):
        return self.deleted_at is not None
