"""``ids_in`` (tasksync.bulk.lookups): the sync's long id lists find exactly the rows Django's
``__in`` finds, on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from tasksync.bulk.lookups import ids_in
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    return [UserFactory(username=f"person{i}") for i in range(5)]


@pytest.mark.parametrize(
    ("field", "pick"),
    [
        ("pk", lambda us: [us[3].pk, us[0].pk, us[3].pk, None]),  # ints, a repeat, a NULL
        ("username", lambda us: ["person1", "nobody", "person4", "person1"]),  # text ids
        ("pk", lambda us: [u.pk for u in us] + [10**9]),  # one that matches nothing
    ],
    ids=["ints", "texts", "all-and-a-stranger"],
)
def test_it_finds_what_djangos_in_finds(people, field, pick):
    values = pick(people)
    wanted = set(User.objects.filter(**{f"{field}__in": values}).values_list("pk", flat=True))
    found = set(User.objects.filter(ids_in(field, values)).values_list("pk", flat=True))
    assert found == wanted and found


def test_no_ids_find_nothing_without_a_query(people):
    with CaptureQueriesContext(connection) as queries:
        assert list(User.objects.filter(ids_in("pk", [None]))) == []
    assert queries.captured_queries == []


def test_values_of_mixed_kinds_find_their_rows(people):
    found = User.objects.filter(ids_in("pk", [people[0].pk, str(people[1].pk)]))
    assert {u.pk for u in found} == {people[0].pk, people[1].pk}


def test_postgresql_gets_one_array_parameter_and_sqlite_a_placeholder_an_id(people):
    # Issue 16: psycopg parses and binds every placeholder; a thousand ids are one array there.
    ids = [u.pk for u in people]
    with CaptureQueriesContext(connection) as queries:
        assert len(list(User.objects.filter(ids_in("pk", ids)))) == len(ids)
        assert len(list(User.objects.filter(ids_in("username", ["person0", "person2"])))) == 2
    by_id, by_name = (q["sql"] for q in queries.captured_queries)
    if connection.vendor == "postgresql":
        assert "= ANY(" in by_id and "bigint[]" in by_id and by_id.count("%s") <= 1
        assert "= ANY(" in by_name and "text[]" in by_name
    else:
        assert " IN (" in by_id and "ANY" not in by_id
