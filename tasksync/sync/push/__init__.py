"""Local → Salesforce: send the outbox through sObject Collections, up to 1,000 records a call
(five collections of 200 in one Composite call; R5, R10, R13).

- ``run``: ``push``, the due rows sorted by ``decide.queued`` and packed into calls (R13, R17),
  and ``read_ahead``, its reads while the pull is on the wire;
- ``call``: one packed call: intent, the call with no transaction open, the answers (R10);
- ``creates``, ``updates``, ``deletes``: each kind's payloads and answers (R1, R2, R5, R6, R12);
- ``settle``: landed pushes settled against the outbox as it is now, failures, back-off (R11).
"""

from tasksync.sync.push.creates import IN_FLIGHT_LIMIT
from tasksync.sync.push.run import push, read_ahead

__all__ = ["IN_FLIGHT_LIMIT", "push", "read_ahead"]
