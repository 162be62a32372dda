"""REST endpoints: who am I, users (supervisors), API tokens (admins issue and revoke)."""

from __future__ import annotations

from typing import Any

import django_filters
from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors, services
from accounts.models import ApiToken
from accounts.permissions import IsAdmin, IsSupervisor
from accounts.roles import Role
from accounts.serializers import (
    ApiTokenIssuedSerializer,
    ApiTokenIssueSerializer,
    ApiTokenSerializer,
    UserSerializer,
)


class MeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=UserSerializer)
    def get(self, request: Request) -> Response:
        return Response(UserSerializer(request.user).data)


class UserFilter(django_filters.FilterSet):
    role = django_filters.ChoiceFilter(choices=Role.choices, method="filter_role")

    class Meta:
        model = get_user_model()
        fields = ["role"]

    def filter_role(self, queryset: Any, name: str, value: str) -> Any:
        return selectors.user_list(actor=self.request.user, role=value)


class UserListView(generics.ListAPIView):
    permission_classes = [IsSupervisor]
    serializer_class = UserSerializer
    filterset_class = UserFilter
    ordering_fields = ["username", "id"]

    queryset = get_user_model().objects.none()  # for the schema generator only

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return get_user_model().objects.none()
        return selectors.user_list(actor=self.request.user)


class ApiTokenListView(generics.ListCreateAPIView):
    permission_classes = [IsAdmin]
    serializer_class = ApiTokenSerializer
    filterset_fields = ["user__username"]
    ordering_fields = ["created_at", "id"]

    queryset = ApiToken.objects.none()  # for the schema generator only

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return ApiToken.objects.none()
        return selectors.api_token_list(actor=self.request.user)

    @extend_schema(request=ApiTokenIssueSerializer, responses={201: ApiTokenIssuedSerializer})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        incoming = ApiTokenIssueSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        token, key = services.api_token_issue(
            actor=request.user,
            user=incoming.validated_data.get("user", request.user),
            name=incoming.validated_data["name"],
            expires_at=incoming.validated_data.get("expires_at"),
        )
        token.key = key  # type: ignore[attr-defined]
        return Response(ApiTokenIssuedSerializer(token).data, status=status.HTTP_201_CREATED)


class ApiTokenDetailView(generics.RetrieveAPIView):
    permission_classes = [IsAdmin]
    serializer_class = ApiTokenSerializer

    def get_object(self) -> ApiToken:
        try:
            return selectors.access_api_token(actor=self.request.user, token_id=int(self.kwargs["pk"]))
        except ApiToken.DoesNotExist:
            from rest_framework.exceptions import NotFound

            raise NotFound("No such API token.") from None


class ApiTokenRevokeView(ApiTokenDetailView):
    @extend_schema(request=None, responses=ApiTokenSerializer)
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        token = services.api_token_revoke(actor=request.user, token=self.get_object())
        return Response(ApiTokenSerializer(token).data)
