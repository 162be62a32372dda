from django.urls import path

from accounts import api, views

urlpatterns = [
    path("", views.home, name="home"),
    path("agent/", views.agent_console, name="agent-console"),
    path("supervisor/", views.supervisor_wallboard, name="supervisor-wallboard"),
    path("manage/", views.manage_home, name="manage-home"),
    path("manage/tokens/<int:token_id>/revoke/", views.manage_token_revoke, name="manage-token-revoke"),
]

api_urlpatterns = [
    path("me/", api.MeView.as_view(), name="api-me"),
    path("users/", api.UserListView.as_view(), name="api-users"),
    path("tokens/", api.ApiTokenListView.as_view(), name="api-tokens"),
    path("tokens/<int:pk>/", api.ApiTokenDetailView.as_view(), name="api-token-detail"),
    path("tokens/<int:pk>/revoke/", api.ApiTokenRevokeView.as_view(), name="api-token-revoke"),
]
