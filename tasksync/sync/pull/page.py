"""One pulled page, decided and applied inside the caller's transaction (R5, R8–R10, R14, R18)."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from accounts.salesforce.client import sf_datetime
from tasksync.bulk.lookups import ids_in
from tasksync.models import LinkState, ReminderTask, TaskLink
from tasksync.sync import decide, mapping
from tasksync.sync.context import RunContext
from tasksync.sync.decide import PullAction
from tasksync.sync.pull.apply import apply_plan, lock_local_state, pair_of
from tasksync.sync.pull.importing import import_records
from tasksync.sync.pull.in_doubt import match_in_doubt


def apply_page(ctx: RunContext, records: list[dict], in_doubt: list[TaskLink]) -> None:
    """Decide and apply one page of Salesforce records (inside the caller's transaction): this
    user's links only (R18), in-doubt creates matched (R10), unknown tasks of theirs imported
    (R5). Also used by a resync (R14), which re-reads linked records."""
    me = ctx.sf_user_id
    remotes = [decide.Remote.from_record(r, parse=sf_datetime) for r in records]
    links = _seen_links(ctx, remotes)
    work = _changed(ctx, remotes, links, me=me)
    # R10 before R5: our creates whose answers were lost are linked first; what happened to
    # them since (an automation's edit, a deletion in Salesforce) then applies like any change.
    recovered = match_in_doubt(ctx, records, links, in_doubt) if in_doubt else {}
    work += [(remote, recovered[remote.id]) for remote in remotes if remote.id in recovered]
    if work:
        ctx.pull_wrote = True  # what the push read before this page may be out of date
    tasks, outbox = lock_local_state([link.task_id for _, link in work])
    for _, link in work:
        link.task = tasks[link.task_id]
    times = records_by_id(records)
    acted = set()
    for remote, link in work:
        row = outbox.get(link.task_id)
        plan = decide.pulled(remote, pair_of(ctx, link, row), me=me, statuses=ctx.statuses)
        apply_plan(ctx, link, row, plan, record_times=times)
        if plan.action != PullAction.SKIP:
            acted.add(link.sf_id)
    _note_stamps(records, links, acted=acted)
    if refresh_related(records, {**links, **recovered}):
        ctx.pull_wrote = True
    known = links.keys() | recovered.keys()
    to_import = [
        record
        for remote, record in zip(remotes, records, strict=True)
        if remote.id not in known
        and not remote.deleted
        and not remote.archived
        and remote.owner_id == me
    ]
    if to_import:
        ctx.pull_wrote = True
        import_records(ctx, to_import)


class SeenLink(NamedTuple):
    """What every record of a page needs of its link: the quiet check (R9), the stamp it was
    read at (pull.overlap), its task (R14). Full links are read for the records with work."""

    pk: int
    sf_id: str
    task_id: int
    state: str
    synced_remote: dict
    sf_system_modstamp: datetime | None


def _live_links(ctx: RunContext, sf_ids):
    """This user's live links to these Salesforce records (R18)."""
    return TaskLink.objects.filter(
        ids_in("sf_id", sf_ids), user=ctx.user, org_id=ctx.org_id
    ).exclude(state=LinkState.RETIRED)


def _seen_links(ctx: RunContext, remotes) -> dict[str, SeenLink]:
    """The page's links, by Salesforce id, as ``SeenLink``s: most records of a busy page are our
    own writes coming back (R9), and a whole link (its synced_local, its dates) is not needed
    to see that."""
    rows = _live_links(ctx, [r.id for r in remotes]).values_list(*SeenLink._fields)
    return {link.sf_id: link for link in map(SeenLink._make, rows)}


def _changed(ctx: RunContext, remotes, links, *, me) -> list[tuple]:
    """(remote, link) for the linked records with something to decide, their whole links read
    (one query, only when there is work). Most records of a busy page are our own writes
    coming back (R9): their tasks and outbox rows are not even read."""
    changed = [
        remote
        for remote in remotes
        if remote.id in links
        and not decide.is_quiet(
            remote,
            state=links[remote.id].state,
            synced_remote=links[remote.id].synced_remote,
            me=me,
        )
    ]
    if not changed:
        return []
    full = {link.sf_id: link for link in _live_links(ctx, [r.id for r in changed])}
    # A link let go since the first read has nothing left to decide (as if read after).
    return [(remote, full[remote.id]) for remote in changed if remote.id in full]


def _note_stamps(records, links, *, acted) -> None:
    """The links of records that changed nothing (quiet, or decided to be skipped) remember the
    SystemModstamp they were read at, so the next poll's overlap reads them as a stamp, not in
    full (pull.overlap). The plans that acted saved the link with its stamp themselves. One
    UPDATE per distinct stamp (a push's records come back with a handful), of rows that exist."""
    stale: dict = {}
    noted: dict = {}  # link pk: the stamp noted for it here (a record read twice)
    for record in records:
        link = links.get(record["Id"])
        stamp = sf_datetime(record.get("SystemModstamp"))
        if link is None or record["Id"] in acted or stamp is None:
            continue
        if noted.get(link.pk, link.sf_system_modstamp) != stamp:
            noted[link.pk] = stamp
            stale.setdefault(stamp, []).append(link.pk)
    for stamp, pks in stale.items():
        TaskLink.objects.filter(ids_in("pk", pks)).update(sf_system_modstamp=stamp)


def refresh_related(records, links) -> bool:
    """R14: the display names of linked tasks follow Salesforce, whatever else the page did. Not
    a task edit: nothing is pushed, stamped or compared (the names are not R1 fields). True if
    a task's names were written."""
    wanted = {
        links[r["Id"]].task_id: mapping.related_names(r)
        for r in records
        if r["Id"] in links and ("Who" in r or "What" in r)
    }
    if not wanted:
        return False
    current = ReminderTask.objects.filter(ids_in("pk", wanted)).values_list(
        "pk", "related_who", "related_what"
    )
    wrote = False
    for pk, who, what in current:
        names = wanted[pk]
        if (who, what) != (names["related_who"], names["related_what"]):
            ReminderTask.objects.filter(pk=pk).update(**names)
            wrote = True
    return wrote


def records_by_id(records):
    return {r["Id"]: r for r in records}
