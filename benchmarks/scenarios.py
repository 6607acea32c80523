"""The sync benchmarks of docs/PERFORMANCE.md (B1 first import, B2 push, B3 idle cycle, B5 pages).

API calls are counted exactly by the emulator: those are the figures with targets. Wall times are
noisy, so each is reported next to a floor measured in the same run against the same emulator
(simple-salesforce reading or writing the same records with nothing else around it), as a ratio.
"""

from __future__ import annotations

import math
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

from django.conf import settings
from django.db import transaction
from django.test import Client
from django.urls import reverse

from accounts.salesforce.client import COLLECTION_LIMIT
from benchmarks import admin_pages, floors, harness, live

QUERY_PAGE = 2000  # R13: a query page is up to 2,000 records
CHAINED_PAGES = 5  # Composite: up to 5 queries a call (the picklist is one of them)
PUSH_PER_CALL = 1000  # Composite: five sObject Collections of 200 a call
# The large user of B3 and B5 is B1's user, once its import is done.
FULL_SIZES = {"import": 10_000, "push": 1_000, "idle_small": 10}
QUICK_SIZES = {"import": 2_500, "push": 300, "idle_small": 10}
RATIO_TARGET = 1.5
REPEATS = 3  # every ratio: median of this many interleaved runs


def import_call_target(n: int) -> int:
    """R13 (issue 16): the picklist and 4 pages in the first call, 5 pages a call after;
    without Composite (SALESFORCE_COMPOSITE off) the picklist, then a call a page."""
    if not settings.SALESFORCE_COMPOSITE:
        return 1 + math.ceil(n / QUERY_PAGE)
    first = (CHAINED_PAGES - 1) * QUERY_PAGE
    return 1 + math.ceil(max(0, n - first) / (CHAINED_PAGES * QUERY_PAGE))


def push_call_target(n: int) -> int:
    """The cycle's pull (one call), then up to 1,000 changes of one kind a call (without
    Composite: 200, one sObject Collection)."""
    per_call = PUSH_PER_CALL if settings.SALESFORCE_COMPOSITE else COLLECTION_LIMIT
    return 1 + math.ceil(n / per_call)


def _median(values):
    return statistics.median(values) if values else None


def _p95(values):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


def _seed_salesforce(handle, sf_user_id: str, n: int, *, prefix: str = "Task") -> None:
    """``n`` Tasks owned by ``sf_user_id``, last modified an hour ago (inside R4's 24-hour import
    window, outside the pull's 2-minute overlap, so later idle cycles really are idle)."""
    today = datetime.now(UTC).date()
    stamp = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    rows = harness.sf_task_rows(n, prefix=prefix)
    for i, row in enumerate(rows):
        if i % 100 in (0, 1):  # ~2% due today or tomorrow: the Command Center has work to show
            row["ActivityDate"] = (today + timedelta(days=i % 100)).isoformat()
        row.update(CreatedDate=stamp, LastModifiedDate=stamp, SystemModstamp=stamp)
    for start in range(0, n, 2000):
        handle.create_tasks(rows[start : start + 2000], user_id=sf_user_id)


def _salesforce_for(handle, sf_user_id: str):
    """Unmodified simple-salesforce, as the connected user: the floor everything is held to."""
    token = handle.tokens(user_id=sf_user_id)["access_token"]
    return handle.salesforce(session_id=token)


def _calls(handle) -> tuple[int, dict]:
    return handle.api_call_total(), handle.api_calls()


# --- B1 ----------------------------------------------------------------------------------------


