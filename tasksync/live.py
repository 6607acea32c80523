"""Live page regions (R14: "lists update without a reload when a sync changes them").

A region is a small fragment that htmx asks for again every few seconds (only while the tab is
visible) and swaps in place. Each answer carries the version it rendered, a hash of its HTML; the
next poll sends it back, and an unchanged region answers ``204 No Content`` with no body, which
htmx leaves alone: the DOM, the focus and the scroll position stay as they are. The version is
the content itself, so nothing the sync writes (and no future engine change) can be missed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET

POLL_SECONDS = 3


# Django masks the CSRF token afresh on every render: it is left out of the version.
_CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


def _version(html: str) -> str:
    stable = _CSRF_INPUT.sub("", html)
    return hashlib.blake2b(stable.encode(), digest_size=8).hexdigest()


def live_region(request, *, region_id: str, url: str, template: str, context: dict, every=None):
    """The region's HTML, wrapped in the element that keeps it live."""
    inner = render_to_string(template, context, request=request)
    return _wrap(region_id, url, inner, every or POLL_SECONDS)


def live_response(request, *, region_id: str, template: str, context: dict, every=None):
    """What a poll of the region gets: 204 when it has not changed, else the new region."""
    inner = render_to_string(template, context, request=request)
    if request.GET.get("v") == _version(inner):
        return HttpResponse(status=204)
    url = request.path + _query_without_version(request)
    return HttpResponse(_wrap(region_id, url, inner, every or POLL_SECONDS))


def _query_without_version(request) -> str:
    query = request.GET.copy()
    query.pop("v", None)
    return "?" + query.urlencode() if query else ""


def _wrap(region_id: str, url: str, inner: str, every) -> str:
    # "zone": asked at once when the browser's time zone was just applied (static/js/rep.js).
    trigger = f"every {every}s [document.visibilityState === 'visible'], zone"
    return format_html(
        '<div id="{}" class="live" hx-get="{}" hx-vals=\'{{"v": "{}"}}\' hx-trigger="{}" '
        'hx-swap="outerHTML" data-version="{}">{}</div>',
        region_id,
        url,
        _version(inner),
        trigger,
        _version(inner),
        mark_safe(inner),  # noqa: S308 - rendered by our own template with autoescape on
    )


def live_login_required(view):
    """A live region's poll from a browser whose session ended: send the page to sign in
    (htmx follows ``HX-Redirect``) instead of swapping the sign-in form into the region."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated and not request.htmx:
            return redirect_to_login(request.get_full_path())
        if not request.user.is_authenticated:
            response = HttpResponse(status=204)
            response["HX-Redirect"] = redirect_to_login(
                request.headers.get("HX-Current-URL") or reverse("command_center")
            ).url
            return response
        return view(request, *args, **kwargs)

    return wrapper


def _poll_every(context: dict) -> int | None:
    return None  # every POLL_SECONDS


@dataclass(frozen=True)
class LiveRegion:
    """One live region of a page, declared once: its element's id, the URL name of its poll,
    its template, the context it renders (built from the request) and how often it polls
    (seconds, read from that context; None for every ``POLL_SECONDS``). With ``keep_query`` the
    poll asks with the page's own query string (its filters)."""

    region_id: str
    poll_url_name: str
    template: str
    context: Callable[..., dict]
    every: Callable[[dict], int | None] = _poll_every
    keep_query: bool = False

    def html(self, request, context: dict | None = None) -> str:
        """The region inside a page, rendered from ``context`` (default: its own)."""
        context = self.context(request) if context is None else context
        url = reverse(self.poll_url_name)
        if self.keep_query and request.GET:
            url += "?" + request.GET.urlencode()
        return live_region(
            request,
            region_id=self.region_id,
            url=url,
            template=self.template,
            context=context,
            every=self.every(context),
        )

    def page_view(self, page_template: str):
        """A signed-in page whose context is the region's, with the region in it as ``live``."""

        @login_required
        def page(request):
            context = self.context(request)
            context["live"] = self.html(request, context)
            return render(request, page_template, context)

        return page

    def poll_view(self):
        """The view that answers the region's poll."""

        @require_GET
        @live_login_required
        def poll(request):
            context = self.context(request)
            return live_response(
                request,
                region_id=self.region_id,
                template=self.template,
                context=context,
                every=self.every(context),
            )

        return poll
