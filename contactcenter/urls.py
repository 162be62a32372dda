from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts.urls import api_urlpatterns as accounts_api
from calls.urls import api_urlpatterns as calls_api
from calls.urls import webhook_urlpatterns
from contactcenter.health import healthz

api_v1 = [
    *accounts_api,
    *calls_api,
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("webhooks/", include(webhook_urlpatterns)),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("accounts.urls")),
]
