"""REST: call records with their event timelines, and live-call controls for supervisors."""

from __future__ import annotations

from typing import Any

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsSupervisor
from calls import selectors, services
from calls.models import Call
from calls.serializers import CallDetailSerializer, CallSerializer, TransferSerializer


class CallFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Call.Status.choices)
    outcome = django_filters.ChoiceFilter(choices=Call.Outcome.choices)
    direction = django_filters.ChoiceFilter(choices=Call._meta.get_field("direction").choices)
    uuid = django_filters.CharFilter()
    conversation_uuid = django_filters.CharFilter()
    interaction = django_filters.NumberFilter(field_name="interaction_id")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Call
        fields = ["status", "outcome", "direction", "uuid", "conversation_uuid", "interaction"]


class CallListView(generics.ListAPIView):
    """Legs the caller may see, newest first."""

    serializer_class = CallSerializer
    filterset_class = CallFilter
    ordering_fields = ["created_at", "started_at", "answered_at", "duration", "id"]
    queryset = Call.objects.none()  # for the schema generator only

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Call.objects.none()
        return selectors.call_list(actor=self.request.user)


class CallDetailView(generics.RetrieveAPIView):
    """One leg with its event timeline."""

    serializer_class = CallDetailSerializer
    queryset = Call.objects.none()

    def get_object(self) -> Call:
        try:
            return selectors.access_call(actor=self.request.user, call_id=int(self.kwargs["pk"]))
        except Call.DoesNotExist:
            raise NotFound("No such call.") from None


class CallActionView(APIView):
    """POST ``/api/v1/calls/{id}/{action}``: hang up, mute, unmute, earmuff or unearmuff a live leg."""

    permission_classes = [IsSupervisor]
    action_name = ""

    def _call(self, request: Request, pk: int) -> Call:
        try:
            return selectors.access_call(actor=request.user, call_id=int(pk))
        except Call.DoesNotExist:
            raise NotFound("No such call.") from None

    @extend_schema(request=None, responses={202: CallSerializer})
    def post(self, request: Request, pk: int) -> Response:
        call = self._call(request, pk)
        services.call_control(actor=request.user, call=call, action=self.action_name)
        return Response(CallSerializer(call).data, status=status.HTTP_202_ACCEPTED)


class CallTransferView(CallActionView):
    action_name = "transfer"

    @extend_schema(request=TransferSerializer, responses={202: CallSerializer})
    def post(self, request: Request, pk: int) -> Response:
        call = self._call(request, pk)
        incoming = TransferSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        services.call_control(
            actor=request.user,
            call=call,
            action="transfer",
            ncco=incoming.validated_data.get("ncco"),
            url=incoming.validated_data.get("url"),
        )
        return Response(CallSerializer(call).data, status=status.HTTP_202_ACCEPTED)
