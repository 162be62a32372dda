from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

PAGES = ["/", "/agent/", "/supervisor/", "/manage/"]
SUPERVISOR_PAGES = ["/supervisor/"]
ADMIN_PAGES = ["/manage/", "/admin/", "/admin/auth/user/"]
SUPERVISOR_APIS = ["/api/v1/users/"]
ADMIN_APIS = ["/api/v1/tokens/"]


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_users_are_redirected_to_login(path: str) -> None:
    response = Client().get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={path}"


def test_anonymous_admin_goes_to_admin_login() -> None:
    response = Client().get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize("path", ["/api/v1/me/", "/api/v1/users/", "/api/v1/tokens/"])
def test_anonymous_api_calls_are_refused(api_client, path: str) -> None:
    response = api_client.get(path)
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}


@pytest.mark.parametrize("path", SUPERVISOR_PAGES + ADMIN_PAGES)
def test_agent_gets_403_on_supervisor_and_admin_pages(agent_client, path: str) -> None:
    assert agent_client.get(path).status_code == 403


@pytest.mark.parametrize("path", SUPERVISOR_APIS + ADMIN_APIS)
def test_agent_gets_403_on_supervisor_and_admin_apis(agent_user, api_client_for, path: str) -> None:
    response = api_client_for(agent_user).get(path)
    assert response.status_code == 403
    assert "role" in response.json()["detail"]


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_supervisor_gets_403_on_admin_pages(supervisor_client, path: str) -> None:
    assert supervisor_client.get(path).status_code == 403


def test_supervisor_gets_403_on_admin_api(supervisor_user, api_client_for) -> None:
    assert api_client_for(supervisor_user).get("/api/v1/tokens/").status_code == 403


@pytest.mark.parametrize(
    ("persona", "landing", "heading"),
    [
        ("agent_client", "/agent/", "<h1>Agent console</h1>"),
        ("supervisor_client", "/supervisor/", "<h1>Wallboard</h1>"),
        ("admin_client", "/manage/", "<h1>Manage</h1>"),
    ],
)
def test_each_role_lands_on_its_page(request, persona: str, landing: str, heading: str) -> None:
    client = request.getfixturevalue(persona)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == landing
    page = client.get(landing)
    assert page.status_code == 200
    assert heading in page.content.decode()


def test_navigation_follows_the_role(agent_client, supervisor_client, admin_client) -> None:
    agent_page = agent_client.get("/agent/").content.decode()
    assert 'href="/agent/"' in agent_page
    assert 'href="/supervisor/"' not in agent_page
    assert 'href="/manage/"' not in agent_page
    supervisor_page = supervisor_client.get("/supervisor/").content.decode()
    assert 'href="/supervisor/"' in supervisor_page
    assert 'href="/manage/"' not in supervisor_page
    assert 'href="/agent/"' not in supervisor_page
    admin_page = admin_client.get("/manage/").content.decode()
    for link in ('href="/supervisor/"', 'href="/manage/"', 'href="/admin/"'):
        assert link in admin_page


def test_admin_can_open_the_django_admin(admin_client) -> None:
    assert admin_client.get("/admin/").status_code == 200


def test_login_page_signs_in_and_redirects_by_role(agent_user) -> None:
    client = Client()
    page = client.get("/login/")
    assert page.status_code == 200
    assert "Sign in" in page.content.decode()
    response = client.post("/login/", {"username": "agent.alice", "password": "correct-horse-battery"})
    assert response.status_code == 302
    assert client.get(response["Location"])["Location"] == "/agent/"


def test_wrong_password_shows_an_error_and_signs_nobody_in(agent_user) -> None:
    client = Client()
    response = client.post("/login/", {"username": "agent.alice", "password": "nope"})
    assert response.status_code == 200
    assert "didn't match" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_user_without_role_gets_an_explanation(db) -> None:
    from conftest import make_user

    client = Client()
    client.force_login(make_user("nobody", None))
    response = client.get("/")
    assert response.status_code == 403
    assert "No role yet" in response.content.decode()


def test_me_reports_the_role(supervisor_user, api_client_for) -> None:
    response = api_client_for(supervisor_user).get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["role"] == "supervisor"
    assert response.json()["username"] == "super.sam"


def test_supervisor_lists_users_filtered_by_role(supervisor_user, agent_user, admin_user, api_client_for) -> None:
    client = api_client_for(supervisor_user)
    everyone = client.get("/api/v1/users/").json()
    assert everyone["count"] == 3
    agents = client.get("/api/v1/users/?role=agent").json()
    assert [u["username"] for u in agents["results"]] == ["agent.alice"]
    admins = client.get("/api/v1/users/?role=admin").json()
    assert [u["username"] for u in admins["results"]] == ["admin.ada"]
    bad = client.get("/api/v1/users/?role=janitor")
    assert bad.status_code == 400
    assert "role" in bad.json()


def test_openapi_schema_and_docs_are_served(agent_client) -> None:
    schema = agent_client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/tokens/" in schema.content
    docs = agent_client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()


def test_seed_demo_is_idempotent() -> None:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    call_command("seed_demo", quiet=True)
    call_command("seed_demo", quiet=True)
    User = get_user_model()
    assert User.objects.count() == 6
    assert User.objects.get(username="admin").is_superuser
    assert list(User.objects.get(username="agent1").groups.values_list("name", flat=True)) == ["agent"]
