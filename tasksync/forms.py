from datetime import date

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.subject import template_errors
from tasksync.models import ReminderTask
from tasksync.models.tasks import DETAILS_MAX_LENGTH, NAME_MAX_LENGTH

# R14: Salesforce's ActivityDate accepts 1700-01-01 to 4000-12-31; a date outside could never sync.
DUE_DATE_MIN = date(1700, 1, 1)
DUE_DATE_MAX = date(4000, 12, 31)


class TaskForm(forms.ModelForm):
    """Create or edit a reminder task. Limits are R1's; errors show next to the field."""

    name = forms.CharField(
        label=_("Name"),
        max_length=NAME_MAX_LENGTH,
        strip=True,
        error_messages={
            "required": _("Give the task a name."),
            "max_length": _("Keep the name to %(limit_value)d characters (it has %(show_value)d)."),
        },
        # The browser would silently cut a longer name; let the server say what is wrong instead.
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off"}),
    )
    details = forms.CharField(
        label=_("Details"),
        required=False,
        max_length=DETAILS_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={
            "max_length": _(
                "Keep the details to %(limit_value)d characters (they have %(show_value)d)."
            ),
        },
    )
    due_date = forms.DateField(
        label=_("Due date"),
        required=False,
        help_text=_("Optional. Salesforce accepts dates from 1 January 1700 to 31 December 4000."),
        widget=forms.DateInput(
            attrs={
                "type": "date",
                "min": DUE_DATE_MIN.isoformat(),
                "max": DUE_DATE_MAX.isoformat(),
            },
            format="%Y-%m-%d",
        ),
        error_messages={"invalid": _("Enter a date like 2026-12-31.")},
    )

    class Meta:
        model = ReminderTask
        fields = ["name", "due_date", "priority", "status", "details"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # No maxlength attribute: a browser would cut the text without telling the user.
        self.fields["name"].widget.attrs.pop("maxlength", None)
        self.fields["details"].widget.attrs.pop("maxlength", None)
        if not self.instance.pk:
            self.fields.pop("status")

    def clean_due_date(self):
        due = self.cleaned_data["due_date"]
        if due is not None and not DUE_DATE_MIN <= due <= DUE_DATE_MAX:
            raise forms.ValidationError(
                _(
                    "Salesforce accepts due dates from 1 January 1700 to 31 December 4000; "
                    "pick a date in that range."
                ),
                code="out_of_range",
            )
        return due

    def synced_values(self):
        return {field: self.cleaned_data[field] for field in self.fields}


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
