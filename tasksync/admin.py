"""The admin for auditing and repairing the sync (R8, R11, R14).

The log (runs, events, conflicts, links, outbox) is read-only: it says what happened and is never
edited by hand. Repairs go through the sync services, as two-line actions that report a count and
are written to Django's admin log. Tokens never appear here (R17).
"""

from django.contrib import admin
from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from tasksync import admin_views
from tasksync.models import (
    OutboundChange,
    OutboxState,
    PauseReason,
    ReminderTask,
    SyncConflict,
    SyncEvent,
    SyncRun,
    SyncState,
    TaskLink,
)
from tasksync.sync import services as sync_services
from tasksync.sync.conflict_services import ConflictNotApplicable, conflict_apply_other

INTEGER = IntegerField()
SALESFORCE_SEARCH = [
    "user__username",
    "user__email",
    "user__salesforce_connection__sf_user_id",
    "user__salesforce_connection__org__org_id",
]


def _connection(user):
    """The user's Salesforce connection, or None (a reverse one-to-one raises when missing)."""
    try:
        return user.salesforce_connection
    except AttributeError:
        return None


def _salesforce_link(user, sf_id):
    """The record in Salesforce: the connection's instance URL + "/" + the record id."""
    connection = _connection(user)
    if not sf_id:
        return "—"
    if connection is None or not connection.instance_url:
        return sf_id
    url = f"{connection.instance_url.rstrip('/')}/{sf_id}"
    return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, sf_id)


def _admin_link(obj, label=None):
    if obj is None:
        return "—"
    opts = obj._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, label if label is not None else str(obj))


def _changelist_link(model, label, **filters):
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    query = "&".join(f"{key}={value}" for key, value in filters.items())
    return format_html('<a href="{}?{}">{}</a>', url, query, label)


def _changes(changes):
    """A SyncEvent's ``{field: [old, new]}`` as "field: old → new" lines, escaped."""
    if not changes:
        return "—"
    rows = []
    for field, values in changes.items():
        old, new = values if isinstance(values, list) and len(values) == 2 else (None, values)
        rows.append((field, _value(old), _value(new)))
    return format_html_join(mark_safe("<br>"), "{}: {} → {}", rows)


def _value(value):
    return "—" if value in (None, "") else str(value)


