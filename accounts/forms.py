import zoneinfo

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from tasksync.subject import template_errors


def _zone_choices():
    return [(z, z.replace("_", " ")) for z in sorted(zoneinfo.available_timezones())]


class PreferencesForm(forms.ModelForm):
    time_zone = forms.ChoiceField(label=_("Time zone"), choices=_zone_choices)
    language = forms.ChoiceField(
        label=_("Language"),
        required=False,
        choices=[("", _("Same as my browser")), *settings.LANGUAGES],
    )

    class Meta:
        model = User
        fields = ["time_zone", "language"]


class SyncSettingsForm(forms.ModelForm):
    """The sync checkbox and the subject template (R2, R3)."""

    sync_enabled = forms.BooleanField(label=_("Sync my tasks with Salesforce"), required=False)

    class Meta:
        model = User
        fields = ["subject_template"]
        labels = {"subject_template": _("Salesforce subject template")}

    def __init__(self, *args, sync_enabled=False, can_sync=False, cannot_sync_reason="", **kw):
        super().__init__(*args, **kw)
        field = self.fields["sync_enabled"]
        field.initial = sync_enabled
        # R3: the checkbox can only be turned on while Salesforce is connected; a disabled field
        # keeps its initial value whatever a crafted POST says.
        if not can_sync and not sync_enabled:
            field.disabled = True
            field.help_text = cannot_sync_reason

    def clean_subject_template(self):
        template = self.cleaned_data["subject_template"]
        errors = template_errors(template)
        if errors:
            raise forms.ValidationError(errors)
        return template
