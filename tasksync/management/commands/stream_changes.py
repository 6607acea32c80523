"""R19: subscribe to every syncing org's Task change events and queue targeted pulls.

Safe to run on several machines: a lease per org lets one hold it while the others wait.
"""

import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand

from tasksync.sync.stream import run_subscribers


class Command(BaseCommand):
    help = "Hold the Change Data Capture stream (/data/TaskChangeEvent) of every syncing org."

    def add_arguments(self, parser):
        parser.add_argument(
            "--pubsub-url", help="host:port of the Pub/Sub API (default SALESFORCE_PUBSUB_URL)"
        )

    def handle(self, *args, pubsub_url=None, **options):
        if pubsub_url:
            settings.SALESFORCE_PUBSUB_URL = pubsub_url
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        self.stdout.write("Streaming Task change events; Ctrl-C stops.")
        run_subscribers(stop=stop)
        self.stdout.write("stream_changes stopped")
