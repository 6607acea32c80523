"""The query pre-filter (soql.prefilter + store.tasks(where=, columns=)) never changes a result.

Every query here runs twice through the REST API, with the pre-filter on and with it off (every
column of every task of the org loaded and filtered in Python), and both answers must be
identical, order included. The data is full of traps: 15/18-char and mixed-case ids, null dates,
timestamps equal to the literal, deleted and archived rows, irregular back-door values.
"""

import datetime as dt
import sqlite3
from contextlib import contextmanager, nullcontext
from unittest import mock

import pytest

from salesforce_emulator import ids, soql
from salesforce_emulator.clock import Clock
from salesforce_emulator.store import PREFILTER_COLUMNS, Store

UTC = dt.UTC
T = dt.datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
SECOND = dt.timedelta(seconds=1)
LIT = "2026-11-28T12:00:00Z"  # T as a SOQL literal
LIT_PLUS_1 = "2026-11-28T12:00:01.000+00:00"
OWNER, TASK = ids.fixed_id(ids.USER_PREFIX, 1), ids.fixed_id(ids.TASK_PREFIX, 1)


@pytest.fixture
def emu(sf_emulator_server):
    if sf_emulator_server is None:
        pytest.skip("needs the in-process emulator (to switch the pre-filter off in its store)")
    return sf_emulator_server.emulator


@contextmanager
def prefilter_off(emu):
    """Every task column flagged irregular in every org: store.tasks then applies no condition
    and loads the whole org (the product's own way of not pre-filtering a column); the flags
    are put back as they were afterwards. And every column of each row is loaded, as if no
    query named the columns it reads (soql.needed_columns)."""
    before = emu.store.q("SELECT org_id, field FROM task_irregular")
    with emu.store.tx():
        for org in emu.store.orgs():
            for column in PREFILTER_COLUMNS:
                emu.store.x(
                    "INSERT OR IGNORE INTO task_irregular VALUES (?, ?)", (org["id"], column)
                )
    try:
        with mock.patch.object(soql, "needed_columns", lambda query: None):
            yield
    finally:
        with emu.store.tx():
            emu.store.x("DELETE FROM task_irregular")
            for row in before:
                emu.store.x(
                    "INSERT INTO task_irregular VALUES (?, ?)", (row["org_id"], row["field"])
                )


def switched(emu, prefilter: bool):
    return nullcontext() if prefilter else prefilter_off(emu)


@contextmanager
def task_selects(emu):
    """The SELECTs of store.tasks that SQLite ran meanwhile, as it ran them (values bound in):
    every column, or the named ones and the insertion order."""
    seen: list[str] = []

    def trace(sql: str) -> None:
        if sql.startswith("SELECT * FROM tasks WHERE") or '"seq" FROM tasks WHERE ' in sql:
            seen.append(sql)

    emu.store.conn.set_trace_callback(trace)
    try:
        yield seen
    finally:
        emu.store.conn.set_trace_callback(None)


@pytest.fixture
def org(sf_emulator):
    """Demo-user and other-user tasks around T; some deleted, one archived."""
    sf_emulator.set_now(T + dt.timedelta(minutes=5), frozen=True)
    demo = sf_emulator.demo.user_id
    other = sf_emulator.create_user(sf_emulator.demo.org_id, "other@example.com")["id"]
    rows = []
    for i in range(36):
        rows.append(
            {
                "Subject": f"task {i:02d}" if i % 5 else None,
                "SystemModstamp": T + (i % 4 - 2) * SECOND,  # T-2s, T-1s, T, T+1s
                "LastModifiedDate": T + (i % 3 - 1) * 60 * SECOND,
                "CreatedDate": T - (i % 2) * 3600 * SECOND,
                "ReminderDateTime": None if i % 3 == 0 else (T + (i % 2) * SECOND).isoformat(),
                "TaskSubtype": "Email" if i % 11 == 0 else "Task",
                "IsRecurrence": i % 13 == 0,
            }
        )
    mine = sf_emulator.create_tasks(rows[:24])
    theirs = sf_emulator.create_tasks(rows[24:], user_id=other)
    for task_id in (mine[1], mine[6], theirs[2]):
        sf_emulator.delete_task(task_id, when=T)  # SystemModstamp = T, in the recycle bin
    old = sf_emulator.create_task(
        Subject="old", Status="Completed", ActivityDate="2025-01-01", SystemModstamp=T
    )
    assert sf_emulator.archive_old() == 1
    return {"demo": demo, "other": other, "mine": mine, "theirs": theirs, "old": old["Id"]}


