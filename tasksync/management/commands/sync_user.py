from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from tasksync.models import SyncTrigger
from tasksync.services.sync import sync_skip_reason
from tasksync.sync.engine import sync_user


class Command(BaseCommand):
    help = "Run one full sync cycle for a user in the foreground and print what it did."
    trigger = SyncTrigger.MANUAL

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        run = sync_user(user_id=user.pk, trigger=self.trigger)
        if run is None:
            # A skipped run changes nothing, so the state still shows why it was skipped.
            reason = sync_skip_reason(user=user, trigger=self.trigger) or "it was skipped."
            raise CommandError(f"Nothing ran for {username!r}: {reason}")
        self.stdout.write(f"{run.outcome}: {run.summary()}")
        if run.error:
            raise CommandError(run.error)
