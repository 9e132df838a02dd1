"""The two built-in roles. Used by the `setup_roles` command and by a data migration."""

from __future__ import annotations

ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "Operators": ("executions.cancel_execution", "executions.reprocess_execution"),
    "Auditors": ("executions.view_auditevent",),
}


def roles_setup(*, group_model, permission_model, roles: dict[str, tuple[str, ...]] | None = None) -> list[str]:  # type: ignore[no-untyped-def]
    """Create the groups and grant their permissions (ROLE_PERMISSIONS, or a migration's frozen copy);
    idempotent. Returns what changed, for the output."""
    changes: list[str] = []
    for group_name, permissions in (ROLE_PERMISSIONS if roles is None else roles).items():
        group, created = group_model.objects.get_or_create(name=group_name)
        if created:
            changes.append(f"created group {group_name}")
        for dotted in permissions:
            app_label, codename = dotted.split(".")
            permission = permission_model.objects.get(content_type__app_label=app_label, codename=codename)
            if not group.permissions.filter(pk=permission.pk).exists():
                group.permissions.add(permission)
                changes.append(f"granted {dotted} to {group_name}")
    return changes
