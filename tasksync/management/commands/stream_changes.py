"""R19: subscribe to every syncing org's Task change events and queue targeted pulls.

Safe to run on several machines: a lease per org lets one hold it while the others wait.
"""

import signal
import threading

from django.core.management.base import BaseCommand

from tasksync.sync.stream import run_subscribers


class Command(BaseCommand):
    help = "Hold the Change Data Capture stream (/data/TaskChangeEvent) of every syncing org."

    def handle(self, *args, **options):
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        self.stdout.write("Streaming Task change events; Ctrl-C stops.")
        run_subscribers(stop=stop)
        self.stdout.write("stream_changes stopped")
