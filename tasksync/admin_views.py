"""Admin pages beyond the model lists: Sync health (R13, R14) and the rule book (docs/rules.md).

Both are routed by SyncRunAdmin.get_urls, behind admin_view (staff only)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView

from tasksync.admin import rules
from tasksync.admin.selectors import (
    org_usage,
    recent_failed_runs,
    runs_by_hour,
    users_by_state,
)


class AdminPageView(TemplateView):
    admin = None  # the SyncRunAdmin that routes here

    def get_context_data(self, **kwargs):
        return {
            **super().get_context_data(**kwargs),
            **self.admin.admin_site.each_context(self.request),
            "opts": self.admin.model._meta,
        }


class SyncHealthView(AdminPageView):
    """Staff only (admin_view) and only with permission to view sync runs."""

    template_name = "admin/tasksync/sync_health.html"

    def dispatch(self, request, *args, **kwargs):
        if not request.user.has_perm("tasksync.view_syncrun"):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        hours = runs_by_hour()
        return {
            **super().get_context_data(**kwargs),
            "title": _("Sync health"),
            "states": users_by_state(),
            "hours": hours,
            "runs_top": max((h.runs for h in hours), default=0) or 1,
            "runs_total": sum(h.runs for h in hours),
            "failures_total": sum(h.failures for h in hours),
            "orgs": org_usage(),
            "budget_percent": round(100 * settings.SYNC_API_BUDGET_SHARE),
            "failed_runs": recent_failed_runs(),
            "r13": rules.rule_link(13),
            "r14": rules.rule_link(14),
        }


class RuleBookView(AdminPageView):
    """docs/rules.md as a page, for every staff user: the admin's rule citations link here."""

    template_name = "admin/tasksync/rule_book.html"

    def get_context_data(self, **kwargs):
        text = rules.rule_book_text()
        if text is None:
            raise Http404(f"The rule book {rules.rule_book_path()} is not there.")
        return {
            **super().get_context_data(**kwargs),
            "title": _("The rule book"),
            "rule_book": rules.rule_book_html(text),
            "source": rules.rule_book_path().name,
        }
