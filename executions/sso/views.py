"""Sign-in pages: the identity provider's round trip (start, callback), the login page with its SSO button, the
break-glass password sign-in, and a logout that also ends the provider's session."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import auth
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render, resolve_url
from django.urls import reverse
from django.utils import timezone
from mozilla_django_oidc.views import OIDCAuthenticationRequestView

from executions.audit.chain import RequestMeta, audit_event_append
from executions.audit.models import AuditAction
from executions.sso.backend import SsoBackend
from executions.sso.config import sso_config
from executions.sso.discovery import provider_metadata
from executions.sso.errors import FailureKind, SsoFailure

logger = logging.getLogger("executions.sso")

BACKEND_PATH = "executions.sso.backend.SsoBackend"
STATE_MAX_AGE_SECONDS = 10 * 60
_SESSION_ID_TOKEN = "oidc_id_token"  # noqa: S105  (a session key)
_SESSION_SSO = "sso_signed_in"

_STATUS = {FailureKind.PROVIDER_UNAVAILABLE: 502, FailureKind.PROVIDER_MISBEHAVED: 502}


def sign_in_failed(request: HttpRequest, failure: SsoFailure) -> HttpResponse:
    """The one way an SSO sign-in ends badly: logged, audited, no session, a page that says why."""
    if request.user.is_authenticated:
        auth.logout(request)
    logger.warning("sso sign-in failed", extra={"sso_failure": failure.kind.value, "sso_message": failure.message,
                                                "sso_detail": failure.detail})
    try:
        audit_event_append(action=AuditAction.AUTH_SSO_FAILED, meta=RequestMeta.of(request),
                           reason_category=failure.kind.value, reason=failure.message, error=failure.message,
                           details={"detail": failure.detail, "issuer": sso_config().issuer})
    except Exception:
        logger.exception("sso failure not audited")
    config = sso_config()
    return render(request, "sso/failed.html", {"failure": failure, "sso": config},
                  status=_STATUS.get(failure.kind, 400))


class SsoStartView(OIDCAuthenticationRequestView):
    """GET /oidc/authenticate/: state, nonce and PKCE in the session, then off to the identity provider."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super(OIDCAuthenticationRequestView, self).__init__(*args, **kwargs)  # endpoints come from discovery

    def get(self, request: HttpRequest) -> HttpResponse:
        config = sso_config()
        if not config.enabled:
            raise Http404("Single sign-on is not configured.")
        try:
            metadata = provider_metadata()
        except SsoFailure as failure:
            return sign_in_failed(request, failure)
        self.OIDC_OP_AUTH_ENDPOINT = metadata.authorization_endpoint
        self.OIDC_RP_CLIENT_ID = config.client_id
        return super().get(request)


def sso_callback(request: HttpRequest) -> HttpResponse:
    """GET /oidc/callback/: the provider sends the person back with a code (or an error)."""
    config = sso_config()
    if not config.enabled:
        raise Http404("Single sign-on is not configured.")
    states = request.session.get("oidc_states")
    states = states if isinstance(states, dict) else {}
    state = request.GET.get("state", "")
    entry = states.pop(state, None) if state else None  # used once: a replayed callback finds nothing
    request.session["oidc_states"] = states
    request.session.save()
    try:
        if request.GET.get("error"):
            raise SsoFailure(FailureKind.PROVIDER_ERROR, "the identity provider did not sign you in "
                             f"({request.GET.get('error', '')[:64]}).", request.GET.get("error_description", "")[:300])
        if entry is None or not isinstance(entry, dict):
            raise SsoFailure(FailureKind.STATE, "this sign-in link was already used, has expired, or was started "
                             "in another browser. Please sign in again.", "unknown state")
        if time.time() - float(entry.get("added_on", 0)) > STATE_MAX_AGE_SECONDS:
            raise SsoFailure(FailureKind.STATE, "this sign-in took too long. Please sign in again.", "state expired")
        code = request.GET.get("code", "")
        if not code:
            raise SsoFailure(FailureKind.PROVIDER_MISBEHAVED, "the identity provider sent no sign-in code.")
        signed_in = SsoBackend().sign_in(request, code=code, nonce=entry.get("nonce") or "",
                                         code_verifier=entry.get("code_verifier"))
    except SsoFailure as failure:
        return sign_in_failed(request, failure)
    except Exception as exc:  # a bug or an unforeseen answer must still end on the page, not a traceback
        logger.exception("sso sign-in crashed")
        return sign_in_failed(request, SsoFailure(FailureKind.PROVIDER_MISBEHAVED,
                                                  "an unexpected error happened.", type(exc).__name__))
    next_url = request.session.get("oidc_login_next") or resolve_url(settings.LOGIN_REDIRECT_URL)
    user = signed_in.user
    auth.login(request, user, backend=BACKEND_PATH)
    request.session[_SESSION_ID_TOKEN] = signed_in.id_token
    request.session[_SESSION_SSO] = True
    # An absolute end: activity never stretches a session past the lifetime the panel sets.
    request.session.set_expiry(timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE))
    groups = sorted(g.name for g in user.groups.all())
    audit_event_append(action=AuditAction.AUTH_SSO_LOGIN, actor=user, meta=RequestMeta.of(request),
                       details={"issuer": signed_in.claims.get("iss"), "subject": signed_in.claims.get("sub"),
                                "created": signed_in.created, "groups": groups})
    return HttpResponseRedirect(next_url)


