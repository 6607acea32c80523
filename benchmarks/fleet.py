"""B4 fleet: one poll round of N sync-enabled users, run by two real worker processes.

Set-up (not measured): N users, each connected to its own emulated Salesforce user with a few
Tasks, sync turned on and the first sync run in-process. One user in ten then gets a few
Salesforce changes (the last poll interval's), and every user's poll runs in-process: the
steady state of an org whose reps poll every minute, where each poll has seen its colleagues'
recent changes (R18: a rep's poll reads the whole org's). One user in ten then gets a few more
changes, so the round moves some records too; the first wave is still in every poll's
two-minute overlap, as the last interval's changes are in a real org's.

The round (measured): two ``manage.py qcluster`` processes of one worker each (two machines)
are started, with django-q2's scheduler off so that only this round runs, and are waited for
until both have run a job. Every fleet user is then made due, the dispatcher
(``dispatch_due_polls``) runs once in this process with the real enqueue into django-q2's broker
(the database), and the workers run the polls. Figures come from the SyncRun rows and the
emulator's call counter. PostgreSQL only: SQLite serialises every writer, so two workers on it
would measure the lock.

The broker is django-q2's ORM broker (the database) or Redis (``broker="redis"``: the workers
get ``REDIS_URL``, as a deployment sets it, and this process queues into the same list); the
results are django-q2's database rows either way.
"""

from __future__ import annotations

import contextlib
import logging
import os
import statistics
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from unittest import mock

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from benchmarks import harness, live

FLEET_USERS = 1_000
QUICK_FLEET_USERS = 50
WORKER_PROCESSES = 2
POLL_THREADS = 4  # SYNC_POLL_THREADS of the workers: the product's default on PostgreSQL
TASKS_PER_USER = 3  # Salesforce Tasks each fleet user starts with (imported by the first sync)
CHANGED_EVERY = 10  # every tenth user has Salesforce changes waiting for the round…
CHANGED_EDITS = 2  # …two of its Tasks edited (description)…
CHANGED_NEW = 1  # …and one new Task
IDLE_CALL_TARGET = 2  # R13: an idle cycle costs at most 2 calls (as B3)
WARM_UP_GROUP = "b4-warm-up"
BROKERS = ("orm", "redis")
# B4's own Redis database by default: a round refuses a list that already holds jobs.
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


class FleetRefused(RuntimeError):
    """B4 cannot run here (not PostgreSQL, or the database already has users syncing)."""


def worker_pid(seconds: float = 0.2) -> int:
    """A warm-up job: which worker process ran it (B4 waits until every cluster has run one).
    It imports what a poll run imports, so the round's first runs do not pay for it (boot)."""
    import tasksync.jobs  # noqa: F401
    import tasksync.sync.engine  # noqa: F401
    import tasksync.sync.stream  # noqa: F401

    time.sleep(seconds)
    return os.getpid()


def _seed(handle, sf_user_id: str, n: int) -> list[str]:
    """``n`` Tasks modified an hour ago: inside R4's 24-hour import window, outside the pull's
    overlap, so once imported they are not read again."""
    stamp = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    rows = harness.sf_task_rows(n, prefix="Fleet task")
    for row in rows:
        row.update(CreatedDate=stamp, LastModifiedDate=stamp, SystemModstamp=stamp)
    return handle.create_tasks(rows, user_id=sf_user_id)


def _set_up(handle, users: int, log, *, org_id: str) -> dict:
    from tasksync.models import SyncRun

    members = []
    started = time.perf_counter()
    for i in range(users):
        conn = harness.connect_user(handle, org_id=org_id)
        sf_ids = _seed(handle, conn.sf_user_id, TASKS_PER_USER)
        harness.turn_on(conn.user)
        harness.cycle(conn.user, "first_sync")
        members.append((conn, sf_ids))
        if (i + 1) % 100 == 0:
            elapsed = time.perf_counter() - started
            log(f"  B4 set-up: {i + 1} of {users} users synced ({elapsed:.0f} s)")
    _change_some(handle, members, "Edited in Salesforce")  # the last interval's changes
    for conn, _ in members:
        # The first poll after a first sync also reads the delete log; B3 settles the same way.
        harness.cycle(conn.user, "poll")
    log(f"  B4 set-up: every user polled once ({time.perf_counter() - started:.0f} s)")
    failed = SyncRun.objects.filter(
        user_id__in=[conn.user.pk for conn, _ in members], outcome__in=["failed", "running"]
    ).count()
    if failed:
        raise RuntimeError(f"B4 set-up: {failed} first syncs or polls failed")
    changed = _change_some(handle, members, "Edited again in Salesforce")  # the round's
    return {
        "user_ids": [conn.user.pk for conn, _ in members],
        "changed": changed,
        "seconds": time.perf_counter() - started,
    }


