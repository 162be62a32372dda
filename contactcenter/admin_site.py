from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse


class AdminSite(admin.AdminSite):
    """Django admin that answers 403, not a second login form, to signed-in users without the admin role."""

    site_header = "Contact center administration"
    site_title = "Contact center admin"

    def admin_view(self, view: Any, cacheable: bool = False) -> Any:
        inner = super().admin_view(view, cacheable)

        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.user.is_authenticated and not self.has_permission(request):
                raise PermissionDenied("The Django admin is for admins only.")
            return inner(request, *args, **kwargs)

        wrapped.__dict__.update(getattr(inner, "__dict__", {}))
        return wrapped

    def has_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_staff and request.user.is_superuser)


class ContactCenterAdminConfig(AdminConfig):
    default_site = "contactcenter.admin_site.AdminSite"
