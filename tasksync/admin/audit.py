"""Runs, events, links and the outbox: the read-only audit trail (conflicts: conflicts.py)."""

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.paginator import Paginator
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from accounts.admin import without_tokens
from tasksync import admin_views
from tasksync.admin.common import (
    LIST_VALUE_LIMIT,
    SALESFORCE_SEARCH,
    LogSearch,
    ReadOnlyAdmin,
    TaskLogAdmin,
    UserConnectionShown,
    _admin_link,
    _changelist_link,
    _changes,
    _run_link,
    _salesforce_link,
    _value,
    _when,
    event_rows,
)
from tasksync.markup import html
from tasksync.models import (
    OutboundChange,
    SyncEvent,
    SyncRun,
    TaskLink,
)

EVENTS_PER_PAGE = 100


@admin.register(SyncRun)
class SyncRunAdmin(LogSearch, ReadOnlyAdmin):
    """R14: who, trigger, counts and cost of each run; its events are paged on its page (a first
    import has one per task: 10,000 of them inlined made a 9-second page)."""

    list_display = [
        "id",
        "user",
        "trigger",
        "started",
        "took",
        "pulled",
        "pushed",
        "deleted",
        "conflicts",
        "failed",
        "api_calls",
        "outcome",
        "short_error",
    ]
    list_select_related = ["user"]
    # A date filter, not date_hierarchy: the hierarchy reads every row's date (SELECT DISTINCT).
    list_filter = ["outcome", "trigger", "started_at"]
    search_fields = SALESFORCE_SEARCH
    show_full_result_count = False
    record_id_field = None  # a run has no record of its own
    search_own = ()
    search_task = False
    rule = 14

    @admin.display(description=_("started"), ordering="started_at")
    def started(self, run):
        return _when(run.started_at)

    @admin.display(description=_("duration"))
    def took(self, run):
        duration = run.duration
        return f"{duration.total_seconds():.1f} s" if duration is not None else "—"

    @admin.display(description=_("error"))
    def short_error(self, run):
        return _value(run.error, 80)

    def get_urls(self):
        health = self.admin_site.admin_view(admin_views.SyncHealthView.as_view(admin=self))
        rules = self.admin_site.admin_view(admin_views.RuleBookView.as_view(admin=self))
        return [
            path("health/", health, name="tasksync_sync_health"),
            path("rules/", rules, name="tasksync_rule_book"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        run = self.get_object(request, unquote(object_id))
        if run is not None:
            extra_context = {**(extra_context or {}), **self._events_page(request, run)}
        return super().change_view(request, object_id, form_url, extra_context)

    def _events_page(self, request, run):
        """One page of the run's events, oldest first, and links to the others."""
        events = without_tokens(
            SyncEvent.objects.filter(run=run)
            .select_related("task", "user__salesforce_connection")
            .order_by("created_at", "id")
        )
        page = Paginator(events, EVENTS_PER_PAGE).get_page(request.GET.get("events_page"))
        return {
            "events_page": page,
            "event_rows": event_rows(page.object_list),
            "events_changelist": reverse("admin:tasksync_syncevent_changelist")
            + f"?run__id__exact={run.pk}",
        }


@admin.register(SyncEvent)
class SyncEventAdmin(TaskLogAdmin):
    list_display = [
        "id",
        "when",
        "task_name",
        "salesforce",
        "what",
        "changed",
        "ok",
        "short_message",
        "run_link",
    ]
    list_select_related = ["user__salesforce_connection", "task"]
    list_filter = ["direction", "ok", "action", "created_at"]  # choices: no query
    rule = 14

    @admin.display(description=_("Salesforce record"), ordering="sf_id")
    def salesforce(self, event):
        return _salesforce_link(event.user, event.sf_id)

    @admin.display(description=_("what"), ordering="action")
    def what(self, event):
        return html("{}<br>{}", event.get_direction_display(), event.action)

    @admin.display(description=_("changes (old → new)"))
    def changed(self, event):
        return _changes(event.changes, LIST_VALUE_LIMIT)

    @admin.display(description=_("message"))
    def short_message(self, event):
        return _value(event.message, 60)

    @admin.display(description=_("run"), ordering="run")
    def run_link(self, event):
        return _run_link(event.run_id)


@admin.register(TaskLink)
class TaskLinkAdmin(UserConnectionShown, LogSearch, ReadOnlyAdmin):
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
    search_own = ("sf_id", "org_id", "sf_user_id")
    show_full_result_count = False
    rule = 10
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
    show_full_result_count = False
    rule = 11
    exclude = ["task"]
    readonly_fields = ["task_name"]

    @admin.display(description=_("task"), ordering="task__name")
    def task_name(self, change):
        return _admin_link(change.task, change.task.name)
