"""The trouble banner and the notices that every page of a rep's shows (R14)."""

from django import template
from django.conf import settings

from tasksync import selectors
from tasksync.rep_views import REP_STATUS

register = template.Library()


@register.simple_tag(takes_context=True)
def rep_status(context):
    """The live region with the rep's sync trouble and unread notices; reuses the page's own
    ``rep`` when the view already read it."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return ""
    rep = context.get("rep") or selectors.rep_status_for(user=user)
    return REP_STATUS.html(request, {"rep": rep, "next_url": request.get_full_path()})


@register.simple_tag
def demo_emulator():
    """True in the demo, where every Salesforce login choice leads to the bundled emulator."""
    return bool(getattr(settings, "SALESFORCE_EMULATOR", False))