def _change_some(handle, members, description: str) -> set[int]:
    """One user in ten gets Salesforce changes: two Tasks edited, one new. Returns their keys."""
    changed = set()
    for index, (conn, sf_ids) in enumerate(members):
        if index % CHANGED_EVERY:
            continue
        for sf_id in sf_ids[:CHANGED_EDITS]:
            # The description: a Subject edit does not reach a local task (R2, subject template).
            handle.update_task(sf_id, Description=description)
        if CHANGED_NEW:
            handle.create_tasks(
                harness.sf_task_rows(CHANGED_NEW, prefix="New in Salesforce"),
                user_id=conn.sf_user_id,
            )
        changed.add(conn.user.pk)
    return changed


def _queue_empty() -> bool:
    """No job waiting in the broker (with the ORM broker, none being run either)."""
    from django_q.brokers import get_broker
    from django_q.conf import Conf
    from django_q.models import OrmQ

    if Conf.ORM:
        return not OrmQ.objects.exists()
    return not get_broker().queue_size()


@contextlib.contextmanager
def _broker(kind: str, redis_url: str):
    """This process queues into the round's broker (the workers are told through their
    environment, ``_worker_env``)."""
    from django_q.conf import Conf

    if kind == "orm":
        with mock.patch.multiple(Conf, ORM="default"):
            yield
        return
    with mock.patch.multiple(Conf, ORM=None, REDIS=redis_url):
        yield


def _worker_env(kind: str, redis_url: str, poll_threads: int = POLL_THREADS) -> dict:
    return {
        "REDIS_URL": redis_url if kind == "redis" else "",
        # The test settings run a batch's polls one by one; the workers run them as the
        # product does on PostgreSQL (SYNC_POLL_THREADS).
        "SYNC_POLL_THREADS": str(poll_threads),
    }


def _wait_for_workers(clusters: int, timeout: float) -> dict:
    """Until each cluster's worker has run a warm-up job (distinct process ids): boot time is
    then behind us. Jobs take a moment each so that one cluster cannot drain them all. Their
    results are kept whatever ``save_limit`` says (``save=True``): they are how we know."""
    from django_q.models import Task
    from django_q.tasks import async_task

    started = time.perf_counter()
    deadline = time.monotonic() + timeout
    pids: set[int] = set()
    while time.monotonic() < deadline:
        if _queue_empty():
            for _ in range(clusters):
                async_task(
                    "benchmarks.fleet.worker_pid", 0.3, group=WARM_UP_GROUP, sync=False, save=True
                )
        pids = set(Task.objects.filter(group=WARM_UP_GROUP).values_list("result", flat=True))
        if len(pids) >= clusters:
            break
        time.sleep(0.2)
    else:
        raise RuntimeError(f"B4: only {len(pids)} of {clusters} worker clusters came up")
    # Let the last warm-up jobs finish: the round starts on an empty queue.
    live._wait(_queue_empty, timeout=30, step=0.1)
    return {"worker_pids": sorted(pids), "boot_seconds": time.perf_counter() - started}


@contextlib.contextmanager
def _quiet(name: str):
    """A logger that says one INFO line per user (a connection, an enqueue), held to warnings."""
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _overlaps(runs) -> int:
    by_user = defaultdict(list)
    for run in runs:
        by_user[run.user_id].append(run)
    count = 0
    for user_runs in by_user.values():
        user_runs.sort(key=lambda r: r.started_at)
        for earlier, later in zip(user_runs, user_runs[1:], strict=False):
            if earlier.finished_at is None or later.started_at < earlier.finished_at:
                count += 1
    return count


def _cpu_seconds(root_pids) -> float | None:
    """CPU time (user + system) of these processes and all their descendants, from /proc (Linux;
    None elsewhere). On a shared machine wall time is the others' load too; CPU time is ours."""
    try:
        stats = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                with contextlib.suppress(OSError):
                    with open(f"/proc/{entry}/stat") as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                    # utime + stime, and cutime + cstime: a worker django-q2 recycled (every
                    # 500 jobs) is gone, its time counted in its parent's once reaped.
                    stats[int(entry)] = (int(fields[1]), sum(int(x) for x in fields[11:15]))
    except OSError:
        return None
    wanted, frontier = set(root_pids), list(root_pids)
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, _) in stats.items():
            if ppid == parent and pid not in wanted:
                wanted.add(pid)
                frontier.append(pid)
    return sum(stats[pid][1] for pid in wanted if pid in stats) / os.sysconf("SC_CLK_TCK")


