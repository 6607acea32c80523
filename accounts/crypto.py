"""Encryption at rest for OAuth tokens (R17).

Our own small field on cryptography's Fernet rather than a library: the maintained one silently
hands back the ciphertext when a key is missing (django-fernet-encrypted-fields: its field's
``to_python`` catches InvalidToken and returns the value as read, in src/encrypted_fields/fields.py
of https://github.com/jazzband/django-fernet-encrypted-fields), and a ``gAAAA…`` string sent to
Salesforce as a refresh token is a far worse failure than an exception.

Keys come from ``settings.TOKEN_ENCRYPTION_KEYS``, newest first: the newest encrypts, every key
decrypts, so a new key can be prepended and ``manage.py rotate_token_keys`` re-encrypts the rows.
"""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


class TokenDecryptionError(ValueError):
    """A stored value that none of the configured keys can decrypt. The message names the field,
    never the value."""


@lru_cache(maxsize=8)
def _multifernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("TOKEN_ENCRYPTION_KEYS is empty: tokens cannot be stored.")
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as exc:
        # Fernet's message does not echo the key, but keep ours explicit anyway.
        raise ImproperlyConfigured(
            "TOKEN_ENCRYPTION_KEYS holds a value that is not a Fernet key."
        ) from exc


def token_fernet() -> MultiFernet:
    # Cached per tuple of keys, so tests that override the setting get a fresh MultiFernet.
    return _multifernet(tuple(settings.TOKEN_ENCRYPTION_KEYS))


def encrypt_text(value: str) -> str:
    return token_fernet().encrypt(value.encode()).decode()


def decrypt_text(value: str, *, what: str = "value") -> str:
    try:
        return token_fernet().decrypt(value.encode()).decode()
    except InvalidToken as exc:
        raise TokenDecryptionError(
            f"Cannot decrypt {what}: none of TOKEN_ENCRYPTION_KEYS fits. "
            "Was a key removed before running rotate_token_keys?"
        ) from exc


class EncryptedTextField(models.TextField):
    """Fernet-encrypted text. Not filterable, orderable or indexable (every write has a new IV).

    Reading a value that no key decrypts raises ``TokenDecryptionError``: never a silent
    pass-through of the ciphertext.
    """

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return None
        return encrypt_text(value)

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        return decrypt_text(value, what=f"{self.model.__name__}.{self.name}")
