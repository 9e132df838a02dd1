"""Keeping the API key out of text: an upstream that echoes the credential it received (in an error's detail,
incident id, instance path, error items or a header) must not get it into a page, a log line or the audit log,
which can never be edited afterwards."""

from __future__ import annotations

import string

REDACTED = "[redacted]"
# A fragment this long already narrows a brute-force search enough to matter; shorter ones appear by chance
# in ordinary ids and words.
MIN_FRAGMENT = 8
# Length-preserving (str.lower() is not, for a few non-ASCII letters), so positions in the lowered copy are
# positions in the original.
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


class Redactor:
    """Replaces a secret, and every fragment of it of MIN_FRAGMENT characters or more, in any letter case."""

    __slots__ = ("_grams", "_width")

    def __init__(self, secret: str) -> None:
        lowered = secret.translate(_ASCII_LOWER)
        self._width = min(MIN_FRAGMENT, len(lowered))
        self._grams = frozenset(
            lowered[i : i + self._width] for i in range(len(lowered) - self._width + 1)
        ) if self._width else frozenset()

    def __repr__(self) -> str:
        return "Redactor(<secret>)"

    def __call__(self, text: str) -> str:
        width = self._width
        if not width or len(text) < width:
            return text
        lowered = text.translate(_ASCII_LOWER)
        grams = self._grams
        hits = [i for i in range(len(text) - width + 1) if lowered[i : i + width] in grams]
        if not hits:
            return text
        # Overlapping or touching windows merge into one span, so a whole key becomes one marker.
        parts: list[str] = []
        start, end = hits[0], hits[0] + width
        kept = 0
        for i in hits[1:]:
            if i <= end:
                end = i + width
                continue
            parts += [text[kept:start], REDACTED]
            kept, start, end = end, i, i + width
        parts += [text[kept:start], REDACTED, text[end:]]
        return "".join(parts)


def no_redaction(text: str) -> str:
    return text
