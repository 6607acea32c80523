"""R19: an org's change feed through its integration user: one pull per org and interval covers
every syncing rep of the org."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .base import model_meta


class FeedHealth(models.TextChoices):
    WAITING = "waiting", _("Not pulled yet")
    OK = "ok", _("Pulling")
    FAILING = "failing", _("Failing: reps poll on their own")
    RECONNECT = "reconnect", _("Integration user must reconnect: reps poll on their own")
    REFUSED = "refused", _("Integration user lacks a permission: reps poll on their own")


class OrgFeed(models.Model):
    """One row per org whose changes are pulled once for all its reps, with the integration
    user's token (R19). Writes stay under each rep's own token."""

    org_id = models.CharField(_("Salesforce org id"), max_length=18, unique=True)
    # A local account that only holds the integration user's Salesforce connection (the normal
    # Connect Salesforce flow, encrypted tokens, revoked on disconnect); it never signs in.
    integration_user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="integration_feed",
        verbose_name=_("integration user"),
    )
    enabled = models.BooleanField(_("pull the org at once"), default=True)
    health = models.CharField(
        _("health"), max_length=16, choices=FeedHealth.choices, default=FeedHealth.WAITING
    )
    message = models.TextField(_("message"), blank=True, default="")
    # Checked when the integration user is connected (and on every pull that is refused).
    can_read_all = models.BooleanField(_("reads every rep's tasks"), default=False)
    can_subscribe = models.BooleanField(_("may subscribe to Task change events"), default=False)
    checked_at = models.DateTimeField(_("permissions checked"), null=True, blank=True)
    # Cursors, on Salesforce's clock, like a rep's own (R16).
    watermark = models.DateTimeField(_("pull watermark"), null=True, blank=True)
    deleted_watermark = models.DateTimeField(_("deletions watermark"), null=True, blank=True)
    # When the last complete pull started (our clock): an in-doubt create sent before it and
    # not found by it can no longer land (R10).
    last_pull_started_at = models.DateTimeField(_("last pull started"), null=True, blank=True)
    last_success_at = models.DateTimeField(_("last successful pull"), null=True, blank=True)
    next_pull_at = models.DateTimeField(_("next pull"), null=True, blank=True, db_index=True)
    last_api_calls = models.PositiveIntegerField(_("API calls of the last pull"), default=0)
    lease_owner = models.CharField(max_length=64, blank=True, default="")
    lease_until = models.DateTimeField(null=True, blank=True)

    Meta = model_meta(_("org change feed"), _("org change feeds"))

    def __str__(self):
        return f"{self.org_id} · {self.get_health_display()}"
