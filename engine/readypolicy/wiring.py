"""What a library feature needs from whoever wired it: settings, and the store, OPA, engine and policy.

The CLI's `Runtime` (runtime.py) builds these from configuration and satisfies this protocol.
Library code (the gate run, drift) is typed against this protocol instead of importing
`Runtime`, so it never depends on how a command wires itself: the layers contract in pyproject.toml
forbids that import, and docs/architecture.md ("Layers") says why.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from readypolicy.config import Config
from readypolicy.engines.interface import RegoEngine
from readypolicy.engines.opa_binary import OpaBinary
from readypolicy.policy.interface import PolicySet
from readypolicy.store.interface import Store


class Wiring(Protocol):
    """Collaborators opened on first use, so a feature pays only for what it touches."""

    @property
    def config(self) -> Config:
        """Resolved settings."""
        ...

    @property
    def store(self) -> Store:
        """The configured store, which must already exist."""
        ...

    @property
    def cache_dir(self) -> Path:
        """Where staged policies and OPA facts are cached."""
        ...

    @property
    def lanes(self) -> tuple[str, ...]:
        """Lanes in promotion order."""
        ...

    def opa(self) -> OpaBinary:
        """The OPA binary."""
        ...

    def engine(self, server: str | None = None) -> RegoEngine:
        """The Rego engine: an OPA server at `server` if given, else the OPA binary."""
        ...

    def policy(self, pack: str | None = None, bundle: Path | None = None) -> PolicySet:
        """The policy set of a built bundle if given, else of the configured (or named) pack."""
        ...
