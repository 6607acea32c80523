"""The sync's decisions, as pure functions: no database, no HTTP, no clock.

Pull and push read the state they need (under a lock), hand it here, and apply the plan that
comes back. Each function's docstring names the rule it decides. Times passed in are already on
Salesforce's clock (R16): local times are translated with the measured skew by the caller.

One module per decision; callers use the names re-exported here (``decide.pulled(...)``):

- ``pull_plan``: what a pulled record means for its pair, and when the delete log is read;
- ``in_doubt``: which unknown records are our creates whose answers were lost;
- ``push_plan``: what a queued local change becomes, and settling a write that landed;
- ``retries``: the outbox's back-off and when it gives up;
- ``statuses``: the org's Status picklist;
- ``packing``: how a push is packed into Composite calls.
"""

from tasksync.models.sync import Winner
from tasksync.sync.decide.common import DELETED_STATES, Queued, winner
from tasksync.sync.decide.in_doubt import IN_DOUBT_MARGIN, Candidate, InDoubt, match_in_doubt
from tasksync.sync.decide.packing import Part, pack_push
from tasksync.sync.decide.pull_plan import (
    DELETED_CHECK_EVERY,
    DELETED_LOG_DAYS,
    SKIP,
    Conflict,
    Pair,
    PullAction,
    PullPlan,
    Remote,
    deleted_log_window,
    is_quiet,
    pulled,
    remote_deleted,
)
from tasksync.sync.decide.push_plan import (
    Link,
    PushAction,
    Settle,
    SettleAction,
    queued,
    settled,
    update_fields,
)
from tasksync.sync.decide.retries import (
    BACKOFF_CAP,
    BACKOFF_FIRST,
    GIVE_UP_AFTER,
    backoff,
    backoff_ceiling,
    gives_up,
)
from tasksync.sync.decide.statuses import (
    PICKLIST_MAX_AGE,
    STATUS_REJECTED_CODES,
    pick_statuses,
    picklist_due,
    status_rejected,
)

__all__ = [
    "BACKOFF_CAP",
    "BACKOFF_FIRST",
    "DELETED_CHECK_EVERY",
    "DELETED_LOG_DAYS",
    "DELETED_STATES",
    "GIVE_UP_AFTER",
    "IN_DOUBT_MARGIN",
    "PICKLIST_MAX_AGE",
    "SKIP",
    "STATUS_REJECTED_CODES",
    "Candidate",
    "Conflict",
    "InDoubt",
    "Link",
    "Pair",
    "Part",
    "PullAction",
    "PullPlan",
    "PushAction",
    "Queued",
    "Remote",
    "Settle",
    "SettleAction",
    "Winner",
    "backoff",
    "backoff_ceiling",
    "deleted_log_window",
    "gives_up",
    "is_quiet",
    "match_in_doubt",
    "pack_push",
    "pick_statuses",
    "picklist_due",
    "pulled",
    "queued",
    "remote_deleted",
    "settled",
    "status_rejected",
    "update_fields",
    "winner",
]