def _b1_once(handle, n: int):
    """One first import of ``n`` tasks by a new user, then the floors of the same records:
    ``query_all_iter`` of the very query the import sent, and the write floor of its rows."""
    from tasksync.sync import pull

    # The first rep of an org of its own: every repeat is the same import (the org's TaskStatus
    # picklist not kept yet, so it rides in the first call); a colleague's import in the same
    # org is one call less (tests/sync/test_fewer_calls.py).
    org = handle.call("create_org", name=f"B1 {time.monotonic_ns()}", daily_api_limit=10**8)
    conn = harness.connect_user(handle, org_id=org["id"])
    user = conn.user
    _seed_salesforce(handle, conn.sf_user_id, n)
    harness.turn_on(user)
    handle.reset_api_calls()
    cpu, server = time.process_time(), harness.database_server_cpu()
    run, seconds = harness.timed(harness.cycle, user, "first_sync")
    cpu, server = time.process_time() - cpu, floors.server_cpu_since(server)
    calls, by_kind = _calls(handle)
    window = datetime.now(UTC) - pull.FIRST_SYNC_WINDOW
    soql = pull.import_query(SimpleNamespace(sf_user_id=conn.sf_user_id), window)
    sf = _salesforce_for(handle, conn.sf_user_id)
    handle.reset_api_calls()
    fetch_cpu = time.process_time()
    read, fetch = harness.timed(lambda: sum(1 for _ in sf.query_all_iter(soql)))
    fetch_cpu = time.process_time() - fetch_cpu
    fetch_calls = handle.api_call_total()
    written = floors.write_floor(user, run)
    return {
        "conn": conn,
        "run": run,
        "seconds": seconds,
        "api_calls": calls,
        "api_calls_by_kind": by_kind,
        "fetch_seconds": fetch,
        "fetch_records": read,
        "fetch_calls": fetch_calls,
        "write_seconds": written["seconds"],
        "write_rows": written["rows"],
        # CPU time of the whole process (the in-process emulator's threads included): on a
        # shared machine it varies less than wall time, so it shows what changed in our work.
        "cpu_seconds": cpu,
        "fetch_cpu_seconds": fetch_cpu,
        "write_cpu_seconds": written["cpu_seconds"],
        # PostgreSQL's own CPU for the import and for the write floor (None on SQLite).
        "server_cpu_seconds": server,
        "write_server_cpu_seconds": written["server_cpu_seconds"],
    }


def b1_first_import(handle, n: int, *, repeats: int = REPEATS) -> tuple[dict, object]:
    """First sync of a user with ``n`` Salesforce tasks, ``repeats`` times (a new user each
    time), each followed by its floors: calls, time, and the ratios to the network floor
    (``query_all_iter``) and to fetch + write floor."""
    from tasksync.models import ReminderTask, TaskLink

    runs = [_b1_once(handle, n) for _ in range(repeats)]
    first = runs[0]
    conn = first["conn"]
    _forget([r["conn"].user for r in runs[1:]])
    imported = ReminderTask.objects.filter(user=conn.user, deleted_at__isnull=True).count()
    links = TaskLink.objects.filter(user=conn.user, sf_id__isnull=False).count()
    engine = floors.spread([r["seconds"] for r in runs])
    fetch = floors.spread([r["fetch_seconds"] for r in runs])
    write = floors.spread([r["write_seconds"] for r in runs])
    to_fetch = floors.spread([r["seconds"] / r["fetch_seconds"] for r in runs])
    to_both = floors.spread(
        [r["seconds"] / (r["fetch_seconds"] + r["write_seconds"]) for r in runs]
    )
    result = {
        "tasks": n,
        "repeats": repeats,
        "imported": imported,
        "links": links,
        "floor_records": first["fetch_records"],
        "api_calls": first["api_calls"],
        "api_calls_all": [r["api_calls"] for r in runs],
        "api_calls_engine": first["run"].api_calls,
        "api_calls_by_kind": first["api_calls_by_kind"],
        "api_call_target": import_call_target(n),
        "floor_api_calls": first["fetch_calls"],
        "outcome": first["run"].outcome,
        "outcomes": [r["run"].outcome for r in runs],
        "seconds": engine["median"],
        "seconds_spread": engine,
        "floor_seconds": fetch["median"],
        "floor_spread": fetch,
        "write_floor_seconds": write["median"],
        "write_floor_rows": first["write_rows"],
        "write_floor_spread": write,
        "ratio_to_floor": to_fetch["median"],
        "ratio_to_floor_spread": to_fetch,
        "ratio_to_fetch_and_write": to_both["median"],
        "ratio_to_fetch_and_write_spread": to_both,
        "ratio_target": RATIO_TARGET,
        "cpu_seconds": floors.spread([r["cpu_seconds"] for r in runs]),
        "cpu_ratio_to_fetch_and_write": floors.spread(
            [r["cpu_seconds"] / (r["fetch_cpu_seconds"] + r["write_cpu_seconds"]) for r in runs]
        ),
    }
    if all(r["server_cpu_seconds"] is not None for r in runs):
        result["server_cpu_seconds"] = floors.spread([r["server_cpu_seconds"] for r in runs])
        result["write_server_cpu_seconds"] = floors.spread(
            [r["write_server_cpu_seconds"] for r in runs]
        )
    return result, conn


