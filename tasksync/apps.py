from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TasksyncConfig(AppConfig):
    name = "tasksync"
    verbose_name = _("Tasks and Salesforce sync")

    def ready(self):
        from tasksync.sync import outbox, receivers  # noqa: F401 - connects signal receivers
