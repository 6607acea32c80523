import factory
from django.utils import timezone
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


class SalesforceOrgFactory(DjangoModelFactory):
    class Meta:
        model = "accounts.SalesforceOrg"
        django_get_or_create = ["org_id"]

    org_id = factory.Sequence(lambda n: f"00D8a{n:013d}")
    instance_url = "https://example.my.salesforce.com"


class SalesforceConnectionFactory(DjangoModelFactory):
    """A stored connection (tokens included) for tests that need no live Salesforce."""

    class Meta:
        model = "accounts.SalesforceConnection"

    user = factory.SubFactory(UserFactory)
    org = factory.SubFactory(SalesforceOrgFactory)
    sf_user_id = factory.Sequence(lambda n: f"0058a{n:013d}")
    username = factory.LazyAttribute(lambda c: f"{c.user.username}@salesforce.example")
    display_name = factory.LazyAttribute(lambda c: c.user.username.title())
    instance_url = "https://example.my.salesforce.com"
    login_url = "https://login.salesforce.com"
    access_token = factory.Sequence(lambda n: f"00D!access-token-{n}")
    refresh_token = factory.Sequence(lambda n: f"refresh-token-{n}")
    state = "connected"


class SyncStateFactory(DjangoModelFactory):
    class Meta:
        model = "tasksync.SyncState"
        django_get_or_create = ["user"]

    user = factory.SubFactory(UserFactory)
    enabled = True
    phase = "on"


class TaskLinkFactory(DjangoModelFactory):
    class Meta:
        model = "tasksync.TaskLink"

    task = factory.SubFactory(ReminderTaskFactory)
    user = factory.SelfAttribute("task.user")
    org_id = "00D8a0000000000001"
    sf_user_id = "0058a0000000000001"
    sf_id = factory.Sequence(lambda n: f"00T8a{n:013d}")
    state = "synced"


class OutboundChangeFactory(DjangoModelFactory):
    class Meta:
        model = "tasksync.OutboundChange"

    task = factory.SubFactory(ReminderTaskFactory)
    user = factory.SelfAttribute("task.user")
    operation = "update"
    fields = factory.LazyFunction(lambda: ["name"])


class SyncRunFactory(DjangoModelFactory):
    class Meta:
        model = "tasksync.SyncRun"

    user = factory.SubFactory(UserFactory)
    trigger = "poll"
    started_at = factory.LazyFunction(timezone.now)
    finished_at = factory.LazyFunction(timezone.now)
    outcome = "success"


class SyncEventFactory(DjangoModelFactory):
    class Meta:
        model = "tasksync.SyncEvent"

    run = factory.SubFactory(SyncRunFactory)
    user = factory.SelfAttribute("run.user")
    task = factory.SubFactory(ReminderTaskFactory, user=factory.SelfAttribute("..user"))
    sf_id = factory.Sequence(lambda n: f"00T8a{n:013d}")
    direction = "push"
    action = "update"


class SyncConflictFactory(DjangoModelFactory):
    class Meta:
        model = "tasksync.SyncConflict"

    task = factory.SubFactory(ReminderTaskFactory)
    user = factory.SelfAttribute("task.user")
    field = "details"
    local_value = "local"
    remote_value = "remote"
    winner = "salesforce"


class NoticeFactory(DjangoModelFactory):
    class Meta:
        model = "tasksync.Notice"

    user = factory.SubFactory(UserFactory)
    task = factory.SubFactory(ReminderTaskFactory, user=factory.SelfAttribute("..user"))
    task_name = factory.LazyAttribute(lambda n: n.task.name)
    kind = "deleted"
    key = factory.Sequence(lambda n: f"run:{n}:task:{n}")


class ZoneChoiceFactory(DjangoModelFactory):
    class Meta:
        model = "tasksync.ZoneChoice"

    user = factory.SubFactory(UserFactory)
    zone = "Europe/Madrid"


class OrgFeedFactory(DjangoModelFactory):
    """R19: an org's change feed, its integration user not yet connected."""

    class Meta:
        model = "tasksync.OrgFeed"
        django_get_or_create = ["org_id"]

    org_id = factory.Sequence(lambda n: f"00D8b{n:013d}")
    integration_user = factory.SubFactory(
        UserFactory, username=factory.Sequence(lambda n: f"integration-{n}")
    )


class StreamStateFactory(DjangoModelFactory):
    """R19: an org's change-stream state, no subscriber holding it yet."""

    class Meta:
        model = "tasksync.StreamState"
        django_get_or_create = ["org_id"]

    org_id = factory.Sequence(lambda n: f"00D8c{n:013d}")
