"""R19: one pull per org and interval, with the integration user's token, for every syncing rep.

The org's changes are read once (the same changes query as a rep's own pull: every task changed
since the cursor, whoever owns it, so reassignments reach the reps they leave, R18), and each
rep's share is applied by the same code as a rep's own pull (``pull.apply_page``: decide, then
apply under locks), under that rep's lease, as a run of theirs. Writes are never made here: they
stay under each rep's own token, in the rep's push runs (which read the records they are about
to write first, R8). One delete-log check per org.

- ``coverage``: is an org covered by its feed, and the dispatcher's part;
- ``run``: ``org_pull``, the org's lease, its reps, the feed's health and cursors;
- ``shares``: each rep's share applied as a run of theirs, the org's delete-log check;
- ``before_push``: a covered rep's run reads what it is about to write.

``tasksync.jobs.org_pull`` calls ``tasksync.sync.org_pull.org_pull``.
"""

from tasksync.sync.org_pull.before_push import read_before_push
from tasksync.sync.org_pull.coverage import (
    covered_org_ids,
    dispatch_due_org_pulls,
    feed_covering,
    integration_connection,
)
from tasksync.sync.org_pull.run import org_pull

__all__ = [
    "covered_org_ids",
    "dispatch_due_org_pulls",
    "feed_covering",
    "integration_connection",
    "org_pull",
    "read_before_push",
]
