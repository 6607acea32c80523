"""Shared pieces of the sync admin: links, value display, read-only bases."""

import re

from django.contrib import admin
from django.db.models import IntegerField, Q
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.text import Truncator, smart_split, unescape_string_literal
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _

from accounts import admin as accounts_admin
from accounts.salesforce import oauth
from tasksync.admin.rules import RuleCitedAdmin
from tasksync.links import url_with_key
from tasksync.markup import html

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
    # R17: only a trusted Salesforce instance URL is ever rendered as a link.
    instance = oauth.safe_link(connection.instance_url) if connection is not None else ""
    if not instance:
        return sf_id
    url = f"{instance}/{sf_id}"
    return html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, sf_id)


def _admin_link(obj, label=None):
    if obj is None:
        return "—"
    opts = obj._meta
    url = url_with_key(f"admin:{opts.app_label}_{opts.model_name}_change", obj.pk)
    return html('<a href="{}">{}</a>', url, label if label is not None else str(obj))


def _changelist_link(model, label, **filters):
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    query = "&".join(f"{key}={value}" for key, value in filters.items())
    return format_html('<a href="{}?{}">{}</a>', url, query, label)


def _changes(changes, limit=None):
    """A SyncEvent's ``{field: [old, new]}`` as "field: old → new" lines, escaped; each value cut
    to ``limit`` characters in lists."""
    if not changes:
        return "—"
    rows = []
    for field, values in changes.items():
        old, new = values if isinstance(values, list) and len(values) == 2 else (None, values)
        rows.append(html("{}: {} → {}", field, _value(old, limit), _value(new, limit)))
    return mark_safe("<br>".join(rows))  # noqa: S308 - each line escaped


def _value(value, limit=None):
    """A value for a list cell: "—" when empty; cut to ``limit`` characters, with the whole
    value as a tooltip, so one long comment does not widen a list past 1280 px."""
    if value in (None, ""):
        return "—"
    text = str(value)
    if limit is None or len(text) <= limit:
        return text
    return html('<span title="{}">{}</span>', text, Truncator(text).chars(limit))


LIST_VALUE_LIMIT = 40


def _when(moment):
    """A log time in two short lines (date, then time to the second), in the current zone: the
    admin's one-line "Dec. 1, 2026, 9:28 a.m." is the widest cell of a log list."""
    if moment is None:
        return "—"
    local = localtime(moment)
    return html("{}<br>{}", f"{local:%Y-%m-%d}", f"{local:%H:%M:%S}")


def _run_link(run_id):
    """A link to a run's page from its id alone (no query for the run)."""
    if not run_id:
        return "—"
    url = url_with_key("admin:tasksync_syncrun_change", run_id)
    return html('<a href="{}">#{}</a>', url, run_id)


def event_rows(events, *, show_task=True):
    """Sync events as dicts of escaped cells, for the event tables of the run and task pages."""
    return [
        {
            "pk": event.pk,
            "when": event.created_at,
            "task": _admin_link(event.task, event.task.name) if event.task else "—",
            "run": _run_link(event.run_id),
            "salesforce": _salesforce_link(event.user, event.sf_id),
            "direction": event.get_direction_display(),
            "action": event.action,
            "changes": _changes(event.changes, LIST_VALUE_LIMIT),
            "ok": event.ok,
            "message": _value(event.message, 120),
            "show_task": show_task,
        }
        for event in events
    ]


# A whole Salesforce id of the kinds the log holds: 15 characters, or 18 with the case-safe
# suffix; its first three characters, the key prefix, name the object: 00T a Task, 005 a User,
# 00D an Organization (Salesforce Help, "Salesforce record ID key prefixes", article 000385203,
# https://help.salesforce.com/s/articleView?id=000385203&language=en_US&type=1).
SALESFORCE_ID = re.compile(r"00[a-zA-Z0-9]{13}(?:[a-zA-Z0-9]{3})?")


def _id_matches(field: str, term: str) -> dict:
    return {field: term} if len(term) == 18 else {f"{field}__startswith": term}


def _users_matching(bit: str):
    """Users whose name, email, Salesforce user id or org id contains ``bit`` (a subquery)."""
    from accounts.models import User

    return User.objects.filter(
        Q(username__icontains=bit)
        | Q(email__icontains=bit)
        | Q(salesforce_connection__sf_user_id__icontains=bit)
        | Q(salesforce_connection__org__org_id__icontains=bit)
    ).values("pk")


