"""Every change to who may do what is an access.* event in the audit chain, whoever makes it and however."""

from __future__ import annotations

import pytest
from django.urls import reverse

from executions.audit.chain import audit_chain_verify
from executions.audit.models import AuditAction, AuditEvent
from executions.sso.access import access_plan
from executions.sso.config import sso_config

pytestmark = pytest.mark.django_db


def events() -> list[tuple[str, str, str, str, str]]:
    return [(e.action, e.actor_username, e.details["user"], e.details["group"], e.details["source"])
            for e in AuditEvent.objects.filter(action__startswith="access.").order_by("id")]


def user_form(user, **changes):  # type: ignore[no-untyped-def]
    data = {
        "username": user.username, "first_name": user.first_name, "last_name": user.last_name, "email": user.email,
        "is_active": "on", "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"), "groups": [g.pk for g in user.groups.all()],
    }
    data.update(changes)
    return data


def test_role_and_team_changes_in_admin_are_audited_with_who_and_where(
        admin_client, admin, bob, roles, team, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("admin:auth_user_change", args=[bob.pk]),
                                     user_form(bob, groups=[roles["Operators"].pk]), REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 302, response.content[:2000]
    assert set(bob.groups.values_list("name", flat=True)) == {"Operators"}
    assert events() == [
        (AuditAction.ACCESS_TEAM_LEFT, "admin", "bob", "Support EU", "admin"),
        (AuditAction.ACCESS_OPERATOR_GRANTED, "admin", "bob", "Operators", "admin"),
    ]
    granted = AuditEvent.objects.get(action=AuditAction.ACCESS_OPERATOR_GRANTED)
    assert granted.actor_id == admin.pk and granted.client_ip == "10.1.2.3" and granted.request_id
    assert granted.reason == "role Operators granted to bob in /admin/"
    assert audit_chain_verify().ok


def test_a_change_that_rolls_back_is_not_audited(bob, roles, django_capture_on_commit_callbacks):
    from django.db import transaction

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        bob.groups.add(roles["Auditors"])
        raise RuntimeError("the admin save failed")
    assert events() == []


def test_changes_from_either_side_and_clear_and_deletes_are_audited(
        alice, bob, roles, team, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        roles["Auditors"].user_set.add(bob)  # from the group's side
        bob.groups.remove(roles["Auditors"], roles["Operators"])  # bob was never an Operator: not an event
        alice.groups.clear()
        team.user_set.add(alice, bob)
        team.delete()  # memberships vanish without m2m_changed
    system = "system (no request)"
    assert events()[:5] == [
        (AuditAction.ACCESS_AUDITOR_GRANTED, system, "bob", "Auditors", "system"),
        (AuditAction.ACCESS_AUDITOR_REVOKED, system, "bob", "Auditors", "system"),
        (AuditAction.ACCESS_OPERATOR_REVOKED, system, "alice", "Operators", "system"),
        (AuditAction.ACCESS_TEAM_LEFT, system, "alice", "Support EU", "system"),
        (AuditAction.ACCESS_TEAM_JOINED, system, "alice", "Support EU", "system"),
        # bob was in the team already (the cast), so adding him again changed nothing
    ]
    assert sorted(events()[5:]) == [  # the team's deletion: each member loses it
        (AuditAction.ACCESS_TEAM_LEFT, system, "alice", "Support EU", "system"),
        (AuditAction.ACCESS_TEAM_LEFT, system, "bob", "Support EU", "system"),
    ]


def test_deleting_a_user_revokes_their_access_on_record(alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        alice.delete()
    assert sorted(events()) == sorted([
        (AuditAction.ACCESS_OPERATOR_REVOKED, "system (no request)", "alice", "Operators", "system"),
        (AuditAction.ACCESS_TEAM_LEFT, "system (no request)", "alice", "Support EU", "system"),
    ])


def test_who_could_cancel_is_answered_from_the_audit_page(charlie_client, bob, roles,
                                                          django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        bob.groups.add(roles["Operators"])
    page = charlie_client.get(reverse("audit:list"), {"action": AuditAction.ACCESS_OPERATOR_GRANTED})
    assert page.status_code == 200
    assert b"Operator role granted" in page.content and b"role Operators granted to bob" in page.content
    export = charlie_client.get(reverse("audit:export_csv"), {"action": AuditAction.ACCESS_OPERATOR_GRANTED})
    assert b"access.operator_granted" in b"".join(export.streaming_content)


def test_roles_are_never_teams_even_when_a_provider_group_is_called_so(settings):
    settings.OIDC_ISSUER = "https://idp.example.test"
    settings.OIDC_OPERATOR_GROUPS = ["ops"]
    settings.OIDC_AUDITOR_GROUPS = []
    settings.OIDC_TEAM_GROUPS = ["*"]
    plan = access_plan(["ops", "Operators", "Auditors", "team a", "x" * 151], sso_config())
    assert plan.roles == {"Operators"} and plan.managed_roles == {"Operators"}
    assert plan.teams == {"ops", "team a"}  # every group is a team here, but a role's name never, nor a too long one


def all_access() -> list[tuple[str, str]]:
    return [(e.action, e.reason) for e in AuditEvent.objects.filter(action__startswith="access.").order_by("id")]


def test_superuser_status_given_or_taken_is_on_record(bob, admin_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("admin:auth_user_change", args=[bob.pk]),
                                     user_form(bob, is_superuser="on", is_staff="on"))
    assert response.status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        bob.is_superuser = False
        bob.save()
        bob.save(update_fields=["last_login"])  # a sign-in's save: no question asked, nothing recorded
    assert all_access() == [
        (AuditAction.ACCESS_SUPERUSER_GRANTED, "superuser status granted to bob in /admin/"),
        (AuditAction.ACCESS_SUPERUSER_REVOKED, "superuser status revoked from bob (system)"),
    ]


def test_permissions_given_to_a_group_or_a_person_are_on_record(bob, roles, team, django_capture_on_commit_callbacks):
    from django.contrib.auth.models import Permission

    cancel = Permission.objects.get(codename="cancel_execution")
    with django_capture_on_commit_callbacks(execute=True):
        team.permissions.add(cancel)
        bob.user_permissions.add(cancel)
        roles["Operators"].permissions.remove(cancel)
    assert all_access() == [
        (AuditAction.ACCESS_PERMISSION_GRANTED, "permission executions.cancel_execution granted to group Support EU "
                                                "(system)"),
        (AuditAction.ACCESS_PERMISSION_GRANTED, "permission executions.cancel_execution granted to user bob (system)"),
        (AuditAction.ACCESS_PERMISSION_REVOKED, "permission executions.cancel_execution revoked from group Operators "
                                                "(system)"),
    ]


def test_a_renamed_team_is_on_record_with_its_members(bob, team, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        team.name = "Support Europe"
        team.save()
        team.save()  # unchanged: nothing
    event = AuditEvent.objects.get(action=AuditAction.ACCESS_GROUP_RENAMED)
    assert event.details["old_name"] == "Support EU" and event.details["members"] == ["bob"]
    assert AuditEvent.objects.filter(action__startswith="access.").count() == 1
