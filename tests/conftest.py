"""Shared fixtures: the live Kodexa stand-in, the panel pointed at it, and one cast of users for every test.

The cast (each member's password is "<username>-pass-123", for tests that log in through the login page or
over HTTP; every member also has a `<name>_client`, a django.test.Client already logged in):

    alice    an Operator (may cancel executions), member of team "Support EU"
    bob      a plain viewer: no role, no permission; alice's teammate in "Support EU"
    charlie  an Auditor (reads and exports the audit log); in no team, so an outsider to "Support EU"
    admin    a superuser (sees every team's dashboards and the Django admin); in no team

`team` is the group "Support EU"; `roles` the Operators and Auditors groups. Tests make a member more (add a
group) rather than create someone new; ad-hoc users are kept only where users themselves are the subject,
each with a comment saying why.
"""

from __future__ import annotations

import os

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from tests.oidc_fixtures import *  # noqa: F403  (oidc_provider, sso: a real OpenID Connect provider)
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
def team(db) -> Group:  # type: ignore[no-untyped-def]
    """Team "Support EU": alice and bob."""
    return Group.objects.create(name="Support EU")


def _cast_member(django_user_model, username: str, *groups: Group, superuser: bool = False):  # type: ignore[no-untyped-def]
    create = django_user_model.objects.create_superuser if superuser else django_user_model.objects.create_user
    user = create(username, password=f"{username}-pass-123")
    user.groups.add(*groups)
    return user


def _logged_in(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def alice(django_user_model, roles, team):  # type: ignore[no-untyped-def]
    return _cast_member(django_user_model, "alice", roles["Operators"], team)


@pytest.fixture
def bob(django_user_model, roles, team):  # type: ignore[no-untyped-def]
    return _cast_member(django_user_model, "bob", team)


@pytest.fixture
def charlie(django_user_model, roles):  # type: ignore[no-untyped-def]
    return _cast_member(django_user_model, "charlie", roles["Auditors"])


@pytest.fixture
def admin(django_user_model, roles):  # type: ignore[no-untyped-def]
    return _cast_member(django_user_model, "admin", superuser=True)


@pytest.fixture
def alice_client(alice) -> Client:  # type: ignore[no-untyped-def]
    return _logged_in(alice)


@pytest.fixture
def bob_client(bob) -> Client:  # type: ignore[no-untyped-def]
    return _logged_in(bob)


@pytest.fixture
def charlie_client(charlie) -> Client:  # type: ignore[no-untyped-def]
    return _logged_in(charlie)


@pytest.fixture
def admin_client(admin) -> Client:  # type: ignore[no-untyped-def]
    """The cast's admin logged in (this replaces pytest-django's admin_client, whose user is not in the cast)."""
    return _logged_in(admin)


@pytest.fixture(autouse=True)
def _fresh_cache():  # type: ignore[no-untyped-def]
    """Each test starts with an empty cache (it is Redis in the CI's second run, shared by every test)."""
    from django.core.cache import cache

    from executions.upstream import circuit
    from executions.upstream.cache import forget_local_copies

    cache.clear()
    forget_local_copies()
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
