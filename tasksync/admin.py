from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from tasksync.models import ReminderTask


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
    list_display = ["id", "name", "user", "status", "priority", "due_date", "origin", "modified_at"]
    list_select_related = ["user"]
    list_filter = ["status", "priority", "origin", LiveFilter, "due_date"]
    search_fields = ["name", "user__username", "user__email"]
    date_hierarchy = "created_at"
    raw_id_fields = ["user"]
    readonly_fields = [
        "created_at",
        "modified_at",
        "completed_at",
        "deleted_at",
        "field_changed_at",
    ]

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
