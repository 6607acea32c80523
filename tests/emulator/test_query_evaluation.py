"""soql.execute (compiled WHERE, key-based sort) gives exactly what the first, naive evaluator
gave: that evaluator is kept below as the reference, and both run on the same rows. Its LIKE is
not the product's code: it is a hand-written matcher built from the SOQL reference's definition
(no regular expression), also checked on its own against the documented examples."""

import random
from functools import cache, cmp_to_key

import pytest

from salesforce_emulator import ids, soql
from salesforce_emulator.schema import TASK_FIELDS

# -- the reference: soql's first evaluator, before it was optimised --------------------------
_STRINGY = {"id", "reference", "string", "textarea", "combobox", "picklist"}


def ref_norm(fld, value):
    if value is None:
        return None
    if fld.type in ("id", "reference") and ids.is_valid(value):
        return ids.to18(value).lower()
    if fld.type in _STRINGY:
        return str(value).casefold()
    if fld.type == "boolean":
        return bool(value)
    return value


def _same_letter(a: str, b: str) -> bool:
    # LIKE matches case-insensitively, unlike SQL (SOQL and SOSL Reference, "Comparison Operators").
    return a == b or a.lower() == b.lower() or a.upper() == b.upper()


def ref_like(pattern, value):
    """SOQL LIKE from its definition: % matches zero or more characters, _ exactly one, and
    \\% / \\_ (kept by the string literal for LIKE) a literal percent sign or underscore
    ("Quoted String Escape Sequences", SOQL and SOSL Reference). The whole value must match."""
    items, i = [], 0
    while i < len(pattern):
        if pattern[i] == "\\" and i + 1 < len(pattern):
            items.append(("char", pattern[i + 1]))
            i += 2
            continue
        items.append({"%": ("any",), "_": ("one",)}.get(pattern[i], ("char", pattern[i])))
        i += 1

    @cache
    def match(k: int, j: int) -> bool:  # items[k:] against value[j:]
        if k == len(items):
            return j == len(value)
        item = items[k]
        if item[0] == "any":
            return any(match(k + 1, rest) for rest in range(j, len(value) + 1))
        if j == len(value):
            return False
        return (item[0] == "one" or _same_letter(item[1], value[j])) and match(k + 1, j + 1)

    return match(0, 0)


def ref_matches(node, row):
    if node is None:
        return True
    if isinstance(node, soql.BoolOp):
        if node.op == "and":
            return all(ref_matches(a, row) for a in node.args)
        if node.op == "or":
            return any(ref_matches(a, row) for a in node.args)
        return not ref_matches(node.args[0], row)
    fld = node.field
    left = ref_norm(fld, row.get(fld.name))
    if node.op in ("in", "not in"):
        found = left in [ref_norm(fld, v) for v in node.value]
        return found if node.op == "in" else not found
    if node.op == "like":
        return left is not None and ref_like(str(node.value), str(row.get(fld.name)))
    right = ref_norm(fld, node.value)
    if node.op == "=":
        return left == right
    if node.op == "!=":
        return left != right
    if left is None or right is None:
        return False
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[node.op]


def ref_compare(orders, a, b):
    for o in orders:
        va, vb = ref_norm(o.field, a.get(o.field.name)), ref_norm(o.field, b.get(o.field.name))
        if va == vb:
            continue
        if va is None or vb is None:
            return -1 if (va is None) == o.nulls_first else 1
        result = -1 if va < vb else 1
        return -result if o.desc else result
    return 0


def ref_execute(query, rows):
    out = [r for r in rows if ref_matches(query.where, r)]
    if query.order:
        out.sort(key=cmp_to_key(lambda a, b: ref_compare(query.order, a, b)))
    if query.offset:
        out = out[query.offset :]
    if query.limit is not None:
        out = out[: query.limit]
    return out


# -- rows full of traps -----------------------------------------------------------------------
OWNER = ids.fixed_id(ids.USER_PREFIX, 7)
OTHER = ids.fixed_id(ids.USER_PREFIX, 8)
T0 = 1_795_000_000_000  # ms
TASK_7, TASK_8 = ids.fixed_id(ids.TASK_PREFIX, 7), ids.fixed_id(ids.TASK_PREFIX, 8)


