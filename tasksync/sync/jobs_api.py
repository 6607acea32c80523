"""How the sync asks for background work: django-q2, with ids in and nothing else."""

from django_q.tasks import async_task


def enqueue_sync(*, user_id: int, trigger: str) -> None:
    async_task(
        "tasksync.jobs.sync_user",
        user_id,
        trigger,
        task_name=f"sync-{trigger}-{user_id}",
        group="tasksync-sync",
    )


def enqueue_syncs(*, user_ids: list[int], trigger: str) -> None:
    """One job for these users' runs, one after another (one user: ``enqueue_sync``)."""
    if len(user_ids) == 1:
        enqueue_sync(user_id=user_ids[0], trigger=trigger)
        return
    async_task(
        "tasksync.jobs.sync_users",
        list(user_ids),
        trigger,
        task_name=f"sync-{trigger}-{user_ids[0]}+{len(user_ids) - 1}",
        group="tasksync-sync",
    )


def enqueue_org_pull(*, org_id: str) -> None:
    """R19: one pull of the org's changes for all its reps."""
    async_task(
        "tasksync.jobs.org_pull",
        org_id,
        task_name=f"org-pull-{org_id}",
        group="tasksync-sync",
    )
