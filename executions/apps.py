from django.apps import AppConfig


class ExecutionsConfig(AppConfig):
    name = "executions"
    verbose_name = "Kodexa executions"

    def ready(self) -> None:
        from executions import checks, signals  # noqa: F401  (registers system checks and receivers)
