from tasksync.management.commands.sync_user import Command as SyncUserCommand
from tasksync.models import SyncTrigger


class Command(SyncUserCommand):
    help = (
        "R14: re-read the user's Salesforce tasks of the last 15 days and re-push linked tasks "
        "that differ. Never creates duplicates."
    )
    trigger = SyncTrigger.RESYNC
