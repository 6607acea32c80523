"""R4, R14: the rep's task rows, rendered here rather than by a template per row.

The Command Center shows every open task due today or tomorrow (a couple of hundred for a busy
rep) and the task list a page of 100. Included once per row, the row template cost about 0.5 ms
of template machinery a row: a context push, some thirty variable lookups, eight translation
tags, two URL tags and a nested include for the sync badge. That was most of both pages' time
(issue 16, B5). Here the fixed labels are translated, escaped and the URLs reversed once a
page, and each row is one string with every value of the task and its sync state escaped as
Django escapes (``tasksync.markup.esc``): the same markup as the template's (R14: the badge;
"Open in Salesforce" only from a trusted instance URL, R17).

Use as ``{% task_rows tasks %}`` inside a ``<ul class="tasks">``; the tasks come with
``select_related("link", "outbound")`` so the badge costs no query. The context gives ``rep``
(its ``hold``: "", "paused" or "off"), ``next_url`` (where the row's forms return; default the
page itself) and the CSRF token.
"""

from __future__ import annotations

from functools import partial

from django import template
from django.core.exceptions import ObjectDoesNotExist
from django.template.defaultfilters import date as date_filter
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, pgettext

from tasksync.links import url_with_key
from tasksync.markup import esc as _e
from tasksync.models import LinkState, OutboxState, TaskPriority, TaskStatus
from tasksync.templatetags.salesforce_links import salesforce_base_for, salesforce_task_url_for

register = template.Library()

DUE_FORMAT = "D j M Y"


class _Page:
    """What every row of one page shares, escaped once: labels in the active language, the
    badges' markup, the URLs, the forms' hidden fields."""

    def __init__(self, context):
        request = context.get("request")
        rep = context.get("rep")
        self.hold = getattr(rep, "hold", "") or ""
        next_url = context.get("next_url") or (request.get_full_path() if request else "")
        token = context.get("csrf_token")
        csrf = (
            f'<input type="hidden" name="csrfmiddlewaretoken" value="{_e(token)}">'
            if token and token != "NOTPROVIDED"
            else ""
        )
        self.form_fields = f'{csrf}<input type="hidden" name="next" value="{_e(next_url)}">'
        self.salesforce_base = salesforce_base_for(request) if request is not None else ""
        self.edit_url = partial(url_with_key, "task_edit")
        self.complete_url = partial(url_with_key, "task_complete")
        self.reopen_url = partial(url_with_key, "task_reopen")
        # As {% blocktranslate %} does: the translation as written, the name in it escaped.
        self.reopen = (_e(gettext("Reopen")), gettext("Reopen %(name)s"))
        self.complete = (
            _e(pgettext("a button: mark the task done", "Complete")),
            gettext("Complete %(name)s"),
        )
        self.open_named = gettext("Open %(name)s in Salesforce")
        self.open_in_salesforce = _e(gettext("Open in Salesforce"))
        self.about = _e(gettext("Name and Related To in Salesforce"))
        self.high = f'<span class="badge high">{_e(gettext("High"))}</span>'
        self.not_synced = _e(gettext("Not synced"))
        self.badges = {
            css: f'<span class="badge {css}" title="{_e(title)}">{_e(text)}</span>'
            for css, title, text in (
                ("paused", gettext("Sync is paused; changes wait here"), gettext("Sync paused")),
                ("off", gettext("Sync is off; changes stay here"), gettext("Sync off")),
                ("pending", gettext("Waiting to reach Salesforce"), gettext("Pending")),
                ("failed", gettext("Not synced with Salesforce"), gettext("Not synced")),
                ("synced", gettext("Synced with Salesforce"), gettext("Synced")),
            )
        }
        self._due = {}  # date -> its <span>: a page's rows share a few dates

    def badge(self, link, outbound) -> str:
        """R14: the task's sync state; nothing for a task that is not synced. While sync is
        paused or off, a linked task is not "Synced": it says so."""
        link_state = link.state if link is not None else ""
        out_state = outbound.state if outbound is not None else ""
        if out_state == OutboxState.FAILED:
            error = _e(outbound.last_error)
            return (
                f'<span class="badge failed" title="{error}">{self.not_synced}'
                f'<span class="visually-hidden">: {error}</span></span>'
            )
        if self.hold and (
            link_state in (LinkState.SYNCED, LinkState.CREATING) or out_state == OutboxState.PENDING
        ):
            return self.badges["paused" if self.hold == "paused" else "off"]
        if out_state == OutboxState.PENDING or link_state == LinkState.CREATING:
            return self.badges["pending"]
        if link_state in (LinkState.FAILED, LinkState.SYNCED):
            return self.badges[link_state]
        return ""

    def due(self, day) -> str:
        if day not in self._due:
            self._due[day] = f'<span class="due">{_e(date_filter(day, DUE_FORMAT))}</span>'
        return self._due[day]

    def row(self, task) -> str:
        link = _related(task, "link")
        outbound = _related(task, "outbound")
        done = task.status == TaskStatus.COMPLETE
        high = task.priority == TaskPriority.HIGH
        name = _e(task.name)
        # A completed task's check reopens it; an open task's completes it.
        url, css, (title, label), mark = (
            (self.reopen_url, "check checked", self.reopen, "✓")
            if done
            else (self.complete_url, "check", self.complete, "")
        )
        check = (
            f'<form method="post" action="{_e(url(task.pk))}">{self.form_fields}'
            f'<button type="submit" class="{css}" title="{title}" '
            f'aria-label="{label % {"name": name}}">{mark}</button></form>'
        )
        about = ""
        if task.related_who or task.related_what:
            joiner = " · " if task.related_who and task.related_what else ""
            about = (
                f'<div class="about" title="{self.about}">'
                f"{_e(task.related_who)}{joiner}{_e(task.related_what)}</div>"
            )
        sf_url = ""
        if link is not None and link.state in (LinkState.SYNCED, LinkState.FAILED):
            sf_url = salesforce_task_url_for(self.salesforce_base, link.sf_id)
        open_link = (
            f'<a class="sf-link" href="{_e(sf_url)}" target="_blank" rel="noopener noreferrer" '
            f'aria-label="{self.open_named % {"name": name}}">{self.open_in_salesforce}</a>'
            if sf_url
            else ""
        )
        classes = " ".join(["task"] + (["done"] if done else []) + (["high"] if high else []))
        return (
            f'<li class="{classes}" data-task-id="{task.pk}">{check}<div class="task-body">'
            f'<a class="task-name" href="{_e(self.edit_url(task.pk))}">{name}</a>{about}'
            f'<div class="meta">{self.due(task.due_date) if task.due_date else ""}'
            f"{self.high if high else ''}{self.badge(link, outbound)}{open_link}</div></div>"
            "</li>\n"
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
    # Every value in a row went through _e (Django's escaping); the labels are translations.
    return mark_safe("".join(page.row(task) for task in tasks))  # noqa: S308
