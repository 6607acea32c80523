"""The import's validation of a task without ``full_clean`` per record (issue 16, R11).

A first import checks 10,000 tasks; ``Model.full_clean`` builds an instance and walks every
field's ``to_python``, ``validate`` and validators for each, a third of the import's local work.
``RowCheck`` applies the same rules from the same field definitions (blank, null, choices,
``MinLengthValidator`` and ``MaxLengthValidator``), compiled once, to a plain tuple of values:

- A value it can vouch for (the right type, within the field's limits) is accepted at once.
- Anything else (a wrong type, a value out of bounds, a validator it does not know, a model with
  its own ``clean`` or constraints) is handed to ``full_clean`` itself on an instance built from
  the same values, so a rejected record has exactly Django's messages.

So the check never accepts what ``full_clean`` rejects, and rejects only through ``full_clean``:
``tests/sync/test_import_check.py`` feeds the same odd values and records to both (hypothesis)
and asserts the same accept, reject and messages.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, MinLengthValidator
from django.db import models

Accept = Callable[[object], bool]


def _choice_keys(field) -> frozenset | None:
    if field.choices is None:
        return None
    keys = set()
    for key, label in field.choices:
        if isinstance(label, list | tuple):  # an optgroup
            keys.update(k for k, _ in label)
        else:
            keys.add(key)
    # Hashable keys only: a set lookup must mean what validate's == loop means.
    if not all(isinstance(k, str) for k in keys):
        return None
    return frozenset(keys)


def _length_bounds(field) -> tuple[int, int | None] | None:
    """The length limits of the field's validators, or None if it has one we do not know."""
    low, high = 0, None
    for validator in field.validators:
        if type(validator) not in (MinLengthValidator, MaxLengthValidator):
            return None
        limit = validator.limit_value
        if callable(limit):
            return None
        if type(validator) is MinLengthValidator:
            low = max(low, limit)
        else:
            high = limit if high is None else min(high, limit)
    return low, high


def _accept_text(field) -> Accept | None:
    """CharField and TextField: a str within the field's choices and length limits."""
    bounds = _length_bounds(field)
    if bounds is None:
        return None
    low, high = bounds
    choices = _choice_keys(field) if field.editable else None
    if field.editable and field.choices is not None and choices is None:
        return None
    blank = field.blank

    def accept(value) -> bool:
        if value is None or value == "":
            return blank  # skipped by clean_fields; otherwise full_clean says why
        if not isinstance(value, str):
            return False  # to_python would convert it: let full_clean decide
        if choices is not None and value not in choices:
            return False
        size = len(value)
        return size >= low and (high is None or size <= high)

    return accept


def _accept_exact(field, kind: type) -> Accept | None:
    """DateField, DateTimeField: a value of exactly that type (a datetime given to a DateField
    is converted by to_python: full_clean decides), or an empty value the field allows."""
    if field.validators or field.choices is not None:
        return None
    blank = field.blank

    def accept(value) -> bool:
        if value is None:
            return blank
        return type(value) is kind

    return accept


def _accept_empty_only(field) -> Accept:
    """Any other field: only an empty value that clean_fields skips is vouched for."""
    blank, empty = field.blank, field.empty_values

    def accept(value) -> bool:
        return blank and value in empty

    return accept


def _acceptor(field) -> Accept:
    accept = None
    if isinstance(field, models.CharField | models.TextField) and not field.is_relation:
        accept = _accept_text(field)
    elif isinstance(field, models.DateTimeField):
        accept = _accept_exact(field, datetime)
    elif isinstance(field, models.DateField):
        accept = _accept_exact(field, date)
    return accept or _accept_empty_only(field)


class RowCheck:
    """``full_clean(exclude=exclude, validate_unique=False)`` of a ``model`` built from
    ``fields`` (attribute names, in a fixed order), for many rows. Fields not named take their
    defaults, checked once here."""

    def __init__(self, model, fields: Sequence[str], *, exclude: Sequence[str] = ()):
        self.model = model
        self.fields = tuple(fields)
        self.exclude = tuple(exclude)
        opts = model._meta
        by_attname = {f.attname: f for f in opts.concrete_fields}
        checked = [
            f
            for f in opts.fields
            if f.name not in self.exclude and not getattr(f, "generated", False)
        ]
        unknown = set(self.fields) - set(by_attname)
        if unknown:
            raise ValueError(f"not fields of {opts.label}: {sorted(unknown)}")
        self._accept = [
            (index, _acceptor(by_attname[name]))
            for index, name in enumerate(self.fields)
            if by_attname[name] in checked
        ]
        # Only full_clean itself knows what a model's own clean() or constraints do.
        self._always_full = model.clean is not models.Model.clean or bool(
            opts.constraints or opts.total_unique_constraints
        )
        if not self._always_full:
            self._always_full = not all(
                _acceptor(f)(f.get_default()) for f in checked if f.attname not in self.fields
            )

    def vouches(self, values: Sequence) -> bool:
        """True if every value is one ``full_clean`` certainly accepts (the fast way). False
        says nothing: only ``full_clean`` can tell."""
        if self._always_full:
            return False
        for index, accept in self._accept:  # noqa: SIM110 - a plain loop: no generator a row
            if not accept(values[index]):
                return False
        return True

    def errors(self, values: Sequence) -> ValidationError | None:
        """None if a row of these values is valid; otherwise ``full_clean``'s own error."""
        if self.vouches(values):
            return None
        return self.full_clean_errors(values)

    def full_clean_errors(self, values: Sequence) -> ValidationError | None:
        """What ``full_clean`` says of an instance built from ``values`` (the slow way)."""
        instance = self.model(**dict(zip(self.fields, values, strict=True)))
        try:
            instance.full_clean(exclude=list(self.exclude), validate_unique=False)
        except ValidationError as exc:
            return exc
        return None
