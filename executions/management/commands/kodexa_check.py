from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from executions.kodexa import KodexaAuthError, KodexaError, KodexaNotConfigured
from executions.upstream.client import kodexa_client


class Command(BaseCommand):
    help = "Check that the panel can reach Kodexa with the configured URL and API key."

    def handle(self, *args: object, **options: object) -> None:
        try:
            client = kodexa_client()
            client.get_account()
            page = client.list_executions(page=1, page_size=1)
        except KodexaNotConfigured as exc:
            raise CommandError(str(exc)) from None
        except KodexaAuthError as exc:
            raise CommandError(f"Kodexa at {settings.KODEXA_URL} refused the API key ({exc.status}).") from None
        except KodexaError as exc:
            raise CommandError(f"Kodexa at {settings.KODEXA_URL} is not usable: {exc}") from None
        self.stdout.write(self.style.SUCCESS(
            f"Kodexa at {settings.KODEXA_URL} answered: credentials accepted, "
            f"{page.total_elements} executions visible."
        ))
