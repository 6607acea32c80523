"""The settings page (R3, R14, R16): the rep's preferences (an accounts form) and the sync part,
its checkbox, subject template, state, retry and "Sync now". The Salesforce connection's own
pages are accounts' (connect, callback, disconnect)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from accounts.forms import PreferencesForm
from tasksync.forms import SyncSettingsForm
from tasksync.rep_views import sync_panel, sync_panel_context
from tasksync.selectors import sync_availability, sync_status_for
from tasksync.services import sync as sync_services
from tasksync.services.zones import zone_chosen


def _sync_form(request, data=None):
    availability = sync_availability(user=request.user)
    return SyncSettingsForm(
        data,
        instance=request.user,
        sync_enabled=availability.enabled,
        can_sync=availability.can_enable,
        cannot_sync_reason=availability.reason,
    )


def _save_sync_form(request, form):
    was_on = sync_availability(user=request.user).enabled
    form.save()
    wants_on = form.cleaned_data["sync_enabled"]
    if wants_on and not was_on and not form.fields["sync_enabled"].disabled:
        # R3: saving the checkbox on starts a sync at once.
        sync_services.sync_enable(user=request.user)
        messages.success(request, _("Sync is on: importing your Salesforce tasks now."))
    elif was_on and not wants_on:
        sync_services.sync_disable(user=request.user)
        messages.success(request, _("Sync is off. Nothing moves until you turn it on again."))
    else:
        messages.success(request, _("Sync settings saved."))


@login_required
def settings_page(request):
    preferences = PreferencesForm(instance=request.user)
    sync_form = _sync_form(request)
    if request.method == "POST":
        if request.POST.get("form") == "preferences":
            preferences = PreferencesForm(request.POST, instance=request.user)
            if preferences.is_valid():
                user = preferences.save()
                zone_chosen(user=user)  # R16: the browser's zone never overrides this choice
                translation.activate(
                    user.language or translation.get_language_from_request(request)
                )
                messages.success(request, _("Preferences saved."))
                return redirect("settings")
        elif request.POST.get("form") == "sync":
            sync_form = _sync_form(request, request.POST)
            if sync_form.is_valid():
                _save_sync_form(request, sync_form)
                return redirect("settings")
    panel = sync_panel_context(request)
    return render(
        request,
        "accounts/settings.html",
        {
            "preferences": preferences,
            "sync_form": sync_form,
            "availability": panel["availability"],
            "sync_status": panel["sync_status"],
            "sync_live": sync_panel(request, panel),
        },
    )


@login_required
def sync_status(request):
    """R3/R14: the settings page polls this while the first sync imports, to show progress."""
    return JsonResponse(sync_status_for(user=request.user).as_json())


@require_POST
@login_required
def sync_retry(request):
    count = sync_services.sync_retry_failed(user=request.user)
    messages.success(
        request,
        ngettext("%(count)d task queued again.", "%(count)d tasks queued again.", count)
        % {"count": count},
    )
    return redirect("settings")


@require_POST
@login_required
def sync_now(request):
    if sync_services.sync_now(user=request.user):
        messages.success(request, _("A sync is on its way."))
    return redirect("settings")
