"""Signals the Salesforce connection sends to the sync engine (R17).

Both are sent inside the transaction that saves the connection, so a receiver's own writes commit
or roll back with it; enqueue background work from a receiver with ``transaction.on_commit``.
"""

from django.dispatch import Signal

# Every successful connect or reconnect. Arguments: connection, is_new_identity (True when the
# row was already connected to a different Salesforce user or org; False on a first connect and
# on a reconnect of the same Salesforce user), previous_org_id, previous_sf_user_id (None on a
# first connect).
salesforce_connected = Signal()

# connection_disconnect, after the tokens are cleared. Arguments: connection.
salesforce_disconnected = Signal()