def _id_forms(value):
    """The same id written four ways: 18 chars, 15 chars, lower-cased 18, upper-cased 18."""
    return [value, value[:15], value.lower(), value.upper()]


def make_rows(n=300, seed=1):
    rnd = random.Random(seed)
    rows = []
    subjects = ["alpha", "Alpha", "ALPHA", "beta", "straße", "STRASSE", "Kelvin", "\u212aelvin"]
    for i in range(n):
        task_id = ids.fixed_id(ids.TASK_PREFIX, i)
        row = {f.name: None for f in TASK_FIELDS}
        row.update(
            Id=rnd.choice(_id_forms(task_id)) if i % 7 == 0 else task_id,
            OwnerId=rnd.choice([*_id_forms(OWNER), OTHER, "not-an-id", None]),
            WhoId=rnd.choice([None, OWNER, OWNER[:15]]),
            Subject=rnd.choice([*subjects, None]),
            Status=rnd.choice(["Not Started", "completed", "Completed"]),
            ActivityDate=rnd.choice([None, "2026-11-28", "2026-11-29", "2027-01-01"]),
            IsClosed=rnd.choice([True, False]),
            IsDeleted=rnd.choice([True, False, False]),
            IsRecurrence=rnd.choice([True, False, False]),
            TaskSubtype=rnd.choice(["Task", "task", "Email"]),
            # Few distinct stamps: lots of ties, equal timestamps, some nulls.
            SystemModstamp=T0 + 1000 * rnd.randrange(6),
            LastModifiedDate=T0 + 60_000 * rnd.randrange(3),
            ReminderDateTime=rnd.choice([None, T0, T0 + 1000]),
            CompletedDateTime=rnd.choice([None, T0 + 1000 * rnd.randrange(4)]),
        )
        rows.append(row)
    return rows


STAMP = "2026-11-18T11:06:41Z"  # == T0 + 1 s
assert soql.parse(f"SELECT Id FROM Task WHERE SystemModstamp = {STAMP}").where.value == T0 + 1000

WHERES = [
    "",
    f"WHERE OwnerId = '{OWNER}'",
    f"WHERE OwnerId = '{OWNER[:15]}'",
    f"WHERE OwnerId = '{OWNER.lower()}'",
    f"WHERE OwnerId = '{OWNER[:15].lower()}'",  # a 15-char id is case-sensitive: no match
    f"WHERE OwnerId IN ('{OWNER[:15]}', '{OTHER}')",
    f"WHERE OwnerId NOT IN ('{OWNER}')",
    f"WHERE OwnerId != '{OWNER}'",
    "WHERE OwnerId = 'NOT-AN-ID'",
    "WHERE OwnerId = null",
    "WHERE WhoId != null",
    f"WHERE Id = '{ids.fixed_id(ids.TASK_PREFIX, 14)[:15]}'",
    f"WHERE Id IN ('{TASK_7.lower()}', '{TASK_8}')",
    f"WHERE SystemModstamp >= {STAMP}",
    f"WHERE SystemModstamp > {STAMP}",
    f"WHERE SystemModstamp <= {STAMP}",
    f"WHERE SystemModstamp < {STAMP}",
    f"WHERE SystemModstamp = {STAMP}",
    f"WHERE SystemModstamp != {STAMP}",
    f"WHERE ReminderDateTime >= {STAMP}",
    f"WHERE ReminderDateTime != {STAMP}",
    f"WHERE ReminderDateTime IN ({STAMP}, null)",
    "WHERE ReminderDateTime < null",
    "WHERE ActivityDate >= 2026-11-29",
    "WHERE Subject = 'alpha'",
    "WHERE Subject = 'STRASSE'",
    "WHERE Subject = 'kelvin'",
    "WHERE Subject LIKE 'al%'",
    "WHERE Subject LIKE '%ß%'",
    "WHERE Subject NOT IN ('alpha', 'beta')",
    "WHERE IsClosed = true AND NOT (IsDeleted = true)",
    "WHERE Status = 'completed' OR TaskSubtype = 'task'",
    f"WHERE OwnerId = '{OWNER}' AND TaskSubtype = 'Task' AND IsRecurrence = false"
    f" AND SystemModstamp >= {STAMP}",
    f"WHERE (OwnerId = '{OWNER}' OR SystemModstamp >= {STAMP}) AND IsClosed = false",
    f"WHERE NOT (OwnerId = '{OWNER}' AND SystemModstamp >= {STAMP})",
]
ORDERS = [
    "",
    "ORDER BY SystemModstamp, Id",
    "ORDER BY SystemModstamp DESC, Id",
    "ORDER BY ReminderDateTime",
    "ORDER BY ReminderDateTime DESC",
    "ORDER BY ReminderDateTime NULLS LAST",
    "ORDER BY ReminderDateTime DESC NULLS FIRST",
    "ORDER BY Subject, CompletedDateTime DESC NULLS LAST",
    "ORDER BY OwnerId DESC, IsClosed, ActivityDate NULLS LAST",
    "ORDER BY IsDeleted DESC, LastModifiedDate",
    "ORDER BY SystemModstamp LIMIT 7 OFFSET 3",
]


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("where", WHERES)
def test_execute_matches_the_reference_evaluator(where, order):
    rows = make_rows()
    query = soql.parse(f"SELECT Id FROM Task {where} {order}")
    expected = ref_execute(query, [dict(r) for r in rows])
    got = soql.execute(query, [dict(r) for r in rows])
    assert got == expected
    # Same rows in the same order, ties included (rows are distinct: compare their positions).
    index = {id(r): i for i, r in enumerate(rows)}
    rows_again = list(rows)
    assert [index[id(r)] for r in soql.execute(query, rows_again)] == [
        index[id(r)] for r in ref_execute(query, rows_again)
    ]


