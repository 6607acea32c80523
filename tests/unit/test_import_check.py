"""The import's task check (issue 16) against ``full_clean``: fed the same odd values and the same
odd Salesforce records, both accept the same and reject the same, with the same messages. No
database: ``full_clean`` of a task without its user and uniqueness reads nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace

from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tasksync.models import ReminderTask, TaskPriority, TaskStatus
from tasksync.sync.import_check import RowCheck
from tasksync.sync.mapping import StatusMap
from tasksync.sync.pull import importing
from tasksync.sync.pull.importing import TaskRow, task_check


def _reference(row: TaskRow) -> dict | None:
    """What Django says: full_clean of the task, as the import validated it before issue 16."""
    task = ReminderTask(**row._asdict())
    try:
        task.full_clean(exclude=["user"], validate_unique=False)
    except ValidationError as exc:
        return exc.message_dict
    return None


def _ours(row: TaskRow) -> dict | None:
    error = task_check().errors(row)
    return None if error is None else error.message_dict


def _around(limit: int):
    """Lengths at and around a limit, where an off-by-one would show."""
    return st.sampled_from([0, 1, limit - 1, limit, limit + 1]).map(lambda n: "x" * n)


odd = st.one_of(
    st.none(),
    st.just(""),
    st.integers(-2, 2),
    st.booleans(),
    st.floats(allow_nan=False),
    st.just([]),
    st.just({}),
    st.just(b"bytes"),
    st.text(max_size=5),
)
text_of = lambda limit: st.one_of(odd, _around(limit), st.text(max_size=40))  # noqa: E731
choice_of = lambda choices: st.one_of(  # noqa: E731
    odd,
    st.sampled_from(list(choices.values) + list(choices)),
    st.sampled_from(["Open", " open", "open ", "COMPLETE", "Normal", "low"]),
)
# Dates and times as a model field can be handed them (Django's to_python raises TypeError,
# not a validation error, for a number: no caller does that).
odd_time = st.one_of(st.none(), st.just(""), st.text(max_size=5))
# Aware only: a naive time or a date makes Django warn (an error in this suite), and the import
# stamps completions with timezone.now().
moments = st.one_of(
    odd_time,
    st.datetimes(timezones=st.just(UTC)),
    st.sampled_from(["2026-12-01T10:00:00Z", "2026-12-01T10:00:00+01:00", "not a time"]),
)
days = st.one_of(
    odd_time,
    st.dates(),
    st.datetimes(),
    st.datetimes(timezones=st.just(UTC)),
    st.sampled_from(["2030-01-01", "2030-13-45", "tomorrow"]),
)
ODD = {
    "user_id": st.one_of(st.none(), st.integers(1, 5)),
    "name": text_of(255),
    "status": choice_of(TaskStatus),
    "priority": choice_of(TaskPriority),
    "due_date": days,
    "details": st.one_of(text_of(32_000), text_of(10)),
    "origin": st.sampled_from(["salesforce", "local", "elsewhere", "", None]),
    "completed_at": moments,
    "related_who": text_of(255),
    "related_what": text_of(255),
}
valid_rows = st.builds(
    TaskRow,
    user_id=st.integers(1, 5),
    name=st.text(min_size=1, max_size=255),
    status=st.sampled_from(TaskStatus.values),
    priority=st.sampled_from(TaskPriority.values),
    due_date=st.one_of(st.none(), st.dates()),
    details=st.text(max_size=50),
    origin=st.just("salesforce"),
    completed_at=st.one_of(st.none(), st.datetimes(timezones=st.just(UTC))),
    related_who=st.text(max_size=255),
    related_what=st.just(""),
)


@st.composite
def rows(draw):
    """A valid task with one to three of its values made odd (so each field's rule is tested
    while the others pass), or every value odd at once."""
    if draw(st.booleans()):
        return TaskRow(**{field: draw(values) for field, values in ODD.items()})
    row = draw(valid_rows)
    varied = draw(st.sets(st.sampled_from(TaskRow._fields), min_size=1, max_size=3))
    return row._replace(**{field: draw(ODD[field]) for field in sorted(varied)})


PLAIN = TaskRow(1, "Call Ann", "open", "normal", None, "", "salesforce", None, "", "")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows())
@example(PLAIN)
@example(PLAIN._replace(name=""))
@example(PLAIN._replace(name="x" * 256, details="d" * 32_001, status="Blocked"))
@example(PLAIN._replace(due_date=datetime(2030, 1, 1, 23, 30, tzinfo=UTC)))
@example(PLAIN._replace(status=TaskStatus.COMPLETE, priority=TaskPriority.HIGH))
def test_the_check_accepts_and_rejects_what_full_clean_does_with_its_messages(row):
    expected = _reference(row)
    if task_check().vouches(row):
        assert expected is None, f"vouched for a task full_clean rejects: {expected}"
    assert _ours(row) == expected


# What a Salesforce query may return (R11): nulls, overlong and odd text, unknown picklist
# values, dates with and without a time, nested Who/What with odd names.
records = st.fixed_dictionaries(
    {
        "Id": st.just("00T000000000001AAA"),
        "Subject": st.one_of(st.none(), st.text(max_size=300), _around(255)),
        "Status": st.one_of(
            st.none(), st.sampled_from(["Not Started", "Completed", "In Progress", "Blocked", ""])
        ),
        "Priority": st.one_of(st.none(), st.sampled_from(["Normal", "High", "Low", "Urgent", ""])),
        "ActivityDate": st.one_of(
            st.none(), st.just(""), st.dates().map(date.isoformat), st.just("2030-01-01T00:00:00Z")
        ),
        "Description": st.one_of(st.none(), st.text(max_size=300), _around(32_000)),
        "Who": st.one_of(
            st.none(),
            st.fixed_dictionaries({"Name": st.one_of(st.none(), _around(255), st.text())}),
        ),
        "What": st.one_of(st.none(), st.fixed_dictionaries({"Name": st.none()})),
    }
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records, st.sampled_from([StatusMap(), StatusMap(open="Open", complete="Done")]))
def test_an_imported_records_check_matches_full_clean_of_the_task_built_before(record, statuses):
    # The values the import checks are the ones it built a task of and full_clean'ed before.
    from tasksync.sync import mapping

    ctx = SimpleNamespace(user=SimpleNamespace(pk=7), statuses=statuses)
    snapshot = mapping.remote_snapshot(record)
    now = datetime(2026, 12, 1, 10, tzinfo=UTC)
    row = importing.task_row(ctx, record, snapshot, now)
    values = {
        f: mapping.as_model_value(f, v)
        for f, v in mapping.import_values(snapshot, statuses=statuses).items()
    }
    values.update(mapping.related_names(record))
    # The task the import built and full_clean'ed before this check (until issue 16).
    built = ReminderTask(
        user_id=ctx.user.pk,
        origin="salesforce",
        completed_at=now if values["status"] == TaskStatus.COMPLETE else None,
        **values,
    )
    try:
        built.full_clean(exclude=["user"], validate_unique=False)
    except ValidationError as exc:
        assert _ours(row) == exc.message_dict
        return
    assert _ours(row) is None
    assert task_check().vouches(row)  # the ordinary record takes the fast way
    for field in TaskRow._fields:
        if field != "completed_at":
            assert getattr(built, field) == getattr(row, field), field
    assert (built.completed_at is None) == (row.completed_at is None)


def test_a_rule_the_check_does_not_know_is_left_to_full_clean():
    # An unknown validator (here EmailField's) or a model's own clean(): never vouched for, so
    # full_clean decides (and its messages are the answer).
    from accounts.models import User

    check = RowCheck(User, ("username", "email"), exclude=["password"])
    assert not check.vouches(("ann", "ann@example.com"))
    assert check.errors(("ann", "not an email")).message_dict["email"]
    # The import's own check vouches for an ordinary task without building one.
    assert task_check().vouches(PLAIN)
    assert not task_check()._always_full
