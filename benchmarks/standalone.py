"""What a benchmark run as its own module (``python -m benchmarks.<name>``) sets up around its
work: Django with the test settings, the emulator, a throwaway database, jobs not sent."""

from __future__ import annotations

import logging
import os


def run_standalone(work, *, database_url: str = "", emulator_mode: str = "thread"):
    """``work(handle)`` against the emulator (``emulator_mode``: thread or process) on a
    throwaway database (``database_url``, else a temporary SQLite file); returns its result."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tasksync.settings_test")
    import django

    django.setup()
    from benchmarks import harness

    logging.getLogger("accounts.services").setLevel(logging.WARNING)
    with (
        harness.emulator(mode=emulator_mode) as handle,
        harness.emulator_settings(handle),
        harness.throwaway_database(database_url or None),
        harness.jobs_suppressed(),
    ):
        return work(handle)
