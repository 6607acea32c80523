"""``benchmark_sync [--json FILE] [--quick] [--database-url URL] [--only B1,B2] [--fleet-users N]``

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
            help="Milliseconds the emulator adds to every REST API call, the engine's and the "
            "floors' alike (default 0: the emulator's own speed, on this machine).",
        )
        parser.add_argument(
            "--svg",
            dest="svg_path",
            help="With B5: write the admin pages' scaling curve (p95 by log size) to this SVG.",
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
        svg_path=None,
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
        if latency_ms < 0:
            raise CommandError("--latency-ms takes zero or a positive number")
        verbose = options.get("verbosity", 1) >= 1

        def log(message):
            if verbose:
                self.stderr.write(message)

        with (
            harness.emulator() as handle,
            harness.emulator_settings(handle),
            harness.throwaway_database(database_url),
            harness.jobs_suppressed(),
        ):
            if latency_ms:
                handle.set_latency(latency_ms / 1000, path="/services/data/")
            rest = wanted - {"B4"} if wanted else None
            results = {"quick": quick, "environment": harness.settings_summary()}
            if fleet_wanted:
                # First: it needs a database where nobody syncs yet; it turns its fleet off after.
                log(f"B4 fleet of {fleet_users:,} users with 2 worker processes…")
                try:
                    fleet_result = fleet.b4_fleet(handle, users=fleet_users, log=log)
                except fleet.FleetRefused as refused:
                    raise CommandError(str(refused)) from refused
            if rest is None or rest:
                results = scenarios.run_all(handle, quick=quick, only=rest, log=log)
            if fleet_wanted:
                results["B4"] = fleet_result
            results["environment"]["latency_ms"] = latency_ms
        self.stdout.write(render_table(results))
        if json_path:
            Path(json_path).write_text(json.dumps(results, indent=2, default=str) + "\n")
            self.stdout.write(f"Figures written to {json_path}")
        if svg_path and results.get("B5", {}).get("admin"):
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
        yield name, "wall time", f"{b1['seconds']:.2f} s", "", ""
        yield name, "query_all_iter floor", f"{b1['floor_seconds']:.2f} s", "", ""
        yield (
            name,
            "ratio to floor",
            f"{b1['ratio_to_floor']:.2f}",
            "≤ 1.5",
            _ok(b1["ratio_to_floor"], b1["ratio_target"]),
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
            yield name, "wall time", f"{step['seconds']:.2f} s", "", ""
            yield name, "raw collection calls", f"{step['raw_seconds']:.2f} s", "", ""
            yield (
                name,
                "ratio to raw",
                f"{step['ratio_to_raw']:.2f}",
                "≤ 1.5",
                _ok(step["ratio_to_raw"], step["ratio_target"]),
            )
    b3 = results.get("B3")
    if b3:
        for label in ("small", "large"):
            step = b3[label]
            name = f"B3 idle cycle, {step['tasks']:,} tasks"
            yield (
                name,
                "API calls (max)",
                step["api_calls_max"],
                "≤ 2",
                _ok(step["api_calls_max"], 2),
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

    b4 = results.get("B4")
    if b4:
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
    name = f"B4 fleet, {users:,} users, {b4['worker_processes']} workers"
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
    added = f", +{latency:g} ms a call" if latency else ""
    return f"Sync benchmarks ({mode}, {environment['database']}{added})\n" + "\n".join(lines)
