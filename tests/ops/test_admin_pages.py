"""Every admin page renders, and the audit log cannot be edited by hand (R14)."""

import pytest
from django.contrib import admin
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from tasksync.models import (
    OutboundChange,
    ReminderTask,
    SyncConflict,
    SyncEvent,
    SyncRun,
    SyncState,
    TaskLink,
)

REGISTERED = sorted(admin.site._registry, key=lambda model: model._meta.label)


def _url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def everything(history):
    """``history`` and a row of the models it does not fill: the org change stream (R19), a
    django-q2 schedule and a failed sign-in (R17's throttling records it)."""
    from django.apps import apps
    from django.test import Client

    # Models other engineers are adding (R19's streams and feeds): a row each, when present.
    for label, values in (
        ("tasksync.StreamState", {"org_id": "00D000000000001AAA", "message": "<b>no</b>"}),
        ("tasksync.OrgFeed", {"org_id": "00D000000000002AAA", "message": "<b>no</b>"}),
    ):
        try:
            apps.get_model(label).objects.create(**values)
        except LookupError:
            continue
    # django-q2's schedules come from migrations 0003 and 0004; a transactional test run before
    # this one flushes them, so the Schedule list gets one of its own.
    from django_q.models import Schedule

    Schedule.objects.create(
        name="admin pages test", func="tasksync.sync.retention.prune_sync_logs", repeats=-1
    )
    from axes.models import AccessFailureLog

    Client().post(reverse("admin:login"), {"username": "root", "password": "wrong"})
    AccessFailureLog.objects.create(
        username="root", ip_address="127.0.0.1", user_agent="test", path_info="/admin/login/"
    )
    return history


@pytest.mark.parametrize("model", REGISTERED, ids=lambda model: model._meta.label)
def test_it_renders_the_list_search_and_change_page_of_every_registered_model(
    model, everything, admin_client
):
    # R14: every admin list and change page renders, with at least one object.
    request = RequestFactory().get("/admin/")
    request.user = User.objects.get(username="root")
    first = admin.site._registry[model].get_queryset(request).order_by("pk").first()
    assert first is not None, f"no {model._meta.label} to show"
    response = admin_client.get(_url(model, "changelist"))
    assert response.status_code == 200
    assert response.context["cl"].result_count >= 1
    assert admin_client.get(_url(model, "changelist"), {"q": "x"}).status_code == 200
    assert admin_client.get(_url(model, "change", first.pk)).status_code == 200


@pytest.mark.parametrize(
    "model", [SyncRun, SyncEvent, SyncConflict, TaskLink, OutboundChange, SyncState]
)
def test_it_keeps_the_sync_log_read_only(model, history, admin_client):
    # R14: audit rows can be viewed, never added, changed or deleted by hand.
    first = model.objects.order_by("pk").first()
    assert admin_client.get(_url(model, "add")).status_code == 403
    assert admin_client.post(_url(model, "change", first.pk), {}).status_code == 403
    assert admin_client.post(_url(model, "delete", first.pk), {"post": "yes"}).status_code == 403
    page = admin_client.get(_url(model, "change", first.pk)).content.decode()
    assert 'name="_save"' not in page
    assert model.objects.filter(pk=first.pk).exists()


def test_it_lists_a_runs_events_on_its_page(history, admin_client):
    # R14: who, trigger, counts, and the per-record events of the run.
    run = SyncRun.objects.get(failed__gt=0)
    html = admin_client.get(_url(SyncRun, "change", run.pk)).content.decode()
    event = SyncEvent.objects.filter(run=run, ok=False).get()
    assert "No forbidden" in html
    # The rejected create never got a Salesforce id: the page names the task.
    assert (event.sf_id, event.task.name) == ("", "A forbidden task")
    assert "A forbidden task" in html
    listing = admin_client.get(_url(SyncRun, "changelist"), {"outcome__exact": "partial"})
    assert listing.context["cl"].result_count == 1