# --- B2 ----------------------------------------------------------------------------------------


def _raw_collection(sf, method: str, items: list, *, ids: bool = False) -> list[dict]:
    results = []
    for start in range(0, len(items), COLLECTION_LIMIT):
        chunk = items[start : start + COLLECTION_LIMIT]
        if ids:
            params = {"ids": ",".join(chunk), "allOrNone": "false"}
            results += sf.restful("composite/sobjects", method=method, params=params)
        else:
            body = {
                "allOrNone": False,
                "records": [{"attributes": {"type": "Task"}, **r} for r in chunk],
            }
            results += sf.restful("composite/sobjects", method=method, json=body)
    return results


def _push_step(handle, user, n, label) -> dict:
    handle.reset_api_calls()
    cpu = time.process_time()
    run, seconds = harness.timed(harness.cycle, user, "push")
    # This process's CPU (with the emulator in its own process: the engine's local work alone),
    # which moves less than wall time on a shared machine.
    cpu = time.process_time() - cpu
    calls, by_kind = _calls(handle)
    count = run.deleted if label == "deletes" else run.pushed
    return {
        "records": n,
        "done": count,
        "failed": run.failed,
        "outcome": run.outcome,
        "api_calls": calls,
        "api_calls_engine": run.api_calls,
        "api_calls_by_kind": by_kind,
        "api_call_target": push_call_target(n),
        "seconds": seconds,
        "cpu_seconds": cpu,
    }


def _b2_once(handle, n: int) -> dict:
    """``n`` local creates, then ``n`` edits, then ``n`` deletes, each pushed by one cycle; and
    the same payloads sent as raw sObject Collection calls by simple-salesforce."""
    from tasksync.models import ReminderTask
    from tasksync.services import tasks as task_services
    from tasksync.sync import mapping

    # Each in an org of its own: the changes query sees its whole org (R18), so the raw floor's
    # writes and an earlier repeat's would be read by the engine's pulls as outside changes.
    engine_org, raw_org = (
        handle.call("create_org", name=f"B2 {kind} {time.monotonic_ns()}", daily_api_limit=10**8)
        for kind in ("engine", "raw")
    )
    conn = harness.connect_user(handle, org_id=engine_org["id"])
    user = conn.user
    harness.turn_on(user)
    harness.cycle(user, "first_sync")
    raw_user = handle.call(
        "create_user",
        org_id=raw_org["id"],
        username=f"raw-{user.username}@bench.example",
        password="password",
    )
    sf = _salesforce_for(handle, raw_user["id"])
    statuses = mapping.StatusMap()
    template = user.subject_template
    result = {}

    # One transaction per batch of local changes: the outbox rows are the same, the set-up is fast.
    with harness.jobs_suppressed(), transaction.atomic():
        tasks = [
            task_services.task_create(
                user=user,
                name=f"Local task {i}",
                priority="high" if i % 5 == 0 else "normal",
                due_date=date(2030, 1 + i % 12, 1 + i % 28) if i % 2 else None,
                details=f"Written here {i}" if i % 3 else "",
            )
            for i in range(n)
        ]
    result["creates"] = _push_step(handle, user, n, "creates")
    payloads = [
        mapping.create_payload(
            mapping.local_snapshot(t), template=template, statuses=statuses, owner_id=raw_user["id"]
        )
        for t in tasks
    ]
    created, raw_seconds = harness.timed(_raw_collection, sf, "POST", payloads)
    raw_ids = [r["id"] for r in created if r.get("success")]
    result["creates"]["raw_seconds"] = raw_seconds
    result["creates"]["raw_ok"] = len(raw_ids)

    edited_fields = ["name", "priority", "details"]
    with harness.jobs_suppressed(), transaction.atomic():
        for i, task in enumerate(tasks):
            task_services.task_update(
                task=task,
                name=f"Local task {i} (edited)",
                priority="normal" if task.priority == "high" else "high",
                details=f"Edited here {i}",
            )
    result["edits"] = _push_step(handle, user, n, "edits")
    tasks = list(ReminderTask.objects.filter(pk__in=[t.pk for t in tasks]).order_by("pk"))
    updates = [
        {
            "id": sf_id,
            **mapping.update_payload(
                mapping.local_snapshot(t), edited_fields, template=template, statuses=statuses
            ),
        }
        for sf_id, t in zip(raw_ids, tasks, strict=False)
    ]
    updated, raw_seconds = harness.timed(_raw_collection, sf, "PATCH", updates)
    result["edits"]["raw_seconds"] = raw_seconds
    result["edits"]["raw_ok"] = sum(1 for r in updated if r.get("success"))

    with harness.jobs_suppressed(), transaction.atomic():
        for task in tasks:
            task_services.task_delete(task=task)
    result["deletes"] = _push_step(handle, user, n, "deletes")
    deleted, raw_seconds = harness.timed(_raw_collection, sf, "DELETE", raw_ids, ids=True)
    result["deletes"]["raw_seconds"] = raw_seconds
    result["deletes"]["raw_ok"] = sum(1 for r in deleted if r.get("success"))

    for step in result.values():
        raw = step["raw_seconds"]
        step["ratio_to_raw"] = step["seconds"] / raw if raw else None
        step["ratio_target"] = RATIO_TARGET
    result["_user"] = user
    return result


