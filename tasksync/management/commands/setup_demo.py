from django.conf import settings
from django.core.management.base import BaseCommand

from accounts.models import User

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-password"  # noqa: S105 - a demo account on a developer's laptop


class Command(BaseCommand):
    help = "Create (or reset the password of) the demo user and the demo admin. Safe to run again."

    def handle(self, *args, **options):
        user, created = User.objects.get_or_create(
            username=DEMO_USERNAME,
            defaults={"email": "demo@example.com", "first_name": "Demo", "time_zone": "UTC"},
        )
        user.set_password(DEMO_PASSWORD)
        user.is_staff = True
        user.is_superuser = True
        user.save()
        verb = "Created" if created else "Kept"
        self.stdout.write(
            f"{verb} the demo user: username '{DEMO_USERNAME}', password '{DEMO_PASSWORD}' "
            "(also an admin)."
        )
        if getattr(settings, "SALESFORCE_EMULATOR", False):
            from tasksync.demo import demo_seed_salesforce

            created = demo_seed_salesforce(data_dir=settings.EMULATOR_DATA_DIR)
            if created:
                self.stdout.write(
                    f"Gave the emulator's Salesforce user {created} tasks to import "
                    "(demo@tasksync.example)."
                )
