"""Shared fixtures: the live Kodexa stand-in, the panel pointed at it, and a cast of users."""

from __future__ import annotations

import os

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from tests.sim_fixtures import *  # noqa: F403  (sim_server, sim)


@pytest.fixture
def kodexa(sim, settings):  # type: ignore[no-untyped-def]
    """The panel talking to a freshly reset stand-in; yields the sim handle for faults and call counts."""
    settings.KODEXA_URL = sim.url
    settings.KODEXA_API_KEY = sim.api_key
    # What the tenant reads is asked once per deployment and day: done here, so that the calls a test counts are
    # its page's own.
    from executions.upstream.tenant import tenant_forms
    from tests.helpers import reset_calls

    tenant_forms()
    reset_calls(sim)
    yield sim


@pytest.fixture
def roles(db) -> dict[str, Group]:  # type: ignore[no-untyped-def]
    """The groups the data migration creates (recreated here: a transactional test's flush empties them)."""
    from django.core.management import call_command

    call_command("setup_roles", stdout=open(os.devnull, "w"))  # noqa: SIM115
    return {name: Group.objects.get(name=name) for name in ("Operators", "Auditors")}


@pytest.fixture
def viewer(django_user_model):  # type: ignore[no-untyped-def]
    return django_user_model.objects.create_user("viewer", password="viewer-pass-123")


@pytest.fixture
def operator(django_user_model, roles):  # type: ignore[no-untyped-def]
    user = django_user_model.objects.create_user("operator", password="operator-pass-123")
    user.groups.add(roles["Operators"])
    return user


@pytest.fixture
def auditor(django_user_model, roles):  # type: ignore[no-untyped-def]
    user = django_user_model.objects.create_user("auditor", password="auditor-pass-123")
    user.groups.add(roles["Auditors"])
    return user


@pytest.fixture
def viewer_client(viewer):  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(viewer)
    return client


@pytest.fixture
def operator_client(operator):  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(operator)
    return client


@pytest.fixture
def auditor_client(auditor):  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(auditor)
    return client


@pytest.fixture(autouse=True)
def _fresh_cache():  # type: ignore[no-untyped-def]
    """Each test starts with an empty cache (it is Redis in the CI's second run, shared by every test)."""
    from django.core.cache import cache

    from executions.upstream import circuit

    cache.clear()
    circuit.forget_local_state()
    yield


def _is_transactional(request) -> bool:  # type: ignore[no-untyped-def]
    marker = request.node.get_closest_marker("django_db")
    if marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])):
        return True
    return bool({"transactional_db", "live_server"} & set(request.fixturenames))


@pytest.fixture(autouse=True)
def _audit_triggers(request):  # type: ignore[no-untyped-def]
    """The append-only triggers are in place for every test that touches the database.

    A transactional test's teardown flushes every table, which the triggers refuse, so they are dropped just
    before that flush and reinstalled by the next test.
    """
    uses_db = request.node.get_closest_marker("django_db") or {"db", "transactional_db", "live_server"} & set(
        request.fixturenames
    )
    if not uses_db:
        yield
        return
    from django.db import connection

    from executions.audit.triggers import drop_triggers, install_triggers

    transactional = _is_transactional(request)
    request.getfixturevalue("transactional_db" if transactional else "db")
    install_triggers(connection)
    yield
    if transactional:
        drop_triggers(connection)
