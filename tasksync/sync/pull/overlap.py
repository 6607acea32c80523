"""The cursor's overlap read as ids and stamps, and only what changed read in full (R9, R13, R16).

The cursor trails the last complete read by ``OVERLAP``: a record committed late by a long
transaction carries an earlier SystemModstamp than the moment it became visible, and must still
be read. Most of what the overlap holds was read in full by that last pull already: our own
writes coming back (R9), colleagues' tasks skipped unread (R18). So a poll reads the overlap
apart, in the same Composite call: ids, stamps and owners only. It then reads in full just the
records a full read could act on:

- a live link's record whose SystemModstamp is not the one the link last saw;
- a task of this user's with no live link: a late commit to import (R5), or a create whose
  answer was lost, to match (R10).

It pays when the overlap is full of records read in full already: while it still holds what a
read that brought ``STAMPS_FROM`` records or more read (a busy poll, our own push coming back,
an import). Otherwise the overlap is read in full with the rest, and an idle poll stays one
plain query.

Everything stamped from shortly before the last read (``FRESH``) is read in full as before, so
nothing new is ever read as a stamp only. Salesforce's stamps have whole seconds, and a read's
Date header comes after its query ran (a Composite call runs several): ``FRESH`` keeps a write
made in the same second as a read, just after it, out of the stamps' part. What remains is
two writes to one task in one second, one seen and the other committed late, after the read:
equal stamps cannot tell them apart (a full read of the overlap would).

A crowded org is read the same way (R18). The changes query sees the whole org, so that a task
of this rep's reassigned to a colleague reaches their run; each poll of each rep also read every
colleague's changed task in full, only to skip it: in an org of 300 reps each changing a few
tasks, each poll read hundreds of records in full, and a round of polls grew with the square of
the reps. Once a read has seen ``CROWD`` (50) colleagues' records or more, polls read the rep's
own tasks in full and the colleagues' as ids, stamps and owners, in the same Composite call; a
colleague's task is read again in full only where it is linked to this rep and the link has not
let go of it (reassigned away, deleted: ``decide.is_quiet`` tells from the owner and the flags,
so the stamp, which has whole seconds, does not have to). Not while a create of theirs is in
doubt: the match needs the full record, whoever owns it now (R10). A rep with at most
``LINKED_AT_MOST`` live links asks for the colleagues' stamps of those links only, by id, and for
a count of the rest, which keeps telling the crowd: the stamps of a busy org's other tasks were
read by every poll of every rep, only to be skipped (B4, 1,000 reps: some 600 a poll).

Without Composite (``SALESFORCE_COMPOSITE`` off) the overlap is read in full with the rest, in
the one query, as the two reads would be two calls.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import quote_plus

from accounts.salesforce.client import sf_datetime, soql_datetime, soql_id
from tasksync.bulk.lookups import ids_in
from tasksync.models import LinkState, TaskLink
from tasksync.sync import decide
from tasksync.sync.context import RunContext
from tasksync.sync.pull.query import REAL_TASKS, task_fields

OVERLAP = timedelta(minutes=2)
FRESH = timedelta(seconds=30)  # before the last read answered: still read in full
STAMPS_FROM = 200  # records read in full by one pull that make the next polls read stamps
# Colleagues' records one read saw that make the next polls read theirs as stamps: from about
# 30 on, a poll of a rep costs less with the split (docs/PERFORMANCE.md, session 7).
CROWD = 50
SEEN = "seen"  # the referenceId of the overlap's subrequest
CROWD_COUNT = "crowd"  # the referenceId of the count of the colleagues' changes
SEEN_FIELDS = "Id, SystemModstamp, OwnerId, IsDeleted, IsArchived"
# Ids a query when records are read again by id: 200 ids keep the GET's URL near 5,000
# characters, well inside what Salesforce accepts for a REST URI.
BY_ID_CHUNK = 200
# Live links up to which a crowded poll asks for the colleagues' tasks by id: as many ids as
# BY_ID_CHUNK, for the same reason.
LINKED_AT_MOST = BY_ID_CHUNK


def split_at(ctx: RunContext) -> datetime | None:
    """Where the full read begins: ``FRESH`` before the last complete read answered (the cursor
    plus the overlap); the overlap before that is read as stamps. None when it is read in full:
    the overlap holds no busy read's records (the cursor has passed it), no cursor, or no
    Composite. Both times are Salesforce's (R16)."""
    state = ctx.state
    busy = state.busy_read_at
    if state.watermark is None or busy is None or not ctx.client.use_composite:
        return None
    if state.watermark > busy:
        return None
    return state.watermark + OVERLAP - FRESH


