"""GET /limits ("List Org Limits", REST API Developer Guide)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..core import Emulator

# The documented set of org limits a client reads ("List Org Limits", REST API Developer Guide,
# https://developer.salesforce.com/docs/platform/api-rest/guide/dome-limits.html), with the
# allocations of an Enterprise-like org. The emulator tracks DailyApiRequests (the rolling
# 24 h usage) and DataStorageMB (2 KB a task, as Salesforce counts most records); it serves no
# Bulk, Streaming, email or report API, so the rest stay at their full allocation.
_STATIC_LIMITS = {
    "ConcurrentAsyncGetReportInstances": 200,
    "ConcurrentSyncReportRuns": 20,
    "DailyAsyncApexExecutions": 250000,
    "DailyAsyncApexTests": 500,
    "DailyBulkApiBatches": 15000,
    "DailyBulkV2QueryFileStorageMB": 976562,
    "DailyBulkV2QueryJobs": 10000,
    "DailyDurableGenericStreamingApiEvents": 10000,
    "DailyDurableStreamingApiEvents": 10000,
    "DailyGenericStreamingApiEvents": 10000,
    "DailyStandardVolumePlatformEvents": 10000,
    "DailyStreamingApiEvents": 10000,
    "DailyWorkflowEmails": 390,
    "DurableStreamingApiConcurrentClients": 2000,
    "FileStorageMB": 10240,
    "HourlyAsyncReportRuns": 1200,
    "HourlyDashboardRefreshes": 200,
    "HourlyDashboardResults": 5000,
    "HourlyDashboardStatuses": 999999999,
    "HourlyLongTermIdMapping": 100000,
    "HourlyODataCallout": 10000,
    "HourlyPublishedPlatformEvents": 50000,
    "HourlyPublishedStandardVolumePlatformEvents": 1000,
    "HourlyShortTermIdMapping": 100000,
    "HourlySyncReportRuns": 500,
    "HourlyTimeBasedWorkflow": 50,
    "MassEmail": 10,
    "SingleEmail": 15,
    "StreamingApiConcurrentClients": 2000,
}
DATA_STORAGE_MB = 10240
RECORD_STORAGE_KB = 2


def limits(emu: Emulator, user: dict) -> dict:
    org = emu.store.org(user["org_id"])
    used = emu.store.api_usage(org["id"])
    out = {name: {"Max": n, "Remaining": n} for name, n in _STATIC_LIMITS.items()}
    out["DailyApiRequests"] = {
        "Max": org["daily_api_limit"],
        "Remaining": max(0, org["daily_api_limit"] - used),
    }
    stored = emu.store.q1("SELECT COUNT(*) AS n FROM tasks WHERE org_id = ?", (org["id"],))[
        "n"
    ]  # the recycle bin counts toward storage too
    used_mb = -(-stored * RECORD_STORAGE_KB // 1024)  # ceiling
    out["DataStorageMB"] = {"Max": DATA_STORAGE_MB, "Remaining": max(0, DATA_STORAGE_MB - used_mb)}
    return dict(sorted(out.items()))
