"""The org change streams (R19): read-only, for an operator to see whether the stream carries an
org's changes (polling slowed to the safety net) or not (polling as usual) and why."""

from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from tasksync.admin.common import ReadOnlyAdmin
from tasksync.models import StreamHealth, StreamState
from tasksync.sync.stream_services import stream_is_healthy

# What an operator scans for: the last event, the holder's heartbeat, the counters and the lease.
_ACTIVITY = [
    "last_event_at",
    "heartbeat_at",
    "events_received",
    "pulls_queued",
    "echoes_skipped",
    "lease_owner",
    "lease_until",
]


@admin.register(StreamState)
class StreamStateAdmin(ReadOnlyAdmin):
    list_display = ["id", "org_id", "health_badge", "polling", *_ACTIVITY]
    list_filter = ["health", "last_event_at"]
    search_fields = ["org_id", "lease_owner"]
    readonly_fields = [
        "org_id",
        "topic",
        "replay_id",
        "health",
        "message",
        "health_changed_at",
        *_ACTIVITY,
    ]

    @admin.display(description=_("health"), ordering="health")
    def health_badge(self, obj):
        held = obj.lease_until and obj.lease_until > timezone.now()
        label = obj.get_health_display() if held else _("No subscriber running")
        color = "#2e7d32" if obj.health == StreamHealth.HEALTHY and held else "#c62828"
        return format_html(
            '<strong style="color:{}">{}</strong><br><small>{}</small>',
            color,
            label,
            obj.message[:200],
        )

    @admin.display(description=_("polling"))
    def polling(self, obj):
        if stream_is_healthy(obj.org_id):
            return _("safety net only")
        return _("as usual")
