"""Users' sync states and the staff actions on them (R14)."""

from django.contrib import admin
from django.db.models import Count, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, ngettext_lazy

from accounts.models import ConnectionState
from tasksync.admin.common import (
    INTEGER,
    SALESFORCE_SEARCH,
    FixedChoicesFilter,
    LogSearch,
    ReadOnlyAdmin,
    UserConnectionShown,
    _admin_link,
    _changelist_link,
    _connection,
)
from tasksync.models import (
    OutboundChange,
    OutboxState,
    PauseReason,
    SyncRun,
    SyncState,
)
from tasksync.services import sync as sync_services


class NeedsReconnectFilter(FixedChoicesFilter):
    title = _("Salesforce connection")
    parameter_name = "connection"
    field = "user__salesforce_connection__state"

    def options(self):
        return [
            (ConnectionState.NEEDS_RECONNECT, _("Needs reconnect")),
            (ConnectionState.CONNECTED, _("Connected")),
        ]


# What the staff actions on users' syncs report (R14), by the number of users they affected.
_REPORTS = {
    "sync_now": ngettext_lazy(
        "Queued %(count)d user for a sync.", "Queued %(count)d users for a sync.", "count"
    ),
    "resync": ngettext_lazy(
        "Queued %(count)d user for resync.", "Queued %(count)d users for resync.", "count"
    ),
    "pause": ngettext_lazy("Paused %(count)d user.", "Paused %(count)d users.", "count"),
    "resume": ngettext_lazy("Resumed %(count)d user.", "Resumed %(count)d users.", "count"),
}


def _user_action(name, service, note, description):
    """A two-line staff action (R14): ``service(user=…)`` for each selected user, ``note`` in the
    admin log of each one it affected, and the count reported."""

    @admin.action(description=description, permissions=["operate"])
    def action(modeladmin, request, queryset):
        count = modeladmin._for_each_user(request, queryset, service, note)
        modeladmin.message_user(request, _REPORTS[name] % {"count": count})

    action.__name__ = name
    return action


@admin.register(SyncState)
class SyncStateAdmin(UserConnectionShown, LogSearch, ReadOnlyAdmin):
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
    show_full_result_count = False
    record_id_field = None
    search_own = ("org_id", "sf_user_id")
    search_task = False
    rule = 14
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
        "colleagues_read",
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

    @admin.display(description=_("colleagues' tasks in the last read"))
    def colleagues_read(self, obj):
        """R18: from pull.overlap.CROWD on, this rep's polls read colleagues' tasks as stamps."""
        return obj.colleagues_seen

    @admin.display(description=_("needs reconnect"), boolean=True)
    def needs_reconnect(self, state):
        connection = _connection(state.user)
        return connection is not None and connection.state == ConnectionState.NEEDS_RECONNECT

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

    sync_now = _user_action("sync_now", sync_services.sync_now, "Sync now.", _("Sync now"))
    resync = _user_action(
        "resync", sync_services.sync_resync, "Resync.", _("Resync (repair the last 15 days)")
    )
    pause = _user_action("pause", sync_services.sync_pause, "Paused.", _("Pause"))
    resume = _user_action("resume", sync_services.sync_resume, "Resumed.", _("Resume"))

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
