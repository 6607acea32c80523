import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.crypto import EncryptedTextField


def validate_time_zone(value):
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("“%(value)s” is not a known time zone."), params={"value": value})


class User(AbstractUser):
    """A person who keeps reminder tasks here and, optionally, syncs them with Salesforce."""

    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text=_("“Today” and “tomorrow” on the Command Center follow this zone."),
    )
    subject_template = models.CharField(
        _("subject template"),
        max_length=1000,
        default="{{activity_subject}}",
        help_text=_("The Salesforce Subject of your tasks; {{activity_subject}} is the task name."),
    )
    language = models.CharField(
        _("language"),
        max_length=8,
        blank=True,
        choices=settings.LANGUAGES,
        help_text=_("Leave empty to follow the browser."),
    )

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def clean(self):
        super().clean()
        from accounts.subject import template_errors

        errors = template_errors(self.subject_template)
        if errors:
            raise ValidationError({"subject_template": errors})

    @property
    def zone(self):
        return zoneinfo.ZoneInfo(self.time_zone)


class SalesforceOrg(models.Model):
    """A Salesforce organization some user connected (R17); the sync engine keeps its API usage."""

    org_id = models.CharField(_("org id"), max_length=18, unique=True)
    instance_url = models.URLField(_("instance URL"), max_length=255)
    is_sandbox = models.BooleanField(_("sandbox"), default=False)
    # R13: the last Sforce-Limit-Info seen for the org (org-wide, rolling 24 hours).
    api_used = models.PositiveIntegerField(_("API calls used"), null=True, blank=True)
    api_max = models.PositiveIntegerField(_("API call limit"), null=True, blank=True)
    api_usage_at = models.DateTimeField(_("API usage seen at"), null=True, blank=True)
    # R1: the org's TaskStatus picklist (ApiName, IsClosed, IsDefault, SortOrder rows), read once
    # per org and day, or again as soon as Salesforce rejects a status (issue 16).
    task_statuses = models.JSONField(_("Task status picklist"), default=list, blank=True)
    task_statuses_at = models.DateTimeField(
        _("Task status picklist read at"), null=True, blank=True
    )

    class Meta:
        verbose_name = _("Salesforce org")
        verbose_name_plural = _("Salesforce orgs")

    def __str__(self):
        return self.org_id


class ConnectionState(models.TextChoices):
    CONNECTED = "connected", _("connected")
    NEEDS_RECONNECT = "needs_reconnect", _("needs reconnect")
    DISCONNECTED = "disconnected", _("disconnected")


class SalesforceConnection(models.Model):
    """One user's OAuth connection to one Salesforce user in one org (R17).

    The row outlives a disconnect (tokens cleared, identity kept) so that reconnecting the same
    Salesforce user resumes, while a different user or org is recognised as a fresh start.
    Tokens are encrypted at rest and never appear in ``str``/``repr``, logs or the admin.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="salesforce_connection",
        verbose_name=_("user"),
    )
    org = models.ForeignKey(
        SalesforceOrg,
        on_delete=models.PROTECT,
        related_name="connections",
        verbose_name=_("org"),
    )
    sf_user_id = models.CharField(_("Salesforce user id"), max_length=18)
    username = models.CharField(_("Salesforce username"), max_length=255)
    display_name = models.CharField(_("display name"), max_length=255, blank=True)
    email = models.EmailField(_("email"), max_length=255, blank=True)
    instance_url = models.URLField(_("instance URL"), max_length=255)
    login_url = models.URLField(_("login URL"), max_length=255)
    is_sandbox = models.BooleanField(_("sandbox"), default=False)
    access_token = EncryptedTextField(_("access token"), null=True, blank=True, editable=False)
    refresh_token = EncryptedTextField(_("refresh token"), null=True, blank=True, editable=False)
    # Bumped on every token change: refreshes compare-and-swap on it (no lost rotated token).
    token_version = models.PositiveIntegerField(_("token version"), default=0, editable=False)
    issued_at = models.DateTimeField(_("token issued at"), null=True, blank=True)
    connected_at = models.DateTimeField(_("connected at"), null=True, blank=True)
    last_refreshed_at = models.DateTimeField(_("last refreshed at"), null=True, blank=True)
    # Set while one worker asks Salesforce for a new access token, so that others wait for it
    # instead of presenting a refresh token it is about to rotate away (connection_refresh).
    refresh_claimed_at = models.DateTimeField(
        _("refresh in progress since"), null=True, blank=True, editable=False
    )
    state = models.CharField(
        _("state"),
        max_length=20,
        choices=ConnectionState.choices,
        default=ConnectionState.CONNECTED,
    )
    state_reason = models.TextField(_("state reason"), blank=True)
    state_changed_at = models.DateTimeField(_("state changed at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("Salesforce connection")
        verbose_name_plural = _("Salesforce connections")
        indexes = [models.Index(fields=["state"], name="sfconn_state_idx")]

    def __str__(self):
        return f"{self.username or '?'} ({self.sf_user_id or '?'})"

    def __repr__(self):
        return (
            f"<SalesforceConnection id={self.pk} user_id={self.user_id} "
            f"sf_user_id={self.sf_user_id!r} state={self.state!s} v={self.token_version}>"
        )

    @property
    def is_usable(self) -> bool:
        return (
            self.state == ConnectionState.CONNECTED
            and bool(self.access_token)
            and bool(self.refresh_token)
        )
