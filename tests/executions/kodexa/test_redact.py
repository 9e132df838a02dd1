"""The redactor that keeps the API key out of every text the panel stores, logs or shows."""

from __future__ import annotations

import pytest

from executions.kodexa.redact import MIN_FRAGMENT, REDACTED, Redactor

KEY = "kx-Live-7f3a9c2e41b84d6f"
redact = Redactor(KEY)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"key {KEY} rejected", f"key {REDACTED} rejected"),
        (f"KEY {KEY.upper()}!", f"KEY {REDACTED}!"),
        (f"key {KEY.lower()}", f"key {REDACTED}"),
        (f"/api/executions/{KEY}/cancel", f"/api/executions/{REDACTED}/cancel"),
        (f"{KEY}{KEY}", REDACTED),  # touching copies: one marker
        (f"a {KEY[:MIN_FRAGMENT]} b {KEY[-MIN_FRAGMENT:]} c", f"a {REDACTED} b {REDACTED} c"),
        (f"head {KEY[3:15]} tail", f"head {REDACTED} tail"),
        (f"short {KEY[:MIN_FRAGMENT - 1]} stays", f"short {KEY[:MIN_FRAGMENT - 1]} stays"),
        ("nothing of it", "nothing of it"),
        ("", ""),
    ],
)
def test_the_key_and_every_long_fragment_go_in_any_case(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_non_ascii_text_around_the_key_keeps_its_positions() -> None:
    # str.lower() turns "İ" into two characters; the redactor must not shift what it cuts.
    assert redact(f"İİ {KEY} ß") == f"İİ {REDACTED} ß"


def test_a_key_shorter_than_a_fragment_is_redacted_whole() -> None:
    short = Redactor("abc12")
    assert short("x abc12 y ABC12 z abc1") == f"x {REDACTED} y {REDACTED} z abc1"


def test_the_redactor_never_shows_its_secret() -> None:
    assert KEY not in repr(redact)
