"""The in-process cache in front of the shared one: served from memory, filled from the shared cache."""

from __future__ import annotations

from django.core.cache import cache

from executions.upstream import near_cache


def test_values_set_are_shared_and_kept_in_process():
    near_cache.set_many({"kx:test:a": "Invoices"}, 60)
    assert cache.get("kx:test:a") == "Invoices"  # other processes find it
    cache.delete("kx:test:a")
    assert near_cache.get_many(["kx:test:a", "kx:test:b"]) == {"kx:test:a": "Invoices"}  # this one kept it
    near_cache.clear()
    assert near_cache.get("kx:test:a") is None


def test_a_miss_reads_the_shared_cache_and_keeps_what_it_found():
    cache.set("kx:test:c", "Contracts", 60)  # put there by another process
    assert near_cache.get("kx:test:c") == "Contracts"
    cache.delete("kx:test:c")
    assert near_cache.get("kx:test:c") == "Contracts"
