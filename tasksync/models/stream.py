"""The state of one org's Change Data Capture stream (R19): where it is, whether it is healthy,
and which subscriber holds it."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from .base import model_meta


class StreamHealth(models.TextChoices):
    STARTING = "starting", _("Starting")
    HEALTHY = "healthy", _("Healthy")
    BROKEN = "broken", _("Broken (polling as usual)")
    NOT_ENABLED = "not_enabled", _("Change Data Capture not enabled for Task")
    NOT_PERMITTED = "not_permitted", _("Subscriber lacks permission (View All Data)")
    NO_CONNECTION = "no_connection", _("No usable Salesforce connection")
    STOPPED = "stopped", _("Stopped")


class StreamState(models.Model):
    """One row per org that has a subscriber. The replay id is stored after each event has been
    handed on, so a restarted subscriber resumes right after it (nothing lost, nothing twice)."""

    org_id = models.CharField(_("Salesforce org id"), max_length=18, unique=True)
    topic = models.CharField(_("topic"), max_length=80, default="/data/TaskChangeEvent")
    # The opaque replay id of the last event handed on, hex-encoded; empty before the first.
    replay_id = models.CharField(_("replay id"), max_length=200, blank=True, default="")
    health = models.CharField(
        _("health"), max_length=16, choices=StreamHealth.choices, default=StreamHealth.STARTING
    )
    message = models.TextField(_("message"), blank=True, default="")
    health_changed_at = models.DateTimeField(_("health changed at"), null=True, blank=True)
    last_event_at = models.DateTimeField(_("last event at"), null=True, blank=True)
    # Written by the holder every few seconds: a stream whose holder stopped writing is not healthy.
    heartbeat_at = models.DateTimeField(_("heartbeat at"), null=True, blank=True)
    events_received = models.PositiveBigIntegerField(_("events received"), default=0)
    pulls_queued = models.PositiveBigIntegerField(_("pulls queued"), default=0)
    echoes_skipped = models.PositiveBigIntegerField(_("echoes skipped"), default=0)
    lease_owner = models.CharField(_("held by"), max_length=100, blank=True, default="")
    lease_until = models.DateTimeField(_("held until"), null=True, blank=True)

    Meta = model_meta(_("change stream"), _("change streams"))

    def __str__(self):
        return f"{self.org_id} · {self.get_health_display()}"
