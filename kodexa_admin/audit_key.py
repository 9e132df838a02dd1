"""The audit chain's fallback key, shared by the settings and the deployment check that warns about it."""

from __future__ import annotations

import hashlib
import hmac


def derived_chain_key(secret_key: str) -> str:
    """Used when AUDIT_CHAIN_KEY is not set: fine for development, weak in production (see README)."""
    return hmac.new(secret_key.encode(), b"kodexa-admin audit chain", hashlib.sha256).hexdigest()
