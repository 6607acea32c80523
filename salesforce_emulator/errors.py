"""The error a write or a query answers with, as Salesforce renders it ("Status Codes and Error
Responses", REST API Developer Guide, https://developer.salesforce.com/docs/platform/api-rest/guide/errorcodes.html)."""

from __future__ import annotations


class RecordError(Exception):
    """One Salesforce error: rendered as [{"message","errorCode","fields"}] or a per-record
    {"statusCode","message","fields"} inside collection results ("Status Codes and Error
    Responses", "Create Records Using sObject Collections")."""

    def __init__(
        self, code: str, message: str, fields: list[str] | None = None, status: int = 400
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = fields or []
        self.status = status

    def as_error(self) -> dict:
        return {"message": self.message, "errorCode": self.code, "fields": self.fields}

    def as_record_error(self) -> dict:
        return {"statusCode": self.code, "message": self.message, "fields": self.fields}