def _quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def b4_fleet(
    handle,
    *,
    users: int,
    clusters: int = WORKER_PROCESSES,
    broker: str = "orm",
    redis_url: str | None = None,
    poll_threads: int = POLL_THREADS,
    log=print,
) -> dict:
    """One poll round of ``users`` users with ``clusters`` single-worker qcluster processes,
    through django-q2's ORM broker or Redis (``broker``), each running a batch's polls in
    ``poll_threads`` threads."""
    from django_q.models import OrmQ

    from tasksync.models import SyncRun, SyncState
    from tasksync.sync.dispatch import dispatch_due_polls

    if broker not in BROKERS:
        raise FleetRefused(f"B4's broker is one of {', '.join(BROKERS)}")
    redis_url = redis_url or DEFAULT_REDIS_URL
    if connection.vendor != "postgresql":
        raise FleetRefused("B4 runs on PostgreSQL only: pass --database-url postgres://…")
    with _broker(broker, redis_url):
        queued_before = not _queue_empty()
    if SyncState.objects.filter(enabled=True).exists() or OrmQ.objects.exists() or queued_before:
        raise FleetRefused(
            "B4 needs a database where nobody syncs yet and no job is queued (the dispatcher "
            "would queue everyone): use a fresh throwaway database (and an empty Redis list)"
        )
    # Each round's fleet in an org of its own: every poll reads its whole org's changes (R18),
    # so a round in the org of the rounds before it would read (and the emulator scan) theirs.
    org = handle.call(
        "create_org", name=f"B4 {broker} {clusters} {time.monotonic_ns()}", daily_api_limit=10**8
    )
    log(f"B4 set-up: {users} users, each connected, first sync and one poll in-process…")
    with _quiet("accounts.services"):
        setup = _set_up(handle, users, log, org_id=org["id"])
    fleet, changed = setup["user_ids"], setup["changed"]
    out = {
        "users": users,
        "worker_processes": clusters,
        "workers_per_process": 1,
        "poll_threads": poll_threads,
        "broker": broker,
        "tasks_per_user": TASKS_PER_USER,
        "changed_users": len(changed),
        "changed_records_per_user": CHANGED_EDITS + CHANGED_NEW,
        "setup_seconds": round(setup["seconds"], 1),
    }
    timing = {"enqueue_seconds": 0.0, "enqueued": 0}

    def timed(enqueue):
        def timed_enqueue(**kwargs):
            began = time.perf_counter()
            enqueue(**kwargs)
            timing["enqueue_seconds"] += time.perf_counter() - began
            timing["enqueued"] += 1

        return timed_enqueue

    try:
        with (
            live.workers(
                handle,
                clusters=clusters,
                per_cluster=1,
                poll_seconds=60,
                scheduler=False,
                env=_worker_env(broker, redis_url, poll_threads),
            ) as procs,
            live.jobs_to_broker(),
            _broker(broker, redis_url),
            _quiet("django-q"),
        ):
            log(f"B4: starting {clusters} qcluster processes, waiting until both run jobs…")
            out.update(_wait_for_workers(clusters, timeout=120))
            handle.reset_api_calls()
            pids = [proc.pid for proc in procs]
            apart = [handle.pid] if handle.pid != os.getpid() else []  # the emulator's process
            cpu_before = (_cpu_seconds(pids), time.process_time(), _cpu_seconds(apart))
            round_start = timezone.now()
            SyncState.objects.filter(user_id__in=fleet).update(
                next_poll_at=round_start - timedelta(seconds=1)
            )
            log("B4: one dispatcher round, then the workers poll everyone…")
            with (
                # The dispatcher's one way into the broker (a batch of one goes on through
                # enqueue_sync, left as it is: each job is timed once).
                mock.patch("tasksync.sync.jobs_api.enqueue_syncs", timed(live._real_enqueue_batch)),
                CaptureQueriesContext(connection) as queries,
            ):
                began = time.perf_counter()
                queued = dispatch_due_polls()
                dispatcher_seconds = time.perf_counter() - began
            enqueue_queries = sum(
                1 for q in queries.captured_queries if "django_q_ormq" in q["sql"]
            )
            polls = SyncRun.objects.filter(
                user_id__in=fleet, trigger="poll", started_at__gte=round_start
            )
            all_done = live._wait(
                lambda: polls.exclude(finished_at=None).count() >= users and _queue_empty(),
                timeout=120 + 2 * users,
                step=1.0,
            )
            cpu_after = (_cpu_seconds(pids), time.process_time(), _cpu_seconds(apart))
            calls, by_kind = handle.api_call_total(), handle.api_calls()
    finally:
        # Later benchmarks (B6 runs the scheduler) must not poll the fleet.
        SyncState.objects.filter(user_id__in=fleet).update(enabled=False, phase="off")

    runs = list(SyncRun.objects.filter(user_id__in=fleet, started_at__gte=round_start))
    poll_runs = [r for r in runs if r.trigger == "poll"]
    finished = [r for r in poll_runs if r.finished_at]
    per_user = Counter(r.user_id for r in poll_runs)
    first = min((r.started_at for r in poll_runs), default=None)
    last = max((r.finished_at for r in finished), default=None)
    span = (last - first).total_seconds() if first and last else None
    idle_calls = [r.api_calls for r in finished if r.user_id not in changed]
    changed_calls = [r.api_calls for r in finished if r.user_id in changed]
    durations = [(r.finished_at - r.started_at).total_seconds() for r in finished]
    out.update(
        {
            "queued": queued,
            "all_done": all_done,
            "dispatcher_seconds": round(dispatcher_seconds, 3),
            "dispatcher_queries": len(queries.captured_queries),
            "dispatcher_enqueue_seconds": round(timing["enqueue_seconds"], 3),
            "dispatcher_enqueue_queries": enqueue_queries,
            "round_seconds": round(span, 2) if span else None,
            "users_per_second": round(len(finished) / span, 1) if span else None,
            # How much of the workers' time went into sync runs; the rest is django-q2 taking,
            # starting and recording jobs (and waiting for a CPU).
            "workers_busy_share": (
                round(sum(durations) / (span * clusters), 2) if span and durations else None
            ),
            "run_median_ms": round(statistics.median(durations) * 1000) if durations else None,
            "run_p95_ms": round(_quantile(durations, 0.95) * 1000) if durations else None,
            # CPU per poll: the worker processes (django-q2's pusher, workers and monitor), this
            # process (the dispatcher, the wait; the emulator too in thread mode) and the
            # emulator's own process (0 in thread mode).
            "workers_cpu_ms_per_user": (
                round((cpu_after[0] - cpu_before[0]) * 1000 / users, 1)
                if cpu_before[0] is not None and cpu_after[0] is not None
                else None
            ),
            "harness_cpu_ms_per_user": round((cpu_after[1] - cpu_before[1]) * 1000 / users, 1),
            "emulator_process_cpu_ms_per_user": (
                round((cpu_after[2] - cpu_before[2]) * 1000 / users, 1)
                if apart and cpu_before[2] is not None and cpu_after[2] is not None
                else 0.0
            ),
            "api_calls": calls,
            "api_calls_by_kind": by_kind,
            "api_calls_engine": sum(r.api_calls for r in runs),
            "api_calls_per_user": round(calls / users, 2),
            "idle_api_calls_max": max(idle_calls, default=None),
            "idle_api_calls_mean": round(statistics.mean(idle_calls), 2) if idle_calls else None,
            "changed_api_calls_max": max(changed_calls, default=None),
            "idle_api_call_target": IDLE_CALL_TARGET,
            "pulled": sum(r.pulled for r in finished),
            "pulled_by_changed_users": sum(r.pulled for r in finished if r.user_id in changed),
            "outcomes": dict(Counter(r.outcome for r in poll_runs)),
            "errors": sorted({r.error for r in poll_runs if r.error})[:5],
            "other_runs": dict(Counter(r.trigger for r in runs if r.trigger != "poll")),
            "users_polled_once": sum(1 for pk in fleet if per_user[pk] == 1),
            "users_polled_twice_or_more": sum(1 for pk in fleet if per_user[pk] > 1),
            "lost": sum(1 for pk in fleet if per_user[pk] == 0),
            "unfinished": len(poll_runs) - len(finished),
            "overlapping_runs": _overlaps(
                SyncRun.objects.filter(user_id__in=fleet).only(
                    "user_id", "started_at", "finished_at"
                )
            ),
        }
    )
    return out


USERS_PER_SECOND_TARGET = 100  # issue 16: with 2 workers, at 0 ms


def scaling_svg(rounds: list[dict], *, latency_ms: float = 0.0) -> str:
    """B4's scaling curve: users polled per second against worker processes, one round each."""
    from benchmarks.plot import scaling_svg as draw

    series: dict[str, list] = {}
    for r in rounds:
        broker = "Redis" if r.get("broker") == "redis" else "ORM broker"
        label = f"{r['users']:,} users, {broker}"
        series.setdefault(label, []).append((r["worker_processes"], r["users_per_second"]))
    network = f", {latency_ms:g} ms a call" if latency_ms else ""
    threads = sorted({r.get("poll_threads", 1) for r in rounds})
    each = ", ".join(str(t) for t in threads) + (" poll threads" if threads != [1] else " thread")
    return draw(
        {label: sorted(points) for label, points in series.items()},
        title=f"B4 fleet poll round on PostgreSQL: users per second by workers{network}",
        x_label=f"worker processes (one worker each, {each})",
        y_label="users per second",
        target=USERS_PER_SECOND_TARGET,
        target_label="target (2 workers)",
    )
