"""R13, R14: the Sync health page: users by state, runs of the last 24 hours, API usage."""

import re
from datetime import UTC, timedelta

from django.urls import reverse
from django.utils import timezone

from accounts.models import SalesforceOrg
from tasksync.admin_views import runs_by_hour
from tasksync.models import SyncRun, SyncState
from tests.factories import UserFactory

HEALTH = reverse("admin:tasksync_sync_health")


def _runs(user, *, hours_ago, outcome="success", n=1):
    started = timezone.now() - timedelta(hours=hours_ago)
    for _ in range(n):
        SyncRun.objects.create(user=user, trigger="poll", started_at=started, outcome=outcome)


def test_it_is_linked_from_the_admin_index(admin_client):
    assert f'href="{HEALTH}"' in admin_client.get(reverse("admin:index")).content.decode()


def test_it_counts_users_by_state(admin_client):
    # R14: off / importing / on / paused with each reason.
    for i, (enabled, phase, reason) in enumerate(
        [
            (False, "off", ""),
            (True, "on", ""),
            (True, "on", ""),
            (True, "paused", "reconnect"),
            (True, "paused", "over_limit"),
        ]
    ):
        SyncState.objects.create(
            user=UserFactory(username=f"u{i}"), enabled=enabled, phase=phase, pause_reason=reason
        )
    html = admin_client.get(HEALTH).content.decode()
    table = html[html.index('id="sync-states"') : html.index("</table>", html.index("sync-states"))]
    rows = dict(re.findall(r">([^<>]+)</a></td><td>(\d+)</td>", table))
    assert rows == {
        "Off": "1",
        "Importing": "0",
        "On": "2",
        "Paused: Reconnect Salesforce": "1",
        "Paused: Salesforce API limit reached": "1",
        "Paused: Paused by staff": "0",
    }


def test_it_draws_runs_and_failures_of_the_last_24_hours_as_hourly_bars(admin_client, user):
    # R14: a server-rendered SVG chart, one bar per hour, failures in their own colour.
    _runs(user, hours_ago=0, n=4)
    _runs(user, hours_ago=0, outcome="failed")
    _runs(user, hours_ago=5, outcome="partial", n=2)
    _runs(user, hours_ago=30, n=7)  # outside the window
    bars = runs_by_hour()
    assert len(bars) == 24
    assert (bars[-1].runs, bars[-1].failures) == (5, 1)
    assert (bars[-6].runs, bars[-6].failures) == (2, 2)
    assert bars[-1].runs_height == 120 and bars[-6].runs_height == 48
    assert bars[-1].hour == timezone.now().astimezone(UTC).replace(
        minute=0, second=0, microsecond=0
    )
    html = admin_client.get(HEALTH).content.decode()
    start = html.index('<svg id="runs-chart"')
    svg = html[start : html.index("</svg>", start)]
    assert svg.count('class="runs"') == 24 and svg.count('class="failures"') == 2
    assert "7 runs, 3 with failures" in html


def test_it_shows_each_orgs_api_usage_against_its_daily_limit(admin_client, sf_connection):
    # R13: usage per org, and whether tasksync's budget share is reached.
    SalesforceOrg.objects.filter(pk=sf_connection.org.pk).update(api_used=9000, api_max=15000)
    html = admin_client.get(HEALTH).content.decode()
    table = html[html.index('id="org-usage"') :]
    assert sf_connection.org.org_id in table
    assert "9000" in table and "15000" in table and "60%" in table
    assert "over budget" in table


def test_it_is_for_staff_who_may_view_sync_runs(staff_with, client, user):
    assert staff_with("tasksync.view_syncrun").get(HEALTH).status_code == 200
    nobody = staff_with(username="nobody")
    assert nobody.get(HEALTH).status_code == 403
    assert f'href="{HEALTH}"' not in nobody.get(reverse("admin:index")).content.decode()
    client.force_login(user)
    response = client.get(HEALTH)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
