"""R2: the subject template, as pure functions (no database)."""

from accounts.subject import render_subject, template_errors, template_has_name


def test_it_renders_the_default_template_as_the_name():
    assert render_subject("{{activity_subject}}", "Call Ana") == "Call Ana"


def test_it_renders_a_prefix_template():
    assert render_subject("[tasksync] {{activity_subject}}", "Call Ana") == "[tasksync] Call Ana"


def test_it_removes_line_breaks_and_cuts_to_255():
    subject = render_subject("{{ activity_subject }}\nfollow-up", "x" * 300)
    assert "\n" not in subject and len(subject) == 255


def test_it_knows_when_renames_reach_the_subject():
    assert template_has_name("Re: {{activity_subject}}")
    assert not template_has_name("Follow-up call")


def test_it_rejects_unknown_placeholders_and_overlong_templates():
    assert template_errors("{{contact_name}}")
    assert template_errors("x" * 255 + "{{activity_subject}}")
    assert template_errors("   ")
    assert template_errors("x" * 254 + "{{activity_subject}}") == []