def own_only(ctx: RunContext, in_doubt) -> bool:
    """Whether this poll reads only the rep's own tasks in full, the colleagues' as stamps: the
    last read saw ``CROWD`` colleagues' records or more, there is a cursor and Composite, and
    no create of theirs is in doubt (its match needs the full record, whoever owns it now)."""
    return (
        ctx.state.colleagues_seen >= CROWD
        and ctx.state.watermark is not None
        and ctx.client.use_composite
        and not in_doubt
    )


def colleagues_in(records, me: str) -> int:
    """How many of these records another Salesforce user owns."""
    return sum(1 for r in records if r.get("OwnerId") not in (None, me))


def note_colleagues(ctx: RunContext, seen: int) -> None:
    """How many colleagues' records this read saw, for the next poll's ``own_only`` (written at
    the run's end, with the cursor, and only when it changed)."""
    if seen != ctx.state.colleagues_seen:
        ctx.state.colleagues_seen = seen
        ctx.state_updates["colleagues_seen"] = seen


def in_next_overlap(page: dict, read_at: datetime | None) -> int:
    """How many of a page's records the next poll's overlap holds: stamped at most ``OVERLAP``
    before this read answered. Salesforce's datetimes, in their one format, compare as text."""
    if read_at is None:
        return 0
    since = (read_at - OVERLAP).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    return sum(1 for r in page.get("records") or () if (r.get("SystemModstamp") or "") >= since)


def note_busy_read(ctx: RunContext, read_at: datetime, full_records: int) -> None:
    """A pull that read ``STAMPS_FROM`` records or more in full that the next poll's overlap
    holds: while the cursor is before it, polls read the overlap as stamps (written at the
    run's end, with the cursor)."""
    if full_records < STAMPS_FROM:
        return
    if ctx.state.busy_read_at is None or read_at > ctx.state.busy_read_at:
        ctx.state.busy_read_at = read_at
        ctx.state_updates["busy_read_at"] = read_at


def seen_subrequests(
    ctx: RunContext, since: datetime, until: datetime | None, *, colleagues: bool = False
) -> list[dict]:
    """Ids, stamps and owners, recycle bin included, as Composite subrequests: the overlap's
    (from ``since`` to ``until``), and with ``colleagues`` the colleagues' tasks from ``since``
    on that a full read could act on.

    A colleague's task matters to this rep only where a live link of theirs holds it (R18:
    reassigned away, deleted by its new owner; ``_read_again``). A rep with at most
    ``LINKED_AT_MOST`` live links asks for those by id, with the count of the colleagues'
    changes beside them (``colleagues_counted``: the crowd is still told, ``own_only``); a
    rep with more reads every colleague's stamp. In an org of 1,000 reps a tenth of whom
    changed 3 tasks in the last two polls, each poll read some 600 colleagues' stamps, to keep
    the few, if any, that one of the rep's links held."""
    me = soql_id(ctx.sf_user_id)
    linked = _linked_ids(ctx) if colleagues else None
    before = f"SystemModstamp < {soql_datetime(until)}" if until is not None else ""
    if colleagues and linked is not None:
        # The overlap's own tasks, and the colleagues' only where this rep holds a link.
        if before:
            before = f"({before} AND OwnerId = {me})"
        listed = ", ".join(soql_id(sf_id) for sf_id in linked)
        theirs = f"(OwnerId != {me} AND Id IN ({listed}))" if linked else ""
    else:
        theirs = f"OwnerId != {me}" if colleagues else ""
    which = " OR ".join(term for term in (before, theirs) if term)
    window = f"FROM Task WHERE {REAL_TASKS} AND SystemModstamp >= {soql_datetime(since)}"
    subrequests = []
    if which:  # nothing to ask for: a crowded poll of a rep with no link and no busy overlap
        soql = f"SELECT {SEEN_FIELDS} {window} AND ({which}) ORDER BY SystemModstamp, Id"
        subrequests.append(_query_subrequest(ctx, soql, SEEN))
    if colleagues and linked is not None:
        subrequests.append(
            _query_subrequest(ctx, f"SELECT COUNT() {window} AND OwnerId != {me}", CROWD_COUNT)
        )
    return subrequests


