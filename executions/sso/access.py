"""Who may do what, and the audit of every change to it.

Roles (Operators, Auditors) and teams (every other group) are Django group memberships. Every change to one,
whichever way it is made (the identity provider at sign-in through `access_sync`, /admin/, a shell), goes through
the `m2m_changed` signal of User.groups, or deletes a user or a group; the receivers below turn each into an
`access.*` event in the audit chain, appended once the change is committed (an /admin/ save runs in a
transaction that may still roll back). Who made the change and from where comes from `access_context`.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group
from django.db import transaction
from django.db.models.signals import m2m_changed, pre_delete
from django.http import HttpRequest

from executions.audit.chain import RequestMeta, audit_event_append
from executions.audit.models import AuditAction
from executions.roles import ROLE_PERMISSIONS
from executions.sso.config import SsoConfig

logger = logging.getLogger("executions.sso")

User = get_user_model()
GROUP_NAME_MAX = Group._meta.get_field("name").max_length

_ROLE_ACTIONS = {
    "Operators": (AuditAction.ACCESS_OPERATOR_GRANTED, AuditAction.ACCESS_OPERATOR_REVOKED),
    "Auditors": (AuditAction.ACCESS_AUDITOR_GRANTED, AuditAction.ACCESS_AUDITOR_REVOKED),
}
_TEAM_ACTIONS = (AuditAction.ACCESS_TEAM_JOINED, AuditAction.ACCESS_TEAM_LEFT)


_NO_REQUEST = RequestMeta()


@dataclass(frozen=True, slots=True)
class AccessContext:
    """Who changes access, and from where: the signed-in person in /admin/, or the identity provider."""

    source: str  # "admin", "identity provider", "panel", "system"
    actor: AbstractBaseUser | None = None
    actor_name: str = ""
    meta: RequestMeta = _NO_REQUEST


_SYSTEM = AccessContext(source="system", actor_name="system (no request)")
_context: contextvars.ContextVar[AccessContext | None] = contextvars.ContextVar("access_context", default=None)
_request: contextvars.ContextVar[HttpRequest | None] = contextvars.ContextVar("access_request", default=None)


@contextmanager
def access_context(context: AccessContext) -> Iterator[None]:
    token = _context.set(context)
    try:
        yield
    finally:
        _context.reset(token)


def _current() -> AccessContext:
    if (context := _context.get()) is not None:
        return context
    request = _request.get()
    if request is None:
        return _SYSTEM
    user = getattr(request, "user", None)
    actor = user if user is not None and user.is_authenticated else None
    source = "admin" if request.path.startswith("/admin/") else "panel"
    return AccessContext(source=source, actor=actor, meta=RequestMeta.of(request))


class AccessAuditMiddleware:
    """Remembers the request, so a membership change made while serving it is attributed to its user and address."""

    def __init__(self, get_response: Callable[[HttpRequest], object]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> object:
        token = _request.set(request)
        try:
            return self.get_response(request)
        finally:
            _request.reset(token)


@dataclass(frozen=True, slots=True)
class _Change:
    user_id: int
    username: str
    group_id: int
    group_name: str
    granted: bool


def _action(change: _Change) -> AuditAction:
    granted, revoked = _ROLE_ACTIONS.get(change.group_name, _TEAM_ACTIONS)
    return granted if change.granted else revoked


def _sentence(change: _Change, context: AccessContext) -> str:
    kind = "role" if change.group_name in ROLE_PERMISSIONS else "team"
    verb = ("granted to" if change.granted else "revoked from") if kind == "role" else (
        "joined by" if change.granted else "left by")
    by = {"identity provider": "by the identity provider at sign-in", "admin": "in /admin/"}.get(
        context.source, f"({context.source})")
    return f"{kind} {change.group_name} {verb} {change.username} {by}"


def _append(changes: Sequence[_Change], context: AccessContext) -> None:
    for change in changes:
        try:
            audit_event_append(
                action=_action(change), actor=context.actor, actor_name=context.actor_name, meta=context.meta,
                reason=_sentence(change, context),
                details={"user": change.username, "user_id": change.user_id, "group": change.group_name,
                         "group_id": change.group_id, "source": context.source},
            )
        except Exception:  # the change is committed already; losing its record must at least be loud
            logger.exception("access change committed but not audited",
                             extra={"user": change.username, "group": change.group_name})


def _record(changes: list[_Change]) -> None:
    if changes:
        transaction.on_commit(partial(_append, changes, _current()))


def _pairs(instance: object, reverse: bool, pk_set: set[int]) -> list[tuple[object, object]]:
    """(user, group) for each changed membership, whichever side the change was made from."""
    if reverse:  # group.user_set.add(...): instance is the group
        return [(user, instance) for user in User.objects.filter(pk__in=pk_set)]
    return [(instance, group) for group in Group.objects.filter(pk__in=pk_set)]


def _changes(pairs: list[tuple[object, object]], granted: bool) -> list[_Change]:
    return [_Change(user.pk, user.get_username(), group.pk, group.name, granted) for user, group in pairs]


def _existing(pairs: list[tuple[object, object]]) -> list[tuple[object, object]]:
    members = set(User.groups.through.objects.filter(
        user_id__in={u.pk for u, _ in pairs}, group_id__in={g.pk for _, g in pairs}).values_list("user_id", "group_id"))
    return [(u, g) for u, g in pairs if (u.pk, g.pk) in members]


def _on_membership_changed(sender: object, instance: object, action: str, reverse: bool, pk_set: set[int] | None,
                           **kwargs: object) -> None:
    if action == "post_add" and pk_set:  # Django passes only the memberships that are new
        _record(_changes(_pairs(instance, reverse, pk_set), granted=True))
    elif action == "pre_remove" and pk_set:  # Django passes every id asked for, member or not
        instance._access_removing = _existing(_pairs(instance, reverse, pk_set))  # type: ignore[attr-defined]
    elif action == "post_remove":
        _record(_changes(getattr(instance, "_access_removing", []), granted=False))
        instance._access_removing = []  # type: ignore[attr-defined]
    elif action == "pre_clear":
        if reverse:
            pairs = [(user, instance) for user in instance.user_set.all()]  # type: ignore[attr-defined]
        else:
            pairs = [(instance, group) for group in instance.groups.all()]  # type: ignore[attr-defined]
        instance._access_clearing = pairs  # type: ignore[attr-defined]
    elif action == "post_clear":
        _record(_changes(getattr(instance, "_access_clearing", []), granted=False))
        instance._access_clearing = []  # type: ignore[attr-defined]


def _on_group_deleted(sender: object, instance: Group, **kwargs: object) -> None:
    # Deleting a group deletes its memberships without m2m_changed: each member loses it all the same.
    _record(_changes([(user, instance) for user in instance.user_set.all()], granted=False))


def _on_user_deleted(sender: object, instance: AbstractBaseUser, **kwargs: object) -> None:
    _record(_changes([(instance, group) for group in instance.groups.all()], granted=False))  # type: ignore[attr-defined]


def connect_receivers() -> None:
    m2m_changed.connect(_on_membership_changed, sender=User.groups.through, dispatch_uid="access_membership")
    pre_delete.connect(_on_group_deleted, sender=Group, dispatch_uid="access_group_deleted")
    pre_delete.connect(_on_user_deleted, sender=User, dispatch_uid="access_user_deleted")


# --- The identity provider decides ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccessPlan:
    """What the identity provider's groups mean here: the roles and teams a person must have, and which of
    their memberships the provider decides at all (a role with no provider groups set stays managed in /admin/)."""

    roles: frozenset[str]
    managed_roles: frozenset[str]
    teams: frozenset[str]
    manages_teams: bool


def access_plan(idp_groups: Sequence[str], config: SsoConfig) -> AccessPlan:
    names = set(idp_groups)
    roles, managed = set(), set()
    for role, wanted in (("Operators", config.operator_groups), ("Auditors", config.auditor_groups)):
        if wanted:
            managed.add(role)
            if names & wanted:
                roles.add(role)
    teams = {name for name in names if config.is_team_group(name)
             and name not in ROLE_PERMISSIONS and len(name) <= GROUP_NAME_MAX}
    return AccessPlan(frozenset(roles), frozenset(managed), frozenset(teams), bool(config.team_patterns))


def access_sync(user: AbstractBaseUser, plan: AccessPlan) -> None:
    """Make the user's memberships what the plan says: granted and revoked (audited by the receivers above)."""
    current = {group.name: group for group in user.groups.all()}  # type: ignore[attr-defined]
    add: list[Group] = []
    remove: list[Group] = []
    for role in plan.managed_roles:
        if role in plan.roles and role not in current:
            add.append(Group.objects.get_or_create(name=role)[0])
        elif role not in plan.roles and role in current:
            remove.append(current[role])
    if plan.manages_teams:
        for name, group in current.items():
            if name not in ROLE_PERMISSIONS and name not in plan.teams:
                remove.append(group)
        for name in sorted(plan.teams - current.keys()):
            add.append(Group.objects.get_or_create(name=name)[0])
    if remove:
        user.groups.remove(*remove)  # type: ignore[attr-defined]
    if add:
        user.groups.add(*add)  # type: ignore[attr-defined]
