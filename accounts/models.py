import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


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
        from tasksync.subject import template_errors

        errors = template_errors(self.subject_template)
        if errors:
            raise ValidationError({"subject_template": errors})

    @property
    def zone(self):
        return zoneinfo.ZoneInfo(self.time_zone)
