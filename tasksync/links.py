"""URLs for many rows: a URL name that takes one integer key, reversed once per name.

``reverse`` costs about 25 µs a call, and a list of 100 rows (the rep's task rows, an admin
log list) calls it two or three times a row. ``url_with_key`` reverses a name once (per script
prefix and URLconf) with a stand-in key, and puts each row's key in its place.
"""

from __future__ import annotations

from functools import lru_cache

from django.urls import get_script_prefix, get_urlconf, reverse

_STAND_IN = 987654321  # a key no URL pattern's fixed text contains


@lru_cache(maxsize=512)
def _around_key(name: str, prefix: str, urlconf) -> tuple[str, str] | None:
    url = reverse(name, args=[_STAND_IN], urlconf=urlconf)
    head, found, tail = url.partition(str(_STAND_IN))
    return (head, tail) if found and str(_STAND_IN) not in tail else None


def url_with_key(name: str, key: int) -> str:
    """``reverse(name, args=[key])`` for an integer ``key``, without reversing it again."""
    around = _around_key(name, get_script_prefix(), get_urlconf())
    if around is None:
        return reverse(name, args=[key])
    return f"{around[0]}{int(key)}{around[1]}"
