"""``tasksync.markup`` escapes exactly as Django's ``conditional_escape`` and ``format_html``."""

from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from tasksync.markup import esc, html

VALUES = [
    "plain",
    "<script>alert('x')</script> & \"quotes\"",
    mark_safe("<b>already safe</b>"),
    gettext_lazy("Synced"),
    42,
    None,
    "",
    "ñandú · 東京 ✓",
]


def test_esc_is_conditional_escape():
    for value in VALUES:
        assert esc(value) == conditional_escape(value), value


def test_html_is_format_html():
    template = '<a href="{}" title="{}">{}</a>'
    for value in VALUES:
        ours = html(template, value, value, value)
        assert ours == format_html(template, value, value, value)
        assert hasattr(ours, "__html__")  # safe: the admin and templates do not escape it again