def run(sf, emu, q: str, include_deleted: bool, prefilter: bool) -> list[dict]:
    with switched(emu, prefilter):
        return sf.query_all(q, include_deleted=include_deleted)["records"]


def same_both_ways(sf, emu, q: str) -> dict[bool, list[dict]]:
    out = {}
    for include_deleted in (False, True):
        fast = run(sf, emu, q, include_deleted, prefilter=True)
        slow = run(sf, emu, q, include_deleted, prefilter=False)
        assert fast == slow, (q, include_deleted)
        out[include_deleted] = fast
    return out


ORDERS = [
    "ORDER BY SystemModstamp, Id",
    "ORDER BY SystemModstamp DESC",  # ties: insertion order
    "ORDER BY ReminderDateTime, Id",  # nulls first
    "ORDER BY ReminderDateTime DESC, Id",  # nulls last
    "ORDER BY ReminderDateTime NULLS LAST, Subject DESC NULLS FIRST",
    "ORDER BY ReminderDateTime DESC NULLS FIRST, CreatedDate",
    "ORDER BY SystemModstamp DESC, Subject LIMIT 5 OFFSET 2",
]


def wheres(o: dict) -> list[str]:
    demo, other, mine = o["demo"], o["other"], o["mine"]
    return [
        f"OwnerId = '{demo}'",
        f"OwnerId = '{demo[:15]}'",  # 15-char id
        f"OwnerId = '{demo.lower()}'",  # lower-cased 18-char id: not pushed down
        f"OwnerId = '{demo.upper()}'",
        f"OwnerId = '{demo[:15].lower()}'",  # another (valid) 15-char id: no match
        f"OwnerId IN ('{demo[:15]}', '{other}')",
        f"OwnerId != '{demo}'",
        f"OwnerId NOT IN ('{other[:15]}')",
        f"Id = '{mine[3][:15]}'",
        f"Id IN ('{mine[0]}', '{mine[1][:15]}', '{mine[2].lower()}', '{o['old']}')",
        f"Id = '{mine[0]}' OR Id = '{mine[5]}'",
        "Id = 'nonsense'",
        f"SystemModstamp >= {LIT}",  # equal timestamps included
        f"SystemModstamp > {LIT}",
        f"SystemModstamp <= {LIT}",
        f"SystemModstamp < {LIT}",
        f"SystemModstamp = {LIT}",
        f"SystemModstamp != {LIT}",
        f"SystemModstamp IN ({LIT}, {LIT_PLUS_1})",
        f"SystemModstamp NOT IN ({LIT})",
        f"ReminderDateTime >= {LIT}",  # null dates never match a range
        f"ReminderDateTime < {LIT_PLUS_1}",
        f"ReminderDateTime = {LIT}",
        f"ReminderDateTime != {LIT}",  # ...but do match !=
        "ReminderDateTime = null",
        "ReminderDateTime != null",
        f"ReminderDateTime IN ({LIT}, null)",
        f"LastModifiedDate >= {LIT} AND CreatedDate < {LIT}",
        f"OwnerId = '{demo}' AND TaskSubtype = 'Task' AND IsRecurrence = false"
        f" AND SystemModstamp >= {LIT}",  # the incremental poll
        f"OwnerId = '{other}' OR SystemModstamp >= {LIT}",  # OR: each branch pushed down
        f"OwnerId = '{other}' OR Subject = 'task 01'",  # a branch of text only: not pushed
        f"SystemModstamp >= {LIT} AND ((SystemModstamp < {LIT_PLUS_1} AND OwnerId = '{demo}')"
        f" OR (OwnerId != '{demo}' AND Id IN ('{o['theirs'][0]}', '{o['theirs'][2][:15]}',"
        f" '{mine[0]}')))",  # a crowded poll's ids and stamps
        f"(Id = '{mine[0]}' AND Subject != null) OR (ReminderDateTime = null"
        f" AND OwnerId = '{other[:15]}') OR (OwnerId = '{demo.lower()}' AND IsDeleted = true)",
        f"NOT (OwnerId = '{demo}' AND SystemModstamp >= {LIT})",
        f"(OwnerId = '{demo[:15]}' AND (SystemModstamp > {LIT} AND IsDeleted = true))",
        f"(OwnerId = '{demo}' OR OwnerId = '{other}') AND ReminderDateTime > {LIT}",
    ]


