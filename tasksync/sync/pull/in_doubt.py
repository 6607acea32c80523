"""In-doubt creates (R10): creates sent but never confirmed (worker died, response lost), found
again among the pulled records and linked instead of being sent a second time."""

from __future__ import annotations

from django.conf import settings

from accounts.salesforce.client import sf_datetime
from tasksync.models import EventAction, LinkState, OutboundChange, TaskLink
from tasksync.sync import decide, mapping
from tasksync.sync.context import RunContext


def in_doubt_creates(ctx: RunContext) -> list[TaskLink]:
    """Creates sent but never confirmed (worker died, response lost): R10."""
    return list(
        TaskLink.objects.filter(
            user=ctx.user,
            org_id=ctx.org_id,
            state=LinkState.CREATING,
            sf_id__isnull=True,
            create_started_at__isnull=False,
        ).select_related("task")
    )


def match_in_doubt(ctx: RunContext, records, links, in_doubt: list[TaskLink]) -> dict:
    """R10: link the unknown records that are our creates whose answers were lost (decided by
    ``decide.match_in_doubt``). Returns {Salesforce id: link}; each link is saved linked."""
    key_field = settings.SALESFORCE_TASK_EXTERNAL_ID_FIELD
    candidates = _candidates(ctx, records, links, key_field)
    if not candidates:
        return {}
    by_pk = {link.pk: link for link in in_doubt}
    waiting = [
        decide.InDoubt(
            key=link.pk,
            started_at=ctx.to_sf_clock(link.create_started_at),
            sent=link.synced_remote,
            create_key=link.create_key,
        )
        for link in in_doubt
    ]
    matched = {}
    for sf_id, pk in decide.match_in_doubt(candidates, waiting, by_key=bool(key_field)).items():
        link = by_pk[pk]
        in_doubt.remove(link)
        _recover(ctx, link, sf_id)
        matched[sf_id] = link
    return matched


def _candidates(ctx: RunContext, records, links, key_field) -> list[decide.Candidate]:
    """The unknown records this user created, each one perhaps a create whose answer was lost."""
    return [
        decide.Candidate(
            id=record["Id"],
            snapshot=mapping.remote_snapshot(record),
            created_at=sf_datetime(record.get("CreatedDate")),
            key_value=record.get(key_field) if key_field else None,
        )
        for record in records
        # Whoever owns it now: a lost create reassigned before this pull is still ours, to be
        # linked and then let go (R18), never sent a second time.
        if record["Id"] not in links
        and record.get("CreatedById") == ctx.sf_user_id
        and record.get("CreatedDate")
        and not (record.get("IsArchived") and not record.get("IsDeleted"))
    ]


def _recover(ctx: RunContext, link: TaskLink, sf_id: str) -> None:
    link.sf_id = sf_id
    link.state = LinkState.SYNCED
    link.create_started_at = link.resend_after = None
    link.save(update_fields=["sf_id", "state", "create_started_at", "resend_after", "updated_at"])
    # The create's outbox row may be backing off after the lost response: it has landed,
    # so let this run's push settle it now.
    OutboundChange.objects.filter(task_id=link.task_id).update(not_before=None)
    ctx.pulled(task=link.task, sf_id=sf_id, action=EventAction.RECOVERED_CREATE)
