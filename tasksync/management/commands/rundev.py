"""Run the whole product on one machine: web server, django-q2 worker and Salesforce emulator."""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = "Start the web server, a qcluster worker and (in demo mode) the Salesforce emulator."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000")
        parser.add_argument("--no-emulator", action="store_true")

    def handle(self, *args, addr, no_emulator, **options):
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        commands = {
            "web": [*manage, "runserver", addr, "--noreload"],
            "worker": [*manage, "qcluster"],
        }
        if settings.SALESFORCE_EMULATOR and not no_emulator:
            commands["emulator"] = [
                *manage,
                "run_salesforce_emulator",
                "--port",
                "8443",
                "--login-port",
                "8444",
                "--data-dir",
                str(settings.EMULATOR_DATA_DIR),
            ]
        children = {
            name: subprocess.Popen(cmd, env=os.environ.copy()) for name, cmd in commands.items()
        }
        self.stdout.write(self.style.SUCCESS(f"tasksync is starting: open http://{addr}/"))
        if "emulator" in children:
            self.stdout.write(
                "Salesforce emulator UI: http://127.0.0.1:8444/ui/ (demo@tasksync.example / demo)"
            )
        self.stdout.write("Press Ctrl-C to stop everything.")
        signal.signal(signal.SIGTERM, _raise_interrupt)
        try:
            while True:
                for name, child in children.items():
                    if child.poll() is not None:
                        self.stderr.write(
                            f"{name} stopped (exit {child.returncode}); stopping the rest."
                        )
                        return
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            for child in children.values():
                if child.poll() is None:
                    child.terminate()
            for child in children.values():
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
