"""R13, R14: the Sync health page: users by state, runs of the last 24 hours, API usage."""

import re
from datetime import UTC, timedelta

from django.urls import reverse
from django.utils import timezone

from accounts.models import SalesforceOrg
from tasksync.admin.selectors import runs_by_hour
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


def _chart(html):
    start = html.index('<svg id="runs-chart"')
    return html[start : html.index("</svg>", start)]


def test_it_draws_runs_and_failures_of_the_last_24_hours_as_hourly_bars(admin_client, user):
    # R14: a server-rendered SVG chart, one bar per hour, failures in their own colour.
    _runs(user, hours_ago=0, n=4)
    _runs(user, hours_ago=0, outcome="failed")
    _runs(user, hours_ago=5, outcome="partial", n=2)
    _runs(user, hours_ago=30, n=7)  # outside the window
    hours = runs_by_hour()
    assert len(hours) == 24
    assert (hours[-1].runs, hours[-1].failures) == (5, 1)
    assert (hours[-6].runs, hours[-6].failures) == (2, 2)
    assert hours[-1].hour == timezone.now().astimezone(UTC).replace(
        minute=0, second=0, microsecond=0
    )
    html = admin_client.get(HEALTH).content.decode()
    svg = _chart(html)
    assert svg.count('class="runs"') == 24 and svg.count('class="failures"') == 2
    # The template draws it: the busiest hour is 120 px tall, the others in proportion.
    runs = [int(h) for h in re.findall(r'class="runs" width="22" height="(\d+)"', svg)]
    failures = [int(h) for h in re.findall(r'class="failures" width="22" height="(\d+)"', svg)]
    assert runs[-1] == 120 and runs[-6] == 48 and runs.count(0) == 22
    assert failures == [48, 24]
    offsets = [int(x) for x in re.findall(r'<g transform="translate\((\d+) 120\)', svg)]
    assert offsets == [26 * i for i in range(24)]
    assert "7 runs, 3 with failures" in html


def test_it_labels_every_hour_of_the_chart_in_utc(admin_client):
    # Issue 14: every one of the 24 bars has its hour under it, the last one the current hour.
    svg = _chart(admin_client.get(HEALTH).content.decode())
    labels = re.findall(r'<text class="hour"[^>]*>(\d\d)</text>', svg)
    now = timezone.now().astimezone(UTC)
    assert labels == [f"{(now - timedelta(hours=23 - i)).hour:02d}" for i in range(24)]


def test_it_keeps_the_chart_in_utc_whatever_the_time_zone(admin_client, settings):
    settings.TIME_ZONE = "Pacific/Auckland"
    svg = _chart(admin_client.get(HEALTH).content.decode())
    labels = re.findall(r'<text class="hour"[^>]*>(\d\d)</text>', svg)
    assert labels[-1] == f"{timezone.now().astimezone(UTC).hour:02d}"


def test_it_reads_the_health_page_in_a_bounded_number_of_queries(
    admin_client, user, django_assert_max_num_queries
):
    # Issue 16 B5: the page's reads do not grow with the log (one query per section).
    _runs(user, hours_ago=1, n=30)
    _runs(user, hours_ago=2, outcome="failed", n=30)
    with django_assert_max_num_queries(8):
        assert admin_client.get(HEALTH).status_code == 200


def test_it_links_its_rule_citations_to_the_rule_book(admin_client):
    html = admin_client.get(HEALTH).content.decode()
    rules = reverse("admin:tasksync_rule_book")
    assert f'href="{rules}#r13-api-budget"' in html
    assert f'href="{rules}#r14-what-users-and-admins-see"' in html


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


def test_it_says_how_each_orgs_changes_are_read(admin_client):
    # R19: the org's integration user's one pull, or each rep's own poll (and why).
    from tasksync.models import OrgFeed

    pulled = SalesforceOrg.objects.create(
        org_id="00D000000000001AAA", instance_url="https://a.my.salesforce.com"
    )
    refused = SalesforceOrg.objects.create(
        org_id="00D000000000002AAA", instance_url="https://b.my.salesforce.com"
    )
    SalesforceOrg.objects.create(
        org_id="00D000000000003AAA", instance_url="https://c.my.salesforce.com"
    )
    OrgFeed.objects.create(org_id=pulled.org_id, can_read_all=True, health="ok")
    OrgFeed.objects.create(org_id=refused.org_id, health="refused")
    html = admin_client.get(HEALTH).content.decode()
    cells = re.findall(r'<td class="org-feed">(.*?)</td>', html, re.S)
    text = [re.sub(r"<[^>]+>", "", c).strip() for c in cells]
    assert text == [
        "the integration user's one pull",
        "each rep's own poll (Integration user lacks a permission: reps poll on their own)",
        "each rep's own poll",
    ]
