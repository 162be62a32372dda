from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Users, roles and API tokens"

    def ready(self) -> None:
        from accounts.services import roles_ensure

        # After every migrate and every flush (tests), as Django does for permissions.
        post_migrate.connect(lambda **kwargs: roles_ensure(), sender=self, weak=False, dispatch_uid="roles_ensure")
