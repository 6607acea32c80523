"""R13: the org's API budget. Salesforce reports org-wide usage on every response
(Sforce-Limit-Info: api-usage=N/M, a rolling 24 hours); tasksync never lets it pass the configured
share of the daily limit: polls stretch as the share is approached, and at the share nothing is
called until the budget has had time to recover."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

RECOVERY_WAIT = timedelta(minutes=30)


class BudgetReached(Exception):
    """The org used its share of the daily API limit: stop calling, keep everything queued."""

    def __init__(self, used: int, limit: int):
        self.used, self.limit = used, limit
        share = settings.SYNC_API_BUDGET_SHARE
        super().__init__(
            f"The org has used {used} of its {limit} daily API calls; tasksync stops at "
            f"{share:.0%} and resumes when the 24-hour budget recovers."
        )


def share_used(used: int | None, limit: int | None) -> float:
    return (used or 0) / limit if limit else 0.0


def over_share(used: int | None, limit: int | None) -> bool:
    return bool(limit) and share_used(used, limit) >= settings.SYNC_API_BUDGET_SHARE


def org_must_wait(org) -> bool:
    """Known to be at the share, and too recently for the rolling budget to have recovered: a
    run would only spend calls. After RECOVERY_WAIT one run probes (its first call re-reads)."""
    if org is None or not over_share(org.api_used, org.api_max) or org.api_usage_at is None:
        return False
    return timezone.now() - org.api_usage_at < RECOVERY_WAIT


def check(client) -> None:
    """Called before each call that can be put off (the next page, the next push batch)."""
    if over_share(client.api_used, client.api_max):
        raise BudgetReached(client.api_used, client.api_max)


def stretch(base: timedelta, used: int | None, limit: int | None) -> timedelta:
    """Polls slow down as the org approaches the share (R13)."""
    if not limit:
        return base
    ratio = share_used(used, limit) / settings.SYNC_API_BUDGET_SHARE
    if ratio >= 1:
        return max(base * 10, RECOVERY_WAIT)
    if ratio >= 0.8:
        return base * 4
    if ratio >= 0.6:
        return base * 2
    return base


def record_usage(connection, client) -> None:
    """Keep the org's Sforce-Limit-Info usage, org-wide, as Salesforce last reported it to this
    client (a rep's run or the org's pull)."""
    if client.api_max:
        type(connection.org).objects.filter(pk=connection.org_id).update(
            api_used=client.api_used, api_max=client.api_max, api_usage_at=timezone.now()
        )
