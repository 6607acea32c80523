"""Salesforce → local: read what changed since the cursor, decide, apply (R1, R2, R4–R10, R15–R18).

Each page is applied in one transaction: the links, tasks and outbox rows a decision is made from
are read under a lock (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's IMMEDIATE transactions
hold its one write lock from the start), ``decide`` says what each record means, and the plan is
applied. A local edit committed meanwhile is therefore either seen by the decision or applied
after it, never overwritten unseen (R8).

- ``read``: ``pull``, the page-by-page read and the cursor (R4, R7, R9, R13, R16);
- ``query``: the fields and filter every pull query shares (R14, R15), ``changes_query``;
- ``page``: ``apply_page``, one page decided and applied (R5, R9, R14, R18);
- ``apply``: the local state under a lock, ``apply_plan``, deletions learnt elsewhere (R6, R8);
- ``in_doubt``: creates whose answers were lost, found and linked (R10);
- ``importing``: the first import's query, new tasks created and validated (R4, R5, R18).
"""

from tasksync.sync.pull.apply import (
    apply_deleted_ids,
    apply_plan,
    apply_remote_delete,
    lock_local_state,
    pair_of,
)
from tasksync.sync.pull.importing import import_query
from tasksync.sync.pull.page import apply_page
from tasksync.sync.pull.query import changes_query
from tasksync.sync.pull.read import FIRST_SYNC_WINDOW, OVERLAP, pull

__all__ = [
    "FIRST_SYNC_WINDOW",
    "OVERLAP",
    "apply_deleted_ids",
    "apply_page",
    "apply_plan",
    "apply_remote_delete",
    "changes_query",
    "import_query",
    "lock_local_state",
    "pair_of",
    "pull",
]
