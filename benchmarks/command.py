"""``benchmark_sync [--json FILE] [--quick] [--database-url URL] [--only B1,B2] [--no-composite]``

Run from the repository as ``make bench ARGS="--quick"`` or ``python -m benchmarks --quick``.
It runs the sync benchmarks of docs/PERFORMANCE.md against an emulator it starts itself, in a
throwaway database (a temporary SQLite file unless ``--database-url`` names one), prints a table
and optionally writes every figure as JSON. It lives outside the product packages because it
drives the engine with test tools (``django.test``, ``unittest.mock``).
"""

from __future__ import annotations

import json
from pathlib import Path

import environ
from django.core.management.base import BaseCommand, CommandError
from django.test import override_settings

from benchmarks import admin_pages, fleet, harness, scenarios

CHOICES = {"B1", "B2", "B3", "B4", "B5", "B6"}
PAGE_P95_TARGET_MS = 50  # B5: the Command Center and the task list at 10,000 tasks
ADMIN_P95_TARGET_MS = 200  # B5: every admin changelist at 100,000 events


class Command(BaseCommand):
    help = (
        "Benchmark the sync against the Salesforce emulator (API calls, wall-time ratios, page "
        "queries) in a throwaway database."
    )
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--json", dest="json_path", help="Write the figures to this file.")
        parser.add_argument(
            "--quick", action="store_true", help="Smaller sizes (2,500 / 300 / 10), for tests."
        )
        parser.add_argument(
            "--database-url",
            help="A throwaway database to fill (e.g. postgres://…/tasksync_bench). Default: a "
            "temporary SQLite file, deleted afterwards. Never your own database.",
        )
        parser.add_argument(
            "--only",
            help="Comma-separated subset of B1,B2,B3,B4,B5,B6. B4 and B6 start real qcluster "
            "workers and run only when named here; B4 needs PostgreSQL (--database-url).",
        )
        parser.add_argument(
            "--latency-ms",
            type=float,
            default=0.0,
            help="The emulator's network model: milliseconds every Salesforce call costs, the "
            "engine's and the floors' alike (default 0: the emulator's own speed).",
        )
        parser.add_argument(
            "--per-record-ms",
            type=float,
            default=None,
            help="The network model's cost of each record returned or written (default 0.1 "
            "with --latency-ms, else 0).",
        )
        parser.add_argument(
            "--repeats",
            type=int,
            default=scenarios.REPEATS,
            help=f"Interleaved runs of B1 and B2 and their floors (median, spread; default "
            f"{scenarios.REPEATS}).",
        )
        parser.add_argument(
            "--fleet-workers",
            default="2",
            help="B4: comma-separated worker counts, one round each on a fresh fleet (e.g. "
            "1,2,4 for the scaling curve; default 2).",
        )
        parser.add_argument(
            "--svg",
            dest="svg_path",
            help="With B5: write the admin pages' scaling curve (p95 by log size) to this SVG.",
        )
        parser.add_argument(
            "--no-composite",
            action="store_true",
            help="Run the engine with SALESFORCE_COMPOSITE off: query pages, pushes and the "
            "delete log as plain calls, one each (B1's and B2's targets without Composite).",
        )
        parser.add_argument(
            "--emulator",
            choices=harness.EMULATOR_MODES,
            default="process",
            help="Where the Salesforce emulator runs: in a process of its own (default; like "
            "Salesforce, its work never holds this process's interpreter lock) or in threads "
            "of this process (the figures before issue 16's last round).",
        )
        parser.add_argument(
            "--broker",
            default="orm",
            help="B4: django-q2's broker, orm (the database) or redis, or both (orm,redis): one "
            "round per broker and worker count (default orm).",
        )
        parser.add_argument(
            "--redis-url",
            default=fleet.DEFAULT_REDIS_URL,
            help=f"B4 with --broker redis: the Redis its workers share (default "
            f"{fleet.DEFAULT_REDIS_URL}; its queue must be empty).",
        )
        parser.add_argument(
            "--poll-threads",
            type=int,
            default=fleet.POLL_THREADS,
            help=f"B4: SYNC_POLL_THREADS of the workers, polls of a batch at once (default "
            f"{fleet.POLL_THREADS}, the product's on PostgreSQL; 1: one by one).",
        )
        parser.add_argument(
            "--fleet-users",
            type=int,
            help=f"B4's fleet size (default {fleet.FLEET_USERS:,}; "
            f"{fleet.QUICK_FLEET_USERS} with --quick).",
        )

    def handle(
        self,
        *args,
        json_path=None,
        quick=False,
        database_url=None,
        only=None,
        fleet_users=None,
        latency_ms=0.0,
        per_record_ms=None,
        repeats=scenarios.REPEATS,
        fleet_workers="2",
        svg_path=None,
        no_composite=False,
        emulator="process",
        broker="orm",
        redis_url=fleet.DEFAULT_REDIS_URL,
        poll_threads=fleet.POLL_THREADS,
        **options,
    ):
        wanted = None
        if only:
            wanted = {part.strip().upper() for part in only.split(",") if part.strip()}
            if not wanted <= CHOICES:
                raise CommandError(f"--only takes {', '.join(sorted(CHOICES))}")
        fleet_wanted = bool(wanted and "B4" in wanted)
        if fleet_users is not None and (fleet_users < 1 or not fleet_wanted):
            raise CommandError("--fleet-users takes a positive number, with --only B4")
        if fleet_wanted:
            engine = environ.Env.db_url_config(database_url)["ENGINE"] if database_url else ""
            if not engine.endswith("postgresql"):
                raise CommandError(
                    "B4 runs on PostgreSQL only (two workers on SQLite would measure its write "
                    "lock): pass --database-url postgres://…/<a throwaway database>"
                )
            fleet_users = fleet_users or (fleet.QUICK_FLEET_USERS if quick else fleet.FLEET_USERS)
        if latency_ms < 0 or (per_record_ms or 0) < 0:
            raise CommandError("--latency-ms and --per-record-ms take zero or a positive number")
        if per_record_ms is None:
            per_record_ms = 0.1 if latency_ms else 0.0
        if repeats < 1:
            raise CommandError("--repeats takes a positive number")
        if poll_threads < 1:
            raise CommandError("--poll-threads takes a positive number")
        try:
            worker_counts = [int(w) for w in str(fleet_workers).split(",") if w.strip()]
        except ValueError:
            worker_counts = []
        if not worker_counts or min(worker_counts) < 1:
            raise CommandError("--fleet-workers takes positive numbers, e.g. 1,2,4")
        brokers = [b.strip() for b in str(broker).split(",") if b.strip()]
        if not brokers or not set(brokers) <= set(fleet.BROKERS):
            raise CommandError(f"--broker takes {', '.join(fleet.BROKERS)} (or both, orm,redis)")
        verbose = options.get("verbosity", 1) >= 1

        def log(message):
            if verbose:
                self.stderr.write(message)

        with (
            harness.emulator(mode=emulator) as handle,
            harness.emulator_settings(handle),
            harness.throwaway_database(database_url),
            harness.jobs_suppressed(),
            override_settings(SALESFORCE_COMPOSITE=not no_composite),
        ):
            if latency_ms or per_record_ms:
                handle.set_network_model(latency_ms=latency_ms, per_record_ms=per_record_ms)
            rest = wanted - {"B4"} if wanted else None
            results = {"quick": quick, "environment": harness.settings_summary()}
            if fleet_wanted:
                # First: it needs a database where nobody syncs yet; it turns its fleet off after.
                rounds = []
                for kind in brokers:
                    for workers in worker_counts:
                        log(
                            f"B4 fleet of {fleet_users:,} users with {workers} worker processes "
                            f"({kind} broker, {poll_threads} poll threads each)…"
                        )
                        try:
                            rounds.append(
                                fleet.b4_fleet(
                                    handle,
                                    users=fleet_users,
                                    clusters=workers,
                                    broker=kind,
                                    redis_url=redis_url,
                                    poll_threads=poll_threads,
                                    log=log,
                                )
                            )
                        except fleet.FleetRefused as refused:
                            raise CommandError(str(refused)) from refused
            if rest is None or rest:
                results = scenarios.run_all(
                    handle, quick=quick, only=rest, log=log, repeats=repeats
                )
            if fleet_wanted:
                results["B4"] = rounds[0] if len(rounds) == 1 else rounds[-1]
                results["B4_rounds"] = rounds
            results["environment"]["latency_ms"] = latency_ms
            results["environment"]["emulator"] = emulator
            results["environment"]["per_record_ms"] = per_record_ms
            results["environment"]["repeats"] = repeats
            results["environment"]["composite"] = not no_composite
        self.stdout.write(render_table(results))
        if json_path:
            Path(json_path).write_text(json.dumps(results, indent=2, default=str) + "\n")
            self.stdout.write(f"Figures written to {json_path}")
        if svg_path and len(results.get("B4_rounds") or []) > 1:
            svg = fleet.scaling_svg(results["B4_rounds"], latency_ms=latency_ms)
            Path(svg_path).write_text(svg)
            self.stdout.write(f"Fleet scaling curve written to {svg_path}")
        elif svg_path and results.get("B5", {}).get("admin"):
            svg = admin_pages.curve_svg(
                results["B5"]["admin"], database=results["environment"]["database"]
            )
            Path(svg_path).write_text(svg)
            self.stdout.write(f"Scaling curve written to {svg_path}")


