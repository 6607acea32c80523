"""Re-encrypt every stored Salesforce token under the newest TOKEN_ENCRYPTION_KEYS key.

Prepend a new key, deploy, run this command, then drop the old key (docs/salesforce-connect.md).
"""

from cryptography.fernet import InvalidToken
from django.core.management.base import BaseCommand, CommandError
from django.db import connection as db
from django.db import transaction

from accounts.crypto import token_fernet
from accounts.models import SalesforceConnection

TOKEN_COLUMNS = ("access_token", "refresh_token")


class Command(BaseCommand):
    help = "Re-encrypt stored Salesforce tokens under the newest TOKEN_ENCRYPTION_KEYS key."

    def handle(self, *args, **options):
        fernet = token_fernet()
        table = db.ops.quote_name(SalesforceConnection._meta.db_table)
        columns = ", ".join(db.ops.quote_name(c) for c in TOKEN_COLUMNS)
        rotated = 0
        for pk in SalesforceConnection.objects.values_list("pk", flat=True).iterator():
            # One row per transaction, locked while we rewrite it, so a refresh running at the
            # same time waits instead of having its new token overwritten by our old one.
            with transaction.atomic():
                locked = SalesforceConnection.objects.select_for_update().filter(pk=pk)
                if not list(locked.values_list("pk", flat=True)):
                    continue
                with db.cursor() as cursor:
                    cursor.execute(f"SELECT {columns} FROM {table} WHERE id = %s", [pk])  # noqa: S608
                    values = cursor.fetchone()
                    try:
                        # MultiFernet.rotate decrypts with any key and encrypts with the newest,
                        # without the plain token ever reaching our code.
                        new = [fernet.rotate(v.encode()).decode() if v else v for v in values]
                    except InvalidToken:
                        raise CommandError(
                            f"Connection {pk}: a token no configured key can decrypt. "
                            "Put the old key back in TOKEN_ENCRYPTION_KEYS and run again."
                        ) from None
                    assignments = ", ".join(f"{db.ops.quote_name(c)} = %s" for c in TOKEN_COLUMNS)
                    cursor.execute(
                        f"UPDATE {table} SET {assignments} WHERE id = %s",  # noqa: S608
                        [*new, pk],
                    )
            rotated += 1
        self.stdout.write(f"Re-encrypted the tokens of {rotated} Salesforce connection(s).")
