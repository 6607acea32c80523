"""``python -m benchmarks.org_feed [--reps N] [--changed-every K] [--database-url URL] [--json F]``

R19's budget: one poll round of N reps of one org, polled each with their own token, against one
pull of the same org through its integration user. Both in this process against the emulator
(HTTPS), on a throwaway database; the API calls are the emulator's own count, exact. A rep in K
has changes in Salesforce (edits and a new task). Prints the figures and the daily arithmetic at
a 60-second poll; the figures are in docs/PERFORMANCE.md ("R19 org feed").
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime, timedelta

DAY_POLLS = 24 * 60  # a 60-second poll
DELETE_CHECKS = 24 * 12  # the delete log, every 5 minutes


def _set_up(handle, reps: int, changed_every: int, log):
    from benchmarks import harness

    stamp = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    members = []
    started = time.perf_counter()
    for i in range(reps):
        conn = harness.connect_user(handle)
        rows = harness.sf_task_rows(5, prefix=f"Rep {i}")
        for row in rows:
            row.update(CreatedDate=stamp, LastModifiedDate=stamp, SystemModstamp=stamp)
        ids = handle.create_tasks(rows, user_id=conn.sf_user_id)
        harness.turn_on(conn.user)
        harness.cycle(conn.user, "first_sync")
        harness.cycle(conn.user, "poll")  # the first poll also reads the delete log
        members.append((conn, ids))
        if (i + 1) % 100 == 0:
            log(f"  set-up: {i + 1} of {reps} reps synced ({time.perf_counter() - started:.0f} s)")
    return members


def _change(handle, members, changed_every: int) -> set[int]:
    from benchmarks import harness

    changed = set()
    for index, (conn, ids) in enumerate(members):
        if index % changed_every:
            continue
        handle.update_task(ids[0], Description="Edited in Salesforce")
        handle.create_tasks(harness.sf_task_rows(1, prefix="New"), user_id=conn.sf_user_id)
        changed.add(conn.user.pk)
    return changed


def run(handle, *, reps: int, changed_every: int, log=print) -> dict:
    from benchmarks import harness
    from tasksync.models import OrgFeed, ReminderTask, SyncRun
    from tasksync.sync.org_pull import org_pull

    handle.set_api_limit(max=100_000_000, used=0)
    log(f"set-up: {reps} reps of one org, each connected, first sync and a poll…")
    members = _set_up(handle, reps, changed_every, log)
    users = [conn.user for conn, _ in members]
    out = {"reps": reps, "changed_reps": 0}

    # Without the feed: every rep polls with its own token.
    changed = _change(handle, members, changed_every)
    out["changed_reps"] = len(changed)
    handle.reset_api_calls()
    began = time.perf_counter()
    for user in users:
        harness.cycle(user, "poll")
    out["per_rep_round"] = {
        "api_calls": handle.api_call_total(),
        "seconds": round(time.perf_counter() - began, 2),
    }

    # With the feed: one pull of the org, with the integration user's token.
    integration = harness.connect_user(handle)
    feed = OrgFeed.objects.create(
        org_id=handle.demo.org_id,
        integration_user=integration.user,
        can_read_all=True,
        can_subscribe=True,
        deleted_watermark=datetime.now(UTC),  # as after the feed's first pull
    )
    changed = _change(handle, members, changed_every)
    before = ReminderTask.objects.filter(user__in=users, deleted_at__isnull=True).count()
    handle.reset_api_calls()
    began = time.perf_counter()
    done = org_pull(org_id=feed.org_id)
    seconds = time.perf_counter() - began
    after = ReminderTask.objects.filter(user__in=users, deleted_at__isnull=True).count()
    shares = SyncRun.objects.filter(user__in=users, trigger="org_pull").count()
    out["org_pull"] = {
        "api_calls": handle.api_call_total(),
        "calls_by_kind": handle.api_calls(),
        "seconds": round(seconds, 2),
        "records_read": done["records"],
        "reps_applied": shares,
        "new_local_tasks": after - before,
    }
    handle.reset_api_calls()
    org_pull(org_id=feed.org_id)
    idle = handle.api_call_total()
    out["org_pull_idle_api_calls"] = idle
    per_rep_idle = 1  # measured by B3: an idle poll is one call
    out["daily_calls_at_60s"] = {
        "per_rep_polling": reps * (DAY_POLLS * per_rep_idle + DELETE_CHECKS),
        "org_feed": DAY_POLLS * idle + DELETE_CHECKS,
    }
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.org_feed", description=__doc__)
    parser.add_argument("--reps", type=int, default=1000)
    parser.add_argument("--changed-every", type=int, default=10)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--json", default="")
    args = parser.parse_args(argv)
    from benchmarks.standalone import run_standalone

    figures = run_standalone(
        lambda handle: run(handle, reps=args.reps, changed_every=args.changed_every),
        database_url=args.database_url,
    )
    print(json.dumps(figures, indent=2))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(figures, out, indent=2)


if __name__ == "__main__":
    main()
