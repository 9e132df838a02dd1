from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from executions.kodexa.dates import format_datetime, parse_datetime


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-02-25T10:00:00Z", datetime(2026, 2, 25, 10, 0, 0, tzinfo=UTC)),
        ("2026-02-25T10:00:00.123Z", datetime(2026, 2, 25, 10, 0, 0, 123000, tzinfo=UTC)),
        ("2026-02-25T10:00:00.123456789Z", datetime(2026, 2, 25, 10, 0, 0, 123456, tzinfo=UTC)),
        ("2026-02-25T12:00:00+02:00", datetime(2026, 2, 25, 10, 0, 0, tzinfo=UTC)),
        ("2026-02-25T05:30:00-0430", datetime(2026, 2, 25, 10, 0, 0, tzinfo=UTC)),
        ("2026-02-25T10:00:00", datetime(2026, 2, 25, 10, 0, 0, tzinfo=UTC)),
        ("2026-02-25 10:00:00z", datetime(2026, 2, 25, 10, 0, 0, tzinfo=UTC)),
        (datetime(2026, 1, 1, 1, tzinfo=timezone(timedelta(hours=1))), datetime(2026, 1, 1, tzinfo=UTC)),
    ],
)
def test_parses_rfc3339_and_legacy_forms_to_aware_utc(text: object, expected: datetime) -> None:
    parsed = parse_datetime(text)
    assert parsed == expected
    assert parsed is not None and parsed.tzinfo == UTC


@pytest.mark.parametrize(
    "garbage",
    [
        None,
        "",
        "yesterday",
        "2026-13-01T00:00:00Z",
        "2026-02-30T00:00:00Z",
        "2026-ab-01T00:00:00Z",
        "2026-02-25T24:00:00Z",
        "2026-02-25T10:00:0xZ",
        12345,
        [],
        {},
        "9" * 1000,
        "2026-02-25T10:00:00Zjunk",
        "0001-01-01T00:00:00+01:00",
    ],
)
def test_garbage_is_none_and_never_raises(garbage: object) -> None:
    assert parse_datetime(garbage) is None


def test_format_is_rfc3339_z() -> None:
    assert format_datetime(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01T00:00:00Z"
    assert format_datetime(datetime(2026, 1, 1, 2, 0, 0, 999, tzinfo=timezone(timedelta(hours=2)))) == (
        "2026-01-01T00:00:00Z"
    )
    assert format_datetime(datetime(2026, 1, 1, 3)) == "2026-01-01T03:00:00Z"  # naive is UTC
    assert parse_datetime(format_datetime(datetime(2026, 5, 6, 7, 8, 9, tzinfo=UTC))) == datetime(
        2026, 5, 6, 7, 8, 9, tzinfo=UTC
    )
