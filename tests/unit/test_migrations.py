"""The migrations say what the models say: a model changed without its migration (a key, an
index) would leave every existing database behind the code."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_every_model_change_has_its_migration():
    out = io.StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit as exit_:  # makemigrations --check exits 1 when a migration is missing
        pytest.fail(f"a migration is missing (exit {exit_.code}):\n{out.getvalue()}")
