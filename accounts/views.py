"""HTML pages: landing by role, the per-role home pages and token management."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts import selectors, services
from accounts.forms import IssueTokenForm
from accounts.models import ApiToken
from accounts.roles import LANDING_URL_NAMES


def role_required(check: Callable[..., bool]) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Anonymous users go to the login page; signed-in users without the role get 403."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not check(user=request.user):
                raise PermissionDenied("Your role does not give access to this page.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


@login_required
def home(request: HttpRequest) -> HttpResponse:
    role = selectors.user_role(user=request.user)
    if role is None:
        return render(request, "accounts/no_role.html", status=403)
    return redirect(LANDING_URL_NAMES[role])


@role_required(selectors.user_can_use_console)
def agent_console(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/agent_console.html")


@role_required(selectors.user_can_supervise)
def supervisor_wallboard(request: HttpRequest) -> HttpResponse:
    users = selectors.user_list(actor=request.user)
    rows = [(user, selectors.user_role(user=user)) for user in users]
    return render(request, "accounts/wallboard.html", {"rows": rows})


@role_required(selectors.user_can_administer)
def manage_home(request: HttpRequest) -> HttpResponse:
    form = IssueTokenForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        token, new_key = services.api_token_issue(
            actor=request.user,
            user=form.cleaned_data["user"],
            name=form.cleaned_data["name"],
            expires_at=form.expires_at(),
        )
        messages.success(
            request, f"Token “{token.name}” issued for {token.user}. Copy the key now: it is not shown again."
        )
        form = IssueTokenForm()
    status = 400 if request.method == "POST" and new_key is None else 200
    context = {
        "form": form,
        "new_key": new_key,
        "tokens": selectors.api_token_list(actor=request.user)[:200],
        "users": [(user, selectors.user_role(user=user)) for user in selectors.user_list(actor=request.user)],
    }
    return render(request, "accounts/manage.html", context, status=status)


@require_POST
@role_required(selectors.user_can_administer)
def manage_token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    try:
        token = selectors.access_api_token(actor=request.user, token_id=token_id)
    except ApiToken.DoesNotExist:
        raise Http404("No such token.") from None
    services.api_token_revoke(actor=request.user, token=token)
    messages.success(request, f"Token “{token.name}” revoked.")
    return redirect("manage-home")
