from django.urls import path

from calls import api, webhooks

webhook_urlpatterns = [
    path("answer", webhooks.answer, name="webhook-answer"),
    path("event", webhooks.event, name="webhook-event"),
    path("fallback", webhooks.fallback, name="webhook-fallback"),
]

api_urlpatterns = [
    path("calls/", api.CallListView.as_view(), name="api-calls"),
    path("calls/<int:pk>/", api.CallDetailView.as_view(), name="api-call-detail"),
    *[
        path(f"calls/<int:pk>/{name}/", api.CallActionView.as_view(action_name=name), name=f"api-call-{name}")
        for name in ("hangup", "mute", "unmute", "earmuff", "unearmuff")
    ],
    path("calls/<int:pk>/transfer/", api.CallTransferView.as_view(), name="api-call-transfer"),
]
