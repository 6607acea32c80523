"""R4, R14: the rep's task rows, rendered here rather than by a template per row.

The Command Center shows every open task due today or tomorrow (a couple of hundred for a busy
rep) and the task list a page of 100. Included once per row, the row template cost about 0.5 ms
of template machinery a row: a context push, some thirty variable lookups, eight translation
tags, two URL tags and a nested include for the sync badge. That was most of both pages' time
(issue 16, B5). Here the fixed labels are translated and the URLs reversed once a page, and each
row is one ``format_html``: the same markup, escaped the same way, every value from the task and
its sync state (R14: the badge; "Open in Salesforce" only from a trusted instance URL, R17).

Use as ``{% task_rows tasks %}`` inside a ``<ul class="tasks">``; the tasks come with
``select_related("link", "outbound")`` so the badge costs no query. The context gives ``rep``
(its ``hold``: "", "paused" or "off"), ``next_url`` (where the row's forms return; default the
page itself) and the CSRF token.
"""

from __future__ import annotations

from dataclasses import dataclass

from django import template
from django.core.exceptions import ObjectDoesNotExist
from django.template.defaultfilters import date as date_filter
from django.urls import reverse
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, pgettext

from tasksync.models import LinkState, OutboxState, TaskPriority, TaskStatus
from tasksync.templatetags.salesforce_links import salesforce_base_for, salesforce_task_url_for

register = template.Library()

DUE_FORMAT = "D j M Y"
_SENTINEL = 987654321  # a pk no URL pattern contains: where the row's own pk goes


def _url_for(name: str):
    """``pk -> URL`` for a URL name taking ``pk``, reversed once (reverse costs ~25 µs a call)."""
    url = reverse(name, kwargs={"pk": _SENTINEL})
    head, sep, tail = url.partition(str(_SENTINEL))
    if not sep or str(_SENTINEL) in tail:
        return lambda pk: reverse(name, kwargs={"pk": pk})
    return lambda pk: f"{head}{pk}{tail}"


def _named(message: str, name: str) -> SafeString:
    """``{% blocktranslate with name=… %}``: the translation as written, the name escaped."""
    return mark_safe(message % {"name": conditional_escape(name)})  # noqa: S308 - name escaped


@dataclass(frozen=True)
class _Badge:
    css: str
    title: str
    text: str


