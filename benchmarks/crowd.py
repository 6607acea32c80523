"""``python -m benchmarks.crowd [--sizes 0,15,30,90,450,900] [--polls N] [--database-url URL]``

A crowded org (R18, pull.overlap.CROWD): the cost of one rep's poll while colleagues' changed
tasks are in its window, read in full (the rep's state says no crowd was seen) against read as
ids, stamps and owners (it says one was). One rep and 30 colleagues of one emulated org, the
emulator in a process of its own, this process's CPU and wall time per poll, median of
``--polls``, the two ways alternated twice. Each size adds that many colleagues' tasks, all
stamped now, so every poll reads all that were added so far (they stay in the cursor's
overlap). The figures are in docs/PERFORMANCE.md ("Session 7").
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

COLLEAGUES = 30


def _poll_costs(harness, user, seen: int, polls: int) -> dict:
    from tasksync.models import SyncState

    cpu, wall = [], []
    for _ in range(polls):
        SyncState.objects.filter(user=user).update(colleagues_seen=seen)
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        harness.cycle(user, "poll")
        cpu.append((time.process_time() - cpu_start) * 1000)
        wall.append((time.perf_counter() - wall_start) * 1000)
    return {
        "cpu_ms": round(statistics.median(cpu), 1),
        "wall_ms": round(statistics.median(wall), 1),
    }


def run(handle, *, sizes: list[int], polls: int, log=print) -> list[dict]:
    from benchmarks import harness
    from tasksync.sync.pull.overlap import CROWD

    org = handle.call("create_org", name=f"crowd {time.monotonic_ns()}", daily_api_limit=10**8)
    rep = harness.connect_user(handle, org_id=org["id"])
    harness.turn_on(rep.user)
    harness.cycle(rep.user, "first_sync")
    harness.cycle(rep.user, "poll")
    colleagues = [harness.connect_user(handle, org_id=org["id"]) for _ in range(COLLEAGUES)]
    out, in_window = [], 0
    for size in sizes:
        for i in range(size):
            who = colleagues[i % COLLEAGUES]
            handle.create_tasks(
                harness.sf_task_rows(1, prefix="Colleague's"), user_id=who.sf_user_id
            )
        in_window += size
        row = {"added": size, "in_window": in_window}
        for attempt in (1, 2):
            row[f"full_{attempt}"] = _poll_costs(harness, rep.user, 0, polls)
            row[f"stamps_{attempt}"] = _poll_costs(harness, rep.user, CROWD, polls)
        log(
            f"{in_window:5d} colleagues' tasks in the window: in full "
            f"{row['full_1']['cpu_ms']}/{row['full_2']['cpu_ms']} ms CPU, "
            f"{row['full_1']['wall_ms']}/{row['full_2']['wall_ms']} ms wall; as stamps "
            f"{row['stamps_1']['cpu_ms']}/{row['stamps_2']['cpu_ms']} ms CPU, "
            f"{row['stamps_1']['wall_ms']}/{row['stamps_2']['wall_ms']} ms wall"
        )
        out.append(row)
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.crowd", description=__doc__)
    parser.add_argument("--sizes", default="0,15,15,60,450,900")
    parser.add_argument("--polls", type=int, default=15)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--json", default="")
    args = parser.parse_args(argv)
    from benchmarks.standalone import run_standalone

    sizes = [int(n) for n in args.sizes.split(",")]
    figures = run_standalone(
        lambda handle: run(handle, sizes=sizes, polls=args.polls),
        database_url=args.database_url,
        emulator_mode="process",
    )
    if args.json:
        with open(args.json, "w") as out:
            json.dump(figures, out, indent=2)


if __name__ == "__main__":
    main()
