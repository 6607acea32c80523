"""`python manage.py run_salesforce_emulator` — a thin wrapper over salesforce_emulator.cli."""

from django.conf import settings
from django.core.management.base import BaseCommand

from salesforce_emulator import cli


class Command(BaseCommand):
    help = "Run the Salesforce emulator (HTTPS API port + plain-HTTP login/UI port)."

    def add_arguments(self, parser):
        cli.add_arguments(parser)
        # The project's EMULATOR_DATA_DIR setting (where SALESFORCE_CA_BUNDLE expects cert.pem)
        # is the default data directory when it is defined.
        data_dir = getattr(settings, "EMULATOR_DATA_DIR", None)
        if data_dir:
            parser.set_defaults(data_dir=str(data_dir))

    def handle(self, *args, **options):
        cli.run(options)