@pytest.mark.parametrize("term", ["username", "email", "sf_user_id", "org_id"])
def test_it_finds_runs_by_user_and_salesforce_ids(history, admin_client, sf_connection, term):
    value = {
        "username": history.username,
        "email": history.email,
        "sf_user_id": sf_connection.sf_user_id,
        "org_id": sf_connection.org.org_id,
    }[term]
    response = admin_client.get(_url(SyncRun, "changelist"), {"q": value})
    assert response.context["cl"].result_count == SyncRun.objects.count()
    assert (
        admin_client.get(_url(SyncRun, "changelist"), {"q": "nobody"}).context["cl"].result_count
        == 0
    )


def test_it_shows_a_tasks_history_with_old_and_new_values_and_a_salesforce_link(
    history, admin_client, sf_connection
):
    # R14: per-task history, reachable from the task and from its link.
    conflict = SyncConflict.objects.get()
    task, link = conflict.task, TaskLink.objects.get(task=conflict.task)
    for page in (_url(type(task), "change", task.pk), _url(TaskLink, "change", link.pk)):
        html = admin_client.get(page).content.decode()
        assert f"?task__id__exact={task.pk}" in html
        assert f'href="{sf_connection.instance_url}/{link.sf_id}"' in html
    events = admin_client.get(_url(SyncEvent, "changelist"), {"task__id__exact": task.pk})
    html = events.content.decode()
    assert events.context["cl"].result_count == SyncEvent.objects.filter(task=task).count() >= 3
    assert "details: Local value → Salesforce value" in html
    assert f'href="{sf_connection.instance_url}/{link.sf_id}"' in html


def test_it_shows_both_values_times_and_the_winner_of_a_conflict(history, admin_client):
    # R8: field, both values, both times, the winner.
    html = admin_client.get(_url(SyncConflict, "changelist")).content.decode()
    for text in ("Local value", "Salesforce value", "details", "Salesforce"):
        assert text in html
    unresolved = admin_client.get(_url(SyncConflict, "changelist"), {"resolved": "no"})
    assert unresolved.context["cl"].result_count == 1


def test_it_shows_a_users_sync_state_with_failures_and_connection_health(
    history, admin_client, sf_connection
):
    # R14: state, last success, needs reconnect, over limit, failed items.
    from accounts.services import connection_mark_needs_reconnect

    connection_mark_needs_reconnect(connection=sf_connection, reason="revoked")
    response = admin_client.get(_url(SyncState, "changelist"))
    row = response.context["cl"].result_list[0]
    model_admin = admin.site._registry[SyncState]
    assert model_admin.failed_items(row) != 0
    assert model_admin.needs_reconnect(row) is True
    assert model_admin.over_limit(row) is False
    html = response.content.decode()
    assert "?user__id__exact=" in html and "state__exact=failed" in html
    filtered = admin_client.get(_url(SyncState, "changelist"), {"connection": "needs_reconnect"})
    assert filtered.context["cl"].result_count == 1


# --- Issue 14 item 12 and issue 16 B5: admin polish and admin pages that stay fast ---------


def _events(run, task, n, *, message=""):
    SyncEvent.objects.bulk_create(
        SyncEvent(
            run=run,
            user=run.user,
            task=task,
            sf_id=f"00T{i:015d}",
            direction="pull",
            action="update",
            changes={"details": [f"old {i}", f"new {i}"]},
            message=message,
        )
        for i in range(n)
    )


def _a_run_with_events(user, n, **kwargs):
    from django.utils import timezone

    from tasksync.services import tasks as task_services

    task = task_services.task_create(user=user, name="Task <b>of</b> the run")
    run = SyncRun.objects.create(
        user=user, trigger="first_sync", started_at=timezone.now(), outcome="success"
    )
    _events(run, task, n, **kwargs)
    return run, task


def test_it_names_the_admin_tasksync(admin_client):
    html = admin_client.get(reverse("admin:index")).content.decode()
    assert "<title>Sync, tasks and users | tasksync admin</title>" in html
    assert "tasksync administration" in html
    assert "Django administration" not in html


