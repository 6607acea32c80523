"""Control: the records a task is about (no API call counted). Each is an id and a Name, enough
for a task's WhoId/WhatId and for SOQL's Who.Name / What.Name. A rename, as in Salesforce, leaves
the tasks pointing to the record untouched (their SystemModstamp does not move)."""

from __future__ import annotations

from .. import ids


class RelatedMixin:
    def _create_related(self, sobject: str, name: str, org_id: str | None) -> str:
        if not isinstance(name, str) or not name.strip():
            raise ValueError("name must be a non-empty string")
        return self._store.create_related(self._org(org_id), sobject, name)

    def create_contact(self, name: str, org_id: str | None = None) -> str:
        return self._create_related("Contact", name, org_id)

    def create_lead(self, name: str, org_id: str | None = None) -> str:
        return self._create_related("Lead", name, org_id)

    def create_account(self, name: str, org_id: str | None = None) -> str:
        return self._create_related("Account", name, org_id)

    def create_opportunity(self, name: str, org_id: str | None = None) -> str:
        return self._create_related("Opportunity", name, org_id)

    def rename_record(self, record_id: str, name: str) -> None:
        """A Contact, Lead, Account or Opportunity renamed by someone in the org."""
        if not isinstance(name, str) or not name.strip():
            raise ValueError("name must be a non-empty string")
        if not ids.is_valid(record_id) or not self._store.rename_related(record_id, name):
            raise KeyError(f"no record {record_id}")