def test_every_query_answers_the_same_with_and_without_the_prefilter(sf, emu, org):
    queries = wheres(org)
    non_empty = 0
    for i, where in enumerate(queries):
        order = ORDERS[i % len(ORDERS)]
        got = same_both_ways(sf, emu, f"SELECT Id, Subject FROM Task WHERE {where} {order}")
        non_empty += bool(got[True])
        for include_deleted in (False, True):
            counts = set()
            for prefilter in (True, False):
                q = f"SELECT COUNT() FROM Task WHERE {where}"
                with switched(emu, prefilter):
                    counts.add(sf.query(q, include_deleted=include_deleted)["totalSize"])
            assert len(counts) == 1, where
            if "LIMIT" not in order:
                assert counts == {len(got[include_deleted])}, where
    assert non_empty >= len(queries) - 4  # the traps are not vacuous


@pytest.mark.parametrize("order", ORDERS)
def test_orderings_are_identical_on_a_prefiltered_query(sf, emu, org, order):
    q = f"SELECT Id FROM Task WHERE OwnerId = '{org['demo'][:15]}' AND SystemModstamp >= {LIT}"
    got = same_both_ways(sf, emu, f"{q} {order}")
    if "LIMIT 5" in order:
        assert len(got[True]) == len(got[False]) == 5
    else:
        assert len(got[True]) > len(got[False]) > 5


def test_the_prefilter_loads_only_candidate_rows(sf, emu, org):
    got = same_both_ways(
        sf,
        emu,
        f"SELECT Id FROM Task WHERE OwnerId = '{org['demo']}' AND SystemModstamp > {LIT}",
    )
    assert len(got[True]) == 6
    with task_selects(emu) as selects:
        sf.query_all(f"SELECT Id FROM Task WHERE Id IN ('{org['mine'][4][:15]}')")
    [select] = selects
    assert f"\"Id\" IN ('{org['mine'][4]}')" in select  # the 18-char id, in SQL
    assert len(emu.store.q(select)) == 1  # one row loaded, not the org's 37
    with prefilter_off(emu), task_selects(emu) as selects:
        sf.query_all(f"SELECT Id FROM Task WHERE Id IN ('{org['mine'][4][:15]}')")
    [select] = selects
    assert select == f"SELECT * FROM tasks WHERE org_id = '{emu.store.orgs()[0]['id']}'"
    assert len(emu.store.q(select)) == 37  # the comparison path: the whole org
    with task_selects(emu) as selects:
        sf.query_all(f"SELECT Id FROM Task WHERE Id = '{org['mine'][4]}' OR Id = '{org['old']}'")
    [select] = selects
    assert f"(\"Id\" = '{org['mine'][4]}') OR (\"Id\" = '{org['old']}')" in select  # an OR too
    assert len(emu.store.q(select)) == 2


def test_a_count_loads_only_the_columns_its_where_compares(sf, emu, org):
    # A COUNT() renders no record: its rows are read for WHERE and the recycle bin's flags
    # only (a crowded org's count of colleagues' changes, issue 16's B4). The answers are the
    # same as a full query's (test_every_query_answers_the_same_with_and_without_the_prefilter).
    seen: list[str] = []
    emu.store.conn.set_trace_callback(lambda sql: seen.append(sql) if " FROM tasks " in sql else 0)
    try:
        q = f"SELECT COUNT() FROM Task WHERE OwnerId != '{org['demo']}' AND Subject != null"
        total = sf.query(q)["totalSize"]
    finally:
        emu.store.conn.set_trace_callback(None)
    [select] = [sql for sql in seen if sql.startswith("SELECT *") or '"seq"' in sql]
    assert select.startswith('SELECT "IsArchived", "IsDeleted", "OwnerId", "Subject", "seq" ')
    full = sf.query_all(f"SELECT Id FROM Task WHERE OwnerId != '{org['demo']}' AND Subject != null")
    assert total == len(full["records"]) > 0


