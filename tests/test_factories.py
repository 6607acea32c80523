"""Every model has a factory that builds a valid, saved object."""

import pytest
from django.apps import apps

from tests import factories

FACTORIES = [
    obj
    for obj in vars(factories).values()
    if isinstance(obj, type)
    and issubclass(obj, factories.DjangoModelFactory)
    and obj is not factories.DjangoModelFactory
]


@pytest.mark.parametrize("factory", FACTORIES, ids=lambda f: f.__name__)
def test_each_factory_builds_a_valid_object(db, factory):
    obj = factory()
    obj.full_clean()
    assert obj.pk is not None


def test_every_project_model_has_a_factory():
    covered = {f._meta.get_model_class() for f in FACTORIES}
    ours = {m for app in ("accounts", "tasksync") for m in apps.get_app_config(app).get_models()}
    assert ours - covered == set()
