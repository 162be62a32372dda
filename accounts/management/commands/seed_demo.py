"""Create the demo users (idempotent: existing users and their passwords are left alone)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from accounts.roles import Role
from accounts.services import user_create

DEMO_PASSWORD = "contactcenter"  # noqa: S105 (printed demo login, local only)
DEMO_USERS = [
    ("admin", Role.ADMIN, "Ada", "Admin"),
    ("supervisor", Role.SUPERVISOR, "Sam", "Supervisor"),
    ("agent1", Role.AGENT, "Alice", "Agent"),
    ("agent2", Role.AGENT, "Bob", "Agent"),
    ("agent3", Role.AGENT, "Carol", "Agent"),
    ("agent4", Role.AGENT, "Dan", "Agent"),
]


class Command(BaseCommand):
    help = "Create the demo admin, supervisor and agents if they do not exist yet."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--quiet", action="store_true", help="Print nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        created = 0
        for username, role, first, last in DEMO_USERS:
            if User.objects.filter(username=username).exists():
                continue
            user_create(username=username, password=DEMO_PASSWORD, role=role, first_name=first, last_name=last)
            created += 1
        if not options["quiet"]:
            self.stdout.write(f"Demo users: {created} created, {len(DEMO_USERS) - created} already there.")
