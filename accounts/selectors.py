"""Reads and permission checks about users, roles and tokens."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from accounts.models import ApiToken
from accounts.roles import PERM_ADMINISTER, PERM_AGENT_CONSOLE, PERM_SUPERVISE, RANK, Role
from contactcenter import realtime

User = get_user_model()
AnyUser = AbstractBaseUser | AnonymousUser | Any


def user_role(*, user: AnyUser) -> Role | None:
    """The highest role of ``user`` (admins are superusers), or ``None`` for users without one."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if user.is_superuser:
        return Role.ADMIN
    names = {group.name for group in user.groups.all()}
    for role in RANK:
        if role.value in names:
            return role
    return None


def user_can_use_console(*, user: AnyUser) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.has_perm(f"accounts.{PERM_AGENT_CONSOLE}")


def user_can_supervise(*, user: AnyUser) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.has_perm(f"accounts.{PERM_SUPERVISE}")


def user_can_administer(*, user: AnyUser) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.has_perm(f"accounts.{PERM_ADMINISTER}")


def user_list(*, actor: AnyUser, role: str | None = None) -> QuerySet[Any]:
    """Active users with their groups; supervisors and admins only."""
    if not user_can_supervise(user=actor):
        raise PermissionDenied("Only supervisors and admins can list users.")
    users = User.objects.filter(is_active=True).prefetch_related("groups").order_by("username")
    if role == Role.ADMIN:
        users = users.filter(is_superuser=True)
    elif role:
        users = users.filter(groups__name=role, is_superuser=False)
    return users


def api_token_list(*, actor: AnyUser) -> QuerySet[ApiToken]:
    """Every API token (admins) or the actor's own tokens (anyone else)."""
    tokens = ApiToken.objects.select_related("user", "created_by")
    if user_can_administer(user=actor):
        return tokens
    return tokens.filter(user=actor)


def access_api_token(*, actor: AnyUser, token_id: int) -> ApiToken:
    """The token ``token_id`` if ``actor`` may see it; ``ApiToken.DoesNotExist`` otherwise (no existence leak)."""
    return api_token_list(actor=actor).get(pk=token_id)


def user_realtime_groups(*, user: AnyUser) -> list[str]:
    """Channels groups a signed-in user may listen to, built server-side."""
    groups = [realtime.user_group(user.pk)]
    if user_can_supervise(user=user):
        groups.append(realtime.supervisors_group())
    return groups
