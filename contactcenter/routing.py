"""Every websocket URL of the product."""

from django.urls import path

from contactcenter.consumers import EventsConsumer

websocket_urlpatterns = [
    path("ws/events/", EventsConsumer.as_asgi()),
]
