"""What the admin's Sync health page reads (R13, R14): users by sync state, runs per hour of the
last 24 hours, each org's API usage, the latest runs with failures. Four queries, whatever the
size of the log; how it is drawn is the template's business."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.db.models.functions import TruncHour
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

HOURS = 24


@dataclass(frozen=True)
class StateCount:
    label: str
    count: int
    filter: str  # query string for the SyncState changelist


@dataclass(frozen=True)
class HourCount:
    hour: object  # aware datetime, start of the hour (UTC)
    runs: int
    failures: int


@dataclass(frozen=True)
class OrgUsage:
    org: object
    users: int
    used: int | None
    limit: int | None
    percent: int | None
    over_budget: bool
    # R19: how the org's changes are read: its integration user's one pull, or each rep's own.
    feed: object = None


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
        ((SyncPhase.OFF, ""), SyncPhase.OFF.label, "enabled__exact=0"),
        (
            (SyncPhase.FIRST_SYNC, ""),
            SyncPhase.FIRST_SYNC.label,
            f"phase__exact={SyncPhase.FIRST_SYNC}",
        ),
        ((SyncPhase.ON, ""), SyncPhase.ON.label, f"enabled__exact=1&phase__exact={SyncPhase.ON}"),
    ]
    for reason in (PauseReason.RECONNECT, PauseReason.OVER_LIMIT, PauseReason.STAFF, ""):
        label = _("Paused: %(reason)s") % {"reason": PauseReason(reason).label}
        query = f"enabled__exact=1&phase__exact=paused&pause_reason__exact={reason}"
        wanted.append(((SyncPhase.PAUSED, reason), label, query))
    return [
        StateCount(label=label, count=counts.get(key, 0), filter=query)
        for key, label, query in wanted
        if counts.get(key, 0) or key[0] != SyncPhase.PAUSED or key[1]
    ]


def runs_by_hour(*, now=None) -> list[HourCount]:
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
    counts = []
    for i in range(HOURS):
        hour = first + timedelta(hours=i)
        row = by_hour.get(hour, {"runs": 0, "failures": 0})
        counts.append(HourCount(hour=hour, runs=row["runs"], failures=row["failures"]))
    return counts


def org_usage() -> list[OrgUsage]:
    from accounts.models import SalesforceOrg
    from tasksync.models import OrgFeed

    budget = settings.SYNC_API_BUDGET_SHARE
    feeds = {f.org_id: f for f in OrgFeed.objects.all()}
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
                feed=feeds.get(org.org_id),
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
