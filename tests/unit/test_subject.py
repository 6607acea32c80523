"""R2: the Salesforce Subject rendered from the user's template. Pure: no database, no network.

tests/tasks/test_subject.py has the examples from the rule book; these check the edges and the
properties every rendering keeps."""

from hypothesis import given
from hypothesis import strategies as st

from accounts.subject import (
    DEFAULT_TEMPLATE,
    SUBJECT_MAX_LENGTH,
    render_subject,
    template_errors,
    template_has_name,
)

names = st.text(min_size=1, max_size=400)
templates = st.sampled_from(
    [
        DEFAULT_TEMPLATE,
        "[tasksync] {{activity_subject}}",
        "{{ activity_subject }} (follow-up)",
        "Follow-up call",
        "{{activity_subject}} / {{activity_subject}}",
        "{{contact_name}}: {{activity_subject}}",
    ]
)


@given(template=templates, name=names)
def test_a_subject_is_one_line_of_at_most_255_characters(template, name):
    # R2: line breaks removed, cut to 255. Every character Python counts as a line boundary
    # (\n, \r, \v, \f, \x1c-\x1e, \x85, \u2028, \u2029) is a line break for a reader too.
    subject = render_subject(template, name)
    assert len(subject) <= SUBJECT_MAX_LENGTH
    assert len(subject.splitlines()) <= 1


def test_each_kind_of_line_break_becomes_a_space():
    # R2
    for brk in ["\n", "\r\n", "\r", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]:
        assert render_subject(DEFAULT_TEMPLATE, f"Call{brk}Ana") == "Call Ana", repr(brk)


def test_a_run_of_line_breaks_becomes_one_space():
    assert render_subject(DEFAULT_TEMPLATE, "Call\n\n\r\nAna") == "Call Ana"


@given(name=st.text(min_size=1, max_size=255).filter(lambda s: s == " ".join(s.split())))
def test_the_default_template_renders_the_name_itself(name):
    # R2: default {{activity_subject}}.
    assert render_subject(DEFAULT_TEMPLATE, name) == name


def test_an_empty_template_renders_like_the_default():
    assert render_subject("", "Call Ana") == "Call Ana"


def test_the_name_is_inserted_literally():
    # Backslashes and group references are text, and a name that looks like the placeholder is not
    # expanded again.
    assert render_subject("Re: {{activity_subject}}", r"C:\new \1 \g<0>") == r"Re: C:\new \1 \g<0>"
    assert render_subject("Re: {{activity_subject}}", "{{activity_subject}}") == (
        "Re: {{activity_subject}}"
    )


def test_every_placeholder_is_filled_and_unknown_ones_are_left_as_typed():
    assert render_subject("{{activity_subject}} / {{ activity_subject }}", "A") == "A / A"
    assert render_subject("{{contact_name}}: {{activity_subject}}", "A") == "{{contact_name}}: A"


def test_the_cut_keeps_the_first_255_characters_of_the_rendered_text():
    subject = render_subject("[ts] {{activity_subject}}", "x" * 300)
    assert subject == "[ts] " + "x" * 250


def test_leading_and_trailing_blanks_are_trimmed():
    assert render_subject("  {{activity_subject}}  ", " Call Ana \n") == "Call Ana"


def test_only_the_placeholder_makes_renames_travel():
    # R2: with the placeholder a rename rewrites the Subject; without it, never.
    assert template_has_name("{{activity_subject}}")
    assert template_has_name("[x] {{ activity_subject }}")
    assert not template_has_name("Follow-up call")
    assert not template_has_name("{{activity_subjects}}")
    assert not template_has_name("{activity_subject}")


def test_a_template_may_fill_all_255_characters_when_it_has_no_placeholder():
    assert template_errors("x" * 255) == []
    assert render_subject("x" * 255, "ignored") == "x" * 255
    assert template_errors("x" * 256)


def test_a_template_with_the_placeholder_leaves_room_for_one_character_of_name():
    assert template_errors("x" * 254 + "{{activity_subject}}") == []
    assert template_errors("x" * 255 + "{{activity_subject}}")


def test_template_errors_say_what_is_wrong():
    assert template_errors("") == ["The subject template cannot be empty."]
    assert template_errors(" \n ") == ["The subject template cannot be empty."]
    assert template_errors("{{contact_name}} {{activity_subject}}") == [
        "Unknown placeholder: {{contact_name}}. The only placeholder is {{activity_subject}}."
    ]
    assert template_errors("x" * 260) == [
        "The subject would be longer than 255 characters: shorten the text around the "
        "placeholder by 5 characters."
    ]


@given(template=templates)
def test_every_template_the_form_accepts_renders_a_nonempty_subject(template):
    if not template_errors(template):
        assert render_subject(template, "A")
