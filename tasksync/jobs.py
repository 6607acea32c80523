"""The only module django-q2 calls: ids in, one service call, nothing else.

django-q2 delivers at least once, so every job here is safe to run twice: a sync run takes the
user's lease (a second copy finds it held and only asks for another round), and its reads and
writes are idempotent (cursors, content comparison, links).
"""


def sync_user(user_id: int, trigger: str = "poll"):
    from tasksync.sync.engine import sync_user as run

    run_record = run(user_id=user_id, trigger=trigger)
    return run_record.summary() if run_record else "skipped"


def dispatch_polls():
    """Queue every user whose poll is due; running it twice queues nobody twice.

    The schedule fires once a minute (django-q2's finest). For a poll interval under a minute this
    run keeps dispatching at that interval for the rest of its minute, then ends.
    """
    import time

    from django.conf import settings

    from tasksync.sync.engine import dispatch_due_polls

    period = settings.SYNC_POLL_SECONDS
    queued = dispatch_due_polls()
    if period >= 60:
        return queued
    deadline = time.monotonic() + 60 - period
    while time.monotonic() + period <= deadline:
        time.sleep(period)
        queued += dispatch_due_polls()
    return queued
