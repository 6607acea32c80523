"""R2: the Salesforce Subject is the user's template rendered with the task name.

Pure functions: no database, no network.
"""

import re

from django.utils.translation import gettext as _

PLACEHOLDER = "activity_subject"
DEFAULT_TEMPLATE = "{{activity_subject}}"
SUBJECT_MAX_LENGTH = 255

_PLACEHOLDER_RE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
# Every line boundary str.splitlines() knows, not only \r and \n: a pasted name may carry any.
_LINE_BREAKS_RE = re.compile(r"[\n\v\f\r\x1c-\x1e\x85\u2028\u2029]+")


def template_has_name(template: str) -> bool:
    """Whether renaming a task changes its Subject (R2: only with the placeholder)."""
    return any(m.group(1) == PLACEHOLDER for m in _PLACEHOLDER_RE.finditer(template))


def render_subject(template: str, name: str) -> str:
    """Render, remove line breaks, cut to 255 characters (R2)."""
    rendered = _PLACEHOLDER_RE.sub(
        lambda m: name if m.group(1) == PLACEHOLDER else m.group(0), template or DEFAULT_TEMPLATE
    )
    return _LINE_BREAKS_RE.sub(" ", rendered).strip()[:SUBJECT_MAX_LENGTH]


def template_errors(template: str) -> list[str]:
    """What is wrong with a template a user typed, in words they can act on."""
    errors = []
    if not template or not template.strip():
        return [_("The subject template cannot be empty.")]
    unknown = sorted(
        {m.group(1) for m in _PLACEHOLDER_RE.finditer(template) if m.group(1) != PLACEHOLDER}
    )
    if unknown:
        errors.append(
            _("Unknown placeholder: %(names)s. The only placeholder is {{activity_subject}}.")
            % {"names": ", ".join("{{%s}}" % n for n in unknown)}
        )
    fixed = _LINE_BREAKS_RE.sub(" ", _PLACEHOLDER_RE.sub("", template)).strip()
    # The fixed text must leave room for at least one character of the task name.
    limit = SUBJECT_MAX_LENGTH - 1 if template_has_name(template) else SUBJECT_MAX_LENGTH
    if len(fixed) > limit:
        errors.append(
            _(
                "The subject would be longer than %(max)d characters: "
                "shorten the text around the placeholder by %(over)d characters."
            )
            % {"max": SUBJECT_MAX_LENGTH, "over": len(fixed) - limit}
        )
    return errors
