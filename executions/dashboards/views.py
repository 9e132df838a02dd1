"""Saved views and team dashboards. Views parse input, call one selector or service, and render or redirect.

Every mutation is a POST with CSRF that redirects (works without JS); anything the user may not see is a 404."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from executions.browse.selectors import assistant_list_or_empty
from executions.dashboards import selectors, services
from executions.dashboards.forms import (
    DashboardCreateForm,
    DashboardSettingsForm,
    SavedViewCreateForm,
    SavedViewRenameForm,
    WidgetAddForm,
    WidgetEditForm,
)
from executions.dashboards.io import ViewInvalid
from executions.dashboards.models import Dashboard, Widget, WidgetKind


def _list_url(querystring: str) -> str:
    base = reverse("executions:list")
    return f"{base}?{querystring}" if querystring else base


# --- home ---------------------------------------------------------------------------------------------

@require_safe
def home(request: HttpRequest) -> HttpResponse:
    """The user's first team dashboard (with a chooser of the others), or the execution list if none."""
    first = selectors.dashboard_list_visible(user=request.user).first()
    if first is None:
        return redirect("executions:list")
    return _dashboard_page(request, first.pk)


# --- saved views --------------------------------------------------------------------------------------

@require_safe
def saved_view_list(request: HttpRequest) -> HttpResponse:
    rows = selectors.saved_view_rows(user=request.user)
    return render(request, "dashboards/saved_views.html", {"nav_section": "views", "rows": rows})


@require_POST
def saved_view_create(request: HttpRequest) -> HttpResponse:
    teams = selectors.team_list(user=request.user)
    form = SavedViewCreateForm(request.POST, owner=request.user, teams=teams)
    if not form.is_valid():
        errors = "; ".join(m for messages_ in form.errors.values() for m in messages_)
        messages.error(request, f"The view was not saved: {errors}")
        return redirect(_list_url(request.POST.get("params", "")))
    saved = services.saved_view_create(owner=request.user, name=form.cleaned_data["name"],
                                       query=form.cleaned_data["params"], team=form.cleaned_data["team"])
    shared = f", shared with {saved.team.name}" if saved.team else ""
    messages.success(request, f"Saved view “{saved.name}”{shared}.")
    return redirect(_list_url(form.cleaned_data["params"].querystring(page=1)))


@require_safe
def saved_view_open(request: HttpRequest, view_id: int) -> HttpResponse:
    saved = selectors.saved_view_get_visible(user=request.user, view_id=view_id)
    try:
        query = selectors.saved_view_query(saved_view=saved)
    except ViewInvalid as exc:
        messages.error(request, f"“{saved.name}” no longer matches the filter rules: {exc}")
        return redirect("dashboards:views")
    return redirect(_list_url(query.querystring(page=1)))


@require_POST
def saved_view_rename(request: HttpRequest, view_id: int) -> HttpResponse:
    saved = selectors.saved_view_get_owned(user=request.user, view_id=view_id)
    form = SavedViewRenameForm(request.POST, saved_view=saved)
    if form.is_valid():
        services.saved_view_rename(user=request.user, saved_view=saved, name=form.cleaned_data["name"])
        messages.success(request, f"Renamed to “{saved.name}”.")
    else:
        messages.error(request, "Not renamed: " + "; ".join(form.errors.get("name", [])))
    return redirect("dashboards:views")


@require_POST
def saved_view_delete(request: HttpRequest, view_id: int) -> HttpResponse:
    saved = selectors.saved_view_get_owned(user=request.user, view_id=view_id)
    kept = services.saved_view_delete(user=request.user, saved_view=saved)
    note = f" {kept} dashboard widget{'s' if kept != 1 else ''} keep a copy of its query." if kept else ""
    messages.success(request, f"Deleted view “{saved.name}”.{note}")
    return redirect("dashboards:views")


# --- dashboards ---------------------------------------------------------------------------------------

