"""The org change feeds (R19): staff add an org, connect its integration user through the usual
Connect Salesforce flow, see whether its one pull carries the org's reps, and disconnect it
(the grant is revoked at Salesforce). Tokens never appear (R17)."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from tasksync.models import FeedHealth, OrgFeed
from tasksync.services.feeds import feed_check, feed_integration_user


@admin.register(OrgFeed)
class OrgFeedAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "org_id",
        "integration",
        "health_badge",
        "can_read_all",
        "can_subscribe",
        "last_success_at",
        "last_api_calls",
        "enabled",
    ]
    list_filter = ["health", "enabled"]
    search_fields = ["org_id", "integration_user__salesforce_connection__username"]
    list_select_related = ["integration_user"]
    readonly_fields = [
        "connect_buttons",
        "health",
        "message",
        "can_read_all",
        "can_subscribe",
        "checked_at",
        "watermark",
        "deleted_watermark",
        "last_pull_started_at",
        "last_success_at",
        "last_api_calls",
    ]

    fields = ["org_id", "enabled", *readonly_fields]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "org_id"] if obj else self.readonly_fields

    def get_urls(self):
        own = [
            path(
                f"<int:pk>/{route}/",
                self.admin_site.admin_view(view),
                name=f"tasksync_orgfeed_{name}",
            )
            for route, view, name in (
                ("connect", self.connect_view, "connect"),
                ("check", self.check_view, "check"),
                ("check-after-connect", self.check_after_connect_view, "check_after"),
                ("disconnect", self.disconnect_view, "disconnect"),
            )
        ]
        return own + super().get_urls()

    @admin.display(description=_("integration user"))
    def integration(self, obj):
        connection = getattr(obj.integration_user, "salesforce_connection", None)
        if connection is None:
            return _("not connected")
        return format_html("{} ({})", connection.username, connection.get_state_display())

    @admin.display(description=_("health"), ordering="health")
    def health_badge(self, obj):
        color = "#2e7d32" if obj.health == FeedHealth.OK else "#c62828"
        return format_html('<span style="color:{}">{}</span>', color, obj.get_health_display())

    @admin.display(description=_("integration user"))
    def connect_buttons(self, obj):
        if obj is None or obj.pk is None:
            return _("Save the org first.")
        return format_html(
            '{} <form method="post" action="{}" style="display:inline">'
            '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'
            '<button type="submit">{}</button></form> '
            '<form method="post" action="{}" style="display:inline">'
            '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'
            '<button type="submit">{}</button></form> '
            '<form method="post" action="{}" style="display:inline">'
            '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'
            '<button type="submit">{}</button></form>',
            self.integration(obj),
            reverse("admin:tasksync_orgfeed_connect", args=[obj.pk]),
            self._csrf,
            _("Connect the integration user"),
            reverse("admin:tasksync_orgfeed_check", args=[obj.pk]),
            self._csrf,
            _("Check its permissions"),
            reverse("admin:tasksync_orgfeed_disconnect", args=[obj.pk]),
            self._csrf,
            _("Disconnect (revokes the grant)"),
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        from django.middleware.csrf import get_token

        self._csrf = get_token(request)
        return super().change_view(request, object_id, form_url, extra_context)

    def _post_only(self, request, pk):
        if request.method != "POST" or not self.has_change_permission(request):
            raise PermissionDenied
        return get_object_or_404(OrgFeed, pk=pk)

    def connect_view(self, request, pk):
        from accounts.oauth_views import connect_for

        feed = self._post_only(request, pk)
        user = feed_integration_user(feed=feed)
        return connect_for(
            request, user=user, return_to=reverse("admin:tasksync_orgfeed_check_after", args=[pk])
        )

    def check_view(self, request, pk):
        feed = feed_check(feed=self._post_only(request, pk))
        self._report(request, feed)
        return redirect(reverse("admin:tasksync_orgfeed_change", args=[pk]))

    def check_after_connect_view(self, request, pk):
        """Where the connect flow returns (a GET): check at once, say what is missing."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        feed = feed_check(feed=get_object_or_404(OrgFeed, pk=pk))
        self._report(request, feed)
        return redirect(reverse("admin:tasksync_orgfeed_change", args=[pk]))

    def disconnect_view(self, request, pk):
        from accounts.services import connection_disconnect

        feed = self._post_only(request, pk)
        connection = getattr(feed.integration_user, "salesforce_connection", None)
        if connection is not None:
            connection_disconnect(connection=connection)
        OrgFeed.objects.filter(pk=feed.pk).update(
            can_read_all=False, can_subscribe=False, health=FeedHealth.WAITING, message=""
        )
        messages.success(request, _("Integration user disconnected; the reps poll on their own."))
        return redirect(reverse("admin:tasksync_orgfeed_change", args=[pk]))

    def _report(self, request, feed):
        if feed.can_read_all:
            note = _("The integration user reads every rep's tasks: one pull serves the org.")
            if not feed.can_subscribe:
                note = f"{note} {feed.message}"
            messages.success(request, note)
        else:
            messages.error(request, feed.message or _("The integration user cannot be used."))
