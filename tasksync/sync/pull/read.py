"""The pull's read: changed Tasks page by page, through Composite chains, and the cursor moved
on Salesforce's clock once the read is complete (R4, R7, R9, R13, R16)."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction

from tasksync.sync.context import RunContext
from tasksync.sync.pull import overlap
from tasksync.sync.pull.importing import import_query
from tasksync.sync.pull.in_doubt import in_doubt_creates
from tasksync.sync.pull.page import apply_page
from tasksync.sync.pull.query import changes_query

# The pull cursor trails the time a read started by OVERLAP: a record committed late by a long
# transaction carries an earlier SystemModstamp, and is still read next time (the getUpdated docs'
# "latestDateCovered" caveat). Records sharing a timestamp are all read: the bound is inclusive.
# After a quiet period of this length an idle cycle reads nothing again (R9). The overlap itself
# is read as ids and stamps (pull.overlap).
OVERLAP = overlap.OVERLAP
FIRST_SYNC_WINDOW = timedelta(hours=24)  # R4


def pull(
    ctx: RunContext,
    *,
    import_window_start=None,
    extras: tuple[dict, ...] = (),
    heavy_extras: int = 0,
    on_first=None,
    meanwhile=None,
) -> dict:
    """Read changed Tasks page by page; each page is decided and applied in one transaction.

    With ``import_window_start`` (first sync, R4, or a re-enable after 15 days, R7) it reads the
    tasks modified since then through ``query``; otherwise everything whose SystemModstamp is at
    or after the cursor through ``queryAll``, so deletions still in the recycle bin arrive in the
    same read. The cursor moves only after a complete read, and on Salesforce's clock (R16): the
    time the first page was answered, less the overlap.

    Pages are chained through Composite, five a call (an import of 10,000 tasks is one or two
    calls), the next call on the wire while this one's pages are written. ``extras`` (the delete
    log, the TaskStatus picklist) ride in the first call; ``on_first(results)`` gets their
    answers before any page is applied, and so does the caller, as the return value. After a
    busy read, polls read the cursor's overlap as ids and stamps in the same call (pull.overlap).
    ``meanwhile`` runs while the first call is on the wire (the push's reads, push.read_ahead).
    """
    importing = import_window_start is not None
    in_doubt = in_doubt_creates(ctx) if ctx.may_have.in_doubt else []
    soql, include_deleted, seen = _query(ctx, import_window_start, in_doubt)
    if seen:
        extras, heavy_extras = (*extras, *seen), heavy_extras + len(seen)
    calls = ctx.client.iter_chained(
        soql,
        include_deleted=include_deleted,
        extras=extras,
        heavy_extras=heavy_extras,
        chain_first=importing,
        before_next=ctx.check_budget,  # R13: the next page can wait for the budget
        meanwhile=meanwhile,
    )
    read_at, answers, full, colleagues = _apply_calls(ctx, calls, in_doubt, importing, on_first)
    if seen:
        asked = {sub["referenceId"] for sub in seen}
        rows = overlap.seen_rows(ctx, answers.get(overlap.SEEN)) if overlap.SEEN in asked else []
        colleagues += overlap.colleagues_counted(ctx, answers, rows)
        full += _read_again(ctx, rows, in_doubt, read_at)
    if not importing:
        overlap.note_colleagues(ctx, colleagues)
    _move_cursor(ctx, read_at, full)
    ctx.in_doubt_checked = True
    return answers


def _read_again(ctx: RunContext, rows, in_doubt, read_at) -> int:
    """What changed among the records read as stamps, read again by id and applied. After the
    newer pages: it is read later, so never older than what they brought."""
    full = 0
    for page in overlap.pages_to_read_again(ctx, rows):
        _apply_read_page(ctx, page, in_doubt, importing=False, first=False)
        full += overlap.in_next_overlap(page, read_at)
    return full


def _apply_calls(ctx: RunContext, calls, in_doubt, importing: bool, on_first):
    """Each chained call's pages applied as they come; returns when the first call was answered
    (None if nothing was read), the extras' answers, how many records it read in full that
    the next poll's overlap holds, and how many of them colleagues own."""
    read_at = None
    answers: dict = {}
    first_page, full, colleagues = True, 0, 0
    me = ctx.sf_user_id
    for chained in calls:
        if read_at is None:
            read_at = chained.answered_at or ctx.sf_now()
            answers = chained.extras
            if on_first is not None:
                on_first(answers)
        for page in chained.pages:
            _apply_read_page(ctx, page, in_doubt, importing=importing, first=first_page)
            full += overlap.in_next_overlap(page, read_at)
            colleagues += overlap.colleagues_in(page.get("records") or (), me)
            first_page = False
    return read_at, answers, full, colleagues


def _query(ctx: RunContext, import_window_start, in_doubt) -> tuple[str, bool, list | None]:
    """The SOQL to read, whether it reads the recycle bin too (queryAll), and the subrequest of
    ids and stamps when the overlap or the colleagues' tasks are read apart (pull.overlap)."""
    if import_window_start is not None:
        return import_query(ctx, import_window_start), False, None
    split = overlap.split_at(ctx)
    crowded = overlap.own_only(ctx, in_doubt)
    if split is None and not crowded:
        since = ctx.state.watermark or ctx.sf_now() - FIRST_SYNC_WINDOW
        return changes_query(ctx, since), True, None
    watermark = ctx.state.watermark
    seen = overlap.seen_subrequests(ctx, watermark, split, colleagues=crowded)
    return changes_query(ctx, split or watermark, own_only=crowded), True, seen


def _apply_read_page(ctx: RunContext, page: dict, in_doubt, *, importing: bool, first: bool):
    """One page in one transaction; an import also counts its progress for the user to see."""
    records = page.get("records") or []
    if not records and not importing:
        return  # an idle poll's empty page: nothing to decide, no transaction
    state = ctx.state
    with transaction.atomic():
        ctx.guard()
        if importing and first:
            state.progress_total = page.get("totalSize", len(records))
            state.progress_done = 0
        apply_page(ctx, records, in_doubt)
        if importing:
            state.progress_done += len(records)
            state.save(update_fields=["progress_done", "progress_total"])
        ctx.flush()


def _move_cursor(ctx: RunContext, read_at, full: int) -> None:
    """The cursor on Salesforce's clock (R16), and whether the overlap now holds a busy read."""
    state = ctx.state
    read_at = read_at or ctx.sf_now()
    overlap.note_busy_read(ctx, read_at, full)
    cursor = read_at - OVERLAP
    if state.watermark is None or cursor > state.watermark:
        state.watermark = cursor
        ctx.state_updates["watermark"] = cursor  # written at the run's end, with its lease
