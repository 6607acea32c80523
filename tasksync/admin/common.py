"""Shared pieces of the sync admin: links, value display, read-only bases."""

from django.contrib import admin
from django.db.models import IntegerField
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

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
