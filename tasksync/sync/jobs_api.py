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