class PanelLoginView(auth_views.LoginView):
    """The login page: the identity provider's button when SSO is on, the password form unless OIDC_ONLY."""

    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: object) -> dict[str, object]:
        return {**super().get_context_data(**kwargs), "sso": sso_config()}

    def post(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if sso_config().only:
            context = self.get_context_data(form=self.get_form_class()(request))
            context["password_refused"] = True
            return self.render_to_response(context, status=403)
        return super().post(request, *args, **kwargs)


class BreakGlassForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "not_superuser": "Only a superuser may sign in with a password here.",
    }

    def confirm_login_allowed(self, user: object) -> None:
        super().confirm_login_allowed(user)
        if not getattr(user, "is_superuser", False):
            raise ValidationError(self.error_messages["not_superuser"], code="not_superuser")


class BreakGlassLoginView(auth_views.LoginView):
    """/accounts/break-glass/: a superuser's password sign-in while the identity provider is the only way in
    (OIDC_ONLY) and it is down or misconfigured. Every attempt is audited."""

    template_name = "registration/break_glass.html"
    form_class = BreakGlassForm

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_valid(form)
        audit_event_append(action=AuditAction.AUTH_BREAK_GLASS_LOGIN, actor=form.get_user(),
                           meta=RequestMeta.of(self.request), reason="password sign-in bypassing the identity provider")
        return response

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        username = (form.data.get("username") or "")[:150]
        error = "; ".join(form.non_field_errors())[:300] or "no username or password"
        audit_event_append(action=AuditAction.AUTH_BREAK_GLASS_FAILED, actor_name=username,
                           meta=RequestMeta.of(self.request), reason=error, error=error)
        return super().form_invalid(form)


def _end_session_url(request: HttpRequest) -> str:
    """The provider's logout (RP-initiated logout 1.0) for a session that came from it, or ""."""
    id_token = request.session.get(_SESSION_ID_TOKEN)
    config = sso_config()
    if not id_token or not config.enabled:
        return ""
    try:
        metadata = provider_metadata()
    except SsoFailure:
        return ""  # the panel's session still ends; the provider's stays, as it would without support for it
    if not metadata.end_session_endpoint:
        return ""
    query = urlencode({"id_token_hint": id_token, "client_id": config.client_id,
                       "post_logout_redirect_uri": request.build_absolute_uri(reverse("login"))})
    separator = "&" if "?" in metadata.end_session_endpoint else "?"
    return f"{metadata.end_session_endpoint}{separator}{query}"


class PanelLogoutView(auth_views.LogoutView):
    """Django's logout, then the identity provider's when the session came from it."""

    def post(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        end_session = _end_session_url(request)
        user = request.user if request.user.is_authenticated else None
        was_sso = bool(request.session.get(_SESSION_SSO))
        response = super().post(request, *args, **kwargs)
        if was_sso and user is not None:
            audit_event_append(action=AuditAction.AUTH_SSO_LOGOUT, actor=user, meta=RequestMeta.of(request),
                               details={"provider_logout": bool(end_session)})
        if not end_session:
            return response
        # Not a redirect: a browser checks a form's whole redirect chain against the page's CSP form-action
        # ('self'), so the provider is reached by a page of ours that moves on by itself (meta refresh, no script).
        return render(request, "sso/logged_out.html", {"end_session_url": end_session, "sso": sso_config()})
