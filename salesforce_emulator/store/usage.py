"""API usage, per org and minute, summed over a rolling 24 hours.

"Limit Info Header": https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_api_usage.htm
"API Request Limits and Allocations": https://developer.salesforce.com/docs/platform/salesforce-app-limits-cheatsheet/guide/salesforce-app-limits-platform-api.html
"""

from __future__ import annotations

from .tables import DAY_MS


class UsageMixin:
    def record_api_call(self, org_id: str, n: int = 1) -> None:
        minute = self.clock.now_ms() // 60_000 * 60_000
        self.x(
            "INSERT INTO api_usage VALUES (?,?,?) ON CONFLICT (org_id, minute_ms)"
            " DO UPDATE SET n = n + excluded.n",
            (org_id, minute, n),
        )

    def api_usage(self, org_id: str) -> int:
        since = self.clock.now_ms() - DAY_MS
        row = self.q1(
            "SELECT SUM(n) AS n FROM api_usage WHERE org_id = ? AND minute_ms > ?", (org_id, since)
        )
        return row["n"] or 0

    def set_api_usage(self, org_id: str, used: int) -> None:
        with self.tx():
            self.conn.execute("DELETE FROM api_usage WHERE org_id = ?", (org_id,))
            if used:
                self.record_api_call(org_id, used)
