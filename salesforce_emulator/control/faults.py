"""Control: failing, dropping, holding and slowing calls; rejecting records; the network model."""

from __future__ import annotations

from ..faults import HOLD_SAFETY_SECONDS


class FaultsMixin:
    def inject_fault(
        self,
        method: str = "*",
        path: str = ".*",
        status: int = 500,
        error_code: str | None = None,
        message: str | None = None,
        times: int | None = 1,
        body: object = None,
    ) -> dict:
        """The next `times` calls matching `method` and `path` (a regex) answer `status` with
        Salesforce's error body (`error_code`, `message`), or `body` instead of it."""
        return self.emu.faults.add_fault(
            method,
            path,
            status=int(status),
            error_code=error_code,
            message=message,
            times=times,
            body=body,
        )

    def drop_response(self, method: str = "*", path: str = ".*", times: int | None = 1) -> dict:
        return self.emu.faults.add_fault(method, path, times=times, drop=True)

    def reject_records(
        self,
        field: str | None = "Subject",
        contains: str | None = None,
        equals: object = None,
        record_ids: list[str] | None = None,
        operations: list[str] | tuple[str, ...] = ("create", "update"),
        message: str = "Rejected by a validation rule",
        error_code: str = "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        fields: list[str] | None = None,
        times: int | None = None,
    ) -> dict:
        """Writes of matching records fail as a validation rule makes them fail: `field`
        containing or equal to a value, or the records `record_ids`."""
        return self.emu.faults.add_reject(
            field=field,
            contains=contains,
            equals=equals,
            record_ids=record_ids,
            operations=operations,
            message=message,
            error_code=error_code,
            fields=fields,
            times=times,
        )

    def hold_response(
        self,
        method: str = "*",
        path: str = ".*",
        times: int | None = 1,
        safety_seconds: float = HOLD_SAFETY_SECONDS,
    ) -> dict:
        """The next `times` matching calls run and commit, then wait before answering until
        `release(id)`, `clear_faults()`/`reset()`, or `safety_seconds` (60 s) pass."""
        return self.emu.faults.add_hold(
            method, path, None if times is None else int(times), float(safety_seconds)
        )

    def wait_until_held(self, id: int, timeout: float = 10.0) -> bool:  # noqa: A002 - brief's name
        """True once a call matching hold `id` has committed and is being held."""
        return self.emu.faults.wait_until_held(id, float(timeout))

    def wait_until_idle(self, timeout: float = 10.0) -> bool:
        """True once no call is being handled: every request received so far, a dead client's
        too, has run to its end (committed, answered or failed). False after `timeout` s."""
        return self.emu.wait_until_idle(float(timeout))

    def release(self, id: int) -> dict:  # noqa: A002 - brief's name
        """Let the calls held by `id` answer normally; the hold catches no more calls."""
        return self.emu.faults.release(id)

    def set_latency(self, seconds: float, method: str = "*", path: str = ".*") -> None:
        self.emu.faults.set_latency(float(seconds), method, path)

    def set_network_model(self, latency_ms: float = 0.0, per_record_ms: float = 0.0) -> dict:
        """Every Salesforce call waits latency_ms (half before, half after it runs) plus
        per_record_ms for each record it returned or wrote. 0, 0 turns it off."""
        return self.emu.network.set(float(latency_ms), float(per_record_ms))

    def network_model(self) -> dict:
        return self.emu.network.describe()

    def clear_faults(self) -> None:
        self.emu.faults.clear()

    def faults(self) -> dict:
        return self.emu.faults.describe()
