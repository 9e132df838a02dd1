"""Saved views and dashboards in /admin/."""

from __future__ import annotations

from django.contrib import admin

from executions.dashboards.models import Dashboard, SavedView, Widget


@admin.register(SavedView)
class SavedViewAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "team", "updated_at")
    list_filter = ("team",)
    search_fields = ("name", "owner__username")
    raw_id_fields = ("owner",)


class WidgetInline(admin.TabularInline):
    model = Widget
    extra = 0
    fields = ("position", "title", "kind", "limit", "saved_view", "view")
    ordering = ("position", "id")


@admin.register(Dashboard)
class DashboardAdmin(admin.ModelAdmin):
    list_display = ("name", "team", "refresh_seconds", "created_by", "updated_at")
    list_filter = ("team",)
    search_fields = ("name", "team__name")
    readonly_fields = ("created_by", "created_at", "updated_at")
    inlines = [WidgetInline]
