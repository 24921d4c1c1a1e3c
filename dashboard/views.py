"""The page: one template; everything live comes over the websocket (docs/protocol.md)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET

from combat_app import identity
from dashboard import access


@require_GET
@ensure_csrf_cookie
def page(request: HttpRequest) -> HttpResponse:
    if access.required():
        given = request.GET.get("token")
        if given is not None:
            if not access.matches(given):
                return render(request, "dashboard/token.html", {"wrong": True}, status=401)
            # Keep it in a cookie the websocket sends too, and take it out of the address bar.
            response = HttpResponseRedirect(request.path)
            response.set_cookie(access.COOKIE, given, httponly=True, samesite="Strict")
            return response
        if not access.request_allowed(request):
            return render(request, "dashboard/token.html", {"wrong": False}, status=401)
    return render(request, "dashboard/page.html", {"pod": identity.current()})
