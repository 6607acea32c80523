"""The admin for auditing and repairing the sync (R8, R11, R14).

The log (runs, events, conflicts, links, outbox) is read-only: it says what happened and is never
edited by hand. Repairs go through the sync services, as two-line actions that report a count and
are written to Django's admin log. Tokens never appear here (R17).
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from tasksync.admin import (  # noqa: F401 - registers the admins
    audit,
    conflicts,
    feeds,
    states,
    stream,
    tasks,
)

admin.site.site_header = _("tasksync administration")
admin.site.site_title = _("tasksync admin")
admin.site.index_title = _("Sync, tasks and users")
# The log lists need the width (issue 14: they fit 1280 px); every page links Home for the rest.
admin.site.enable_nav_sidebar = False
