"""Check the connection to Kodexa, and find out (again) what this tenant reads."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from executions.kodexa import KodexaAuthError, KodexaError, KodexaNotConfigured, TenantForms
from executions.upstream.client import kodexa_client
from executions.upstream.tenant import SETTINGS, configured, tenant_detect, tenant_forms_forget


def _lines(forms: TenantForms, asked: frozenset[str]) -> list[str]:
    """One line per form: what it is, and how to pin it (or that a setting pins it already)."""
    values = {"filter_dialect": forms.filter_dialect.value, "sort_separator": forms.sort_separator,
              "page_base": str(forms.page_base)}
    labels = {"filter_dialect": "filter dialect", "sort_separator": "sort separator", "page_base": "page base"}
    lines = []
    for name, setting in SETTINGS.items():
        how = (f"set {setting}={values[name]} to skip detection" if name in asked
               else f"from {setting}")
        lines.append(f"{labels[name]}: {values[name]} ({how})")
    search = "honoured" if forms.query_search else (
        "NOT honoured: the search box filters on the description instead"
        if forms.filter_dialect.value == "spring" else "NOT honoured: text search is unavailable on this tenant")
    lines.append(f"free-text search: {search}")
    lines += [f"note: {note}" for note in forms.notes]
    return lines


class Command(BaseCommand):
    help = ("Check that the panel can reach Kodexa with the configured URL and API key, and find out which filter "
            "dialect, sort form and page base it reads and whether it honours free-text search (read-only GETs).")

    def handle(self, *args: object, **options: object) -> None:
        known, asked = configured()
        try:
            kodexa_client().get_account()
            forms = tenant_detect(known=known, ask=asked)
        except KodexaNotConfigured as exc:
            raise CommandError(str(exc)) from None
        except KodexaAuthError as exc:
            raise CommandError(f"Kodexa at {settings.KODEXA_URL} refused the API key ({exc.status}).") from None
        except KodexaError as exc:
            raise CommandError(f"Kodexa at {settings.KODEXA_URL} is not usable: {exc}") from None
        tenant_forms_forget()  # the panel asks again on its next list, and finds what was printed here
        self.stdout.write(self.style.SUCCESS(f"Kodexa at {settings.KODEXA_URL} answered: credentials accepted."))
        for line in _lines(forms, asked):
            self.stdout.write(line)
