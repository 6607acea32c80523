"""The rep's side panels: the settings page's live sync state, the banner and notices region,
dismissing notices, and the browser's time zone (R3, R14, R16)."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from tasksync import selectors
from tasksync.live import LiveRegion
from tasksync.models import PauseReason, SyncState
from tasksync.selectors import sync_availability
from tasksync.services import notices as notice_services
from tasksync.services.zones import zone_from_browser
from tasksync.views import _next_or


def sync_panel_context(request):
    """R3, R14: the settings page's sync state: plain words, progress, the first sync's figures."""
    status = selectors.sync_status_for(user=request.user)
    paused_by = ""
    if status.reason_code == PauseReason.STAFF:
        state = SyncState.objects.filter(user=request.user).first()
        paused_by = selectors.staff_pauser_for(state=state) if state else ""
    return {
        "sync_status": status,
        "paused_by": paused_by,
        "availability": sync_availability(user=request.user),
        "first_sync": selectors.first_sync_summary_for(user=request.user),
        "poll_seconds": settings.SYNC_POLL_SECONDS,
    }


SYNC_STATUS = LiveRegion(
    region_id="sync-status",
    poll_url_name="live_sync_status",
    template="accounts/_sync_status.html",
    context=sync_panel_context,
    # It polls every second while the first sync imports.
    every=lambda context: 1 if context["sync_status"].importing else None,
)
live_sync_status = SYNC_STATUS.poll_view()


def sync_panel(request, context=None):
    """The live region of the sync state (on the settings page)."""
    return SYNC_STATUS.html(request, context)


def _rep_status_context(request):
    return {
        "rep": selectors.rep_status_for(user=request.user),
        "next_url": request.headers.get("HX-Current-URL", ""),
    }


# The trouble banner and the notices, on every page of a rep's (R14).
REP_STATUS = LiveRegion(
    region_id="rep-status",
    poll_url_name="live_rep_status",
    template="_rep_status.html",
    context=_rep_status_context,
)
live_rep_status = REP_STATUS.poll_view()


@require_POST
@login_required
def time_zone_detected(request):
    """R16: the browser's zone, posted once a tab by static/js/rep.js (the service takes it once
    and never over the user's choice). It writes nothing to the session: a session saved here
    could overwrite what a request beside it saves, such as the OAuth state of "Connect
    Salesforce" clicked while this post was on its way (the connect then failed its state
    check)."""
    zone_from_browser(user=request.user, zone=request.POST.get("time_zone", ""))
    return HttpResponse(status=204)


@require_POST
@login_required
def notice_dismiss(request, pk):
    notice_services.notice_dismiss(user=request.user, notice_id=pk)
    if request.htmx:
        return live_rep_status_after_change(request)
    return redirect(_next_or(request, "command_center"))


@require_POST
@login_required
def notice_dismiss_all(request):
    notice_services.notice_dismiss_all(user=request.user)
    if request.htmx:
        return live_rep_status_after_change(request)
    return redirect(_next_or(request, "command_center"))


def live_rep_status_after_change(request):
    """After a dismiss from the page itself: the region as it is now."""
    return HttpResponse(
        REP_STATUS.html(request, {"rep": selectors.rep_status_for(user=request.user)})
    )
