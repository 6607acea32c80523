"""Retention of the sync log (R14): runs and events older than SYNC_LOG_RETENTION_DAYS go.

What an operator still has to act on stays, with its context: a run that an unresolved conflict
points to (conflict.run is SET_NULL, so deleting the run would silently cut the conflict from the
run that found it), and a run holding the failed event of a task whose change still waits in the
outbox as failed (R11). Outbox rows and unresolved conflicts themselves are never touched; resolved
conflicts past the retention go with the log.

Called daily by a django-q2 schedule (migration 0004). Safe to run twice: it only deletes rows
past a cutoff, so a second run finds nothing more to delete.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from tasksync.models import OutboxState, SyncConflict, SyncEvent, SyncRun

logger = logging.getLogger(__name__)

BATCH = 2000  # short transactions: SQLite holds one writer at a time


def prune_sync_logs(*, now=None) -> dict:
    now = now or timezone.now()
    cutoff = now - timedelta(days=getattr(settings, "SYNC_LOG_RETENTION_DAYS", 31))
    kept = _kept_run_ids()
    events = _delete_in_batches(
        SyncEvent.objects.filter(created_at__lt=cutoff)
        .exclude(run_id__in=kept)
        .exclude(ok=False, task__outbound__state=OutboxState.FAILED)
    )
    runs = _delete_in_batches(SyncRun.objects.filter(started_at__lt=cutoff).exclude(pk__in=kept))
    conflicts = _delete_in_batches(
        SyncConflict.objects.filter(resolved_at__isnull=False, resolved_at__lt=cutoff)
    )
    result = {
        "cutoff": cutoff.isoformat(),
        "runs": runs,
        "events": events,
        "conflicts": conflicts,
        "kept_runs": len(kept),
    }
    logger.info("pruned the sync log: %s", result)
    return result


def _kept_run_ids() -> set[int]:
    open_conflicts = SyncConflict.objects.filter(resolved_at__isnull=True, run__isnull=False)
    failures = SyncEvent.objects.filter(
        ok=False, run__isnull=False, task__outbound__state=OutboxState.FAILED
    )
    return set(open_conflicts.values_list("run_id", flat=True)) | set(
        failures.values_list("run_id", flat=True)
    )


def _delete_in_batches(queryset) -> int:
    """Delete by primary key in batches; returns how many rows of the queryset's model went."""
    model = queryset.model
    total = 0
    while True:
        ids = list(queryset.values_list("pk", flat=True)[:BATCH])
        if not ids:
            return total
        _, per_model = model.objects.filter(pk__in=ids).delete()
        total += per_model.get(model._meta.label, 0)
