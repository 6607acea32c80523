import factory
from factory.django import DjangoModelFactory

from accounts.models import User
from tasksync.models import ReminderTask


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"rep{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    time_zone = "UTC"
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery staple")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class ReminderTaskFactory(DjangoModelFactory):
    class Meta:
        model = ReminderTask

    user = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Call customer {n}")
    status = "open"
    priority = "normal"
    due_date = None
    details = ""
