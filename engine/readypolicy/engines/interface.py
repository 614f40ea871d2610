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


class RegoEngine(ABC):
    """Evaluates Rego queries."""

    @abstractmethod
    def info(self) -> EngineInfo:
        """Name and version of the engine (may run the engine once)."""

    @abstractmethod
    def evaluate(self, policy: LoadedPolicy, query: str, inputs: Sequence[Any]) -> list[Any]:
        """Evaluate `query` once per input; result i belongs to input i.

        An undefined result, a count mismatch or any engine error raises EngineError.
        """
