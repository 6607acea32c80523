"""The connection admin shows health, never tokens (R14, R17)."""

import pytest
from django.db import connection as db
from django.urls import reverse

from accounts.models import SalesforceOrg
from accounts.services import connection_mark_needs_reconnect
from tests.factories import UserFactory


@pytest.fixture
def staff(client, db):
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    return client


def _ciphertexts(pk):
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT access_token, refresh_token FROM accounts_salesforceconnection WHERE id = %s",
            [pk],
        )
        return list(cursor.fetchone())


def test_it_never_shows_a_token_or_its_ciphertext_in_the_admin(staff, sf_connection):
    # R17: tokens are never shown.
    secrets = [sf_connection.access_token, sf_connection.refresh_token]
    secrets += _ciphertexts(sf_connection.pk)
    pages = [
        reverse("admin:accounts_salesforceconnection_changelist"),
        reverse("admin:accounts_salesforceconnection_change", args=[sf_connection.pk]),
        reverse("admin:accounts_salesforceorg_changelist"),
        reverse("admin:accounts_salesforceorg_change", args=[sf_connection.org.pk]),
    ]
    for url in pages:
        response = staff.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        for secret in secrets:
            assert secret not in html, url
        assert "gAAAA" not in html, url
    change = staff.get(pages[1]).content.decode()
    assert sf_connection.username in change and sf_connection.sf_user_id in change


def test_it_filters_the_connections_that_need_reconnect(staff, sf_connection):
    # R12/R14: "reconnect Salesforce" is visible in the admin.
    url = reverse("admin:accounts_salesforceconnection_changelist")
    assert (
        sf_connection.username
        not in staff.get(url, {"state__exact": "needs_reconnect"}).content.decode()
    )
    connection_mark_needs_reconnect(connection=sf_connection, reason="expired access/refresh token")
    html = staff.get(url, {"state__exact": "needs_reconnect"}).content.decode()
    assert sf_connection.username in html
    assert "needs reconnect" in html


@pytest.mark.parametrize("term", ["org_id", "sf_user_id", "username", "user_email"])
def test_it_finds_a_connection_by_user_and_salesforce_ids(staff, sf_connection, term):
    value = {
        "org_id": sf_connection.org.org_id,
        "sf_user_id": sf_connection.sf_user_id,
        "username": sf_connection.username,
        "user_email": sf_connection.user.email,
    }[term]
    url = reverse("admin:accounts_salesforceconnection_changelist")
    html = staff.get(url, {"q": value}).content.decode()
    assert f"/admin/accounts/salesforceconnection/{sf_connection.pk}/" in html


def test_it_shows_the_org_api_usage_read_only(staff, sf_connection):
    org = sf_connection.org
    SalesforceOrg.objects.filter(pk=org.pk).update(api_used=750, api_max=15000)
    html = staff.get(reverse("admin:accounts_salesforceorg_changelist")).content.decode()
    assert "750 / 15000 (5%)" in html
    assert staff.get(reverse("admin:accounts_salesforceorg_add")).status_code == 403
    change = staff.post(
        reverse("admin:accounts_salesforceorg_change", args=[org.pk]), {"org_id": "x"}
    )
    assert change.status_code == 403
    org.refresh_from_db()
    assert org.org_id == sf_connection.org.org_id