class _Page:
    """What every row of one page shares: labels in the active language, URLs, the hold."""

    def __init__(self, context):
        request = context.get("request")
        rep = context.get("rep")
        self.hold = getattr(rep, "hold", "") or ""
        next_url = context.get("next_url") or (request.get_full_path() if request else "")
        token = context.get("csrf_token")
        csrf = (
            format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', token)
            if token and token != "NOTPROVIDED"
            else ""
        )
        self.form_fields = format_html(
            '{}<input type="hidden" name="next" value="{}">', csrf, next_url
        )
        self.salesforce_base = salesforce_base_for(request) if request is not None else ""
        self.edit_url = _url_for("task_edit")
        self.complete_url = _url_for("task_complete")
        self.reopen_url = _url_for("task_reopen")
        self.reopen = gettext("Reopen")
        self.complete = pgettext("a button: mark the task done", "Complete")
        self.reopen_named = gettext("Reopen %(name)s")
        self.complete_named = gettext("Complete %(name)s")
        self.open_named = gettext("Open %(name)s in Salesforce")
        self.open_in_salesforce = gettext("Open in Salesforce")
        self.about = gettext("Name and Related To in Salesforce")
        self.high = gettext("High")
        self.not_synced = gettext("Not synced")
        self._due = {}  # date -> its <span>: a page's rows share a few dates
        self.badges = {
            "paused": _Badge(
                "paused", gettext("Sync is paused; changes wait here"), gettext("Sync paused")
            ),
            "off": _Badge("off", gettext("Sync is off; changes stay here"), gettext("Sync off")),
            "pending": _Badge(
                "pending", gettext("Waiting to reach Salesforce"), gettext("Pending")
            ),
            "failed": _Badge("failed", gettext("Not synced with Salesforce"), self.not_synced),
            "synced": _Badge("synced", gettext("Synced with Salesforce"), gettext("Synced")),
        }

    def badge(self, link, outbound) -> SafeString:
        """R14: the task's sync state; nothing for a task that is not synced. While sync is
        paused or off, a linked task is not "Synced": it says so."""
        link_state = link.state if link is not None else ""
        out_state = outbound.state if outbound is not None else ""
        if out_state == OutboxState.FAILED:
            return format_html(
                '<span class="badge failed" title="{}">{}<span class="visually-hidden">: {}'
                "</span></span>",
                outbound.last_error,
                self.not_synced,
                outbound.last_error,
            )
        if self.hold and (
            link_state in (LinkState.SYNCED, LinkState.CREATING) or out_state == OutboxState.PENDING
        ):
            key = "paused" if self.hold == "paused" else "off"
        elif out_state == OutboxState.PENDING or link_state == LinkState.CREATING:
            key = "pending"
        elif link_state == LinkState.FAILED:
            key = "failed"
        elif link_state == LinkState.SYNCED:
            key = "synced"
        else:
            return mark_safe("")
        badge = self.badges[key]
        return format_html(
            '<span class="badge {}" title="{}">{}</span>', badge.css, badge.title, badge.text
        )

    def due(self, day) -> SafeString:
        if day not in self._due:
            self._due[day] = format_html(
                '<span class="due">{}</span>', date_filter(day, DUE_FORMAT)
            )
        return self._due[day]

    def row(self, task) -> SafeString:
        link = _related(task, "link")
        outbound = _related(task, "outbound")
        done = task.status == TaskStatus.COMPLETE
        high = task.priority == TaskPriority.HIGH
        # A completed task's check reopens it; an open task's completes it.
        url, css, title, label, mark = (
            (self.reopen_url, "check checked", self.reopen, self.reopen_named, "✓")
            if done
            else (self.complete_url, "check", self.complete, self.complete_named, "")
        )
        check = format_html(
            '<form method="post" action="{}">{}<button type="submit" class="{}" title="{}" '
            'aria-label="{}">{}</button></form>',
            url(task.pk),
            self.form_fields,
            css,
            title,
            _named(label, task.name),
            mark,
        )
        about = ""
        if task.related_who or task.related_what:
            joiner = " · " if task.related_who and task.related_what else ""
            about = format_html(
                '<div class="about" title="{}">{}{}{}</div>',
                self.about,
                task.related_who,
                joiner,
                task.related_what,
            )
        due = self.due(task.due_date) if task.due_date else ""
        sf_url = ""
        if link is not None and link.state in (LinkState.SYNCED, LinkState.FAILED):
            sf_url = salesforce_task_url_for(self.salesforce_base, link.sf_id)
        open_link = (
            format_html(
                '<a class="sf-link" href="{}" target="_blank" rel="noopener noreferrer" '
                'aria-label="{}">{}</a>',
                sf_url,
                _named(self.open_named, task.name),
                self.open_in_salesforce,
            )
            if sf_url
            else ""
        )
        return format_html(
            '<li class="{}" data-task-id="{}">{}<div class="task-body">'
            '<a class="task-name" href="{}">{}</a>{}<div class="meta">{}{}{}{}</div></div></li>\n',
            " ".join(["task"] + (["done"] if done else []) + (["high"] if high else [])),
            task.pk,
            check,
            self.edit_url(task.pk),
            task.name,
            about,
            due,
            format_html('<span class="badge high">{}</span>', self.high) if high else "",
            self.badge(link, outbound),
            open_link,
        )


def _related(task, name):
    """The task's link or outbox row from ``select_related``, or None when it has none."""
    try:
        return getattr(task, name)
    except ObjectDoesNotExist:
        return None


@register.simple_tag(takes_context=True)
def task_rows(context, tasks) -> SafeString:
    """Every task's ``<li>``, in order (see the module's docstring)."""
    page = _Page(context)
    return mark_safe("".join(page.row(task) for task in tasks))  # noqa: S308 - each row escaped
