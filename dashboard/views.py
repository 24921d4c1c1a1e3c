"""The page: one template; everything live comes over the websocket (docs/protocol.md).

``/?experiment=<id>`` is the same page, opened on a stored experiment ("Compare the modes").
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET

from combat_app import identity
from dashboard import access


@require_GET
@ensure_csrf_cookie
def page(request: HttpRequest) -> HttpResponse:
    # ?experiment=<id> opens a stored comparison; it survives the token's form and redirect.
    experiment = request.GET.get("experiment", "")
    experiment = experiment if experiment.isascii() and experiment.isdigit() and len(experiment) <= 19 else ""
    if access.required():
        given = request.GET.get("token")
        if given is not None:
            if not access.matches(given):
                context = {"wrong": True, "experiment": experiment}
                return render(request, "dashboard/token.html", context, status=401)
            # Keep it in a cookie the websocket sends too, and take it out of the address bar.
            kept = f"?{urlencode({'experiment': experiment})}" if experiment else ""
            response = HttpResponseRedirect(request.path + kept)
            response.set_cookie(access.COOKIE, given, httponly=True, samesite="Strict")
            return response
        if not access.request_allowed(request):
            return render(
                request, "dashboard/token.html", {"wrong": False, "experiment": experiment}, status=401
            )
    return render(request, "dashboard/page.html", {"pod": identity.current()})