@require_http_methods(["GET", "HEAD", "POST"])
def dashboard_list(request: HttpRequest) -> HttpResponse:
    teams = selectors.team_list_for_dashboards(user=request.user)
    form = DashboardCreateForm(request.POST or None, teams=teams)
    if request.method == "POST" and form.is_valid():
        dashboard = services.dashboard_create(user=request.user, name=form.cleaned_data["name"],
                                              team=form.cleaned_data["team"],
                                              refresh_seconds=form.cleaned_data["refresh_seconds"])
        messages.success(request, f"Created dashboard “{dashboard.name}”. Add its first widget.")
        return redirect("dashboards:edit", dashboard_id=dashboard.pk)
    context = {"nav_section": "dashboards", "form": form, "has_teams": teams.exists(),
               "administrators": selectors.team_administrators(),
               "dashboards": selectors.dashboard_list_visible(user=request.user).prefetch_related("widgets")}
    return render(request, "dashboards/list.html", context, status=400 if form.errors else 200)


@require_safe
def dashboard_detail(request: HttpRequest, dashboard_id: int) -> HttpResponse:
    return _dashboard_page(request, dashboard_id)


def _no_team_page(request: HttpRequest) -> HttpResponse:
    """Dashboards belong to teams: someone in none is told how to join one, not "Not found"."""
    context = {"nav_section": "dashboards", "administrators": selectors.team_administrators()}
    return render(request, "dashboards/no_team.html", context)


def _dashboard_page(request: HttpRequest, dashboard_id: int) -> HttpResponse:
    if not request.user.is_superuser and not selectors.team_list(user=request.user).exists():
        return _no_team_page(request)
    dashboard = selectors.dashboard_get_visible(user=request.user, dashboard_id=dashboard_id)
    context: dict[str, object] = {"nav_section": "dashboards", "dashboard": dashboard}

    def database_reads() -> None:  # while Kodexa answers (when the cache is cold)
        context["others"] = list(selectors.dashboard_list_visible(user=request.user))
        request.user.get_all_permissions()  # the navigation checks them

    context["data"] = selectors.dashboard_data(dashboard=dashboard, meanwhile=database_reads)
    return render(request, "dashboards/detail.html", context)


