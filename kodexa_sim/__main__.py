"""``python -m kodexa_sim``: run the stand-in until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import datetime
from types import FrameType

from .config import (
    ERROR_STYLES,
    FILTER_DIALECTS,
    PAGE_BASES,
    QUERY_SEARCH_MODES,
    SORT_SEPARATORS,
    TERMINAL_CANCEL_MODES,
    SimConfig,
)
from .server import SimServer
from .timeutil import parse_datetime

KEY_VARIABLE = "KODEXA_SIM_API_KEY"
DEFAULT_API_KEY = "sim-key"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m kodexa_sim", description="Stand-in Kodexa platform API")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port (default 8765)")
    parser.add_argument(
        "--api-key",
        default=None,
        help=f"the accepted API key (default: ${KEY_VARIABLE}, else {DEFAULT_API_KEY}); prefer the variable, "
        "as every local user can read a command line",
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--executions", type=int, default=300, help="seeded executions (default 300)")
    parser.add_argument("--latency-ms", type=int, default=0, help="delay before every /api/ answer")
    parser.add_argument("--cancel-delay-ms", type=int, default=3000, help="CANCELLING -> CANCELLED after this")
    parser.add_argument(
        "--terminal-cancel",
        choices=TERMINAL_CANCEL_MODES,
        default="conflict",
        help="cancel of a finished execution: 409 (conflict) or 200 unchanged (idempotent)",
    )
    parser.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second; 0 freezes")
    parser.add_argument(
        "--arrival-seconds",
        type=float,
        default=30.0,
        help="mean simulated seconds between new executions; 0 disables arrivals",
    )
    parser.add_argument(
        "--epoch",
        type=parse_datetime,
        default=None,
        help="simulated start time (ISO 8601); default: the real current time",
    )
    parser.add_argument("--max-executions", type=int, default=20000, help="arrivals stop at this many")
    parser.add_argument(
        "--restricted-key",
        action="append",
        default=[],
        metavar="KEY",
        help="a known key without access: /api/ answers it 403 (repeatable)",
    )
    strict = parser.add_argument_group(
        "strict modes", "accept only one of the forms Kodexa's public sources disagree on (defaults forgive all)"
    )
    strict.add_argument(
        "--filter-dialect",
        choices=FILTER_DIALECTS,
        default="any",
        help="filter operators read: both (any), SpringFilter only (spring) or eq only (eq); default any",
    )
    strict.add_argument(
        "--sort-separator",
        choices=SORT_SEPARATORS,
        default="any",
        metavar="{any|,|:}",  # argparse would print {any,,,:}
        help="sort form read: both (any), field,dir only (,) or field:dir only (:); default any",
    )
    strict.add_argument(
        "--page-base",
        type=int,
        choices=PAGE_BASES,
        default=1,
        help="the first page is page=1 (default; number is 0-based) or page=0 (number equals page)",
    )
    strict.add_argument(
        "--query-search",
        choices=QUERY_SEARCH_MODES,
        default="on",
        help="off: query is ignored on the executions list, every execution matches; default on",
    )
    strict.add_argument(
        "--error-style",
        choices=ERROR_STYLES,
        default="problem",
        help="/api/ error bodies: RFC 9457 problem+json (default) or the legacy {message, errors, incidentId}",
    )
    strict.add_argument(
        "--unfilterable",
        action="append",
        default=[],
        metavar="FIELD",
        help="an execution field that is not a column: filtering or sorting on it is a 500 (repeatable)",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    epoch: datetime | None = args.epoch
    config = SimConfig(
        api_key=args.api_key if args.api_key is not None else os.environ.get(KEY_VARIABLE) or DEFAULT_API_KEY,
        seed=args.seed,
        executions=args.executions,
        latency_ms=args.latency_ms,
        cancel_delay_ms=args.cancel_delay_ms,
        terminal_cancel=args.terminal_cancel,
        speed=args.speed,
        arrival_seconds=args.arrival_seconds,
        epoch=epoch,
        max_executions=args.max_executions,
        restricted_keys=tuple(args.restricted_key),
        filter_dialect=args.filter_dialect,
        sort_separator=args.sort_separator,
        page_base=args.page_base,
        query_search=args.query_search,
        error_style=args.error_style,
        unfilterable=tuple(args.unfilterable),
    )
    try:
        server = SimServer(config, host=args.host, port=args.port, verbose=args.verbose)
    except (OSError, ValueError) as error:
        print(f"kodexa_sim: {error}", file=sys.stderr, flush=True)
        return 2
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    server.start()
    print(f"listening on {server.url}", flush=True)
    while not stop.wait(0.5):
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
