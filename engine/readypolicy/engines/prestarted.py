"""An engine holding one evaluation started ahead of time, for the gate.

A gate knows its policy and lane before it opens the store: starting OPA then lets OPA's start-up
overlap opening the store and resolving the subject (see docs/performance.md).
"""

from __future__ import annotations

import threading

from readypolicy.engines.interface import EngineInfo, LoadedPolicy, PendingEvaluation, RegoEngine, StartingEngine


class PrestartedEngine(StartingEngine):
    """`engine` with one evaluation started ahead, handed to the first `start` that asks for exactly it.

    A gate knows its policy and first lane before it opens the store; starting OPA then lets OPA's
    start-up overlap opening the store and resolving the subject. A request for anything else gets a
    fresh start (and the evaluation started ahead is ended). `close` ends one nobody took: the owner
    (the CLI's Runtime) closes it with the command, whatever happened in between.
    """

    def __init__(self, engine: RegoEngine, policy: LoadedPolicy, query: str) -> None:
        self.engine = engine
        self._key = (policy, query)
        self._lock = threading.Lock()
        self._ready: PendingEvaluation | None = engine.start(policy, query)

    def info(self) -> EngineInfo:
        return self.engine.info()

    def start(self, policy: LoadedPolicy, query: str) -> PendingEvaluation:
        with self._lock:
            ready, self._ready = self._ready, None
        if ready is not None:
            if (policy, query) == self._key:
                return ready
            ready.close()
        return self.engine.start(policy, query)

    def close(self) -> None:
        """End the evaluation started ahead if nobody took it."""
        with self._lock:
            ready, self._ready = self._ready, None
        if ready is not None:
            ready.close()
