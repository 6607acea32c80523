import operator
from collections import defaultdict
from functools import reduce

from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.admin.utils import quote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db import router
from django.db.models.deletion import Collector, ProtectedError, RestrictedError
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts import services
from accounts.models import SalesforceConnection, SalesforceOrg, User
from accounts.salesforce import oauth


@admin.display(description=_("instance URL"))
def instance(obj):
    """R17: a link only when the URL is a trusted Salesforce one (the admin would otherwise
    render any stored URL field as a link); anything else is shown as escaped text."""
    url = oauth.safe_link(obj.instance_url)
    if url:
        return format_html('<a href="{}" rel="noopener noreferrer">{}</a>', url, url)
    return obj.instance_url or "—"


@admin.display(description=_("login URL"))
def login_host(obj):
    return obj.login_url or "—"


# R17: a connection's tokens, never shown, so never decrypted to draw a list of rows.
TOKEN_FIELDS = ("access_token", "refresh_token")


def without_tokens(queryset, path="user__salesforce_connection"):
    """``queryset`` with the tokens of the connection it joins at ``path`` left unread."""
    return queryset.defer(*(f"{path}__{field}" for field in TOKEN_FIELDS))


def _deleted_counts(collector: Collector) -> dict:
    """How many rows of each model ``collector`` would delete. Its fast deletes overlap (a
    user's events are reached through the user, their runs and their tasks): each model's are
    counted once, as one query of their union."""
    fast = defaultdict(list)
    for rows in collector.fast_deletes:
        fast[rows.model].append(rows)
    counts = {model: len(instances) for model, instances in collector.data.items()}
    for model, querysets in fast.items():
        union = reduce(operator.or_, querysets)
        if model in collector.data:
            pks = {instance.pk for instance in collector.data[model]}
            counts[model] = len(pks | set(union.values_list("pk", flat=True)))
        else:
            counts[model] = union.count()
    return counts


class QuickActionCheckbox:
    """A changelist's action checkbox with Django's own markup (a test compares the two), built
    with ``format_html`` instead of a form widget rendered through its templates for every row
    (a third of a 100-row list's time)."""

    def action_checkbox(self, obj):
        label = format_html(gettext("Select this object for an action - {}"), str(obj))
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            str(obj.pk),
            label,
        )


class ReadOnlyAdmin(QuickActionCheckbox, admin.ModelAdmin):
    """Shown, never added, changed or deleted here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(User)
class UserAdmin(QuickActionCheckbox, DjangoUserAdmin):
    list_display = ["id", "username", "email", "time_zone", "language", "is_staff", "last_login"]
    list_filter = ["is_staff", "is_active", "language"]
    search_fields = ["username", "email", "first_name", "last_name"]
    fieldsets = [
        *DjangoUserAdmin.fieldsets,
        (_("Preferences"), {"fields": ["time_zone", "language", "subject_template"]}),
    ]

    def get_deleted_objects(self, objs, request):
        """What deleting users takes with them, counted per kind, and what ``request.user`` may
        not delete.

        Django's own confirmation lists every row one by one: for a user with 10,000 synced tasks
        that was 4.5 s and a 2.8 MB page (and as long again on the POST, which asks the same).
        Here the page names the users, and its summary counts the rest: one COUNT per kind of
        row, with the same collector the delete itself uses.

        A user's sync history (runs, events, links, their connection: read-only admins, never
        deleted on their own, R14) goes with the user: it is theirs, and nobody else's. Anything
        else still needs its own delete permission, as Django asks (a staff member without
        "delete reminder task" cannot delete a user who has tasks)."""
        users = list(objs)
        if not users:
            return [], {}, set(), []
        collector = Collector(using=router.db_for_write(self.model), origin=objs)
        try:
            collector.collect(users)
        except (ProtectedError, RestrictedError) as exc:
            blocking = getattr(exc, "protected_objects", None) or exc.restricted_objects
            return [], {}, set(), [f"{capfirst(o._meta.verbose_name)}: {o}" for o in blocking]
        counts = _deleted_counts(collector)
        perms_needed = set()
        for model, count in counts.items():
            model_admin = self.admin_site._registry.get(model)
            if not count or model_admin is None or isinstance(model_admin, ReadOnlyAdmin):
                continue
            if not model_admin.has_delete_permission(request):
                perms_needed.add(model._meta.verbose_name)
        named = [
            format_html(
                '{}: <a href="{}">{}</a>',
                capfirst(self.opts.verbose_name),
                reverse("admin:accounts_user_change", args=[quote(user.pk)]),
                user,
            )
            for user in users
        ]
        summary = {model._meta.verbose_name_plural: n for model, n in counts.items() if n}
        return named, summary, perms_needed, []

    def delete_model(self, request, obj):
        services.user_delete(user=obj)

    def delete_queryset(self, request, queryset):
        for user in queryset:
            services.user_delete(user=user)


@admin.register(SalesforceOrg)
class SalesforceOrgAdmin(ReadOnlyAdmin):
    """Read-only: orgs come from connections; the sync engine keeps their API usage (R13)."""

    list_display = ["id", "org_id", instance, "is_sandbox", "api_usage", "api_usage_at"]
    list_filter = ["is_sandbox"]
    search_fields = ["org_id", "instance_url"]
    readonly_fields = ["org_id", instance, "is_sandbox", "api_usage", "api_usage_at"]
    fields = readonly_fields

    @admin.display(description=_("API usage (24 h)"))
    def api_usage(self, org):
        if org.api_used is None or not org.api_max:
            return "—"
        share = 100 * org.api_used / org.api_max
        return format_html("{} / {} ({}%)", org.api_used, org.api_max, f"{share:.0f}")


@admin.register(SalesforceConnection)
class SalesforceConnectionAdmin(ReadOnlyAdmin):
    """Connection health (R14). Tokens are never shown, not even as ciphertext (R17).

    Read-only: connections change only through the connect flow and the services; deleting one
    would lose the identity that lets a reconnect resume (R17)."""

    list_display = [
        "id",
        "user",
        "username",
        "org",
        "state",
        "last_refreshed_at",
        "connected_at",
    ]
    list_filter = ["state", "is_sandbox"]
    list_select_related = ["user", "org"]
    search_fields = [
        "user__email",
        "user__username",
        "username",
        "org__org_id",
        "sf_user_id",
    ]
    exclude = ["access_token", "refresh_token"]
    readonly_fields = [
        "user",
        "org",
        "sf_user_id",
        "username",
        "display_name",
        "email",
        instance,
        login_host,
        "is_sandbox",
        "has_tokens",
        "token_version",
        "issued_at",
        "connected_at",
        "last_refreshed_at",
        "state",
        "state_reason",
        "state_changed_at",
        "last_error",
    ]
    fields = readonly_fields

    @admin.display(description=_("tokens stored"), boolean=True)
    def has_tokens(self, connection):
        return bool(connection.access_token and connection.refresh_token)
