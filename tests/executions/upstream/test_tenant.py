"""What the panel learns about its tenant: asked once and shared, skipped where a setting pins it, and never a
guess kept as a finding when Kodexa cannot be asked."""

from __future__ import annotations

from django.core.cache import cache as django_cache

from executions.kodexa import FilterDialect, TenantForms
from executions.upstream.cache import ReadKind, cache_key, forget_local_copies
from executions.upstream.tenant import _params, configured, tenant_forms
from tests.helpers import reset_calls


def _finding_kept() -> bool:
    known, ask = configured()
    return django_cache.get(cache_key(ReadKind.TENANT, _params(known, ask))) is not None


def test_a_strict_tenant_is_found_out_once_and_shared(sim, settings):
    settings.KODEXA_URL, settings.KODEXA_API_KEY = sim.url, sim.api_key
    sim.control.configure(filter_dialect="eq", sort_separator=":", page_base=0, query_search="off")
    reset_calls(sim)
    found = tenant_forms()
    assert found == TenantForms(filter_dialect=FilterDialect.EQ, sort_separator=":", page_base=0,
                                query_search=False)
    asked = sim.control.calls()["total"]
    forget_local_copies()  # as another worker would: it reads the finding from the shared cache
    assert tenant_forms() == found and sim.control.calls()["total"] == asked


def test_kodexa_down_while_asking_serves_the_defaults_and_keeps_nothing(sim, settings):
    settings.KODEXA_URL, settings.KODEXA_API_KEY = sim.url, sim.api_key
    sim.control.configure(filter_dialect="eq")
    sim.control.add_fault("GET /api/executions", status=503, times=-1)
    fallback = tenant_forms()
    assert fallback == TenantForms() and fallback.notes == ("not asked yet: Kodexa could not be reached",)
    assert not _finding_kept()
    sim.control.clear_faults()
    known, ask = configured()
    django_cache.delete(cache_key(ReadKind.TENANT, _params(known, ask)) + ":fail")  # the failure memory passed
    assert tenant_forms().filter_dialect is FilterDialect.EQ and _finding_kept()


def test_a_setting_pins_its_form_and_skips_asking_about_it(sim, settings):
    settings.KODEXA_URL, settings.KODEXA_API_KEY = sim.url, sim.api_key
    settings.KODEXA_FILTER_DIALECT, settings.KODEXA_SORT_SEPARATOR, settings.KODEXA_PAGE_BASE = "eq", ":", "0"
    reset_calls(sim)
    found = tenant_forms()
    assert (found.filter_dialect, found.sort_separator, found.page_base) == (FilterDialect.EQ, ":", 0)
    assert sim.control.calls()["total"] == 2  # only free-text search is asked: the baseline and one search
