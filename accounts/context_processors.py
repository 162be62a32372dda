from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from accounts.selectors import user_can_administer, user_can_supervise, user_can_use_console, user_role


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The navigation entries the signed-in user's role may open."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "user_role": None}
    items = []
    if user_can_use_console(user=user):
        items.append(("Agent console", reverse("agent-console")))
    if user_can_supervise(user=user):
        items.append(("Wallboard", reverse("supervisor-wallboard")))
    if user_can_administer(user=user):
        items.append(("Manage", reverse("manage-home")))
        items.append(("Django admin", reverse("admin:index")))
    items.append(("API docs", reverse("api-docs")))
    role = user_role(user=user)
    return {"nav_items": items, "user_role": role.label if role else "no role"}
