"""R14: "Open in Salesforce" for a synced task (R17: built only from a trusted instance URL)."""

from __future__ import annotations

import re

from django import template
from django.core.exceptions import ObjectDoesNotExist

from accounts.models import SalesforceConnection
from accounts.salesforce import oauth
from tasksync.models import LinkState

register = template.Library()

_RECORD_ID = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")
_SHOWN = {LinkState.SYNCED, LinkState.FAILED}
_CACHE = "_tasksync_salesforce_base"


def salesforce_base_for(request) -> str:
    """The rep's instance URL if it may be a link, else "": one query per request, at most."""
    if not hasattr(request, _CACHE):
        user = getattr(request, "user", None)
        url = None
        if user is not None and user.is_authenticated:
            url = (
                SalesforceConnection.objects.filter(user=user)
                .values_list("instance_url", flat=True)
                .first()
            )
        setattr(request, _CACHE, oauth.safe_link(url) if url else "")
    return getattr(request, _CACHE)


def salesforce_task_url_for(base: str, sf_id) -> str:
    """The task's Lightning record page, or "" when either part is not one we may link to."""
    if not base or not isinstance(sf_id, str) or not _RECORD_ID.match(sf_id):
        return ""
    return f"{base}/lightning/r/Task/{sf_id}/view"


@register.simple_tag(takes_context=True)
def salesforce_task_url(context, task) -> str:
    """Use as ``{% salesforce_task_url task as url %}``; "" for a task not in Salesforce."""
    try:
        link = task.link
    except ObjectDoesNotExist:
        return ""
    if link is None or link.state not in _SHOWN or not link.sf_id:
        return ""
    request = context.get("request")
    if request is None:
        return ""
    return salesforce_task_url_for(salesforce_base_for(request), link.sf_id)
