"""In-doubt creates (R10, R16): which unknown records are our creates whose answers were lost."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class InDoubt:
    """A create we sent and never saw confirmed."""

    key: int  # the link's primary key
    started_at: datetime  # when it was sent, on Salesforce's clock
    sent: dict  # the remote snapshot of what was sent
    create_key: str = ""


@dataclass(frozen=True)
class Candidate:
    """A record this connection created that no link of this user knows."""

    id: str
    snapshot: dict
    created_at: datetime
    key_value: str | None = None


IN_DOUBT_MARGIN = timedelta(minutes=1)


def match_in_doubt(
    candidates: list[Candidate], in_doubt: list[InDoubt], *, by_key: bool
) -> dict[str, int]:
    """R10: which unknown records are our creates whose answers were lost.

    With a key field (SALESFORCE_TASK_EXTERNAL_ID_FIELD) the key alone decides: a task the rep
    typed in Salesforce is never taken for one of ours. Without it: a record created after we
    sent (both on Salesforce's clock, a minute of margin) with the same content; failing that
    the same Subject (automation may have set another field meanwhile). Each kind of match is
    made across all candidates before the next, so two creates of one Subject are never swapped.
    Returns {Salesforce id: link key}."""
    waiting = list(in_doubt)
    matched: dict[str, int] = {}
    if by_key:
        rules = [lambda c, d: bool(d.create_key) and c.key_value == d.create_key]
    else:
        rules = [
            lambda c, d: c.snapshot == d.sent,
            lambda c, d: c.snapshot["Subject"] == d.sent.get("Subject"),
        ]
    for same in rules:
        for candidate in candidates:
            if not waiting:
                return matched
            if candidate.id in matched:
                continue
            found = next(
                (
                    d
                    for d in waiting
                    if (by_key or candidate.created_at >= d.started_at - IN_DOUBT_MARGIN)
                    and same(candidate, d)
                ),
                None,
            )
            if found is not None:
                waiting.remove(found)
                matched[candidate.id] = found.key
    return matched
