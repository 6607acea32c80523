"""The records a task is about: minimal Contacts and Leads (WhoId) and Accounts and
Opportunities (WhatId), each only an id and a Name, read by SOQL's Who.Name / What.Name."""

from __future__ import annotations

from collections.abc import Iterable

from .. import ids


class RelatedMixin:
    def create_related(self, org_id: str, sobject: str, name: str) -> str:
        record_id = ids.new_id(ids.RELATED_PREFIXES[sobject])
        self.x(
            "INSERT INTO related (id, org_id, sobject, name) VALUES (?, ?, ?, ?)",
            (record_id, org_id, sobject, name),
        )
        return record_id

    def rename_related(self, record_id: str, name: str) -> bool:
        return self.x("UPDATE related SET name = ? WHERE id = ?", (name, ids.to18(record_id))) == 1

    def related(self, org_id: str, record_ids: Iterable[str]) -> dict[str, dict]:
        """{id: {"sobject", "name"}} for the org's records among ``record_ids``."""
        wanted = sorted({ids.to18(i) for i in record_ids if ids.is_valid(i)})
        out: dict[str, dict] = {}
        for start in range(0, len(wanted), 500):  # SQLite's bound-parameter limit
            chunk = wanted[start : start + 500]
            rows = self.q(
                "SELECT id, sobject, name FROM related WHERE org_id = ? AND id IN ({})".format(  # noqa: S608
                    ", ".join("?" * len(chunk))
                ),
                (org_id, *chunk),
            )
            out.update({r["id"]: {"sobject": r["sobject"], "name": r["name"]} for r in rows})
        return out