def test_it_pages_a_runs_events_instead_of_inlining_them(admin_client, user):
    # Issue 16 B5: a first import's run has one event per task; its page shows 100 at a time.
    run, _ = _a_run_with_events(user, 250)
    url = _url(SyncRun, "change", run.pk)
    first = admin_client.get(url)
    html = first.content.decode()
    assert first.context["events_page"].paginator.count == 250
    assert html.count('class="sync-events"') == 1
    assert html[html.index('class="sync-events"') :].count("<tr class=") == 100
    assert "page 1 of 3" in html and "?events_page=2#run-events" in html
    assert f"?run__id__exact={run.pk}" in html
    last = admin_client.get(url, {"events_page": 3}).content.decode()
    assert last[last.index('class="sync-events"') :].count("<tr class=") == 50
    assert "?events_page=2#run-events" in last and "events_page=4" not in last
    assert admin_client.get(url, {"events_page": "junk"}).status_code == 200


@pytest.mark.parametrize("events", [5, 300])
def test_it_renders_a_run_page_in_the_same_number_of_queries_whatever_its_size(
    events, admin_client, user, django_assert_max_num_queries
):
    # Issue 16 B5: no query per event (task, user's connection and run come with the page).
    run, _ = _a_run_with_events(user, events)
    with django_assert_max_num_queries(10):
        assert admin_client.get(_url(SyncRun, "change", run.pk)).status_code == 200


@pytest.mark.parametrize(
    "model", [SyncRun, SyncEvent, SyncConflict, TaskLink, OutboundChange, SyncState]
)
def test_it_lists_the_sync_log_in_a_bounded_number_of_queries(
    model, history, admin_client, django_assert_max_num_queries
):
    # Issue 16 B5: one page of a log list is a fixed set of queries, whatever the rows show.
    run = SyncRun.objects.filter(user=history).first()
    _events(run, SyncEvent.objects.filter(task__isnull=False).first().task, 150)
    with django_assert_max_num_queries(10):
        response = admin_client.get(_url(model, "changelist"))
    assert response.status_code == 200 and response.context["cl"].result_count >= 1


@pytest.mark.parametrize("model", [SyncRun, SyncEvent, SyncConflict, ReminderTask])
def test_it_lists_without_reading_the_whole_table(model, history, admin_client):
    # Issue 16 B5: no date hierarchy (SELECT DISTINCT over every row's date), no filter built
    # from the table's values, and one COUNT (of the filtered rows), not two.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        admin_client.get(_url(model, "changelist"))
    sql = [q["sql"].upper() for q in captured.captured_queries]
    assert not [q for q in sql if "DISTINCT" in q]
    assert len([q for q in sql if "COUNT(" in q]) == 1


def test_it_shows_a_tasks_sync_events_on_its_history_page(history, admin_client):
    # R14: the task's "History" (the admin's own button) shows what the sync did to it.
    conflict = SyncConflict.objects.get()
    task = conflict.task
    response = admin_client.get(_url(ReminderTask, "history", task.pk))
    html = response.content.decode()
    assert response.status_code == 200
    section = html[html.index('id="sync-history"') :]
    assert section.count("<tr class=") == SyncEvent.objects.filter(task=task).count() >= 3
    assert "details: Local value → Salesforce value" in section
    assert f"?task__id__exact={task.pk}" in section
    assert "Changes made in the admin" in html
    rules = reverse("admin:tasksync_rule_book")
    assert f'<a href="{rules}#r14-what-users-and-admins-see">R14. What users' in section


def test_it_shows_field_change_times_as_a_table(user, admin_client):
    # R8: when each field was last changed here, readable, not the stored JSON.
    from tasksync.services import tasks as task_services

    task = task_services.task_create(user=user, name="Call Ana", details="Agenda")
    html = admin_client.get(_url(ReminderTask, "change", task.pk)).content.decode()
    table = html[html.index('class="field-change-times"') :]
    table = table[: table.index("</table>")]
    assert "<td>name</td>" in table and "<td>details</td>" in table
    assert '{"' not in html[html.index("field-change-times") - 300 :][:2000]
    assert str(task.field_changed_at["name"])[:10] not in table  # not the raw ISO string
    # A key the model no longer has, or a value that is not a time, is shown as it is.
    ReminderTask.objects.filter(pk=task.pk).update(
        field_changed_at={**task.field_changed_at, "gone": "<b>x</b>", "odd": "2026-13-45T00:00"}
    )
    html = admin_client.get(_url(ReminderTask, "change", task.pk)).content.decode()
    assert "<td>gone</td><td>&lt;b&gt;x&lt;/b&gt;</td>" in html
    assert "<td>odd</td><td>2026-13-45T00:00</td>" in html


