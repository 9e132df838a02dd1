from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path

from executions.sso import views as sso
from kodexa_admin import health, metrics

urlpatterns = [
    path("accounts/login/", sso.PanelLoginView.as_view(), name="login"),
    path("accounts/logout/", sso.PanelLogoutView.as_view(), name="logout"),
    # Single sign-on (OpenID Connect; README "Single sign-on"). Break glass: a superuser's audited password
    # sign-in for when the identity provider is the only way in and is down.
    path("accounts/break-glass/", sso.BreakGlassLoginView.as_view(), name="break_glass"),
    path("oidc/authenticate/", login_not_required(sso.SsoStartView.as_view()), name="oidc_authentication_init"),
    path("oidc/callback/", login_not_required(sso.sso_callback), name="oidc_authentication_callback"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("", include("executions.urls")),
]

handler400 = "kodexa_admin.errors.bad_request"
handler404 = "kodexa_admin.errors.page_not_found"
handler500 = "kodexa_admin.errors.server_error"
handler403 = "kodexa_admin.errors.permission_denied"
