"""Writes about users, roles and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import ApiToken
from accounts.roles import PERMISSIONS, ROLE_PERMISSIONS, Role
from accounts.selectors import user_can_administer

User = get_user_model()

TOKEN_PREFIX = "cc_"  # noqa: S105 (a visible prefix, not a secret)
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def roles_ensure() -> None:
    """Create the three role groups with their permissions, if missing (idempotent)."""
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType

    content_type, _ = ContentType.objects.get_or_create(app_label="accounts", model="access")
    permissions = {
        codename: Permission.objects.get_or_create(
            content_type=content_type, codename=codename, defaults={"name": label}
        )[0]
        for codename, label in PERMISSIONS.items()
    }
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.add(*(permissions[codename] for codename in codenames))


def user_set_role(*, user: Any, role: Role) -> None:
    """Make ``role`` the user's only role; admins become superusers so the Django admin is theirs.

    Runs in one transaction: group membership and the staff flags change together.
    """
    with transaction.atomic():
        user.groups.remove(*Group.objects.filter(name__in=[r.value for r in Role]))
        user.groups.add(Group.objects.get(name=role.value))
        is_admin = role == Role.ADMIN
        user.is_staff = is_admin
        user.is_superuser = is_admin
        user.save(update_fields=["is_staff", "is_superuser"])


def user_create(
    *, username: str, password: str, role: Role, first_name: str = "", last_name: str = "", email: str = ""
) -> Any:
    """Create an active user with one role."""
    with transaction.atomic():
        user = User.objects.create_user(
            username=username, password=password, first_name=first_name, last_name=last_name, email=email
        )
        user_set_role(user=user, role=role)
    return user


def api_token_issue(*, actor: Any, user: Any, name: str, expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    """Issue a new API token for ``user``; returns the row and the key, which is never stored.

    Admins may issue tokens for anyone, other users only for themselves.
    """
    if user.pk != actor.pk and not user_can_administer(user=actor):
        raise PermissionDenied("Only admins can issue API tokens for other users.")
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": ["Give the token a name, so you can tell it apart later."]})
    if len(name) > 100:
        raise ValidationError({"name": ["Use at most 100 characters."]})
    if not user.is_active:
        raise ValidationError({"user": ["This user is inactive."]})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": ["The expiry must be in the future."]})
    key = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, prefix=key[:10], key_hash=hash_key(key), created_by=actor, expires_at=expires_at
    )
    return token, key


def api_token_revoke(*, actor: Any, token: ApiToken) -> ApiToken:
    """Revoke ``token`` (idempotent: a revoked token keeps its first revocation time)."""
    if token.user_id != actor.pk and not user_can_administer(user=actor):
        raise PermissionDenied("Only admins can revoke other users' tokens.")
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    token.refresh_from_db(fields=["revoked_at"])
    return token


def api_token_authenticate(*, key: str) -> ApiToken | None:
    """The active token for ``key`` with its user, touching ``last_used_at`` at most once a minute."""
    now = timezone.now()
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=hash_key(key), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None or (token.expires_at is not None and token.expires_at <= now):
        return None
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token
