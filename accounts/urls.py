from django.urls import path

from accounts import oauth_views, views

urlpatterns = [
    path("", views.settings_page, name="settings"),
    path("salesforce/connect/", oauth_views.salesforce_connect, name="salesforce_connect"),
    path("salesforce/callback/", oauth_views.salesforce_callback, name="salesforce_callback"),
    path("salesforce/disconnect/", oauth_views.salesforce_disconnect, name="salesforce_disconnect"),
]
