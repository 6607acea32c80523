"""SOQL tokens: literals, operators, keywords; string escapes; the MALFORMED_QUERY message.

"Quoted String Escape Sequences" and "Date Formats and Date Literals" (SOQL and SOSL Reference).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


class SoqlError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})(?![\dT])
  | (?P<number>[+-]?\d+(?:\.\d+)?)
  | (?P<string>'(?:\\.|[^'\\])*')
  | (?P<op>!=|<>|<=|>=|=|<|>)
  | (?P<punct>[(),])
  | (?P<ident>[A-Za-z_][A-Za-z0-9_.]*)
    """,
    re.VERBOSE,
)
_ESCAPES = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "b": "\b",
    "f": "\f",
    '"': '"',
    "'": "'",
    "\\": "\\",
    "_": "\\_",
    "%": "\\%",
}
KEYWORDS = {
    "select",
    "from",
    "where",
    "and",
    "or",
    "not",
    "in",
    "like",
    "order",
    "by",
    "asc",
    "desc",
    "nulls",
    "first",
    "last",
    "limit",
    "offset",
    "null",
    "true",
    "false",
}


@dataclass
class Tok:
    kind: str
    value: object
    text: str
    pos: int


def tokenize(text: str) -> list[Tok]:
    toks, pos = [], 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if not m:
            raise malformed(text, pos, f"unexpected token: '{text[pos : pos + 10]}'")
        kind, raw = m.lastgroup, m.group()
        if kind != "ws":
            value: object = raw
            if kind == "string":
                value = _unescape(raw[1:-1], text, pos)
            elif kind == "ident" and raw.lower() in KEYWORDS:
                kind, value = "kw", raw.lower()
            toks.append(Tok(kind, value, raw, pos))
        pos = m.end()
    toks.append(Tok("eof", None, "", len(text)))
    return toks


def _unescape(body: str, text: str, pos: int) -> str:
    out, i = [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            nxt = body[i + 1] if i + 1 < len(body) else ""
            if nxt not in _ESCAPES:
                raise malformed(text, pos, f"Invalid string literal '{body}'. Illegal escape")
            out.append(_ESCAPES[nxt])
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def malformed(text: str, pos: int, detail: str) -> SoqlError:
    return SoqlError(
        "MALFORMED_QUERY", f"\n{text}\n{' ' * pos}^\nERROR at Row:1:Column:{pos + 1}\n{detail}"
    )
