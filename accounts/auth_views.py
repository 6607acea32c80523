"""Sign-in pages around Django's own (R17): the page shown while sign-in is locked, sign-out, and
the rep's password change."""

from __future__ import annotations

import math

from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _


def locked_out(request, original_response=None, credentials=None):
    """django-axes' AXES_LOCKOUT_CALLABLE: too many failed sign-ins for this username from this
    address. Says so, and for how long, in the app's own page (the admin's sign-in too)."""
    cool_off = get_cool_off(request)
    minutes = math.ceil(cool_off.total_seconds() / 60) if cool_off else None
    return render(
        request,
        "registration/locked_out.html",
        {"minutes": minutes, "failure_limit": settings.AXES_FAILURE_LIMIT},
        status=429,
    )


class SignOutView(auth_views.LogoutView):
    """Sign-out by POST, as Django requires (a cross-site GET must not sign anyone out). A GET of
    /logout/ (a bookmark, a typed URL) answers with a page holding the Sign out button, or the
    sign-in page for a visitor who is signed out already, not a blank 405."""

    http_method_names = ["get", "post", "options"]
    template_name = "registration/logout_confirm.html"

    def get(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect(settings.LOGOUT_REDIRECT_URL)
        return render(request, self.template_name)

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.info(request, _("You are signed out."))
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    """A rep changes their own password (their current one first); they stay signed in."""

    template_name = "registration/password_change_form.html"
    success_url = reverse_lazy("settings")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, _("Your password is changed."))
        return response
