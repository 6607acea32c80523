from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.forms import PreferencesForm, SyncSettingsForm
from accounts.services import sync_availability


def _sync_form(request, data=None):
    availability = sync_availability(user=request.user)
    return SyncSettingsForm(
        data,
        instance=request.user,
        sync_enabled=availability.enabled,
        can_sync=availability.can_enable,
        cannot_sync_reason=availability.reason,
    )


@login_required
def settings_page(request):
    preferences = PreferencesForm(instance=request.user)
    sync_form = _sync_form(request)
    if request.method == "POST":
        if request.POST.get("form") == "preferences":
            preferences = PreferencesForm(request.POST, instance=request.user)
            if preferences.is_valid():
                user = preferences.save()
                translation.activate(
                    user.language or translation.get_language_from_request(request)
                )
                messages.success(request, _("Preferences saved."))
                return redirect("settings")
        elif request.POST.get("form") == "sync":
            sync_form = _sync_form(request, request.POST)
            if sync_form.is_valid():
                sync_form.save()
                messages.success(request, _("Sync settings saved."))
                return redirect("settings")
    return render(
        request,
        "accounts/settings.html",
        {
            "preferences": preferences,
            "sync_form": sync_form,
            "availability": sync_availability(user=request.user),
        },
    )
