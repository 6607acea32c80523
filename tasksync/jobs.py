"""The only module django-q2 calls: ids in, one service call, nothing else.

django-q2 delivers at least once, so every job here is safe to run twice: a sync run takes the
user's lease (a second copy finds it held and only asks for another round), and its reads and
writes are idempotent (cursors, content comparison, links).
"""


def sync_user(user_id: int, trigger: str = "poll"):
    from tasksync.sync.engine import sync_user as run

    run_record = run(user_id=user_id, trigger=trigger)
    return run_record.summary() if run_record else "skipped"


def sync_users(user_ids: list[int], trigger: str = "poll"):
    """Several users' polls, one after another, in one job (the dispatcher's batches). Safe
    twice, like ``sync_user``; users it had no time for are queued as a batch of their own."""
    from tasksync.sync.dispatch import run_batch

    return run_batch(user_ids, trigger=trigger)


def org_pull(org_id: str):
    """R19: read the org's changes once for all its reps. Safe twice: a lease per org, and
    applying a change twice changes nothing."""
    from tasksync.sync.org_pull import org_pull as run

    done = run(org_id=org_id)
    return done if done is not None else "skipped"


def dispatch_polls():
    """Queue each user's poll when it falls due, until the schedule queues the next dispatcher
    (tasksync.sync.dispatch says why one job stays on). Running it twice queues nobody twice."""
    from tasksync.sync.dispatch import dispatch_polls_on_time

    return dispatch_polls_on_time()
