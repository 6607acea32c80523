"""``manage.py benchmark_sync [--json FILE] [--quick] [--database-url URL] [--only B1,B2]``

Runs the sync benchmarks of docs/PERFORMANCE.md against an emulator it starts itself, in a
throwaway database (a temporary SQLite file unless ``--database-url`` names one), prints a table
and optionally writes every figure as JSON.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tasksync.benchmarks import harness, scenarios

CHOICES = {"B1", "B2", "B3", "B5", "B6"}


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
            help="Comma-separated subset of B1,B2,B3,B5,B6. B6 starts a real qcluster worker "
            "and runs only when named here.",
        )

    def handle(self, *args, json_path=None, quick=False, database_url=None, only=None, **options):
        wanted = None
        if only:
            wanted = {part.strip().upper() for part in only.split(",") if part.strip()}
            if not wanted <= CHOICES:
                raise CommandError(f"--only takes {', '.join(sorted(CHOICES))}")
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
            results = scenarios.run_all(handle, quick=quick, only=wanted, log=log)
        self.stdout.write(render_table(results))
        if json_path:
            Path(json_path).write_text(json.dumps(results, indent=2, default=str) + "\n")
            self.stdout.write(f"Figures written to {json_path}")


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
                "",
                "",
            )

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
    return f"Sync benchmarks ({mode}, {results['environment']['database']})\n" + "\n".join(lines)
