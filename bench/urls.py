"""The product's URLs plus ``/bench/bare``: a bare JSON view doing one INSERT, the baseline."""

from __future__ import annotations

import json

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

from contactcenter.db import run_db


def _insert(body: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_bare (body) VALUES (%s)", [body])


@csrf_exempt
async def bare(request: HttpRequest) -> JsonResponse:
    body = request.body.decode() or json.dumps(dict(request.GET.items()))
    await run_db(_insert, body)
    return JsonResponse({"ok": True})


urlpatterns = [
    path("bench/bare", bare),
    path("", include("contactcenter.urls")),
]
