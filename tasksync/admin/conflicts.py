"""Conflicts (R8): field, both values, both times, the winner; the losing value can be applied."""

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from tasksync.admin.common import (
    LIST_VALUE_LIMIT,
    FixedChoicesFilter,
    TaskLogAdmin,
    _value,
    _when,
    is_set_filter,
)
from tasksync.models import ReminderTask, SyncConflict
from tasksync.services.conflicts import ConflictNotApplicable, conflict_apply_other
from tasksync.services.tasks import SYNCED_FIELDS

ResolvedFilter = is_set_filter("resolved_at", _("resolved"), _("Unresolved"), _("Resolved"))


class ConflictFieldFilter(FixedChoicesFilter):
    """The synced fields (R1)."""

    title = _("field")
    parameter_name = field = "field"

    def options(self):
        return [(name, ReminderTask._meta.get_field(name).verbose_name) for name in SYNCED_FIELDS]


def _side(side, description):
    """The column of one side's value (``local`` or ``remote``) and, under it, when that side
    changed it."""

    @admin.display(description=description, ordering=f"{side}_changed_at")
    def column(self, conflict):
        value = _value(getattr(conflict, f"{side}_value"), LIST_VALUE_LIMIT)
        at = _when(getattr(conflict, f"{side}_changed_at"))
        return format_html('{}<br><span class="quiet">{}</span>', value, at)

    return column


@admin.register(SyncConflict)
class SyncConflictAdmin(TaskLogAdmin):
    """R8: field, both values, both times, the winner; the loser can be applied."""

    list_display = [
        "id",
        "when",
        "task_name",
        "field",
        "local",
        "remote",
        "winner",
        "resolved",
    ]
    list_select_related = ["user", "task"]
    list_filter = ["winner", ResolvedFilter, ConflictFieldFilter, "created_at"]
    actions = ["apply_other_value"]
    rule = 8

    local = _side("local", _("here"))
    remote = _side("remote", _("in Salesforce"))

    @admin.display(description=_("resolved"), boolean=True, ordering="resolved_at")
    def resolved(self, conflict):
        return conflict.resolved_at is not None

    def has_resolve_permission(self, request):
        return request.user.has_perm("tasksync.change_syncconflict")

    @admin.action(
        description=_("Apply the other value (the one that lost)"), permissions=["resolve"]
    )
    def apply_other_value(self, request, queryset):
        # R8: the losing value is applied as a local edit and syncs like any edit.
        applied = 0
        for conflict in queryset.select_related("task"):
            try:
                conflict_apply_other(conflict=conflict, by_user=request.user)
            except ConflictNotApplicable as reason:
                self.message_user(request, f"#{conflict.pk}: {reason}", level="warning")
                continue
            self.log_change(request, conflict, "Applied the other value.")
            applied += 1
        message = ngettext(
            "Applied the other value of %(count)d conflict.",
            "Applied the other value of %(count)d conflicts.",
            applied,
        )
        self.message_user(request, message % {"count": applied})
