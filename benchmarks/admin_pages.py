"""B5, the admin half: every changelist, the health page and a first import's run page, timed
with a log of 100,000 sync events (10,000 with ``--quick``) and counted in SQL queries.

The log is B1's import (one event per imported task, in one run) plus poll runs spread over the
retention window (R14's 31 days) with their events and a few conflicts, written with
``bulk_create``: the figures are the pages', not the fill's.
"""

from __future__ import annotations

import time
from datetime import timedelta

from django.contrib import admin
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from benchmarks import harness

EVENTS_PER_RUN = 90
FULL_EVENTS, QUICK_EVENTS = 100_000, 10_000


def _median(values):
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def _p95(values):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def fill_log(user, *, events: int) -> dict:
    """Poll runs of ``user`` with EVENTS_PER_RUN events each, one conflict per run, until the
    event table holds ``events`` rows; runs an hour apart going back from now."""
    from tasksync.models import SyncConflict, SyncEvent, SyncRun

    tasks = list(user.tasks.order_by("pk").values_list("pk", flat=True)[:1000])
    missing = max(0, events - SyncEvent.objects.count())
    runs = -(-missing // EVENTS_PER_RUN)
    now = timezone.now()
    new_runs = SyncRun.objects.bulk_create(
        [
            SyncRun(
                user=user,
                trigger="poll",
                started_at=now - timedelta(minutes=45 * (i + 1)),
                finished_at=now - timedelta(minutes=45 * (i + 1)) + timedelta(seconds=1),
                outcome="partial" if i % 50 == 0 else "success",
                pulled=EVENTS_PER_RUN,
                failed=1 if i % 50 == 0 else 0,
                api_calls=1,
            )
            for i in range(runs)
        ],
        batch_size=500,
    )
    written = 0
    for i, run in enumerate(new_runs):
        n = min(EVENTS_PER_RUN, missing - written)
        rows = [
            SyncEvent(
                run=run,
                user=user,
                task_id=tasks[(i * EVENTS_PER_RUN + j) % len(tasks)] if tasks else None,
                sf_id=f"00T{i:07d}{j:05d}AAA"[:18],
                direction="pull" if j % 3 else "push",
                action=("update", "create", "delete")[j % 3],
                changes={"details": [f"Old text {j}", f"New text {j}"]},
                ok=not (j == 0 and i % 50 == 0),
                message="" if j or i % 50 else "Salesforce rejected the record (benchmark)",
            )
            for j in range(n)
        ]
        SyncEvent.objects.bulk_create(rows, batch_size=1000)
        written += n
    # created_at is auto_now_add: move each run's events (and conflicts) to the run's time.
    for run in new_runs:
        SyncEvent.objects.filter(run=run).update(created_at=run.started_at)
    SyncConflict.objects.bulk_create(
        [
            SyncConflict(
                user=user,
                task_id=tasks[i % len(tasks)],
                run=run,
                sf_id=f"00T{i:07d}CONF"[:18],
                field="details",
                local_value=f"Here {i}",
                remote_value=f"There {i}",
                local_changed_at=run.started_at - timedelta(minutes=5),
                remote_changed_at=run.started_at - timedelta(minutes=1),
                winner="salesforce",
            )
            for i, run in enumerate(new_runs)
        ]
        if tasks
        else [],
        batch_size=500,
    )
    harness.analyze()  # PostgreSQL: the planner's statistics after the fill (autovacuum's job)
    return {
        "events": SyncEvent.objects.count(),
        "runs": SyncRun.objects.count(),
        "conflicts": SyncConflict.objects.count(),
    }


def timed_page(client, url: str, requests: int) -> dict:
    """``requests`` GETs of ``url`` after one to warm up: SQL queries, wall time and this
    process's CPU time. On SQLite the page's whole work (the queries too) is in this process,
    so its CPU time is what the page costs with the machine to itself; wall time also counts
    waiting for a CPU, which on a shared 2-core machine can be most of it."""
    client.get(url)  # warm the template cache and the connection
    times, cpu, queries = [], [], []
    for _ in range(requests):
        with CaptureQueriesContext(connection) as captured:
            cpu_start = time.process_time()
            response, elapsed = harness.timed(client.get, url)
            cpu.append((time.process_time() - cpu_start) * 1000)
        if response.status_code != 200:
            raise AssertionError(f"{url} answered {response.status_code}")
        times.append(elapsed * 1000)
        queries.append(len(captured.captured_queries))
    return {
        "url": url,
        "queries": max(queries),
        "queries_min": min(queries),
        "median_ms": round(_median(times), 1),
        "p95_ms": round(_p95(times), 1),
        "cpu_median_ms": round(_median(cpu), 1),
        "cpu_p95_ms": round(_p95(cpu), 1),
        "requests": requests,
        "bytes": len(response.content),
    }


def admin_urls(
    import_run_id: int | None, task_id: int | None = None, record_id: str = ""
) -> dict[str, str]:
    """Every registered model's changelist, the health page, and the import's run page."""
    urls = {}
    for model in sorted(admin.site._registry, key=lambda m: m._meta.label):
        opts = model._meta
        urls[f"{opts.label_lower} list"] = reverse(
            f"admin:{opts.app_label}_{opts.model_name}_changelist"
        )
    urls["sync health"] = reverse("admin:tasksync_sync_health")
    events = reverse("admin:tasksync_syncevent_changelist")
    if task_id is not None:
        urls["one task's events"] = f"{events}?task__id__exact={task_id}"
        urls["one task's History"] = reverse("admin:tasksync_remindertask_history", args=[task_id])
    urls["events, failed only"] = f"{events}?ok__exact=0"
    urls["events, searched by part of an id"] = f"{events}?q=00T0000010"
    if record_id:
        urls["events, searched by a whole record id"] = f"{events}?q={record_id}"
    if import_run_id is not None:
        urls["first import's run page"] = reverse(
            "admin:tasksync_syncrun_change", args=[import_run_id]
        )
        urls["first import's run page, last page"] = (
            reverse("admin:tasksync_syncrun_change", args=[import_run_id]) + "?events_page=last"
        )
        urls["first import's events"] = f"{events}?run__id__exact={import_run_id}"
    return urls


def b5_admin(large_conn, *, events: int, requests: int, log=print) -> dict:
    """Time every admin page as a superuser with the log at a tenth, three tenths and all of
    ``events`` rows (the import's own events are the floor), for the scaling curve."""
    from accounts.models import User
    from tasksync.models import SyncRun

    import_run = (
        SyncRun.objects.filter(user=large_conn.user, trigger="first_sync")
        .order_by("started_at")
        .first()
    )
    root = User.objects.filter(username="bench-root").first() or User.objects.create_superuser(
        "bench-root", "root@bench.example", None
    )
    client = Client()
    client.force_login(root)
    task = large_conn.user.tasks.order_by("pk").first()
    from tasksync.models import SyncEvent

    record = SyncEvent.objects.filter(user=large_conn.user).exclude(sf_id="").order_by("pk").first()
    urls = admin_urls(
        import_run.pk if import_run else None,
        task.pk if task else None,
        record.sf_id if record else "",
    )
    steps = []
    for size in (events // 10, events * 3 // 10, events):
        log(f"B5 admin: the log at {size:,} events…")
        sizes = fill_log(large_conn.user, events=size)
        if steps and sizes["events"] == steps[-1]["events"]:
            continue
        pages = {label: timed_page(client, url, requests) for label, url in urls.items()}
        steps.append({**sizes, "pages": pages})
    last = steps[-1]
    return {
        "events": last["events"],
        "runs": last["runs"],
        "conflicts": last["conflicts"],
        "import_run_events": import_run.events.count() if import_run else 0,
        "pages": last["pages"],
        "slowest_p95_ms": max(page["p95_ms"] for page in last["pages"].values()),
        "steps": steps,
    }


CURVE_PAGES = {
    "tasksync.syncevent list": "events list",
    "first import's run page": "run page (10,000 events)",
    "tasksync.syncrun list": "runs list",
    "tasksync.syncconflict list": "conflicts list",
    "one task's History": "a task's History",
    "sync health": "health page",
}


def curve_svg(b5_admin_result: dict, *, database: str = "sqlite3") -> str:
    """The scaling curve of docs/PERFORMANCE.md: the main admin pages' median time by log size.

    Medians, because on a shared 2-core machine one request in twenty can wait for a CPU (the
    table beside it gives each p95). On SQLite the curve is the request's CPU time, the whole
    of its work with the machine to itself; on PostgreSQL, whose work is in its own server
    process, it is wall time."""
    from benchmarks.plot import scaling_svg

    measure = "cpu_median_ms" if database == "sqlite3" else "median_ms"
    series = {}
    for key, name in CURVE_PAGES.items():
        points = [
            (step["events"], step["pages"][key][measure])
            for step in b5_admin_result["steps"]
            if key in step["pages"]
        ]
        if points:
            series[name] = points
    what = "CPU time" if measure == "cpu_median_ms" else "wall time"
    return scaling_svg(
        series,
        title=f"B5: admin pages by sync-log size ({database}, median {what})",
        x_label="sync events in the log (log scale)",
        y_label=f"median {what}, ms (20 requests)",
        target=200,
    )
