from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from accounts.auth_views import SignOutView
from tasksync import rep_views, settings_views, views

urlpatterns = [
    path("", views.command_center, name="command_center"),
    path("tasks/", views.task_list, name="task_list"),
    path("tasks/new/", views.task_create, name="task_create"),
    path("tasks/<int:pk>/edit/", views.task_edit, name="task_edit"),
    path("tasks/<int:pk>/delete/", views.task_delete, name="task_delete"),
    path("tasks/<int:pk>/complete/", views.task_complete, name="task_complete"),
    path("tasks/<int:pk>/reopen/", views.task_reopen, name="task_reopen"),
    path("notices/<int:pk>/dismiss/", rep_views.notice_dismiss, name="notice_dismiss"),
    path("notices/dismiss/", rep_views.notice_dismiss_all, name="notice_dismiss_all"),
    path("live/status/", rep_views.live_rep_status, name="live_rep_status"),
    path("live/command-center/", views.live_command_center, name="live_command_center"),
    path("live/tasks/", views.live_task_list, name="live_task_list"),
    path("live/sync/", rep_views.live_sync_status, name="live_sync_status"),
    path("time-zone/detected/", rep_views.time_zone_detected, name="time_zone_detected"),
    # The settings page and its sync part are tasksync's; the Salesforce connection's pages and
    # the password change are accounts' (one direction between the apps: tasksync uses accounts).
    path("settings/", settings_views.settings_page, name="settings"),
    path("settings/sync/status/", settings_views.sync_status, name="sync_status"),
    path("settings/sync/retry/", settings_views.sync_retry, name="sync_retry"),
    path("settings/sync/now/", settings_views.sync_now, name="sync_now"),
    path("settings/", include("accounts.urls")),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", SignOutView.as_view(), name="logout"),
    # Browsers ask for /favicon.ico on every page, the admin's too.
    path("favicon.ico", RedirectView.as_view(url=static("favicon.ico"), permanent=True)),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
