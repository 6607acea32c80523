"""Read-side queries for pages: what a user sees, in their own time zone (R4, R16). One module
per page: the task pages, the rep's banner and notices, the settings page's sync part."""

from tasksync.selectors.rep_status import (
    NOTICES_SHOWN,
    RepStatus,
    Trouble,
    rep_status_for,
    staff_pause_entry,
    staff_pauser_for,
)
from tasksync.selectors.sync_status import (
    FirstSyncSummary,
    SyncAvailability,
    SyncStatus,
    first_sync_summary_for,
    sync_availability,
    sync_status_for,
)
from tasksync.selectors.tasks import (
    TASK_VIEWS,
    CommandCenter,
    command_center_for,
    task_list_for,
    user_today,
)

__all__ = [
    "NOTICES_SHOWN",
    "TASK_VIEWS",
    "CommandCenter",
    "FirstSyncSummary",
    "RepStatus",
    "SyncAvailability",
    "SyncStatus",
    "Trouble",
    "command_center_for",
    "first_sync_summary_for",
    "rep_status_for",
    "staff_pause_entry",
    "staff_pauser_for",
    "sync_availability",
    "sync_status_for",
    "task_list_for",
    "user_today",
]
