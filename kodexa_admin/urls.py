from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from kodexa_admin import health, metrics

urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
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
