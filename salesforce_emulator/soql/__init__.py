"""A SOQL subset: parser and evaluator over in-memory rows.

Modules: lexer (tokens, string escapes, MALFORMED_QUERY), nodes (the parsed query), parser,
evaluator (WHERE as a predicate, ORDER BY, LIMIT/OFFSET) and prefilter (the conditions the
store may apply in SQL first).

Salesforce pages: "Date Formats and Date Literals" (SOQL and SOSL Reference),
https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_dateformats.htm
and "Query" (REST API Developer Guide), https://developer.salesforce.com/docs/platform/api-rest/guide/resources-query.html

Supported: SELECT field list | COUNT(), FROM Task/TaskStatus/TaskPriority, WHERE with
AND/OR/NOT/parentheses, = != <> < <= > >= LIKE IN / NOT IN, literals (string with escapes,
true/false/null, numbers, date, dateTime), ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], ...,
LIMIT, OFFSET. Errors: MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE (all HTTP 400).
"""

from .evaluator import compile_where, execute, matches
from .lexer import KEYWORDS, SoqlError, Tok, tokenize
from .nodes import BoolOp, Cmp, Order, Query
from .parser import parse
from .prefilter import needed_columns, prefilter

__all__ = [
    "KEYWORDS",
    "BoolOp",
    "Cmp",
    "Order",
    "Query",
    "SoqlError",
    "Tok",
    "compile_where",
    "execute",
    "matches",
    "needed_columns",
    "parse",
    "prefilter",
    "tokenize",
]
