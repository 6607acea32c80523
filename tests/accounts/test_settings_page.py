from django.urls import reverse

from accounts.models import User


def test_it_shows_the_sync_checkbox_disabled_until_salesforce_is_connected(signed_in):
    # R3: no fake enabled state before a Salesforce account is connected.
    response = signed_in.get(reverse("settings"))
    form = response.context["sync_form"]
    assert form.fields["sync_enabled"].disabled
    html = response.content.decode()
    assert "Connect Salesforce first." in html
    assert 'name="sync_enabled"' in html and "disabled" in html


def test_a_crafted_post_cannot_turn_sync_on_without_a_connection(signed_in, user):
    signed_in.post(
        reverse("settings"),
        {"form": "sync", "sync_enabled": "on", "subject_template": "{{activity_subject}}"},
    )
    response = signed_in.get(reverse("settings"))
    assert response.context["availability"].enabled is False


def test_it_saves_the_time_zone_and_language(signed_in, user):
    response = signed_in.post(
        reverse("settings"),
        {"form": "preferences", "time_zone": "America/Los_Angeles", "language": "es"},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.time_zone, user.language) == ("America/Los_Angeles", "es")


def test_it_rejects_an_unknown_time_zone(signed_in, user):
    response = signed_in.post(
        reverse("settings"), {"form": "preferences", "time_zone": "Mars/Olympus", "language": ""}
    )
    assert response.status_code == 200
    assert "time_zone" in response.context["preferences"].errors
    user.refresh_from_db()
    assert user.time_zone == "Europe/Madrid"


def test_it_saves_a_subject_template(signed_in, user):
    # R2
    signed_in.post(
        reverse("settings"), {"form": "sync", "subject_template": "[tasksync] {{activity_subject}}"}
    )
    user.refresh_from_db()
    assert user.subject_template == "[tasksync] {{activity_subject}}"


def test_it_explains_a_template_whose_subject_would_not_fit(signed_in, user):
    # R2: the rendered subject must fit Salesforce's 255 characters.
    template = "x" * 300 + " {{activity_subject}}"
    response = signed_in.post(reverse("settings"), {"form": "sync", "subject_template": template})
    assert response.status_code == 200
    errors = " ".join(response.context["sync_form"].errors["subject_template"])
    assert "longer than 255 characters" in errors
    assert template in response.content.decode()
    assert User.objects.get(pk=user.pk).subject_template == "{{activity_subject}}"


def test_it_defaults_the_subject_template(db):
    assert User.objects.create_user("new").subject_template == "{{activity_subject}}"
