from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


def test_migration_created_the_roles_and_setup_roles_is_idempotent():
    operators = Group.objects.get(name="Operators")
    auditors = Group.objects.get(name="Auditors")
    assert sorted(operators.permissions.values_list("codename", flat=True)) == ["cancel_execution",
                                                                                 "reprocess_execution"]
    assert list(auditors.permissions.values_list("codename", flat=True)) == ["view_auditevent"]
    operators.permissions.clear()
    out = StringIO()
    call_command("setup_roles", stdout=out)
    assert "granted executions.cancel_execution to Operators" in out.getvalue()
    assert "granted executions.reprocess_execution to Operators" in out.getvalue()
    out = StringIO()
    call_command("setup_roles", stdout=out)
    assert "roles up to date" in out.getvalue()


def test_kodexa_check_succeeds_against_the_stand_in(kodexa):
    out = StringIO()
    call_command("kodexa_check", stdout=out)
    assert "credentials accepted" in out.getvalue()
    assert kodexa.api_key not in out.getvalue()


def test_kodexa_check_reports_a_refused_key(kodexa, settings):
    settings.KODEXA_API_KEY = "definitely-wrong-key"
    with pytest.raises(CommandError, match="refused the API key") as info:
        call_command("kodexa_check")
    assert "definitely-wrong-key" not in str(info.value)


def test_kodexa_check_reports_an_unreachable_platform(settings):
    settings.KODEXA_URL = "http://127.0.0.1:9"  # discard port: nothing listens
    settings.KODEXA_API_KEY = "k"
    with pytest.raises(CommandError, match="not usable"):
        call_command("kodexa_check")


def test_kodexa_check_without_configuration(settings):
    settings.KODEXA_URL = ""
    with pytest.raises(CommandError, match="must both be set"):
        call_command("kodexa_check")


def test_ensure_admin_creates_one_admin_only_on_an_empty_database(django_user_model):
    out = StringIO()
    call_command("ensure_admin", stdout=out)
    assert "Created user 'admin' with password" in out.getvalue()
    admin = django_user_model.objects.get(username="admin")
    password = out.getvalue().split("password ")[1].split()[0]
    assert admin.is_superuser and admin.check_password(password)
    again = StringIO()
    call_command("ensure_admin", stdout=again)
    assert again.getvalue() == ""
