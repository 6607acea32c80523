"""The rep's task rows (R4, R14), rendered by ``{% task_rows %}``: every state of a row from the
page's own query, hostile names escaped wherever they appear, labels in the rep's language."""

from datetime import UTC, date, datetime

import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tasksync.models import OutboundChange, TaskLink
from tests.factories import ReminderTaskFactory, SalesforceConnectionFactory, UserFactory

INSTANT = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
TODAY = date(2026, 11, 28)
HOSTILE = "<img src=x onerror=alert(1)> \"quoted\" & 'single'"


def _rep(**kwargs):
    user = UserFactory(time_zone="UTC", **kwargs)
    SalesforceConnectionFactory(user=user, instance_url="https://acme.my.salesforce.com")
    return user


def _task(user, i, **kwargs):
    """One of six kinds of row: unsynced, synced, creating, failed link, pending and failed
    outbox rows; high priority, completed and Who/What names on some."""
    task = ReminderTaskFactory(
        user=user,
        name=kwargs.pop("name", f"Task {i}"),
        due_date=TODAY,
        priority="high" if i % 4 == 0 else "normal",
        related_who="Ana Ruiz" if i % 2 else "",
        related_what="Acme Corp" if i % 3 else "",
        **kwargs,
    )
    kind = i % 6
    if kind in (1, 2, 3):
        state = {1: "synced", 2: "creating", 3: "failed"}[kind]
        TaskLink.objects.create(
            task=task,
            user=user,
            org_id="00D1",
            sf_user_id="0051",
            sf_id=f"00T{i:015d}" if state != "creating" else None,
            state=state,
        )
    if kind in (4, 5):
        OutboundChange.objects.create(
            task=task,
            user=user,
            operation="update",
            state="pending" if kind == 4 else "failed",
            last_error="Subject refused" if kind == 5 else "",
        )
    return task


def _queries(client, name):
    with time_machine.travel(INSTANT, tick=False), CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(name))
    assert response.status_code == 200
    return len(queries), response.content.decode()


def test_every_kind_of_row_costs_no_query_of_its_own(client, db):
    # R14: the badge, the link to Salesforce and the names come from the page's own query; the
    # columns a row reads are all loaded (a deferred one would cost a query per row).
    one, many = _rep(), _rep()
    _task(one, 1)
    for i in range(36):
        _task(many, i)
    for name in ("command_center", "task_list"):
        client.force_login(one)
        few, _ = _queries(client, name)
        client.force_login(many)
        count, html = _queries(client, name)
        assert count == few, name
        assert html.count('data-task-id="') == 36
        for badge in ("synced", "pending", "failed"):
            assert f'class="badge {badge}"' in html
        assert html.count('class="sf-link"') == 12  # synced and failed links: 6 each
        assert "Ana Ruiz · Acme Corp" in html


def test_a_hostile_task_name_is_escaped_wherever_the_row_shows_it(client, db):
    # R14: the name is shown three times (the link, the check's label, "Open … in Salesforce").
    rep = _rep()
    _task(rep, 1, name=HOSTILE)
    client.force_login(rep)
    for name in ("command_center", "task_list"):
        _, html = _queries(client, name)
        assert "<img" not in html
        escaped = "&lt;img src=x onerror=alert(1)&gt; &quot;quoted&quot; &amp; &#x27;single&#x27;"
        assert html.count(escaped) == 3, name


def test_a_failed_change_carries_salesforces_message_escaped(client, db):
    rep = _rep()
    task = _task(rep, 5)
    OutboundChange.objects.filter(task=task).update(last_error='Refused: <b>"Subject"</b>')
    client.force_login(rep)
    _, html = _queries(client, "task_list")
    shown = "Refused: &lt;b&gt;&quot;Subject&quot;&lt;/b&gt;"
    assert f'class="badge failed" title="{shown}">Not synced<span' in html
    assert f'<span class="visually-hidden">: {shown}</span>' in html


def test_the_rows_speak_the_reps_language(client, db):
    # The check button is an action ("Completar"), not the status ("Completada").
    rep = _rep(language="es")
    _task(rep, 1, name="Llamar a Ana")
    done = _task(rep, 7, name="Enviar oferta", status="complete")
    assert done.status == "complete"
    client.force_login(rep)
    _, html = _queries(client, "task_list")
    assert 'title="Completar" aria-label="Completar Llamar a Ana"' in html
    assert 'title="Reabrir" aria-label="Reabrir Enviar oferta"' in html
    assert 'aria-label="Abrir Llamar a Ana en Salesforce">Abrir en Salesforce</a>' in html
    assert 'title="Nombre y Relacionado con en Salesforce"' in html
    assert ">Sincronizada</span>" in html and "sáb 28 Nov 2026" in html


def test_a_page_of_the_task_list_is_read_in_order_from_an_index(db):
    # R14: the task list's page of 100 (of a rep's 10,000 tasks) comes from the index in the
    # list's own order, not from sorting every live task of the rep for each page.
    from tasksync.selectors import task_list_for

    rep = _rep()
    _task(rep, 1)
    sql, params = task_list_for(user=rep)[:100].query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for method in ("seqscan", "bitmapscan", "sort"):  # as with a big table
                cursor.execute(f"SET LOCAL enable_{method} = off")
            cursor.execute("EXPLAIN " + sql, params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert "task_user_live_order" in plan and "Sort" not in plan, plan
        else:  # SQLite puts NULLs first in an index: it sorts, but only the rep's live tasks
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            plan = "\n".join(str(row[-1]) for row in cursor.fetchall())
            assert "USING INDEX task_user_live_order" in plan, plan
