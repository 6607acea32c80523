from django.urls import path

from accounts import auth_views, oauth_views

urlpatterns = [
    path("password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("salesforce/connect/", oauth_views.salesforce_connect, name="salesforce_connect"),
    path(
        "salesforce/connect/cancel/",
        oauth_views.salesforce_connect_cancel,
        name="salesforce_connect_cancel",
    ),
    path("salesforce/callback/", oauth_views.salesforce_callback, name="salesforce_callback"),
    path("salesforce/disconnect/", oauth_views.salesforce_disconnect, name="salesforce_disconnect"),
]
