"""Task rows, and the query pre-filter's rules for which stored values SQL compares exactly."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from .. import ids
from ..schema import TASK_FIELDS


class TasksMixin:
    # All writes of the columns a query may pre-filter on (PREFILTER_COLUMNS) go through
    # insert_task/update_task, which flag irregular values (see is_regular).
    def insert_task(self, org_id: str, row: dict) -> None:
        cols = ["org_id", "deleted_ms", *row.keys()]
        values = [org_id, None, *(_to_sql(v) for v in row.values())]
        sql = "INSERT INTO tasks ({}) VALUES ({})".format(  # noqa: S608 - schema column names
            ", ".join(f'"{c}"' for c in cols), ", ".join("?" * len(cols))
        )
        with self.tx():
            self.conn.execute(sql, values)
            self.change_events.task_inserted(org_id, row)
            for col, value in zip(cols[2:], values[2:], strict=True):
                if col in PREFILTER_COLUMNS and not is_regular(col, value):
                    self.conn.execute(
                        "INSERT OR IGNORE INTO task_irregular VALUES (?, ?)", (org_id, col)
                    )

    def update_task(self, task_id: str, changes: dict) -> None:
        if not changes:
            return
        values = [_to_sql(v) for v in changes.values()]
        sets = ", ".join(f'"{c}" = ?' for c in changes)
        with self.tx():
            for col, value in zip(changes, values, strict=True):
                if col in PREFILTER_COLUMNS and not is_regular(col, value):
                    self.conn.execute(
                        "INSERT OR IGNORE INTO task_irregular"
                        ' SELECT org_id, ? FROM tasks WHERE "Id" = ?',
                        (col, task_id),
                    )
            self.change_events.task_updating(task_id, changes)
            self.conn.execute(
                f'UPDATE tasks SET {sets} WHERE "Id" = ?',  # noqa: S608 - schema column names
                [*values, task_id],
            )

    def task(self, task_id: str, org_id: str | None = None) -> dict | None:
        if not ids.is_valid(task_id):
            return None
        row = self.q1('SELECT * FROM tasks WHERE "Id" = ?', (ids.to18(task_id),))
        if row is None or (org_id is not None and row["org_id"] != org_id):
            return None
        return _from_sql(row)

    def tasks(
        self,
        org_id: str,
        where: Iterable[tuple] = (),
        columns: Iterable[str] | None = None,
    ) -> list[dict]:
        """The org's tasks in insertion order, optionally narrowed in SQL by `where`.

        `where` holds (column, op, values) conditions, all to hold: op is one of = < <= > >=
        with one value, or "in" with several, values in their stored form (18-char ids,
        epoch ms); or (None, "or", branches), a tuple of branches of such terms, one of which
        is to hold. A condition is applied only where it is exact: on a PREFILTER_COLUMNS
        column that holds no irregular value in this org; the others are ignored (an OR, when
        one of its branches is left with none), so the answer is always a superset of the
        rows that satisfy `where` (soql.prefilter).

        `columns` (Task field names) loads only those of each row, for a caller that reads no
        other (a query's selected, compared and ordered fields, soql.needed_columns): building
        40 columns a row was most of such a query's time in a busy org.
        """
        sql, params = self.tasks_sql(org_id, where, columns)
        # Put in seq order here: ORDER BY seq would steer SQLite to the (org_id) index, whose
        # order is seq, and away from the selective ones.
        return [_from_sql(r) for r in sorted(self.q(sql, params), key=lambda r: r["seq"])]

    def tasks_sql(
        self,
        org_id: str,
        where: Iterable[tuple],
        columns: Iterable[str] | None = None,
    ) -> tuple[str, list]:
        """The SELECT behind tasks(), without its ordering."""
        conditions, params = [], [org_id]
        where = list(where)
        irregular = set()
        if where:
            rows = self.q("SELECT field FROM task_irregular WHERE org_id = ?", (org_id,))
            irregular = {r["field"] for r in rows}
        for term in where:
            rendered = _condition(term, irregular)
            if rendered is not None:
                conditions.append(rendered[0])
                params.extend(rendered[1])
        # With no statistics SQLite takes org_id = ? for a selective term: with an Id condition,
        # "+org_id" keeps the org indexes out of the way so that the Id index is used.
        org_term = "+org_id = ?" if any(c.startswith('"Id" ') for c in conditions) else "org_id = ?"
        wanted = None if columns is None else {"seq", *columns}
        if wanted is None or not wanted <= _COLUMNS:
            selected = "*"  # every column, or a name that is none of them (a caller's error)
        else:
            selected = ", ".join(f'"{name}"' for name in sorted(wanted))
        # Column names from the schema only; every value is a parameter.
        sql = f"SELECT {selected} FROM tasks WHERE " + " AND ".join([org_term, *conditions])  # noqa: S608
        return sql, params

    def _flag_irregular_rows(self) -> None:
        cols = sorted(PREFILTER_COLUMNS)
        select = ", ".join(f'"{c}"' for c in cols)
        flags = set()
        with self.tx():
            for row in self.conn.execute(f"SELECT org_id, {select} FROM tasks"):  # noqa: S608
                flags.update((row["org_id"], c) for c in cols if not is_regular(c, row[c]))
            self.conn.executemany("INSERT OR IGNORE INTO task_irregular VALUES (?, ?)", flags)

    def deleted_between(self, org_id: str, start_ms: int, end_ms: int) -> list[dict]:
        """The org's recycle bin entries deleted from ``start_ms`` to before ``end_ms``, oldest
        first (ties in insertion order): their "Id" and deleted_ms, from the recycle bin's
        index."""
        return self.q(
            'SELECT "Id", deleted_ms FROM tasks WHERE org_id = ? AND "IsDeleted" = 1'
            " AND deleted_ms >= ? AND deleted_ms < ? ORDER BY deleted_ms, seq",
            (org_id, start_ms, end_ms),
        )

    def purge_task(self, task_id: str) -> None:
        self.x('DELETE FROM tasks WHERE "Id" = ?', (task_id,))


_BOOL_FIELDS = {f.name for f in TASK_FIELDS if f.type == "boolean"}
_COLUMNS = frozenset({"seq", "org_id", "deleted_ms", *(f.name for f in TASK_FIELDS)})

# -- the query pre-filter -------------------------------------------------------------------
# A query on Task loads only the rows that can match its indexed conditions (soql.prefilter,
# store.tasks(where=)), then evaluates the whole WHERE in Python as before. For that to be
# exact, SQL must compare the stored values the way SOQL does, which holds for "regular" values:
# ids in their canonical 18-char form (SOQL's case-insensitive, 15/18-char comparison of two
# ids is then plain equality), and dateTimes as integer milliseconds. Every write keeps them so
# except for back-door values (an Id or CreatedById given in any form); a write that stores an
# irregular value records (org, column) in task_irregular, and that column is never pre-filtered
# in that org again (until a reset).
_ID_COLUMNS = frozenset(f.name for f in TASK_FIELDS if f.type in ("id", "reference"))
_DATETIME_COLUMNS = frozenset(f.name for f in TASK_FIELDS if f.type == "datetime")
PREFILTER_COLUMNS = _ID_COLUMNS | _DATETIME_COLUMNS
_SQL_COMPARISONS = {"=", "<", "<=", ">", ">="}
_MAX_IN = 500  # well under SQLite's limit on bound parameters
_INT64 = range(-(2**63), 2**63)


def _condition(term: tuple, irregular: set[str]) -> tuple[str, list] | None:
    """One term of tasks(where=) as SQL and its parameters, or None where it is not applied."""
    column, op, values = term
    if op == "or":
        branches = []
        params: list = []
        for branch in values:
            rendered = [_condition(inner, irregular) for inner in branch]
            applied = [r for r in rendered if r is not None]
            if not applied:
                return None  # a branch that cannot be narrowed: the OR lets any row through
            branches.append("(" + " AND ".join(sql for sql, _ in applied) + ")")
            for _, inner_params in applied:
                params.extend(inner_params)
        return "(" + " OR ".join(branches) + ")", params
    if column not in PREFILTER_COLUMNS or column in irregular or not values:
        return None
    if op == "in" and len(values) <= _MAX_IN:
        return f'"{column}" IN ({", ".join("?" * len(values))})', list(values)
    if op in _SQL_COMPARISONS and len(values) == 1:
        return f'"{column}" {op} ?', list(values)
    return None


def is_regular(column: str, value) -> bool:
    """Whether SQL compares this stored value exactly as SOQL would (see above)."""
    if value is None or column not in PREFILTER_COLUMNS:
        return True
    if column in _ID_COLUMNS:
        return isinstance(value, str) and _canonical_id(value)
    return type(value) is int and value in _INT64


@lru_cache(maxsize=4096)  # owner and audit ids repeat on every row of a user
def _canonical_id(value: str) -> bool:
    return len(value) == 18 and ids.is_valid(value)


def _to_sql(value):
    return int(value) if isinstance(value, bool) else value


def _from_sql(row: dict) -> dict:
    for name in _BOOL_FIELDS:
        if name in row:
            row[name] = bool(row[name])
    return row
