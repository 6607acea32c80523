"""What the settings page's Salesforce partial needs beyond ``user`` (R14, R17)."""

from django import template

from accounts.models import SalesforceConnection
from accounts.salesforce import oauth

register = template.Library()


@register.simple_tag
def salesforce_connect_context(user):
    """The user's connection (or None), the callback URL to register in the Connected App, and
    the configured login host."""
    connection = None
    if getattr(user, "is_authenticated", False):
        connection = SalesforceConnection.objects.select_related("org").filter(user=user).first()
    return {
        "connection": connection,
        "callback_url": oauth.callback_url(),
        "login_url": oauth.configured_login_url(),
        "sandbox_login_url": oauth.SANDBOX_LOGIN_URL,
    }
