"""What this deployment's Kodexa reads: the settings, and for those left on `auto`, what asking it found.

Asking costs a handful of read-only GETs, once per deployment and day (the finding is shared through the cache
like any other read), and again after Kodexa refuses a list in a way that suggests the finding is wrong.
Until an answer is in, or when Kodexa cannot be asked, the documented defaults are used; a guess is never kept.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from django.conf import settings

from executions.kodexa import AUTO, Assistant, Execution, KodexaError, KodexaFilterRejected, Page, TenantForms, detect
from executions.kodexa.filters import FilterDialect
from executions.upstream.cache import Cached, ReadKind, forget, read
from executions.upstream.client import kodexa_client, kodexa_probe_client

# Which setting pins which form: a value other than `auto` skips asking about it.
SETTINGS = {"filter_dialect": "KODEXA_FILTER_DIALECT", "sort_separator": "KODEXA_SORT_SEPARATOR",
            "page_base": "KODEXA_PAGE_BASE"}


def configured() -> tuple[TenantForms, frozenset[str]]:
    """The forms the settings pin, and what is left to ask (free-text search has no setting: always asked)."""
    values = {name: getattr(settings, setting) for name, setting in SETTINGS.items()}
    ask = {name for name, value in values.items() if str(value) == AUTO} | {"query_search"}
    forms = TenantForms(
        filter_dialect=FilterDialect(values["filter_dialect"]) if "filter_dialect" not in ask else FilterDialect.SPRING,
        sort_separator=values["sort_separator"] if "sort_separator" not in ask else ",",
        page_base=int(values["page_base"]) if "page_base" not in ask else 1,
    )
    return forms, frozenset(ask)


def _params(known: TenantForms, ask: frozenset[str]) -> dict[str, object]:
    return {"known": [known.filter_dialect.value, known.sort_separator, known.page_base], "ask": sorted(ask)}


def tenant_detect(*, known: TenantForms, ask: frozenset[str]) -> TenantForms:
    """Ask Kodexa now (GETs only, outside the circuit breaker: a wrong form must not open it)."""
    return detect(kodexa_probe_client().probe_executions, known=known, ask=ask)


def tenant_forms() -> TenantForms:
    """The forms to write list requests in. Never raises: when Kodexa cannot be asked, the defaults serve."""
    known, ask = configured()
    try:
        found: Cached[TenantForms] = read(ReadKind.TENANT, _params(known, ask),
                                          lambda: tenant_detect(known=known, ask=ask))
    except KodexaError:
        return replace(known, notes=("not asked yet: Kodexa could not be reached",))
    return found.value


def tenant_forms_forget() -> None:
    """Ask again next time: Kodexa refused a list written in the forms found (a changed tenant, or a wrong
    finding)."""
    known, ask = configured()
    forget(ReadKind.TENANT, _params(known, ask))


def tenant_list_executions(**kwargs: Any) -> Page[Execution]:
    """A page of executions written in this tenant's forms (see KodexaClient.list_executions). A refusal that
    names no field suggests the forms found are wrong: they are asked again next time."""
    try:
        return kodexa_client().list_executions(forms=tenant_forms(), **kwargs)
    except KodexaFilterRejected as exc:
        if exc.field is None:
            tenant_forms_forget()
        raise


def tenant_list_assistants(**kwargs: Any) -> Page[Assistant]:
    return kodexa_client().list_assistants(forms=tenant_forms(), **kwargs)
