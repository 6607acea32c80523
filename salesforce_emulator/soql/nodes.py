"""The parsed query: comparisons, boolean operators, ORDER BY items and the query itself."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..schema import Field


@dataclass
class Cmp:
    field: Field
    op: str
    value: object  # python value or list for IN


@dataclass
class BoolOp:
    op: str  # and / or / not
    args: list


@dataclass
class Order:
    field: Field
    desc: bool
    nulls_first: bool


@dataclass
class Query:
    sobject: str
    fields: list[str]
    count: bool = False
    where: object = None
    order: list[Order] = field(default_factory=list)
    limit: int | None = None
    offset: int = 0
