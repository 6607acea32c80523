"""Reminder tasks in the admin: edits go through the task services."""

from django.contrib import admin
from django.contrib.admin.utils import display_for_value, unquote
from django.core.exceptions import FieldDoesNotExist
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from accounts.admin import QuickActionCheckbox, without_tokens
from tasksync.admin.common import (
    _admin_link,
    _changelist_link,
    _salesforce_link,
    event_rows,
    is_set_filter,
)
from tasksync.admin.rules import RuleCitedAdmin, rule_citation
from tasksync.models import (
    ReminderTask,
    SyncConflict,
    SyncEvent,
    TaskLink,
)

LiveFilter = is_set_filter("deleted_at", _("deleted"), _("Live"), _("Deleted (tombstones)"))


@admin.register(ReminderTask)
class ReminderTaskAdmin(QuickActionCheckbox, RuleCitedAdmin, admin.ModelAdmin):
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
    list_filter = ["status", "priority", "origin", LiveFilter, "due_date", "created_at"]
    search_fields = ["name", "user__username", "user__email", "link__sf_id"]
    # Newest first, from the key's index: the model's order (by due date, for a rep's pages)
    # over every rep's tasks joined and sorted all of them for each page (42 ms at 10,000).
    ordering = ["-id"]
    # A date filter, not date_hierarchy: the hierarchy reads every row's date (SELECT DISTINCT).
    raw_id_fields = ["user"]
    show_full_result_count = False
    exclude = ["field_changed_at"]
    readonly_fields = [
        "created_at",
        "modified_at",
        "completed_at",
        "deleted_at",
        "field_change_times",
        "sync_history",
        "related_who",  # R14: what the task is about, from Salesforce: never edited here
        "related_what",
    ]
    rule = 1
    HISTORY_EVENTS = 50  # on the History page; the event list has them all

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
        link = without_tokens(link).first()
        if link is not None:
            parts.append(_admin_link(link, _("Link")))
            parts.append(_salesforce_link(link.user, link.sf_id))
        return format_html_join(" · ", "{}", ((part,) for part in parts))

    @admin.display(description=_("field change times"))
    def field_change_times(self, task):
        """R8: when each synced field was last changed here, as a table (the stored value is a
        JSON object of UTC ISO times)."""
        times = task.field_changed_at or {}
        if not times:
            return "—"
        rows = []
        for field, stamp in sorted(times.items()):
            try:
                label = ReminderTask._meta.get_field(field).verbose_name
            except FieldDoesNotExist:
                label = field
            try:
                when = parse_datetime(stamp) if isinstance(stamp, str) else None
            except ValueError:  # well formed but not a time ("2026-13-45T…")
                when = None
            rows.append((label, display_for_value(when, "—") if when else str(stamp)))
        return format_html(
            '<table class="field-change-times"><thead><tr><th scope="col">{}</th>'
            '<th scope="col">{}</th></tr></thead><tbody>{}</tbody></table>',
            _("field"),
            _("last changed here"),
            format_html_join("", "<tr><td>{}</td><td>{}</td></tr>", rows),
        )

    def history_view(self, request, object_id, extra_context=None):
        """R14: the task's "History" shows its sync events (latest first) above the admin's own
        log of edits made here."""
        task = self.get_object(request, unquote(object_id))
        if task is not None:
            events = without_tokens(
                task.sync_events.select_related("task", "user__salesforce_connection")
            )
            latest = list(events.order_by("-created_at", "-id")[: self.HISTORY_EVENTS + 1])
            extra_context = {
                **(extra_context or {}),
                "event_rows": event_rows(latest[: self.HISTORY_EVENTS], show_task=False),
                "more_events": len(latest) > self.HISTORY_EVENTS,
                "history_limit": self.HISTORY_EVENTS,
                "rule_citation": rule_citation(14),
                "events_changelist": reverse("admin:tasksync_syncevent_changelist")
                + f"?task__id__exact={task.pk}",
            }
        return super().history_view(request, object_id, extra_context)

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
