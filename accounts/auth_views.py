"""Sign-in pages around Django's own (R17): the page shown while sign-in is locked, sign-out by
GET, and the rep's password change."""

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


def sign_out(request):
    """GET /logout/ (a bookmark, a typed URL) signs out too, rather than a blank 405: signing out
    changes nothing but the visitor's own session, so it needs no CSRF token to be safe."""
    if request.method == "POST":
        return auth_views.LogoutView.as_view()(request)
    if request.user.is_authenticated:
        from django.contrib.auth import logout

        logout(request)
        messages.info(request, _("You are signed out."))
    return redirect(settings.LOGOUT_REDIRECT_URL)


class PasswordChangeView(auth_views.PasswordChangeView):
    """A rep changes their own password (their current one first); they stay signed in."""

    template_name = "registration/password_change_form.html"
    success_url = reverse_lazy("settings")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, _("Your password is changed."))
        return response
