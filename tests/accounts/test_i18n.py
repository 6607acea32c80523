from django.urls import reverse

from tests.factories import UserFactory


def test_a_spanish_speaking_user_sees_the_command_center_in_spanish(client, db):
    client.force_login(UserFactory(language="es"))
    html = client.get(reverse("command_center")).content.decode()
    assert "Centro de mando" in html and "Hoy" in html and "Mañana" in html
    assert "Command Center" not in html


def test_a_spanish_speaking_user_sees_the_settings_page_in_spanish(client, db):
    client.force_login(UserFactory(language="es"))
    html = client.get(reverse("settings")).content.decode()
    assert "Sincronizar mis tareas con Salesforce" in html
    assert "Conecta Salesforce primero." in html
    assert "Última sincronización correcta" in html and "Nunca" in html


def test_the_language_follows_the_browser_when_the_profile_has_none(client, db):
    client.force_login(UserFactory(language=""))
    html = client.get(reverse("command_center"), HTTP_ACCEPT_LANGUAGE="es-ES,es;q=0.9").content
    assert "Centro de mando" in html.decode()


def test_the_profile_language_wins_over_the_browser(client, db):
    client.force_login(UserFactory(language="en"))
    html = client.get(reverse("command_center"), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Command Center" in html