def _forget(users) -> None:
    """The repeats' users and everything of theirs (tasks, links, runs, events): they were
    there for the timing only, and later benchmarks (B5's admin log sizes) count rows."""
    from accounts.models import User

    User.objects.filter(pk__in=[u.pk for u in users]).delete()


def b2_push(handle, n: int, *, repeats: int = REPEATS) -> dict:
    """``n`` local creates, then ``n`` edits, then ``n`` deletes, each pushed by one cycle, and
    the same payloads as raw sObject Collection calls; ``repeats`` times, interleaved (each
    engine step is followed by its raw floor), medians with their spread."""
    runs = [_b2_once(handle, n) for _ in range(repeats)]
    _forget([r.pop("_user") for r in runs][1:])
    result = {}
    for step in runs[0]:
        first = dict(runs[0][step])
        for key in ("seconds", "cpu_seconds", "raw_seconds", "ratio_to_raw"):
            values = [r[step][key] for r in runs if r[step][key] is not None]
            first[key] = statistics.median(values) if values else None
            first[f"{key}_spread"] = floors.spread(values) if values else None
        first["api_calls_all"] = [r[step]["api_calls"] for r in runs]
        first["done_all"] = [r[step]["done"] for r in runs]
        result[step] = first
    return result


# --- B3 ----------------------------------------------------------------------------------------


def _idle(handle, user, tasks: int, cycles: int) -> dict:
    harness.cycle(user)  # settle: the first poll after an import also reads the delete log
    calls, seconds = [], []
    for _ in range(cycles):
        handle.reset_api_calls()
        run, elapsed = harness.timed(harness.cycle, user)
        calls.append(handle.api_call_total())
        by_kind = handle.api_calls()
        seconds.append(elapsed)
        if run.pulled or run.pushed or run.deleted:
            raise AssertionError(f"an idle cycle moved records: {run.summary()}")
    # One more idle cycle, not timed, with its SQL recorded: the bookkeeping of an idle poll.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    in_transaction = []

    def note(execute, sql, params, many, context):
        if sql.lstrip().split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            in_transaction.append(connection.in_atomic_block)
        return execute(sql, params, many, context)

    with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(note):
        harness.cycle(user)
    statements = [q["sql"].lstrip().split(None, 1)[0].upper() for q in captured.captured_queries]
    writes = sum(1 for verb in statements if verb in ("INSERT", "UPDATE", "DELETE"))
    return {
        "tasks": tasks,
        "cycles": cycles,
        "sql_statements": len(statements),
        "write_statements": writes,
        # The lease's claim commits before the call; the bookkeeping is one transaction.
        "bookkeeping_writes": sum(in_transaction),
        "writes_outside_a_transaction": len(in_transaction) - sum(in_transaction),
        "write_statement_target": 3,
        "api_calls_per_cycle": calls,
        "api_calls_max": max(calls),
        "api_calls_by_kind_last": by_kind,
        "records_read_last": run.pulled,
        "api_call_target": 1,
        "median_seconds": _median(seconds),
        "p95_seconds": _p95(seconds),
    }


