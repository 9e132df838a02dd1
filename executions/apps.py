from django.apps import AppConfig


class ExecutionsConfig(AppConfig):
    name = "executions"
    verbose_name = "Kodexa executions"

    def ready(self) -> None:
        from django.core.checks import Error
        from django.core.exceptions import ImproperlyConfigured

        from executions import checks, signals  # noqa: F401  (registers receivers)
        from executions.sso import access
        from executions.sso import checks as sso_checks

        access.connect_receivers()  # access changes -> audit events (executions/sso/access.py)

        # Fail at start-up, in every process (gunicorn workers too, which never run `manage.py check`):
        # a wrong KODEXA_URL could send the API key somewhere it must not go.
        errors = [p for p in (*checks.kodexa_settings_check(None), *sso_checks.sso_settings_check(None))
                  if isinstance(p, Error)]
        if errors:
            raise ImproperlyConfigured("; ".join(f"{e.id}: {e.msg}" for e in errors))
