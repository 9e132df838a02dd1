"""Saved views (/views/) and team dashboards (/dashboards/); `/` is pointed at views.home in executions/urls.py."""

from django.urls import path

from executions.dashboards import views

app_name = "dashboards"

urlpatterns = [
    path("views/", views.saved_view_list, name="views"),
    path("views/new/", views.saved_view_create, name="view_create"),
    path("views/<int:view_id>/", views.saved_view_open, name="view_open"),
    path("views/<int:view_id>/rename/", views.saved_view_rename, name="view_rename"),
    path("views/<int:view_id>/delete/", views.saved_view_delete, name="view_delete"),
    path("dashboards/", views.dashboard_list, name="list"),
    path("dashboards/<int:dashboard_id>/", views.dashboard_detail, name="detail"),
    path("dashboards/<int:dashboard_id>/widgets/", views.dashboard_widgets, name="widgets"),
    path("dashboards/<int:dashboard_id>/edit/", views.dashboard_edit, name="edit"),
    path("dashboards/<int:dashboard_id>/delete/", views.dashboard_delete, name="delete"),
    path("dashboards/<int:dashboard_id>/widgets/new/", views.widget_add, name="widget_add"),
    path("dashboards/<int:dashboard_id>/widgets/<int:widget_id>/", views.widget_update, name="widget_update"),
    path("dashboards/<int:dashboard_id>/widgets/<int:widget_id>/move/", views.widget_move, name="widget_move"),
    path("dashboards/<int:dashboard_id>/widgets/<int:widget_id>/delete/", views.widget_delete, name="widget_delete"),
]
