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
from django.db.models.signals import m2m_changed, post_save, pre_delete, pre_save
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
    return f"{kind} {change.group_name} {verb} {change.username} {_by(context)}"


@dataclass(frozen=True, slots=True)
class _Fact:
    """One access change, ready to be appended: what, in words, and the who/which ids."""

    action: AuditAction
    text: str
    details: dict[str, object]


def _by(context: AccessContext) -> str:
    return {"identity provider": "by the identity provider at sign-in", "admin": "in /admin/"}.get(
        context.source, f"({context.source})")


def _membership_fact(change: _Change, context: AccessContext) -> _Fact:
    return _Fact(_action(change), _sentence(change, context),
                 {"user": change.username, "user_id": change.user_id, "group": change.group_name,
                  "group_id": change.group_id})


def _append(facts: Sequence[_Fact], context: AccessContext) -> None:
    for fact in facts:
        try:
            audit_event_append(action=fact.action, actor=context.actor, actor_name=context.actor_name,
                               meta=context.meta, reason=fact.text, details={**fact.details, "source": context.source})
        except Exception:  # the change is committed already; losing its record must at least be loud
            logger.exception("access change committed but not audited", extra={"access_change": fact.text})


def _record_facts(build: Callable[[AccessContext], list[_Fact]]) -> None:
    context = _current()
    facts = build(context)
    if facts:
        transaction.on_commit(partial(_append, facts, context))


def _record(changes: list[_Change]) -> None:
    if changes:
        _record_facts(lambda context: [_membership_fact(change, context) for change in changes])


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


# Beyond roles: a superuser may do everything, a permission given to a group or a person directly grants what
# it names, and a renamed group is another team. Each is on record too, so "who could cancel?" has an answer.


def _on_user_pre_save(sender: object, instance: AbstractBaseUser, update_fields: object = None,
                      **kwargs: object) -> None:
    if update_fields is not None and "is_superuser" not in update_fields:  # e.g. last_login at each sign-in
        instance._access_was_superuser = None  # type: ignore[attr-defined]
        return
    was = User.objects.filter(pk=instance.pk).values_list("is_superuser", flat=True).first() if instance.pk else None
    instance._access_was_superuser = bool(was)  # type: ignore[attr-defined]


def _on_user_post_save(sender: object, instance: AbstractBaseUser, **kwargs: object) -> None:
    was = getattr(instance, "_access_was_superuser", None)
    now = bool(getattr(instance, "is_superuser", False))
    if was is None or was == now:
        return
    username, user_id = instance.get_username(), instance.pk
    action = AuditAction.ACCESS_SUPERUSER_GRANTED if now else AuditAction.ACCESS_SUPERUSER_REVOKED
    _record_facts(lambda context: [_Fact(action, f"superuser status {'granted to' if now else 'revoked from'} "
                                                 f"{username} {_by(context)}", {"user": username, "user_id": user_id})])


def _permission_owner(instance: object) -> tuple[str, dict[str, object]]:
    if isinstance(instance, Group):
        return f"group {instance.name}", {"group": instance.name, "group_id": instance.pk}
    return f"user {instance.get_username()}", {"user": instance.get_username(), "user_id": instance.pk}  # type: ignore[attr-defined]


def _on_permissions_changed(sender: object, instance: object, action: str, reverse: bool, pk_set: set[int] | None,
                            model: type, **kwargs: object) -> None:
    if reverse:  # permission.group_set / permission.user_set: rare; recorded from the owner's side below
        owners = list(model.objects.filter(pk__in=pk_set or ())) if action in ("post_add", "post_remove") else []
        pairs = [(owner, instance) for owner in owners]
    elif action in ("post_add", "post_remove"):
        pairs = [(instance, permission) for permission in model.objects.filter(pk__in=pk_set or ())]
    elif action == "pre_clear":
        instance._access_clearing_perms = list(instance.permissions.all() if isinstance(  # type: ignore[attr-defined]
            instance, Group) else instance.user_permissions.all())  # type: ignore[attr-defined]
        return
    elif action == "post_clear":
        pairs = [(instance, permission) for permission in getattr(instance, "_access_clearing_perms", [])]
    else:
        return
    granted = action == "post_add"
    fact_action = AuditAction.ACCESS_PERMISSION_GRANTED if granted else AuditAction.ACCESS_PERMISSION_REVOKED

    def build(context: AccessContext) -> list[_Fact]:
        facts = []
        for owner, permission in pairs:
            label, ids = _permission_owner(owner)
            dotted = f"{permission.content_type.app_label}.{permission.codename}"
            facts.append(_Fact(fact_action, f"permission {dotted} {'granted to' if granted else 'revoked from'} "
                                            f"{label} {_by(context)}", {**ids, "permission": dotted}))
        return facts

    if pairs:
        _record_facts(build)


def _on_group_pre_save(sender: object, instance: Group, **kwargs: object) -> None:
    instance._access_old_name = (Group.objects.filter(pk=instance.pk).values_list("name", flat=True).first()  # type: ignore[attr-defined]
                                 if instance.pk else None)


def _on_group_post_save(sender: object, instance: Group, **kwargs: object) -> None:
    old = getattr(instance, "_access_old_name", None)
    if old is None or old == instance.name:
        return
    members = list(instance.user_set.values_list("username", flat=True))
    _record_facts(lambda context: [_Fact(AuditAction.ACCESS_GROUP_RENAMED,
                                         f"group {old} renamed to {instance.name} {_by(context)}",
                                         {"group": instance.name, "old_name": old, "group_id": instance.pk,
                                          "members": members[:200]})])


def connect_receivers() -> None:
    m2m_changed.connect(_on_membership_changed, sender=User.groups.through, dispatch_uid="access_membership")
    pre_delete.connect(_on_group_deleted, sender=Group, dispatch_uid="access_group_deleted")
    pre_delete.connect(_on_user_deleted, sender=User, dispatch_uid="access_user_deleted")
    pre_save.connect(_on_user_pre_save, sender=User, dispatch_uid="access_user_pre_save")
    post_save.connect(_on_user_post_save, sender=User, dispatch_uid="access_user_post_save")
    m2m_changed.connect(_on_permissions_changed, sender=Group.permissions.through, dispatch_uid="access_group_perms")
    m2m_changed.connect(_on_permissions_changed, sender=User.user_permissions.through, dispatch_uid="access_user_perms")
    pre_save.connect(_on_group_pre_save, sender=Group, dispatch_uid="access_group_pre_save")
    post_save.connect(_on_group_post_save, sender=Group, dispatch_uid="access_group_post_save")


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
