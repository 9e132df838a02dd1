"""kodexa_sim: a stand-in for the Kodexa platform REST API (v2), for demos, tests and benchmarks.

Standard library only; never imports Django or the ``executions`` app. See docs/kodexa-sim.md.
"""

from .config import SimConfig
from .server import SimServer, start

__all__ = ["SimConfig", "SimServer", "start"]
