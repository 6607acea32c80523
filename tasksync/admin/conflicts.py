"""Conflicts (R8): field, both values, both times, the winner; the losing value can be applied."""

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from tasksync.admin.common import (
    LIST_VALUE_LIMIT,
    SALESFORCE_SEARCH,
    LogSearch,
    ReadOnlyAdmin,
    _admin_link,
    _value,
    _when,
)
from tasksync.models import ReminderTask, SyncConflict
from tasksync.services.conflicts import ConflictNotApplicable, conflict_apply_other
from tasksync.services.tasks import SYNCED_FIELDS


class ResolvedFilter(admin.SimpleListFilter):
    title = _("resolved")
    parameter_name = "resolved"

    def lookups(self, request, model_admin):
        return [("no", _("Unresolved")), ("yes", _("Resolved"))]

    def queryset(self, request, queryset):
        if self.value() in ("no", "yes"):
            return queryset.filter(resolved_at__isnull=self.value() == "no")
        return queryset


class ConflictFieldFilter(admin.SimpleListFilter):
    """The synced fields (R1), a fixed list: no SELECT DISTINCT over the conflicts."""

    title = _("field")
    parameter_name = "field"

    def lookups(self, request, model_admin):
        return [(name, ReminderTask._meta.get_field(name).verbose_name) for name in SYNCED_FIELDS]

    def queryset(self, request, queryset):
        return queryset.filter(field=self.value()) if self.value() else queryset


def _value_at(value, at):
    """A conflict's value and, under it, when that side changed it."""
    return format_html(
        '{}<br><span class="quiet">{}</span>', _value(value, LIST_VALUE_LIMIT), _when(at)
    )


@admin.register(SyncConflict)
class SyncConflictAdmin(LogSearch, ReadOnlyAdmin):
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
    search_fields = [*SALESFORCE_SEARCH, "sf_id", "task__name"]
    show_full_result_count = False
    actions = ["apply_other_value"]
    rule = 8

    @admin.display(description=_("when"), ordering="created_at")
    def when(self, conflict):
        return _when(conflict.created_at)

    @admin.display(description=_("task"), ordering="task__name")
    def task_name(self, conflict):
        task = _admin_link(conflict.task, _value(conflict.task.name, 40))
        return format_html('{}<br><span class="quiet">{}</span>', task, conflict.user)

    @admin.display(description=_("here"), ordering="local_changed_at")
    def local(self, conflict):
        return _value_at(conflict.local_value, conflict.local_changed_at)

    @admin.display(description=_("in Salesforce"), ordering="remote_changed_at")
    def remote(self, conflict):
        return _value_at(conflict.remote_value, conflict.remote_changed_at)

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
