"""One pulled page, decided and applied inside the caller's transaction (R5, R8–R10, R14, R18)."""

from __future__ import annotations

from accounts.salesforce.client import sf_datetime
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
    links = _links(ctx, remotes)
    work = _changed(remotes, links, me=me)
    # R10 before R5: our creates whose answers were lost are linked first; what happened to
    # them since (an automation's edit, a deletion in Salesforce) then applies like any change.
    recovered = match_in_doubt(ctx, records, links, in_doubt) if in_doubt else {}
    work += [(remote, recovered[remote.id]) for remote in remotes if remote.id in recovered]
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
    refresh_related(records, {**links, **recovered})
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
        import_records(ctx, to_import)


def _links(ctx: RunContext, remotes) -> dict[str, TaskLink]:
    """This user's live links to the page's records, by Salesforce id (R18)."""
    return {
        link.sf_id: link
        for link in TaskLink.objects.filter(
            user=ctx.user, org_id=ctx.org_id, sf_id__in=[r.id for r in remotes]
        ).exclude(state=LinkState.RETIRED)
    }


def _changed(remotes, links, *, me) -> list[tuple]:
    """(remote, link) for the linked records with something to decide. Most records of a busy
    page are our own writes coming back (R9): their tasks and outbox rows are not even read."""
    return [
        (remote, links[remote.id])
        for remote in remotes
        if remote.id in links
        and not decide.is_quiet(
            remote,
            state=links[remote.id].state,
            synced_remote=links[remote.id].synced_remote,
            me=me,
        )
    ]


def _note_stamps(records, links, *, acted) -> None:
    """The links of records that changed nothing (quiet, or decided to be skipped) remember the
    SystemModstamp they were read at, so the next poll's overlap reads them as a stamp, not in
    full (pull.overlap). The plans that acted saved the link with its stamp themselves. One
    UPDATE per distinct stamp (a push's records come back with a handful), of rows that exist."""
    stale: dict = {}
    for record in records:
        link = links.get(record["Id"])
        stamp = sf_datetime(record.get("SystemModstamp"))
        if link is None or record["Id"] in acted or stamp is None:
            continue
        if link.sf_system_modstamp != stamp:
            link.sf_system_modstamp = stamp
            stale.setdefault(stamp, []).append(link.pk)
    for stamp, pks in stale.items():
        TaskLink.objects.filter(pk__in=pks).update(sf_system_modstamp=stamp)


def refresh_related(records, links) -> None:
    """R14: the display names of linked tasks follow Salesforce, whatever else the page did. Not
    a task edit: nothing is pushed, stamped or compared (the names are not R1 fields)."""
    wanted = {
        links[r["Id"]].task_id: mapping.related_names(r)
        for r in records
        if r["Id"] in links and ("Who" in r or "What" in r)
    }
    if not wanted:
        return
    current = ReminderTask.objects.filter(pk__in=wanted).values_list(
        "pk", "related_who", "related_what"
    )
    for pk, who, what in current:
        names = wanted[pk]
        if (who, what) != (names["related_who"], names["related_what"]):
            ReminderTask.objects.filter(pk=pk).update(**names)


def records_by_id(records):
    return {r["Id"]: r for r in records}
