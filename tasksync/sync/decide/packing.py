"""How a push is packed into Composite calls (R5, R13)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Part:
    """One subrequest of a push: ``kind`` (create, update, delete) and which of that kind's
    items (a slice of its list) it carries; ``single`` is a one-record sObject request, which
    does not count toward the 5 collections."""

    kind: str
    start: int
    stop: int
    single: bool = False


def pack_push(
    counts: dict[str, int], *, per_collection: int = 200, heavy: int = 5, subrequests: int = 25
) -> list[list[Part]]:
    """R13: the creates, updates and deletes of a push packed into as few Composite calls as
    Composite's limits allow: sObject Collections of up to ``per_collection`` records (at most
    ``heavy`` a call, given to the kinds with the most left), then what is left sent as
    single-record subrequests (up to ``subrequests`` subrequests in all).

    One call carries up to 1,000 changes of one kind, or any mix that fits five collections and
    twenty singles (e.g. 600 creates, 380 edits and 20 deletes); 333 of each of three kinds
    need two calls."""
    order = ("create", "update", "delete")
    left = {k: counts.get(k, 0) for k in order}
    done = dict.fromkeys(order, 0)
    calls: list[list[Part]] = []
    while any(left.values()):
        parts: list[Part] = []
        for _ in range(heavy):
            kind = max(order, key=lambda k: left[k])
            if left[kind] < 2:
                break
            size = min(per_collection, left[kind])
            parts.append(Part(kind, done[kind], done[kind] + size))
            done[kind] += size
            left[kind] -= size
        for kind in order:
            size = min(left[kind], subrequests - len(parts))
            parts += [
                Part(kind, i, i + 1, single=True) for i in range(done[kind], done[kind] + size)
            ]
            done[kind] += size
            left[kind] -= size
        parts.sort(key=lambda part: (order.index(part.kind), part.start))
        calls.append(parts)
    return calls