def test_it_escapes_what_records_say_on_every_log_page(admin_client, user, sf_connection):
    # R17: names, messages and values from users and Salesforce are text, never markup.
    run, task = _a_run_with_events(user, 3, message="<script>alert(1)</script>")
    SyncEvent.objects.filter(run=run).update(changes={"name": ["<i>old</i>", "<b>new</b>"]})
    SyncConflict.objects.create(
        user=user,
        task=task,
        run=run,
        field="details",
        local_value="<img src=x onerror=alert(1)>",
        remote_value="<b>there</b>",
        winner="salesforce",
    )
    pages = [
        _url(SyncRun, "change", run.pk),
        _url(SyncEvent, "changelist"),
        _url(SyncConflict, "changelist"),
        _url(ReminderTask, "history", task.pk),
    ]
    for page in pages:
        html = admin_client.get(page).content.decode()
        for raw in ("<script>alert(1)", "<b>of</b>", "<b>new</b>", "<img src=x", "<b>there"):
            assert raw not in html, (page, raw)
    html = admin_client.get(_url(SyncEvent, "changelist")).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Task &lt;b&gt;of&lt;/b&gt; the run" in html


def test_it_cuts_long_values_in_lists_and_keeps_them_in_a_tooltip(admin_client, user):
    # Issue 14: the event and conflict lists fit 1280 px; the whole value is one hover away.
    long = "word " * 60
    run, _ = _a_run_with_events(user, 1, message=long)
    html = admin_client.get(_url(SyncEvent, "changelist")).content.decode()
    assert f'title="{long}"' in html
    assert long not in html.replace(f'title="{long}"', "")


def test_it_serves_the_rule_book_and_links_rule_citations_to_it(admin_client):
    # Issue 13/14: the admin's rule citations open docs/rules.md, rendered as a page.
    rules = reverse("admin:tasksync_rule_book")
    page = admin_client.get(rules).content.decode()
    assert '<h2 id="r8-conflicts">R8. Conflicts</h2>' in page
    assert '<h2 id="r14-what-users-and-admins-see">' in page
    listing = admin_client.get(_url(SyncConflict, "changelist")).content.decode()
    assert f'<a href="{rules}#r8-conflicts">R8. Conflicts</a>' in listing
    assert f'href="{rules}"' in admin_client.get(reverse("admin:index")).content.decode()


def test_it_renders_the_rule_book_with_raw_html_escaped(admin_client, settings, tmp_path):
    book = tmp_path / "rules.md"
    book.write_text("# Rules\n\n## R1. Field mapping\n\n<script>alert(1)</script> **bold**\n")
    settings.TASKSYNC_RULE_BOOK = str(book)
    page = admin_client.get(reverse("admin:tasksync_rule_book")).content.decode()
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
    assert "<strong>bold</strong>" in page
    settings.TASKSYNC_RULE_BOOK = str(tmp_path / "missing.md")
    assert admin_client.get(reverse("admin:tasksync_rule_book")).status_code == 404


def test_it_shows_the_rule_book_to_staff_only(client, user, staff_with):
    rules = reverse("admin:tasksync_rule_book")
    assert staff_with().get(rules).status_code == 200
    client.force_login(user)
    assert client.get(rules).status_code == 302