@require_safe
def dashboard_widgets(request: HttpRequest, dashboard_id: int) -> HttpResponse:
    """The widgets fragment that the page polls every refresh_seconds."""
    dashboard = selectors.dashboard_get_visible(user=request.user, dashboard_id=dashboard_id)
    # The numbers on screen come back with the poll: those that changed are highlighted for a moment.
    previous = selectors.parse_numbers(request.GET.get("prev"))
    context = {"dashboard": dashboard, "data": selectors.dashboard_data(dashboard=dashboard, previous=previous)}
    return render(request, "dashboards/_widgets.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
def dashboard_edit(request: HttpRequest, dashboard_id: int) -> HttpResponse:
    dashboard = selectors.dashboard_get_visible(user=request.user, dashboard_id=dashboard_id)
    initial = {"name": dashboard.name, "refresh_seconds": dashboard.refresh_seconds}
    form = DashboardSettingsForm(request.POST or None, dashboard=dashboard, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.dashboard_update(dashboard=dashboard, name=form.cleaned_data["name"],
                                  refresh_seconds=form.cleaned_data["refresh_seconds"])
        messages.success(request, "Dashboard settings saved.")
        return redirect("dashboards:edit", dashboard_id=dashboard.pk)
    return _edit_page(request, dashboard, settings_form=form)


def _edit_page(request: HttpRequest, dashboard: Dashboard, *, settings_form: DashboardSettingsForm | None = None,
               add_form: WidgetAddForm | None = None, status: int = 200) -> HttpResponse:
    saved_views = selectors.saved_view_list_for_dashboard(user=request.user, dashboard=dashboard)
    widgets = [(w, WidgetEditForm(initial={"title": w.title, "kind": w.kind, "limit": w.limit,
                                               "trend": w.trend}, prefix=f"w{w.pk}"))
               for w in dashboard.widgets.all()]
    add_form = add_form or WidgetAddForm(saved_views=saved_views, assistants=assistant_list_or_empty(),
                                         widget_count=len(widgets), initial={"kind": WidgetKind.COUNT, "limit": 10})
    context = {"nav_section": "dashboards", "dashboard": dashboard, "widgets": widgets,
               "settings_form": settings_form or DashboardSettingsForm(
                   dashboard=dashboard, initial={"name": dashboard.name, "refresh_seconds": dashboard.refresh_seconds}),
               "add_form": add_form, "has_saved_views": saved_views.exists()}
    return render(request, "dashboards/edit.html", context, status=status)


@require_POST
def dashboard_delete(request: HttpRequest, dashboard_id: int) -> HttpResponse:
    dashboard = selectors.dashboard_get_visible(user=request.user, dashboard_id=dashboard_id)
    services.dashboard_delete(dashboard=dashboard)
    messages.success(request, f"Deleted dashboard “{dashboard.name}”.")
    return redirect("dashboards:list")


@require_POST
def widget_add(request: HttpRequest, dashboard_id: int) -> HttpResponse:
    dashboard = selectors.dashboard_get_visible(user=request.user, dashboard_id=dashboard_id)
    form = WidgetAddForm(request.POST,
                         saved_views=selectors.saved_view_list_for_dashboard(user=request.user, dashboard=dashboard),
                         assistants=assistant_list_or_empty(), widget_count=len(dashboard.widgets.all()))
    if not form.is_valid():
        messages.error(request, "The widget was not added: fix the fields marked below.")
        return _edit_page(request, dashboard, add_form=form, status=400)
    data = form.cleaned_data
    try:
        widget = services.widget_add(dashboard=dashboard, title=data["title"], kind=data["kind"],
                                     limit=data["limit"], saved_view=data["saved_view"], query=form.inline_query,
                                     trend=data.get("trend", False))
    except services.DashboardFull as exc:  # another member added the last one meanwhile
        form.add_error(None, str(exc))
        messages.error(request, "The widget was not added: fix the fields marked below.")
        return _edit_page(request, dashboard, add_form=form, status=400)
    messages.success(request, f"Added widget “{widget.title}”.")
    return _back_to_widget(dashboard, widget)


@require_POST
def widget_update(request: HttpRequest, dashboard_id: int, widget_id: int) -> HttpResponse:
    dashboard = selectors.dashboard_get_visible(user=request.user, dashboard_id=dashboard_id)
    widget = selectors.widget_get(dashboard=dashboard, widget_id=widget_id)
    form = WidgetEditForm(request.POST, prefix=f"w{widget.pk}")
    if form.is_valid():
        services.widget_update(widget=widget, **form.cleaned_data)
        messages.success(request, f"Saved widget “{widget.title}”.")
    else:
        errors = "; ".join(f"{f}: {m}" for f, ms in form.errors.items() for m in ms)
        messages.error(request, f"Widget not saved: {errors}")
    return _back_to_widget(dashboard, widget)


@require_POST
def widget_move(request: HttpRequest, dashboard_id: int, widget_id: int) -> HttpResponseBase:
    dashboard = selectors.dashboard_get_visible(user=request.user, dashboard_id=dashboard_id)
    widget = selectors.widget_get(dashboard=dashboard, widget_id=widget_id)
    direction = request.POST.get("direction")
    if direction in ("up", "down"):
        services.widget_move(widget=widget, direction=direction)
    return _back_to_widget(dashboard, widget)


@require_POST
def widget_delete(request: HttpRequest, dashboard_id: int, widget_id: int) -> HttpResponse:
    dashboard = selectors.dashboard_get_visible(user=request.user, dashboard_id=dashboard_id)
    widget = selectors.widget_get(dashboard=dashboard, widget_id=widget_id)
    services.widget_delete(widget=widget)
    messages.success(request, f"Removed widget “{widget.title}”.")
    return redirect("dashboards:edit", dashboard_id=dashboard.pk)


def _back_to_widget(dashboard: Dashboard, widget: Widget) -> HttpResponse:
    """Back to the edit page, scrolled to the widget just changed."""
    return redirect(f"{reverse('dashboards:edit', args=[dashboard.pk])}#widget-{widget.pk}")
