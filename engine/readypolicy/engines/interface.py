"""The Rego engine extension point.

An engine evaluates one query over one policy set for one or many inputs. Batches matter: a fleet
of thousands of modules must not pay for thousands of OPA start-ups. Every engine failure is an
`EngineError`, which callers treat as "no decision" — never as a pass.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from readypolicy.errors import ReadyPolicyError


class EngineError(ReadyPolicyError):
    """The engine is missing, crashed, timed out, failed to compile, or returned something unusable."""


@dataclass(frozen=True)
class EngineInfo:
    """What a decision records about the engine that made it."""

    name: str
    """Engine implementation (`opa`, `opa-server`)."""
    version: str
    """Engine version, e.g. `1.22.2`."""


@dataclass(frozen=True)
class LoadedPolicy:
    """A policy set materialized where the engine can load it."""

    path: Path
    """A bundle directory or a bundle tarball."""
    digest: str
    """Digest of the policy files, to detect a server running something else."""
    revision: str
    """Bundle revision."""


class PendingEvaluation(ABC):
    """An evaluation started before its inputs exist: `send` them once, then `result`; `close` always.

    A subprocess engine starts its process in `RegoEngine.start`, so the engine's start-up overlaps the
    caller reading evidence and building inputs, and whatever the caller does between `send` and
    `result` overlaps the engine's compile. Used with `with`: leaving the block any way (an error
    included) ends the engine's work, so nothing outlives a failed run.
    """

    @abstractmethod
    def send(self, inputs: Sequence[Any]) -> None:
        """Hand over the inputs (once)."""

    def send_texts(self, inputs: Sequence[Any], texts: Sequence[bytes | None]) -> None:
        """`send`, given text i as input i's JSON where the caller has it already (None where not).

        A text must read as the same JSON value as its input, each number written as `json` writes
        it (`canonical.plain_canonical_bytes`). An engine that takes JSON text uses it instead of
        encoding the input again; the others just `send`.
        """
        self.send(inputs)

    @abstractmethod
    def result(self) -> list[Any]:
        """Result i for input i; an undefined result, a count mismatch or any engine error raises EngineError."""

    def close(self) -> None:
        """Stop the engine's work if it is still running (idempotent)."""
        return None

    def __enter__(self) -> PendingEvaluation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Deferred(PendingEvaluation):
    """For engines with nothing to start ahead: `result` simply evaluates what `send` was given."""

    def __init__(self, engine: RegoEngine, policy: LoadedPolicy, query: str) -> None:
        self.engine, self.policy, self.query = engine, policy, query
        self.inputs: Sequence[Any] | None = None

    def send(self, inputs: Sequence[Any]) -> None:
        self.inputs = inputs

    def result(self) -> list[Any]:
        if self.inputs is None:
            raise EngineError("internal: no inputs were sent to the engine")
        return self.engine.evaluate(self.policy, self.query, self.inputs)


class RegoEngine(ABC):
    """Evaluates Rego queries."""

    def start(self, policy: LoadedPolicy, query: str) -> PendingEvaluation:
        """Begin evaluating `query` over `policy` before the inputs are known (see PendingEvaluation)."""
        return _Deferred(self, policy, query)

    @abstractmethod
    def info(self) -> EngineInfo:
        """Name and version of the engine (may run the engine once)."""

    @abstractmethod
    def evaluate(self, policy: LoadedPolicy, query: str, inputs: Sequence[Any]) -> list[Any]:
        """Evaluate `query` once per input; result i belongs to input i.

        An undefined result, a count mismatch or any engine error raises EngineError.
        """


class StartingEngine(RegoEngine):
    """An engine whose evaluation is a run started ahead (`start` does the work): evaluate = start, send, result."""

    @abstractmethod
    def start(self, policy: LoadedPolicy, query: str) -> PendingEvaluation:
        """Begin evaluating `query` over `policy` before the inputs are known (see PendingEvaluation)."""

    def evaluate(self, policy: LoadedPolicy, query: str, inputs: Sequence[Any]) -> list[Any]:
        if not inputs:
            return []
        with self.start(policy, query) as run:
            run.send(inputs)
            return run.result()
