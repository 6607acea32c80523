from django.dispatch import Signal

# Sent inside the transaction that saves a user's change to a task, so a receiver can record the
# change for the sync in the same transaction (nothing lost, R11). Arguments: task, operation
# ("create" | "update" | "delete"), fields (names of the mapped fields that changed).
local_task_changed = Signal()
