"""`python manage.py run_salesforce_emulator` — a thin wrapper over salesforce_emulator.cli."""

from django.core.management.base import BaseCommand

from salesforce_emulator import cli


class Command(BaseCommand):
    help = "Run the Salesforce emulator (HTTPS API port + plain-HTTP login/UI port)."

    def add_arguments(self, parser):
        cli.add_arguments(parser)

    def handle(self, *args, **options):
        cli.run(options)