def b3_idle(handle, small_tasks: int, large_conn, large_tasks: int, cycles: int) -> dict:
    """Idle cycles of a small and a large user. The changes query sees the whole org (R18): B2's
    thousands of writes by other users would be read again for the pull's two-minute overlap,
    so the org first stays quiet for three minutes (the emulator's clock moves on)."""
    handle.advance(timedelta(minutes=3))
    conn = harness.connect_user(handle)
    _seed_salesforce(handle, conn.sf_user_id, small_tasks, prefix="Small")
    harness.turn_on(conn.user)
    harness.cycle(conn.user, "first_sync")
    small = _idle(handle, conn.user, small_tasks, cycles)
    large = _idle(handle, large_conn.user, large_tasks, cycles)
    ratio = large["median_seconds"] / small["median_seconds"] if small["median_seconds"] else None
    return {"small": small, "large": large, "time_ratio_large_to_small": ratio, "_small": conn}


# --- B5 ----------------------------------------------------------------------------------------


def _page(client, url: str, requests: int) -> dict:
    return admin_pages.timed_page(client, url, requests)


def b5_pages(large_conn, large_tasks: int, small_conn, small_tasks: int, requests: int) -> dict:
    from tasksync.models import ReminderTask

    result = {}
    for label, conn, n in (("small", small_conn, small_tasks), ("large", large_conn, large_tasks)):
        client = Client()
        client.force_login(conn.user)
        live = ReminderTask.objects.filter(user=conn.user, deleted_at__isnull=True).count()
        result[label] = {
            "tasks": n,
            "live_tasks": live,
            "command_center": _page(client, reverse("command_center"), requests),
            "task_list": _page(client, reverse("task_list"), requests),
        }
    result["constant_queries"] = all(
        result["small"][page]["queries"] == result["large"][page]["queries"]
        for page in ("command_center", "task_list")
    )
    return result


# --- all ---------------------------------------------------------------------------------------


def run_all(
    handle, *, quick: bool, only: set[str] | None = None, log=print, repeats: int = REPEATS
) -> dict:
    sizes = QUICK_SIZES if quick else FULL_SIZES
    handle.set_api_limit(max=100_000_000, used=0)
    # B6 starts real workers and takes minutes: only when asked for by name (--only).
    wanted = only or {"B1", "B2", "B3", "B5"}
    out = {"quick": quick, "sizes": sizes, "environment": harness.settings_summary()}
    large_conn = None
    if wanted & {"B1", "B3", "B5"}:
        log(f"B1 first import of {sizes['import']} tasks…")
        out["B1"], large_conn = b1_first_import(handle, sizes["import"], repeats=repeats)
    if "B2" in wanted:
        log(f"B2 push of {sizes['push']} creates, edits, deletes…")
        out["B2"] = b2_push(handle, sizes["push"], repeats=repeats)
    if wanted & {"B3", "B5"}:
        log("B3 idle cycles…")
        b3 = b3_idle(
            handle, sizes["idle_small"], large_conn, sizes["import"], cycles=3 if quick else 10
        )
        small_conn = b3.pop("_small")
        out["B3"] = b3
        if "B5" in wanted:
            analyzed = harness.analyze()
            log("B5 pages…")
            out["B5"] = b5_pages(
                large_conn,
                sizes["import"],
                small_conn,
                sizes["idle_small"],
                requests=3 if quick else 20,
            )
            out["B5"]["analyzed"] = analyzed
            out["B5"]["admin"] = admin_pages.b5_admin(
                large_conn,
                events=admin_pages.QUICK_EVENTS if quick else admin_pages.FULL_EVENTS,
                requests=3 if quick else 20,
                log=log,
            )
    if "B6" in wanted:
        log("B6 propagation with a running worker…")
        out["B6"] = live.b6_propagation(handle, edits=5 if quick else 20)
    return out