@pytest.mark.parametrize("model", [SyncRun, SyncEvent, SyncConflict, TaskLink, SyncState])
@pytest.mark.parametrize("term", ["sf_user_id", "org_id", "record_id", "partial"])
def test_it_looks_a_pasted_salesforce_id_up_where_that_kind_of_id_lives(
    model, term, history, admin_client, sf_connection
):
    # Issue 16 B5: a whole id is one indexed lookup; the usual search stays for everything else.
    from tests.factories import UserFactory

    other = UserFactory(username="someone-else")
    other_run = SyncRun.objects.create(
        user=other, trigger="poll", started_at=SyncRun.objects.first().started_at
    )
    SyncEvent.objects.create(
        run=other_run, user=other, sf_id="00T000000000009AAA", direction="pull", action="update"
    )
    link = TaskLink.objects.filter(user=history, sf_id__isnull=False).exclude(sf_id="").first()
    value = {
        "sf_user_id": sf_connection.sf_user_id,
        "org_id": sf_connection.org.org_id,
        "record_id": link.sf_id,
        "partial": sf_connection.sf_user_id[:10],
    }[term]
    found = admin_client.get(_url(model, "changelist"), {"q": value}).context["cl"]
    rows = list(found.queryset)
    mine = model.objects.filter(user=history)
    if term == "record_id" and model in (SyncEvent, SyncConflict, TaskLink):
        assert rows and all(row.sf_id == link.sf_id for row in rows)
        assert len(rows) == mine.filter(sf_id=link.sf_id).count()
    elif term == "record_id":  # runs and states have no record id: the usual search, no match
        assert rows == []
    else:
        assert sorted(r.pk for r in rows) == sorted(mine.values_list("pk", flat=True))
    assert not [row for row in rows if row.user_id == other.pk]


@pytest.mark.parametrize("few", [500, 1], ids=["matches read by key", "too many to"])
@pytest.mark.parametrize("model", [SyncRun, SyncEvent, SyncConflict, TaskLink, SyncState])
def test_it_finds_by_words_what_djangos_own_search_finds(
    model, few, history, sf_connection, monkeypatch
):
    # Issue 16 B5: the cheaper search has the meaning of Django's over the same fields, whether
    # its matches are few enough to be read by their keys or not.
    link = TaskLink.objects.filter(user=history).exclude(sf_id="").first()
    model_admin = admin.site._registry[model]
    monkeypatch.setattr(model_admin, "few_matches", few)
    request = RequestFactory().get("/admin/")
    request.user = history  # the search reads no permission
    terms = [
        "Call",
        "forbidden task",
        '"A forbidden"',
        history.username[:3],
        history.email.split("@")[1],
        link.sf_id[:9],
        sf_connection.org.org_id[3:12],
        "Call nobody",
        "zzz",
    ]
    for term in terms:
        ours, _ = model_admin.get_search_results(request, model.objects.all(), term)
        django, _ = admin.ModelAdmin.get_search_results(
            model_admin, request, model.objects.all(), term
        )
        assert sorted(ours.values_list("pk", flat=True)) == sorted(
            django.distinct().values_list("pk", flat=True)
        ), term


def test_a_record_id_is_searched_as_it_is_written(history, admin_client):
    # A Salesforce id is case-sensitive: "…aB" and "…Ab" are two records. Where the database
    # compares case (PostgreSQL), a fragment of a record id matches as written; SQLite's LIKE
    # ignores case, and matches both.
    event = SyncEvent.objects.filter(user=history).exclude(sf_id="").first()
    fragment = event.sf_id[2:11]
    assert fragment != fragment.lower()
    url = _url(SyncEvent, "changelist")
    found = list(admin_client.get(url, {"q": fragment}).context["cl"].queryset)
    assert event in found
    other_case = list(admin_client.get(url, {"q": fragment.lower()}).context["cl"].queryset)
    assert (event in other_case) is (connection.vendor == "sqlite")


def test_a_search_costs_the_same_queries_whether_it_finds_rows_or_not(history, admin_client):
    # Issue 16 B5: the page's queries do not depend on what the search finds.
    url = _url(SyncEvent, "changelist")
    counts = []
    for term in ("forbidden", "zzz-no-such-thing"):
        with CaptureQueriesContext(connection) as queries:
            found = admin_client.get(url, {"q": term}).context["cl"].result_count
        counts.append((len(queries), found > 0))
    assert counts[0][1] and not counts[1][1]
    assert counts[0][0] == counts[1][0], counts
