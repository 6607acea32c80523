"""The sync's audit trail: runs, events, conflicts, links and the outbox (read-only)."""

from django.contrib import admin
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from tasksync import admin_views
from tasksync.admin.common import (
    SALESFORCE_SEARCH,
    ReadOnlyAdmin,
    ReadOnlyInline,
    _admin_link,
    _changelist_link,
    _changes,
    _salesforce_link,
    _value,
)
from tasksync.models import (
    OutboundChange,
    SyncConflict,
    SyncEvent,
    SyncRun,
    TaskLink,
)
from tasksync.sync.conflict_services import ConflictNotApplicable, conflict_apply_other


class SyncEventInline(ReadOnlyInline):
    model = SyncEvent
    fields = ["created_at", "task", "salesforce", "direction", "action", "changed", "ok", "message"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("task", "user__salesforce_connection")

    @admin.display(description=_("Salesforce record"))
    def salesforce(self, event):
        return _salesforce_link(event.user, event.sf_id)

    @admin.display(description=_("fields changed"))
    def changed(self, event):
        return _changes(event.changes)


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "user",
        "trigger",
        "started_at",
        "took",
        "pulled",
        "pushed",
        "deleted",
        "conflicts",
        "failed",
        "api_calls",
        "outcome",
        "error",
    ]
    list_select_related = ["user"]
    list_filter = ["outcome", "trigger", "started_at"]
    search_fields = SALESFORCE_SEARCH
    date_hierarchy = "started_at"
    inlines = [SyncEventInline]

    @admin.display(description=_("duration"))
    def took(self, run):
        duration = run.duration
        return f"{duration.total_seconds():.1f} s" if duration is not None else "—"

    def get_urls(self):
        health = self.admin_site.admin_view(admin_views.SyncHealthView.as_view(admin=self))
        return [path("health/", health, name="tasksync_sync_health"), *super().get_urls()]


@admin.register(SyncEvent)
class SyncEventAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "created_at",
        "user",
        "task_name",
        "salesforce",
        "direction",
        "action",
        "changed",
        "ok",
        "message",
        "run_link",
    ]
    list_select_related = ["user__salesforce_connection", "task", "run"]
    list_filter = ["direction", "ok", "action", "created_at"]
    search_fields = [*SALESFORCE_SEARCH, "sf_id", "task__name"]
    date_hierarchy = "created_at"

    @admin.display(description=_("task"), ordering="task__name")
    def task_name(self, event):
        return _admin_link(event.task, event.task.name) if event.task else "—"

    @admin.display(description=_("Salesforce record"), ordering="sf_id")
    def salesforce(self, event):
        return _salesforce_link(event.user, event.sf_id)

    @admin.display(description=_("fields changed (old → new)"))
    def changed(self, event):
        return _changes(event.changes)

    @admin.display(description=_("run"), ordering="run")
    def run_link(self, event):
        return _admin_link(event.run, f"#{event.run_id}") if event.run_id else "—"


class ResolvedFilter(admin.SimpleListFilter):
    title = _("resolved")
    parameter_name = "resolved"

    def lookups(self, request, model_admin):
        return [("no", _("Unresolved")), ("yes", _("Resolved"))]

    def queryset(self, request, queryset):
        if self.value() in ("no", "yes"):
            return queryset.filter(resolved_at__isnull=self.value() == "no")
        return queryset


@admin.register(SyncConflict)
class SyncConflictAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "created_at",
        "user",
        "task_name",
        "field",
        "local",
        "local_changed_at",
        "remote",
        "remote_changed_at",
        "winner",
        "resolved",
    ]
    list_select_related = ["user", "task"]
    list_filter = ["winner", ResolvedFilter, "field", "created_at"]
    search_fields = [*SALESFORCE_SEARCH, "sf_id", "task__name"]
    date_hierarchy = "created_at"
    actions = ["apply_other_value"]

    @admin.display(description=_("task"), ordering="task__name")
    def task_name(self, conflict):
        return _admin_link(conflict.task, conflict.task.name)

    @admin.display(description=_("value here"))
    def local(self, conflict):
        return _value(conflict.local_value)

    @admin.display(description=_("value in Salesforce"))
    def remote(self, conflict):
        return _value(conflict.remote_value)

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


@admin.register(TaskLink)
class TaskLinkAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "task_name",
        "user",
        "salesforce",
        "state",
        "last_synced_at",
        "updated_at",
    ]
    list_select_related = ["task", "user__salesforce_connection"]
    list_filter = ["state", "last_synced_at"]
    search_fields = [*SALESFORCE_SEARCH, "sf_id", "org_id", "task__name"]
    exclude = ["task"]
    readonly_fields = ["task_name", "history", "salesforce", "user", "org_id", "sf_user_id"]

    @admin.display(description=_("task"), ordering="task__name")
    def task_name(self, link):
        return _admin_link(link.task, link.task.name)

    @admin.display(description=_("Salesforce record"), ordering="sf_id")
    def salesforce(self, link):
        return _salesforce_link(link.user, link.sf_id)

    @admin.display(description=_("sync history"))
    def history(self, link):
        return _changelist_link(SyncEvent, _("Sync events"), task__id__exact=link.task_id)


@admin.register(OutboundChange)
class OutboundChangeAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "task_name",
        "user",
        "operation",
        "fields",
        "state",
        "attempts",
        "changed_at",
        "not_before",
        "last_error",
    ]
    list_select_related = ["task", "user"]
    list_filter = ["state", "operation", "changed_at"]
    search_fields = ["user__username", "user__email", "task__name", "task__link__sf_id"]
    exclude = ["task"]
    readonly_fields = ["task_name"]

    @admin.display(description=_("task"), ordering="task__name")
    def task_name(self, change):
        return _admin_link(change.task, change.task.name)
