from django.urls import path

from accounts import auth_views, oauth_views, views

urlpatterns = [
    path("", views.settings_page, name="settings"),
    path("password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("sync/status/", views.sync_status, name="sync_status"),
    path("sync/retry/", views.sync_retry, name="sync_retry"),
    path("sync/now/", views.sync_now, name="sync_now"),
    path("salesforce/connect/", oauth_views.salesforce_connect, name="salesforce_connect"),
    path(
        "salesforce/connect/cancel/",
        oauth_views.salesforce_connect_cancel,
        name="salesforce_connect_cancel",
    ),
    path("salesforce/callback/", oauth_views.salesforce_callback, name="salesforce_callback"),
    path("salesforce/disconnect/", oauth_views.salesforce_disconnect, name="salesforce_disconnect"),
]
