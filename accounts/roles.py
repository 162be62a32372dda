"""The three roles, their permissions and landing pages; pure data, no queries."""

from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    AGENT = "agent", "Agent"
    SUPERVISOR = "supervisor", "Supervisor"
    ADMIN = "admin", "Admin"


# Permission codenames of the ``accounts`` app held by each role's group. Admins are also
# superusers (for the Django admin), so they hold every permission in any case.
PERM_AGENT_CONSOLE = "agent_console"
PERM_SUPERVISE = "supervise"
PERM_ADMINISTER = "administer"

PERMISSIONS = {
    PERM_AGENT_CONSOLE: "Can use the agent console and take calls",
    PERM_SUPERVISE: "Can monitor queues, agents and calls, and review recordings",
    PERM_ADMINISTER: "Can configure numbers, queues, flows, campaigns, users and API tokens",
}

ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.AGENT: [PERM_AGENT_CONSOLE],
    Role.SUPERVISOR: [PERM_SUPERVISE],
    Role.ADMIN: [PERM_SUPERVISE, PERM_ADMINISTER],
}

LANDING_URL_NAMES = {
    Role.AGENT: "agent-console",
    Role.SUPERVISOR: "supervisor-wallboard",
    Role.ADMIN: "manage-home",
}

# Higher roles first: a user in several groups is treated as the highest.
RANK = [Role.ADMIN, Role.SUPERVISOR, Role.AGENT]