class LogSearch:
    """The log's search (issue 16 B5), with the meaning of Django's (every word must match a
    user's name, email or Salesforce ids, the row's own ids, or its task's name), read the cheap
    way: users and tasks are matched in their own tables and the log filtered by their keys,
    instead of contains-matches over four tables joined to every row of the log (0.2-0.4 s at
    100,000 events, now about a quarter of that). A whole Salesforce id pasted in the box is
    looked up only where that kind of id lives: the users of a user or org id, or the row's own
    record id (``record_id_field``).

    The row's own Salesforce id columns (``search_own``) match a word as it is written where the
    database compares case (PostgreSQL; SQLite's LIKE ignores it): a Salesforce id is
    case-sensitive (``…aB`` and ``…Ab`` are two records), and PostgreSQL's case-folded match
    (``UPPER(…) LIKE``) costs three times a plain ``LIKE`` over the log (157 ms against 48 at
    100,000 events)."""

    record_id_field: str | None = "sf_id"
    search_own: tuple[str, ...] = ("sf_id",)  # the row's own Salesforce id columns
    search_task = True  # the row's task, by name
    search_help_text = _("A username, email, task name, or Salesforce user, org or record id.")
    few_matches = 500  # a search matching at most this many rows is read by their keys

    def get_search_results(self, request, queryset, search_term):
        from accounts.models import SalesforceConnection
        from tasksync.models import ReminderTask

        term = search_term.strip()
        if not term:
            return queryset, False
        if SALESFORCE_ID.fullmatch(term):
            if term.startswith(("005", "00D")):
                field = "sf_user_id" if term.startswith("005") else "org__org_id"
                users = SalesforceConnection.objects.filter(**_id_matches(field, term))
                return queryset.filter(user__in=users.values("user")), False
            if self.record_id_field is not None:
                return queryset.filter(**_id_matches(self.record_id_field, term)), False
        matched = queryset
        for bit in smart_split(term):
            if bit[0] in "\"'" and bit[-1] == bit[0] and len(bit) > 1:
                bit = unescape_string_literal(bit)
            match = Q(user__in=_users_matching(bit))
            for field in self.search_own:
                match |= Q(**{f"{field}__contains": bit})
            if self.search_task:
                match |= Q(task__in=ReminderTask.objects.filter(name__icontains=bit).values("pk"))
            matched = matched.filter(match)
        return _by_keys_if_few(queryset, matched, self.few_matches), False


def _by_keys_if_few(queryset, matched, few: int):
    """``matched`` (``queryset`` filtered by a search), as its rows' keys when it has at most
    ``few`` rows. A contains-match is a guess to the planner: PostgreSQL and SQLite both take it
    to keep most rows, and walk the log's date index in the list's order testing every row
    until the page is full (about 130 ms at 100,000 events for a search that matches 180), then
    count them all again. The keys are found in one pass that stops at ``few`` + 1; the count
    and the page then read those rows by their primary key."""
    keys = list(matched.order_by().values_list("pk", flat=True)[: few + 1])
    if len(keys) > few:
        return matched
    # No match is still asked of the database (a key is never null), so the page costs the
    # same queries whatever the search finds: Django answers an empty IN list without one.
    return queryset.filter(pk__in=keys) if keys else queryset.filter(pk__isnull=True)


class FixedChoicesFilter(admin.SimpleListFilter):
    """A filter on ``field`` equal to one of a fixed list of choices (``options()``), so the
    changelist runs no SELECT DISTINCT over the table to find them."""

    field: str

    def options(self):
        raise NotImplementedError

    def lookups(self, request, model_admin):
        return self.options()

    def queryset(self, request, queryset):
        return queryset.filter(**{self.field: self.value()}) if self.value() else queryset


class IsSetFilter(admin.SimpleListFilter):
    """A two-choice filter on whether ``field`` is empty ("no") or set ("yes"), with ``labels``
    for the two (declared with ``is_set_filter``)."""

    field: str
    labels: tuple

    def lookups(self, request, model_admin):
        return [("no", self.labels[0]), ("yes", self.labels[1])]

    def queryset(self, request, queryset):
        if self.value() in ("no", "yes"):
            return queryset.filter(**{f"{self.field}__isnull": self.value() == "no"})
        return queryset


def is_set_filter(field: str, title, unset_label, set_label) -> type[IsSetFilter]:
    """An ``IsSetFilter`` on ``field``; its URL parameter is the field's name less "_at"."""
    attrs = {
        "field": field,
        "title": title,
        "parameter_name": field.removesuffix("_at"),
        "labels": (unset_label, set_label),
    }
    return type(f"IsSetFilter_{field}", (IsSetFilter,), attrs)


class ReadOnlyAdmin(RuleCitedAdmin, accounts_admin.ReadOnlyAdmin):
    """An audit row: viewed, never added, changed or deleted by hand."""


class UserConnectionShown:
    """A list that joins each row's user and Salesforce connection (to link records in
    Salesforce): the connection's tokens stay unread (R17)."""

    def get_queryset(self, request):
        return accounts_admin.without_tokens(super().get_queryset(request))


class TaskLogAdmin(UserConnectionShown, LogSearch, ReadOnlyAdmin):
    """A log of task changes (events, conflicts): searched by user, Salesforce ids and task name,
    counted cheaply, and listed from when the row was written and the task with its user."""

    search_fields = [*SALESFORCE_SEARCH, "sf_id", "task__name"]
    show_full_result_count = False

    @admin.display(description=_("when"), ordering="created_at")
    def when(self, row):
        return _when(row.created_at)

    @admin.display(description=_("task"), ordering="task__name")
    def task_name(self, row):
        task = _admin_link(row.task, _value(row.task.name, 40)) if row.task else "—"
        return html('{}<br><span class="quiet">{}</span>', task, row.user)