def test_execute_keeps_input_order_on_ties():
    rows = [{"Id": f"x{i}", "SystemModstamp": T0 if i % 2 else None} for i in range(10)]
    query = soql.parse("SELECT Id FROM Task ORDER BY SystemModstamp DESC")
    assert [r["Id"] for r in soql.execute(query, rows)] == [
        "x1",
        "x3",
        "x5",
        "x7",
        "x9",
        "x0",
        "x2",
        "x4",
        "x6",
        "x8",
    ]


# The SOQL reference's own LIKE examples ("Quoted String Escape Sequences": 'Ter%', 'Ter\\%',
# 'Ter\\%%'), and the two wildcards' definitions; patterns written as in a SOQL literal.
LIKE_CASES = [
    (r"Ter%", "Ter", True),
    (r"Ter%", "Terry", True),
    (r"Ter%", "terRY", True),  # case-insensitive
    (r"Ter%", "ATer", False),
    (r"Ter\%", "Ter%", True),  # exactly the four characters 'Ter%'
    (r"Ter\%", "Terry", False),
    (r"Ter\%%", "Ter%ry", True),  # begins with 'Ter%'
    (r"Ter\%%", "Terry", False),
    (r"%", "", True),  # % matches zero characters...
    (r"a%b", "a and b", True),  # ...or many
    (r"_", "", False),  # _ matches exactly one character
    (r"_", "x", True),
    (r"_", "xy", False),
    (r"a_c", "a\nc", True),  # any character, a new line too
    (r"a\_c", "a_c", True),  # \_ is a literal underscore
    (r"a\_c", "abc", False),
    (r"%.%", "a.b", True),  # other characters are themselves
    (r"%.%", "ab", False),
    (r"(a+)", "(A+)", True),
    (r"(a+)", "aa", False),
    (r"%call", "Call", True),
    (r"%call", "Calls", False),  # the whole value must match
]


@pytest.mark.parametrize(("pattern", "value", "expected"), LIKE_CASES)
def test_the_like_reference_follows_the_soql_definition(pattern, value, expected):
    assert (
        ref_like(
            soql.parse(f"SELECT Id FROM Task WHERE Subject LIKE '{pattern}'").where.value, value
        )
        is expected
    )


@pytest.mark.parametrize(("pattern", "value", "expected"), LIKE_CASES)
def test_execute_answers_like_as_the_soql_definition_says(pattern, value, expected):
    query = soql.parse(f"SELECT Id FROM Task WHERE Subject LIKE '{pattern}'")
    row = {"Id": TASK_7, "Subject": value}
    assert soql.execute(query, [row]) == ([row] if expected else [])