def test_deleted_rows_follow_query_and_query_all(sf, emu, org):
    q = f"SELECT Id, IsDeleted FROM Task WHERE SystemModstamp = {LIT} ORDER BY Id"
    got = same_both_ways(sf, emu, q)
    deleted = {org["mine"][1], org["mine"][6], org["theirs"][2]}
    assert deleted <= {r["Id"] for r in got[True]}
    assert org["old"] in {r["Id"] for r in got[True]}  # archived: queryAll only
    assert not ({r["Id"] for r in got[False]} & (deleted | {org["old"]}))


def test_paging_a_prefiltered_query(sf, sf_emulator, emu):
    sf_emulator.set_now(T, frozen=True)
    sf_emulator.create_tasks(
        [{"Subject": f"t{i:03d}", "SystemModstamp": T + (i % 3) * SECOND} for i in range(650)]
    )
    q = f"SELECT Id, Subject FROM Task WHERE SystemModstamp >= {LIT_PLUS_1} ORDER BY Subject DESC"
    headers = {"Sforce-Query-Options": "batchSize=200"}
    pages = {}
    for prefilter in (True, False):
        with switched(emu, prefilter):
            page = sf.query(q, headers=headers)
            records = list(page["records"])
            while not page["done"]:
                page = sf.query_more(page["nextRecordsUrl"], identifier_is_url=True)
                records += page["records"]
        pages[prefilter] = records
    assert pages[True] == pages[False]
    assert len(pages[True]) == 433 and pages[True][0]["Subject"] == "t649"


def test_irregular_back_door_values_switch_the_prefilter_off_for_their_column(sf, sf_emulator, emu):
    org_id, demo = sf_emulator.demo.org_id, sf_emulator.demo.user_id
    regular = sf_emulator.create_task(Subject="regular")["Id"]
    assert emu.store.q("SELECT * FROM task_irregular") == []
    # A back-door Id given lower-cased is not a valid id: it is stored as given.
    odd_id = ids.fixed_id(ids.TASK_PREFIX, 99).lower()
    sf_emulator.create_task(Id=odd_id, Subject="odd id", CreatedById=demo[:15])
    flags = {(r["org_id"], r["field"]) for r in emu.store.q("SELECT * FROM task_irregular")}
    assert flags == {(org_id, "Id"), (org_id, "CreatedById")}
    for where in (
        f"Id = '{ids.fixed_id(ids.TASK_PREFIX, 99)}'",  # matches odd_id case-insensitively
        f"Id IN ('{regular}', '{ids.fixed_id(ids.TASK_PREFIX, 99)[:15]}')",
        f"CreatedById = '{demo}'",
        f"CreatedById = '{demo[:15]}'",
        f"OwnerId = '{demo}'",  # still pushed down: OwnerId is regular
        f"Id = '{ids.fixed_id(ids.TASK_PREFIX, 99)}' OR OwnerId = '{demo[:15]}'",  # OR let go
    ):
        got = same_both_ways(sf, emu, f"SELECT Id, Subject FROM Task WHERE {where}")
        assert got[True], where
    # An update can make a column irregular too.
    sf_emulator.update_task(regular, LastModifiedById=demo.lower())
    flags = {r["field"] for r in emu.store.q("SELECT field FROM task_irregular")}
    assert flags == {"Id", "CreatedById", "LastModifiedById"}
    same_both_ways(sf, emu, f"SELECT Id FROM Task WHERE LastModifiedById = '{demo}'")
    sf_emulator.reset()
    assert emu.store.q("SELECT * FROM task_irregular") == []


def test_an_older_data_file_gets_its_irregular_values_flagged(tmp_path):
    path = tmp_path / "emulator.sqlite3"
    store = Store(path, Clock())
    org = store.seed_demo()
    row = {"Id": ids.fixed_id(ids.TASK_PREFIX, 1), "OwnerId": "005lowercase", "CreatedDate": 1}
    store.insert_task(org["id"], row)
    store.insert_task(org["id"], {"Id": ids.fixed_id(ids.TASK_PREFIX, 2), "SystemModstamp": "x"})
    assert {r["field"] for r in store.q("SELECT field FROM task_irregular")} == {
        "OwnerId",
        "SystemModstamp",
    }
    store.close()
    # A file written before the flags existed has no task_irregular table.
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE task_irregular")
    conn.commit()
    conn.close()
    store = Store(path, Clock())
    assert {r["field"] for r in store.q("SELECT field FROM task_irregular")} == {
        "OwnerId",
        "SystemModstamp",
    }
    assert [r["Id"] for r in store.tasks(org["id"], [("OwnerId", "=", ("x",))])] == [
        row["Id"],
        ids.fixed_id(ids.TASK_PREFIX, 2),
    ]  # OwnerId is irregular: the condition is not applied, both rows come back
    store.close()