class ReadOnlyAdmin(admin.ModelAdmin):
    """An audit row: viewed, never added, changed or deleted by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class LiveFilter(admin.SimpleListFilter):
    title = _("deleted")
    parameter_name = "deleted"

    def lookups(self, request, model_admin):
        return [("no", _("Live")), ("yes", _("Deleted (tombstones)"))]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(deleted_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(deleted_at__isnull=False)
        return queryset


@admin.register(ReminderTask)
class ReminderTaskAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "name",
        "user",
        "status",
        "priority",
        "due_date",
        "origin",
        "sync_state",
        "modified_at",
    ]
    list_select_related = ["user", "link", "outbound"]
    list_filter = ["status", "priority", "origin", LiveFilter, "due_date"]
    search_fields = ["name", "user__username", "user__email", "link__sf_id"]
    date_hierarchy = "created_at"
    raw_id_fields = ["user"]
    readonly_fields = [
        "created_at",
        "modified_at",
        "completed_at",
        "deleted_at",
        "field_changed_at",
        "sync_history",
    ]

    @admin.display(description=_("sync"))
    def sync_state(self, task):
        outbound = getattr(task, "outbound", None)
        if outbound is not None:
            return outbound.get_state_display()
        link = getattr(task, "link", None)
        return link.get_state_display() if link is not None else "—"

    @admin.display(description=_("sync history"))
    def sync_history(self, task):
        """R14: every sync event of the task, its conflicts, its link and its Salesforce record."""
        if task.pk is None:
            return "—"
        parts = [
            _changelist_link(SyncEvent, _("Sync events"), task__id__exact=task.pk),
            _changelist_link(SyncConflict, _("Conflicts"), task__id__exact=task.pk),
        ]
        link = TaskLink.objects.select_related("user__salesforce_connection").filter(task=task)
        link = link.first()
        if link is not None:
            parts.append(_admin_link(link, _("Link")))
            parts.append(_salesforce_link(link.user, link.sf_id))
        return format_html_join(" · ", "{}", ((part,) for part in parts))

    # Edits made here go through the same services as the pages, so they reach the sync too.
    def save_model(self, request, obj, form, change):
        from tasksync.services import tasks as task_services

        values = {
            f: form.cleaned_data[f] for f in task_services.SYNCED_FIELDS if f in form.cleaned_data
        }
        if change:
            fresh = ReminderTask.objects.get(pk=obj.pk)
            task_services.task_update(task=fresh, **values)
        else:
            created = task_services.task_create(user=form.cleaned_data["user"], **values)
            obj.pk = created.pk

    def delete_model(self, request, obj):
        from tasksync.services import tasks as task_services

        task_services.task_delete(task=obj)

    def delete_queryset(self, request, queryset):
        for task in queryset:
            self.delete_model(request, task)


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


class NeedsReconnectFilter(admin.SimpleListFilter):
    title = _("Salesforce connection")
    parameter_name = "connection"

    def lookups(self, request, model_admin):
        return [("needs_reconnect", _("Needs reconnect")), ("connected", _("Connected"))]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(user__salesforce_connection__state=self.value())
        return queryset


@admin.register(SyncState)
class SyncStateAdmin(ReadOnlyAdmin):
    """The user's sync (R14). Changed only through the actions, which call the sync services."""

    list_display = [
        "id",
        "user",
        "enabled",
        "phase",
        "pause_reason",
        "last_success_at",
        "needs_reconnect",
        "over_limit",
        "failed_items",
        "next_poll_at",
    ]
    list_select_related = ["user__salesforce_connection__org"]
    list_filter = ["enabled", "phase", "pause_reason", NeedsReconnectFilter, "last_success_at"]
    search_fields = [*SALESFORCE_SEARCH, "org_id", "sf_user_id"]
    fields = [
        "user",
        "enabled",
        "phase",
        "pause_reason",
        "message",
        "last_success_at",
        "connection",
        "needs_reconnect",
        "over_limit",
        "failed_items",
        "runs",
        "progress_done",
        "progress_total",
        "first_enabled_at",
        "last_enabled_at",
        "last_disabled_at",
        "org_id",
        "sf_user_id",
        "watermark",
        "deleted_watermark",
        "next_poll_at",
        "status_open_value",
        "status_complete_value",
    ]
    readonly_fields = fields
    actions = ["sync_now", "resync", "pause", "resume", "retry_failed"]

    def get_queryset(self, request):
        failed = (
            OutboundChange.objects.filter(user=OuterRef("user"), state=OutboxState.FAILED)
            .order_by()
            .values("user")
            .annotate(count=Count("pk"))
            .values("count")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(failed_count=Coalesce(Subquery(failed), Value(0), output_field=INTEGER))
        )

    @admin.display(description=_("needs reconnect"), boolean=True)
    def needs_reconnect(self, state):
        connection = _connection(state.user)
        return connection is not None and connection.state == "needs_reconnect"

    @admin.display(description=_("over API limit"), boolean=True)
    def over_limit(self, state):
        if state.pause_reason == PauseReason.OVER_LIMIT:
            return True
        connection = _connection(state.user)
        org = connection.org if connection is not None else None
        return bool(org and org.api_max and (org.api_used or 0) >= org.api_max)

    @admin.display(description=_("failed items"), ordering="failed_count")
    def failed_items(self, state):
        count = getattr(state, "failed_count", 0)
        if not count:
            return 0
        filters = {"user__id__exact": state.user_id, "state__exact": OutboxState.FAILED}
        return _changelist_link(OutboundChange, count, **filters)

    @admin.display(description=_("Salesforce connection"))
    def connection(self, state):
        connection = _connection(state.user)
        return _admin_link(connection) if connection is not None else "—"

    @admin.display(description=_("sync runs"))
    def runs(self, state):
        return _changelist_link(SyncRun, _("Sync runs"), user__id__exact=state.user_id)

    def has_operate_permission(self, request):
        return request.user.has_perm("tasksync.change_syncstate")

    def _for_each_user(self, request, queryset, service, note):
        """Call ``service(user=…)`` for each selected user; log and count those it affected."""
        affected = 0
        for state in queryset.select_related("user"):
            if service(user=state.user):
                self.log_change(request, state, note)
                affected += 1
        return affected

    @admin.action(description=_("Sync now"), permissions=["operate"])
    def sync_now(self, request, queryset):
        count = self._for_each_user(request, queryset, sync_services.sync_now, "Sync now.")
        message = ngettext(
            "Queued %(count)d user for a sync.", "Queued %(count)d users for a sync.", count
        )
        self.message_user(request, message % {"count": count})

    @admin.action(description=_("Resync (repair the last 15 days)"), permissions=["operate"])
    def resync(self, request, queryset):
        count = self._for_each_user(request, queryset, sync_services.sync_resync, "Resync.")
        message = ngettext(
            "Queued %(count)d user for resync.", "Queued %(count)d users for resync.", count
        )
        self.message_user(request, message % {"count": count})

    @admin.action(description=_("Pause"), permissions=["operate"])
    def pause(self, request, queryset):
        count = self._for_each_user(request, queryset, sync_services.sync_pause, "Paused.")
        message = ngettext("Paused %(count)d user.", "Paused %(count)d users.", count)
        self.message_user(request, message % {"count": count})

    @admin.action(description=_("Resume"), permissions=["operate"])
    def resume(self, request, queryset):
        count = self._for_each_user(request, queryset, sync_services.sync_resume, "Resumed.")
        message = ngettext("Resumed %(count)d user.", "Resumed %(count)d users.", count)
        self.message_user(request, message % {"count": count})

    @admin.action(description=_("Retry failed items"), permissions=["operate"])
    def retry_failed(self, request, queryset):
        # R11: failed records go back to the queue after a fix.
        items = 0
        for state in queryset.select_related("user"):
            retried = sync_services.sync_retry_failed(user=state.user)
            if retried:
                self.log_change(request, state, f"Retried {retried} failed items.")
                items += retried
        message = ngettext(
            "Queued %(count)d failed item for retry.",
            "Queued %(count)d failed items for retry.",
            items,
        )
        self.message_user(request, message % {"count": items})