def _query_subrequest(ctx: RunContext, soql: str, reference: str) -> dict:
    url = ctx.client.data_url(f"queryAll/?q={quote_plus(soql)}")
    return {"method": "GET", "url": url, "referenceId": reference}


def _linked_ids(ctx: RunContext) -> list[str] | None:
    """The Salesforce ids of this rep's live links in this org, or None when there are more
    than ``LINKED_AT_MOST`` (then every colleague's stamp is read)."""
    ids = list(
        TaskLink.objects.filter(user=ctx.user, org_id=ctx.org_id, sf_id__isnull=False)
        .exclude(state=LinkState.RETIRED)
        .order_by()  # any LINKED_AT_MOST + 1 tell "too many" without sorting them all
        .values_list("sf_id", flat=True)[: LINKED_AT_MOST + 1]
    )
    return None if len(ids) > LINKED_AT_MOST else ids


def colleagues_counted(ctx: RunContext, answers: dict, rows: list[dict]) -> int:
    """How many colleagues' changes the window holds: the count read beside the linked ids, or
    the colleagues' rows among the stamps when every colleague's stamp was read."""
    counted = answers.get(CROWD_COUNT)
    if counted is None:
        return colleagues_in(rows, ctx.sf_user_id)
    if counted.get("httpStatusCode") != 200:
        raise ctx.client.subrequest_problem(counted)
    return int(counted["body"].get("totalSize") or 0)


def pages_to_read_again(ctx: RunContext, rows: list[dict]) -> Iterator[dict]:
    """The records read as stamps that changed since they were last read, read in full by id."""
    ids = _changed_ids(ctx, rows) if rows else []
    for start in range(0, len(ids), BY_ID_CHUNK):
        ctx.check_budget()  # R13: each further call can wait for the budget
        chunk = ids[start : start + BY_ID_CHUNK]
        yield ctx.client.query_page(by_id_query(chunk), include_deleted=True)


def by_id_query(sf_ids: list[str]) -> str:
    listed = ", ".join(soql_id(sf_id) for sf_id in sf_ids)
    return (
        f"SELECT {task_fields()} FROM Task WHERE {REAL_TASKS} AND Id IN ({listed}) "
        "ORDER BY SystemModstamp, Id"
    )


def seen_rows(ctx: RunContext, answer: dict | None) -> list[dict]:
    """Every row of the overlap's answer, its further pages read if it has any."""
    if answer is None or answer.get("httpStatusCode") != 200:
        raise ctx.client.subrequest_problem(answer or {"httpStatusCode": 500, "body": []})
    page = answer["body"]
    rows = list(page.get("records") or [])
    while not page.get("done", True):
        ctx.check_budget()
        page = ctx.client.query_more(page["nextRecordsUrl"], include_deleted=True)
        rows += page.get("records") or []
    return rows


def _changed_ids(ctx: RunContext, rows: list[dict]) -> list[str]:
    links = {
        sf_id: (stamp, state)
        for sf_id, stamp, state in TaskLink.objects.filter(
            ids_in("sf_id", [r["Id"] for r in rows]), user=ctx.user, org_id=ctx.org_id
        )
        .exclude(state=LinkState.RETIRED)
        .values_list("sf_id", "sf_system_modstamp", "state")
    }
    me = ctx.sf_user_id
    return [row["Id"] for row in rows if _read_again(row, links.get(row["Id"]), me)]


def _read_again(row: dict, link: tuple | None, me: str) -> bool:
    """A linked task of this rep's whose stamp is not the one its link last saw; a colleague's
    task whose link here has not let go of it (R18: reassigned away, even in the second of the
    last read, where stamps cannot tell), which ``decide.is_quiet`` tells from the owner and
    the flags alone; an unlinked task of this rep's (a late import, a lost create's answer). A
    colleague's task linked to no one here is skipped unread."""
    owner = row.get("OwnerId")
    if link is not None:
        stamp, state = link
        if owner in (None, me):
            return stamp != sf_datetime(row.get("SystemModstamp"))
        remote = decide.Remote(
            id=row["Id"],
            snapshot={},  # not read for a colleague's task
            owner_id=owner,
            deleted=bool(row.get("IsDeleted")),
            archived=bool(row.get("IsArchived")),
            last_modified=None,
        )
        return not decide.is_quiet(remote, state=state, synced_remote={}, me=me)
    return owner == me and not row.get("IsDeleted") and not row.get("IsArchived")
