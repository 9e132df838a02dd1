"""The role groups for data migrations (a leading underscore keeps this module out of the migration graph)."""

from collections.abc import Callable

from django.contrib.auth.management import create_permissions

from executions.roles import roles_setup


def roles_creator(roles: dict[str, tuple[str, ...]]) -> Callable:  # type: ignore[type-arg]
    """A RunPython function granting `roles` as they stood when the migration was written (ROLE_PERMISSIONS may
    name permissions a past migration's models do not have yet)."""

    def create_roles(apps, schema_editor):  # type: ignore[no-untyped-def]
        # Permissions are normally created after all migrations; the groups need them now.
        for app_config in apps.get_app_configs():
            app_config.models_module = True
            create_permissions(app_config, verbosity=0, apps=apps)
            app_config.models_module = None
        roles_setup(group_model=apps.get_model("auth", "Group"),
                    permission_model=apps.get_model("auth", "Permission"), roles=roles)

    return create_roles
