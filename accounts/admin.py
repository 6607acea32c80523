from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

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
