"""R5: a local change queues a push when its transaction commits, coalesced: a burst of edits
makes one run."""

from tasksync.models import SyncState
from tasksync.services import tasks as services
from tasksync.sync import jobs_api


def test_a_burst_of_edits_queues_one_push(syncing, monkeypatch, django_capture_on_commit_callbacks):
    queued = []
    monkeypatch.setattr(
        jobs_api, "enqueue_sync", lambda *, user_id, trigger: queued.append((user_id, trigger))
    )
    task = services.task_create(user=syncing, name="Call Ana")
    for i in range(5):
        with django_capture_on_commit_callbacks(execute=True):
            services.task_update(task=task, details=f"edit {i}")
    assert queued == [(syncing.pk, "push")]
    assert SyncState.objects.get(user=syncing).push_queued is True


def test_nothing_is_queued_before_the_transaction_commits(
    syncing, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr(
        jobs_api, "enqueue_sync", lambda *, user_id, trigger: queued.append(trigger)
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.task_create(user=syncing, name="Call Ana")
    assert queued == [] and len(callbacks) == 1
    callbacks[0]()
    assert queued == ["push"]


def test_a_run_clears_the_queue_flag_so_the_next_edit_queues_again(
    syncing, run, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr(
        jobs_api, "enqueue_sync", lambda *, user_id, trigger: queued.append(trigger)
    )
    task = services.task_create(user=syncing, name="Call Ana")
    with django_capture_on_commit_callbacks(execute=True):
        services.task_update(task=task, details="one")
    run("push")
    with django_capture_on_commit_callbacks(execute=True):
        services.task_update(task=task, details="two")
    assert queued == ["push", "push"]


# A change or a worker arriving while a run goes on: tests/failure/test_rerun_after_a_run.py (R5,
# provoked for real on PostgreSQL).
