"""The Sync health page of the admin (R13, R14): users by state, runs and failures of the last
24 hours as hourly bars (server-rendered SVG), and each org's API usage against its limit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.db.models.functions import TruncHour
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView

HOURS = 24
BAR_WIDTH, BAR_GAP, CHART_HEIGHT = 22, 4, 120


@dataclass(frozen=True)
class StateCount:
    label: str
    count: int
    filter: str  # query string for the SyncState changelist


@dataclass(frozen=True)
class HourBar:
    hour: object  # aware datetime, start of the hour (UTC)
    runs: int
    failures: int
    x: int
    runs_y: int
    runs_height: int
    failures_y: int
    failures_height: int
    label: str  # "" except every few hours, to keep the axis readable


@dataclass(frozen=True)
class OrgUsage:
    org: object
    users: int
    used: int | None
    limit: int | None
    percent: int | None
    over_budget: bool


def users_by_state() -> list[StateCount]:
    from tasksync.models import PauseReason, SyncPhase, SyncState

    rows = SyncState.objects.values("enabled", "phase", "pause_reason").annotate(n=Count("pk"))
    counts: dict[tuple, int] = {}
    for row in rows:
        if not row["enabled"]:
            key = ("off", "")
        elif row["phase"] == SyncPhase.PAUSED:
            key = ("paused", row["pause_reason"])
        else:
            key = (row["phase"], "")
        counts[key] = counts.get(key, 0) + row["n"]
    wanted = [
        (("off", ""), SyncPhase.OFF.label, "enabled__exact=0"),
        (("first_sync", ""), SyncPhase.FIRST_SYNC.label, "phase__exact=first_sync"),
        (("on", ""), SyncPhase.ON.label, "enabled__exact=1&phase__exact=on"),
    ]
    for reason in (PauseReason.RECONNECT, PauseReason.OVER_LIMIT, PauseReason.STAFF, ""):
        label = _("Paused: %(reason)s") % {"reason": PauseReason(reason).label}
        query = f"enabled__exact=1&phase__exact=paused&pause_reason__exact={reason}"
        wanted.append((("paused", reason), label, query))
    return [
        StateCount(label=label, count=counts.get(key, 0), filter=query)
        for key, label, query in wanted
        if counts.get(key, 0) or key[0] != "paused" or key[1]
    ]


def runs_by_hour(*, now=None) -> list[HourBar]:
    """Runs started in each of the last 24 hours (UTC), and how many of them had failures."""
    from tasksync.models import RunOutcome, SyncRun

    now = now or timezone.now()
    first = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(
        hours=HOURS - 1
    )
    failed = Q(outcome__in=[RunOutcome.FAILED, RunOutcome.PARTIAL])
    rows = (
        SyncRun.objects.filter(started_at__gte=first)
        .annotate(hour=TruncHour("started_at", tzinfo=UTC))
        .values("hour")
        .annotate(runs=Count("pk"), failures=Count("pk", filter=failed))
        .order_by("hour")
    )
    by_hour = {row["hour"]: row for row in rows}
    top = max((row["runs"] for row in by_hour.values()), default=0) or 1
    bars = []
    for i in range(HOURS):
        hour = first + timedelta(hours=i)
        row = by_hour.get(hour, {"runs": 0, "failures": 0})
        runs_h = round(CHART_HEIGHT * row["runs"] / top)
        fail_h = round(CHART_HEIGHT * row["failures"] / top)
        bars.append(
            HourBar(
                hour=hour,
                runs=row["runs"],
                failures=row["failures"],
                x=i * (BAR_WIDTH + BAR_GAP),
                runs_y=CHART_HEIGHT - runs_h,
                runs_height=runs_h,
                failures_y=CHART_HEIGHT - fail_h,
                failures_height=fail_h,
                label=f"{hour:%H}" if i % 3 == 0 else "",
            )
        )
    return bars


def org_usage() -> list[OrgUsage]:
    from accounts.models import SalesforceOrg

    budget = settings.SYNC_API_BUDGET_SHARE
    result = []
    for org in SalesforceOrg.objects.annotate(users=Count("connections")).order_by("org_id"):
        share = (org.api_used or 0) / org.api_max if org.api_max else None
        result.append(
            OrgUsage(
                org=org,
                users=org.users,
                used=org.api_used,
                limit=org.api_max,
                percent=None if share is None else min(100, round(100 * share)),
                over_budget=share is not None and share >= budget,
            )
        )
    return result


def recent_failed_runs(*, limit=10):
    from tasksync.models import RunOutcome, SyncRun

    return list(
        SyncRun.objects.filter(outcome__in=[RunOutcome.FAILED, RunOutcome.PARTIAL])
        .select_related("user")
        .order_by("-started_at")[:limit]
    )


class SyncHealthView(TemplateView):
    """Staff only (admin_view) and only with permission to view sync runs."""

    template_name = "admin/tasksync/sync_health.html"
    admin = None  # the SyncRunAdmin that routes here

    def dispatch(self, request, *args, **kwargs):
        if not request.user.has_perm("tasksync.view_syncrun"):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        bars = runs_by_hour()
        return {
            **super().get_context_data(**kwargs),
            **self.admin.admin_site.each_context(self.request),
            "title": _("Sync health"),
            "opts": self.admin.model._meta,
            "states": users_by_state(),
            "bars": bars,
            "runs_total": sum(b.runs for b in bars),
            "failures_total": sum(b.failures for b in bars),
            "chart_width": HOURS * (BAR_WIDTH + BAR_GAP),
            "chart_height": CHART_HEIGHT,
            "bar_width": BAR_WIDTH,
            "orgs": org_usage(),
            "budget_percent": round(100 * settings.SYNC_API_BUDGET_SHARE),
            "failed_runs": recent_failed_runs(),
        }