@pytest.mark.parametrize(
    ("where", "index"),
    [
        (f"OwnerId = '{OWNER}' AND SystemModstamp >= {LIT}", "tasks_org_owner_modstamp"),
        (f"SystemModstamp > {LIT} AND IsDeleted = false", "tasks_org_modstamp"),
        (f"Id IN ('{TASK}', '{TASK[:15]}') AND SystemModstamp > {LIT}", "sqlite_autoindex_tasks"),
        (f"Id = '{TASK}' AND OwnerId = '{OWNER}'", "sqlite_autoindex_tasks"),
    ],
)
def test_selective_queries_use_an_index(emu, where, index):
    query = soql.parse(f"SELECT Id FROM Task WHERE {where}")
    sql, params = emu.store.tasks_sql(emu.store.orgs()[0]["id"], soql.prefilter(query))
    plan = " ".join(r["detail"] for r in emu.store.q("EXPLAIN QUERY PLAN " + sql, params))
    assert f"USING INDEX {index}" in plan


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("", []),
        ("WHERE OwnerId = '005000000000001'", [("OwnerId", "=", ("005000000000001AAA",))]),
        ("WHERE OwnerId = '005000000000001aaa'", []),  # not a valid id
        ("WHERE OwnerId = null", []),
        ("WHERE OwnerId != '005000000000001'", []),
        ("WHERE OwnerId NOT IN ('005000000000001')", []),
        ("WHERE OwnerId IN ('005000000000001', null)", []),
        ("WHERE Subject = 'x'", []),
        ("WHERE IsDeleted = false", []),
        ("WHERE ActivityDate >= 2026-01-01", []),
        (
            f"WHERE SystemModstamp >= {LIT} AND CreatedDate < {LIT}",
            [("SystemModstamp", ">=", (1795867200000,)), ("CreatedDate", "<", (1795867200000,))],
        ),
        (f"WHERE SystemModstamp != {LIT}", []),
        ("WHERE SystemModstamp = null", []),
        (f"WHERE SystemModstamp IN ({LIT}, null)", []),
        (
            f"WHERE OwnerId = '005000000000001' OR SystemModstamp >= {LIT}",
            [
                (
                    None,
                    "or",
                    (
                        (("OwnerId", "=", ("005000000000001AAA",)),),
                        (("SystemModstamp", ">=", (1795867200000,)),),
                    ),
                )
            ],
        ),
        ("WHERE OwnerId = '005000000000001' OR Subject = 'x'", []),  # a branch of text only
        (f"WHERE OwnerId != '005000000000001' OR SystemModstamp >= {LIT}", []),
        (
            f"WHERE SystemModstamp >= {LIT} AND ((SystemModstamp < {LIT} AND"
            f" OwnerId = '005000000000001') OR (OwnerId != '005000000000001' AND Id IN"
            " ('00T000000000001')))",  # a crowded poll's ids and stamps
            [
                ("SystemModstamp", ">=", (1795867200000,)),
                (
                    None,
                    "or",
                    (
                        (
                            ("SystemModstamp", "<", (1795867200000,)),
                            ("OwnerId", "=", ("005000000000001AAA",)),
                        ),
                        (("Id", "in", ("00T000000000001EAA",)),),
                    ),
                ),
            ],
        ),
        (f"WHERE NOT (SystemModstamp >= {LIT})", []),
        (
            f"WHERE (Subject = 'a' OR Subject = 'b') AND (Id = '00T000000000001'"
            f" AND (ReminderDateTime > {LIT}))",
            [("Id", "=", ("00T000000000001EAA",)), ("ReminderDateTime", ">", (1795867200000,))],
        ),
    ],
)
def test_which_conditions_are_pushed_down(where, expected):
    assert soql.prefilter(soql.parse(f"SELECT Id FROM Task {where}")) == expected