def _ok(value, target, *, at_most=True):
    if value is None or target is None:
        return ""
    return "ok" if (value <= target if at_most else value >= target) else "MISSED"


def _rows(results: dict):
    # Issue 16's ratio targets at 100 ms a call, with Composite and without it.
    composite = results.get("environment", {}).get("composite", True)
    b1_target, b2_target = ("≤ 1.0", "≤ 1.0") if composite else ("≤ 1.15", "≤ 1.2")
    b1 = results.get("B1")
    if b1:
        name = f"B1 first import, {b1['tasks']:,} tasks"
        yield (
            name,
            "API calls",
            b1["api_calls"],
            f"≤ {b1['api_call_target']}",
            _ok(b1["api_calls"], b1["api_call_target"]),
        )
        yield name, "imported / linked", f"{b1['imported']:,} / {b1['links']:,}", "", ""
        yield name, f"wall time (median of {b1['repeats']})", _secs(b1["seconds_spread"]), "", ""
        yield (
            name,
            f"network floor: query_all_iter ({b1['floor_api_calls']} calls)",
            _secs(b1["floor_spread"]),
            "",
            "",
        )
        yield (
            name,
            f"write floor ({b1['write_floor_rows']:,} rows)",
            _secs(b1["write_floor_spread"]),
            "",
            "",
        )
        if b1.get("server_cpu_seconds"):
            yield (
                name,
                "PostgreSQL CPU: import / write floor",
                f"{_secs(b1['server_cpu_seconds'])} / {_secs(b1['write_server_cpu_seconds'])}",
                "",
                "",
            )
        yield name, "ratio to network floor", _ratio(b1["ratio_to_floor_spread"]), b1_target, ""
        yield (
            name,
            "ratio to fetch + write floor",
            _ratio(b1["ratio_to_fetch_and_write_spread"]),
            "≤ 1.5 (at 0 ms)",
            "",
        )
    b2 = results.get("B2")
    if b2:
        for label, step in b2.items():
            name = f"B2 push, {step['records']:,} {label}"
            yield (
                name,
                "API calls",
                step["api_calls"],
                f"≤ {step['api_call_target']}",
                _ok(step["api_calls"], step["api_call_target"]),
            )
            yield name, "done / failed", f"{step['done']:,} / {step['failed']}", "", ""
            yield name, "wall time (median)", _secs(step["seconds_spread"]), "", ""
            if step.get("cpu_seconds_spread"):
                yield name, "CPU, this process", _secs(step["cpu_seconds_spread"]), "", ""
            yield name, "raw collection calls", _secs(step["raw_seconds_spread"]), "", ""
            yield name, "ratio to raw", _ratio(step["ratio_to_raw_spread"]), b2_target, ""
    b3 = results.get("B3")
    if b3:
        for label in ("small", "large"):
            step = b3[label]
            name = f"B3 idle cycle, {step['tasks']:,} tasks"
            yield (
                name,
                "API calls (max)",
                step["api_calls_max"],
                f"≤ {step['api_call_target']}",
                _ok(step["api_calls_max"], step["api_call_target"]),
            )
            yield (
                name,
                "SQL statements / writes: lease claim + bookkeeping (one transaction)",
                f"{step['sql_statements']} / {step['writes_outside_a_transaction']} + "
                f"{step['bookkeeping_writes']}",
                f"bookkeeping ≤ {step['write_statement_target']}",
                _ok(step["bookkeeping_writes"], step["write_statement_target"]),
            )
            yield (
                name,
                "median / p95",
                (f"{step['median_seconds'] * 1000:.0f} / {step['p95_seconds'] * 1000:.0f} ms"),
                "",
                "",
            )
        ratio = b3["time_ratio_large_to_small"]
        yield "B3 idle cycle", "time large / small", f"{ratio:.2f}", "≈ 1", ""
    b5 = results.get("B5")
    if b5:
        for page in ("command_center", "task_list"):
            small, large = b5["small"][page], b5["large"][page]
            name = f"B5 {page.replace('_', ' ')}"
            yield (
                name,
                "SQL queries (10 / N tasks)",
                (f"{small['queries']} / {large['queries']}"),
                "constant",
                "ok" if small["queries"] == large["queries"] else "MISSED",
            )
            yield (
                name,
                f"median / p95, {b5['large']['tasks']:,} tasks",
                (f"{large['median_ms']:.0f} / {large['p95_ms']:.0f} ms"),
                f"p95 ≤ {PAGE_P95_TARGET_MS} ms",
                _ok(large["p95_ms"], PAGE_P95_TARGET_MS),
            )
            yield (
                name,
                "  CPU time median / p95",
                (f"{large['cpu_median_ms']:.0f} / {large['cpu_p95_ms']:.0f} ms"),
                "",
                "",
            )
        if b5.get("admin"):
            yield from _b5_admin_rows(b5["admin"])

    for b4 in results.get("B4_rounds") or ([results["B4"]] if results.get("B4") else []):
        yield from _b4_rows(b4)
    b6 = results.get("B6")
    if b6:
        for key, label in (
            ("local_to_salesforce", "B6 local edit → Salesforce"),
            ("salesforce_to_local", f"B6 Salesforce edit → local ({b6['poll_seconds']} s poll)"),
        ):
            q = b6[key]
            yield (
                label,
                f"median / p95 ({q['samples']} edits)",
                f"{q['median_ms']} / {q['p95_ms']} ms",
                "",
                "",
            )


