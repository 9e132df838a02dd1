"""Start-up checks of the single sign-on settings: a wrong one must stop the panel, not fail at each sign-in."""

from __future__ import annotations

from django.core.checks import Error, register

from executions.sso.config import sso_config, url_allowed


@register()
def sso_settings_check(app_configs: object, **kwargs: object) -> list[Error]:
    config = sso_config()
    if not config.enabled:
        return []
    problems = []
    if not url_allowed(config.issuer):
        problems.append(Error("OIDC_ISSUER must be an https URL (http only on a loopback address).", id="sso.E001"))
    if not config.client_id:
        problems.append(Error("OIDC_CLIENT_ID is required when OIDC_ISSUER is set.", id="sso.E002"))
    if not config.client_secret:
        problems.append(Error("OIDC_CLIENT_SECRET is required when OIDC_ISSUER is set.", id="sso.E003"))
    if "openid" not in config.scopes.split():
        problems.append(Error("OIDC_SCOPES must include openid.", id="sso.E004"))
    return problems
