"""The Redis cache backend builds one redis client per connection pool, not one per cache operation."""

from __future__ import annotations

import redis

from kodexa_admin.redis_cache import RedisCache
from tests.kodexa_admin.test_settings import _run


def test_one_client_serves_every_operation():
    backend = RedisCache("redis://127.0.0.1:6379/11", {})  # no connection is opened until a command runs
    client = backend._cache.get_client(write=True)
    assert isinstance(client, redis.Redis)
    assert backend._cache.get_client(write=False) is client
    assert backend._cache.get_client("some-key", write=True) is client
    assert client.connection_pool is backend._cache._get_connection_pool(write=True)


def test_a_redis_cache_url_selects_it():
    result = _run("shell", "-c", "from django.conf import settings; print(settings.CACHES['default']['BACKEND'])",
                  DJANGO_SETTINGS_MODULE="kodexa_admin.settings", DJANGO_DEBUG="true",
                  CACHE_URL="redis://127.0.0.1:6379/11")
    assert result.stdout.strip().splitlines()[-1] == "kodexa_admin.redis_cache.RedisCache", result.stderr
