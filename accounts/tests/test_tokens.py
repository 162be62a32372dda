from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import ApiToken

pytestmark = pytest.mark.django_db


def test_admin_issues_a_token_that_authenticates_until_revoked(admin_user, agent_user, api_client_for) -> None:
    admin = api_client_for(admin_user)
    response = admin.post("/api/v1/tokens/", {"user": "agent.alice", "name": "CRM sync"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["user"] == "agent.alice"
    assert body["key"].startswith("cc_")
    assert body["prefix"] == body["key"][:10]
    stored = ApiToken.objects.get(pk=body["id"])
    assert body["key"] not in (stored.key_hash, stored.prefix)

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['key']}")
    me = client.get("/api/v1/me/")
    assert me.status_code == 200
    assert me.json()["username"] == "agent.alice"

    revoked = admin.post(f"/api/v1/tokens/{body['id']}/revoke/")
    assert revoked.status_code == 200
    assert revoked.json()["is_active"] is False
    after = client.get("/api/v1/me/")
    assert after.status_code == 401
    assert after.json() == {"detail": "Invalid, expired or revoked API token."}


def test_revoking_twice_keeps_the_first_time(admin_user, api_client_for) -> None:
    admin = api_client_for(admin_user)
    token_id = admin.post("/api/v1/tokens/", {"name": "x"}, format="json").json()["id"]
    first = admin.post(f"/api/v1/tokens/{token_id}/revoke/").json()["revoked_at"]
    second = admin.post(f"/api/v1/tokens/{token_id}/revoke/").json()["revoked_at"]
    assert first == second


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"user": "agent.alice"}, "name"),
        ({"user": "agent.alice", "name": ""}, "name"),
        ({"user": "agent.alice", "name": "x" * 101}, "name"),
        ({"user": "nobody", "name": "x"}, "user"),
        ({"user": "agent.alice", "name": "x", "expires_at": "yesterday"}, "expires_at"),
        ({"user": "agent.alice", "name": "x", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
    ],
)
def test_bad_token_requests_get_400_and_create_nothing(admin_user, agent_user, api_client_for, payload, field) -> None:
    admin = api_client_for(admin_user)
    before = ApiToken.objects.count()
    response = admin.post("/api/v1/tokens/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert ApiToken.objects.count() == before


def test_malformed_json_gets_400(admin_user, api_client_for) -> None:
    admin = api_client_for(admin_user)
    before = ApiToken.objects.count()
    response = admin.generic("POST", "/api/v1/tokens/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]
    assert ApiToken.objects.count() == before


def test_unknown_token_is_404_not_500(admin_user, api_client_for) -> None:
    admin = api_client_for(admin_user)
    assert admin.get("/api/v1/tokens/999999/").status_code == 404
    assert admin.post("/api/v1/tokens/999999/revoke/").status_code == 404


def test_garbage_authorization_headers_get_401(db) -> None:
    for header in ["Token", "Token a b", "Token not-a-real-key", "Bearer \u00e9\u00e9"]:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=header)
        response = client.get("/api/v1/me/")
        assert response.status_code == 401, header


def test_expired_token_is_refused(admin_user, agent_user) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from accounts.services import api_token_issue

    token, key = api_token_issue(
        actor=admin_user, user=agent_user, name="short", expires_at=timezone.now() + timedelta(seconds=60)
    )
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/me/").status_code == 401


def test_manage_page_issues_and_revokes(admin_client, agent_user) -> None:
    page = admin_client.post("/manage/", {"user": agent_user.pk, "name": "Wallboard TV"})
    assert page.status_code == 200
    html = page.content.decode()
    token = ApiToken.objects.get(name="Wallboard TV")
    assert 'id="new-key"' in html
    assert token.prefix in html
    response = admin_client.post(f"/manage/tokens/{token.pk}/revoke/")
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_manage_page_rejects_bad_form_and_changes_nothing(admin_client) -> None:
    page = admin_client.post("/manage/", {"user": "", "name": ""})
    assert page.status_code == 400
    assert "This field is required." in page.content.decode()
    assert ApiToken.objects.count() == 0


def test_agent_cannot_revoke_through_the_manage_page(admin_user, agent_client, agent_user) -> None:
    from accounts.services import api_token_issue

    token, _ = api_token_issue(actor=admin_user, user=agent_user, name="mine")
    assert agent_client.post(f"/manage/tokens/{token.pk}/revoke/").status_code == 403
    token.refresh_from_db()
    assert token.revoked_at is None