def _secs(spread: dict | None) -> str:
    if not spread:
        return ""
    return f"{spread['median']:.2f} s ({spread['min']:.2f}–{spread['max']:.2f})"


def _ratio(spread: dict | None) -> str:
    if not spread:
        return ""
    return f"{spread['median']:.2f} ({spread['min']:.2f}–{spread['max']:.2f})"


def _b5_admin_rows(b5_admin: dict):
    name = f"B5 admin, {b5_admin['events']:,} events"
    for label, page in b5_admin["pages"].items():
        yield (
            name,
            f"{label}: queries, median / p95 (CPU)",
            f"{page['queries']}, {page['median_ms']:.0f} / {page['p95_ms']:.0f} ms "
            f"({page['cpu_median_ms']:.0f} / {page['cpu_p95_ms']:.0f})",
            f"p95 ≤ {ADMIN_P95_TARGET_MS} ms",
            _ok(page["p95_ms"], ADMIN_P95_TARGET_MS),
        )


def _b4_rows(b4: dict):
    users = b4["users"]
    name = (
        f"B4 fleet, {users:,} users, {b4['worker_processes']} workers × "
        f"{b4.get('poll_threads', 1)} threads, {b4.get('broker', 'orm')}"
    )
    everyone = "ok" if b4["users_polled_once"] == users else "MISSED"
    yield name, "users polled exactly once", f"{b4['users_polled_once']:,}", f"{users:,}", everyone
    yield name, "users per second", f"{b4['users_per_second']}", "", ""
    yield (
        name,
        "round (first run start → last end)",
        f"{b4['round_seconds']} s",
        "",
        "",
    )
    yield (
        name,
        "run median / p95",
        f"{b4['run_median_ms']} / {b4['run_p95_ms']} ms",
        "",
        "",
    )
    yield (
        name,
        "workers' time spent in sync runs",
        f"{b4['workers_busy_share']:.0%}" if b4["workers_busy_share"] is not None else "",
        "",
        "",
    )
    yield (
        name,
        "dispatcher: time / SQL queries",
        f"{b4['dispatcher_seconds'] * 1000:.0f} ms / {b4['dispatcher_queries']:,}",
        "",
        "",
    )
    yield (
        name,
        "  of which enqueueing (django-q2)",
        f"{b4['dispatcher_enqueue_seconds'] * 1000:.0f} ms / {b4['dispatcher_enqueue_queries']:,}",
        "",
        "",
    )
    if b4.get("workers_cpu_ms_per_user") is not None:
        yield (
            name,
            "CPU per user: worker processes / this one (dispatcher) / the emulator's",
            f"{b4['workers_cpu_ms_per_user']} / {b4['harness_cpu_ms_per_user']} / "
            f"{b4.get('emulator_process_cpu_ms_per_user', 0.0)} ms",
            "",
            "",
        )
    yield name, "API calls (round)", f"{b4['api_calls']:,}", "", ""
    yield (
        name,
        "API calls per idle user (max / mean)",
        f"{b4['idle_api_calls_max']} / {b4['idle_api_calls_mean']}",
        f"≤ {b4['idle_api_call_target']}",
        _ok(b4["idle_api_calls_max"], b4["idle_api_call_target"]),
    )
    yield (
        name,
        "users with changes: pulled (max calls)",
        f"{b4['changed_users']} users: {b4['pulled_by_changed_users']} records "
        f"({b4['changed_api_calls_max']})",
        "",
        "",
    )
    outcomes = ", ".join(f"{k} {v:,}" for k, v in sorted(b4["outcomes"].items()))
    lost = b4["lost"] + b4["unfinished"]
    yield name, "outcomes", outcomes, "", ""
    yield name, "lost or unfinished runs", lost, "0", "ok" if lost == 0 else "MISSED"
    overlap = b4["overlapping_runs"]
    yield name, "overlapping runs of one user", overlap, "0", "ok" if overlap == 0 else "MISSED"
    yield name, "set-up, not measured", f"{b4['setup_seconds']:.0f} s", "", ""


def render_table(results: dict) -> str:
    header = ("benchmark", "measure", "value", "target", "")
    rows = [header, *[tuple(str(c) for c in row) for row in _rows(results)]]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for index, row in enumerate(rows):
        lines.append(" | ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if index == 0:
            lines.append("-+-".join("-" * w for w in widths))
    mode = "quick" if results.get("quick") else "full"
    environment = results["environment"]
    latency = environment.get("latency_ms")
    per_record = environment.get("per_record_ms")
    added = f", network {latency:g} ms a call + {per_record:g} ms a record" if latency else ""
    if environment.get("composite") is False:
        added += ", without Composite"
    return f"Sync benchmarks ({mode}, {environment['database']}{added})\n" + "\n".join(lines)
