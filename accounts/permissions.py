"""DRF permission classes per role."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission

from accounts.selectors import user_can_administer, user_can_supervise, user_can_use_console


class IsAgent(BasePermission):
    message = "This needs the agent role."

    def has_permission(self, request: Any, view: Any) -> bool:
        return user_can_use_console(user=request.user)


class IsSupervisor(BasePermission):
    message = "This needs the supervisor or admin role."

    def has_permission(self, request: Any, view: Any) -> bool:
        return user_can_supervise(user=request.user)


class IsAdmin(BasePermission):
    message = "This needs the admin role."

    def has_permission(self, request: Any, view: Any) -> bool:
        return user_can_administer(user=request.user)
