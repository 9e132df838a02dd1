import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "With no users at all, create superuser 'admin' with a random password and print it once."

    def handle(self, *args: object, **options: object) -> None:
        user_model = get_user_model()
        if user_model.objects.exists():
            return
        password = secrets.token_urlsafe(12)
        user_model.objects.create_superuser("admin", email="", password=password)
        self.stdout.write(self.style.WARNING(
            f"Created user 'admin' with password {password}  (shown once; change it in /admin/)"
        ))
