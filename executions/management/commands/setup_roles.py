from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand

from executions.roles import roles_setup


class Command(BaseCommand):
    help = "Create the Operators and Auditors groups with their permissions (idempotent)."

    def handle(self, *args: object, **options: object) -> None:
        create_permissions(apps.get_app_config("executions"), verbosity=0)
        changes = roles_setup(group_model=Group, permission_model=Permission)
        for change in changes:
            self.stdout.write(change)
        self.stdout.write(self.style.SUCCESS("roles up to date" if not changes else "roles set up"))
