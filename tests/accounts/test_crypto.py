import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection as db

from accounts.crypto import TokenDecryptionError, decrypt_text, encrypt_text
from accounts.models import SalesforceConnection, SalesforceOrg

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def _raw_tokens(pk):
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT access_token, refresh_token FROM accounts_salesforceconnection WHERE id = %s",
            [pk],
        )
        return cursor.fetchone()


def _connection(user, **kwargs):
    org = SalesforceOrg.objects.create(org_id="00D000000000001AAA", instance_url="https://x.test")
    return SalesforceConnection.objects.create(
        user=user,
        org=org,
        sf_user_id="005000000000001AAA",
        username="ana@example.com",
        instance_url="https://x.test",
        login_url="https://login.salesforce.com",
        access_token="00D!access-secret",
        refresh_token="5Aep-refresh-secret",
        **kwargs,
    )


def test_it_round_trips_text_and_never_stores_the_same_ciphertext_twice(settings):
    settings.TOKEN_ENCRYPTION_KEYS = [NEW_KEY]
    first, second = encrypt_text("secret"), encrypt_text("secret")
    assert first != second and first.startswith("gAAAA")
    assert decrypt_text(first) == decrypt_text(second) == "secret"


def test_it_refuses_to_work_without_keys(settings):
    settings.TOKEN_ENCRYPTION_KEYS = []
    with pytest.raises(ImproperlyConfigured):
        encrypt_text("secret")


def test_it_decrypts_with_an_older_key_after_a_new_one_is_prepended(settings):
    settings.TOKEN_ENCRYPTION_KEYS = [OLD_KEY]
    ciphertext = encrypt_text("secret")
    settings.TOKEN_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    assert decrypt_text(ciphertext) == "secret"


def test_it_raises_loudly_when_no_key_fits_and_never_returns_the_ciphertext(settings):
    settings.TOKEN_ENCRYPTION_KEYS = [OLD_KEY]
    ciphertext = encrypt_text("secret")
    settings.TOKEN_ENCRYPTION_KEYS = [NEW_KEY]
    with pytest.raises(TokenDecryptionError) as excinfo:
        decrypt_text(ciphertext, what="SalesforceConnection.refresh_token")
    assert "SalesforceConnection.refresh_token" in str(excinfo.value)
    assert ciphertext not in str(excinfo.value)


def test_it_stores_tokens_encrypted_in_the_database(user):
    # R17: tokens are encrypted at rest.
    conn = _connection(user)
    access, refresh = _raw_tokens(conn.pk)
    assert access.startswith("gAAAA") and refresh.startswith("gAAAA")
    assert "access-secret" not in access and "refresh-secret" not in refresh
    conn = SalesforceConnection.objects.get(pk=conn.pk)
    assert (conn.access_token, conn.refresh_token) == ("00D!access-secret", "5Aep-refresh-secret")


def test_it_fails_loudly_when_loading_a_row_encrypted_under_a_removed_key(settings, user):
    settings.TOKEN_ENCRYPTION_KEYS = [OLD_KEY]
    conn = _connection(user)
    settings.TOKEN_ENCRYPTION_KEYS = [NEW_KEY]
    with pytest.raises(TokenDecryptionError):
        SalesforceConnection.objects.get(pk=conn.pk)


def test_it_re_encrypts_every_token_under_the_newest_key(settings, user):
    settings.TOKEN_ENCRYPTION_KEYS = [OLD_KEY]
    conn = _connection(user)
    settings.TOKEN_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    call_command("rotate_token_keys", verbosity=0)
    settings.TOKEN_ENCRYPTION_KEYS = [NEW_KEY]  # the old key can now be dropped
    conn = SalesforceConnection.objects.get(pk=conn.pk)
    assert (conn.access_token, conn.refresh_token) == ("00D!access-secret", "5Aep-refresh-secret")


def test_it_keeps_the_token_version_when_re_encrypting(settings, user):
    settings.TOKEN_ENCRYPTION_KEYS = [OLD_KEY]
    conn = _connection(user, token_version=4)
    settings.TOKEN_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    call_command("rotate_token_keys", verbosity=0)
    conn.refresh_from_db()
    assert conn.token_version == 4


def test_it_leaves_empty_tokens_empty(user):
    conn = _connection(user)
    SalesforceConnection.objects.filter(pk=conn.pk).update(access_token=None, refresh_token=None)
    assert _raw_tokens(conn.pk) == (None, None)
    conn.refresh_from_db()
    assert conn.access_token is None and conn.refresh_token is None and not conn.is_usable


def test_its_str_and_repr_never_show_a_token(user):
    conn = _connection(user)
    for text in (str(conn), repr(conn)):
        assert "secret" not in text
