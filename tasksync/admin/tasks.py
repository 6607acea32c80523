"""Reminder tasks in the admin: edits go through the task services."""

from django.contrib import admin
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from tasksync.admin.common import (
    _admin_link,
    _changelist_link,
    _salesforce_link,
)
from tasksync.models import (
    ReminderTask,
    SyncConflict,
    SyncEvent,
    TaskLink,
)


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
