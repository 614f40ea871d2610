"""Policy sets: the exact files that decide, wherever they come from.

A policy set is a mapping of bundle path → bytes. A source tree (a pack under `policies/`) and an
OPA bundle tarball built from it produce the same mapping, so they have the same digest; that
identity is what lets drift detection and replay compare "what ran" with "what was approved".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from readypolicy.canonical import digest, raw_digest
from readypolicy.errors import ReadyPolicyError


class PolicyError(ReadyPolicyError):
    """A pack or bundle is missing, malformed, unsafe or inconsistent."""


@dataclass(frozen=True)
class PolicySet:
    """The files of one pack, as an OPA bundle would hold them."""

    pack: str
    """Pack name (`readiness`, `priority`, ...)."""
    version: str
    """Pack version from pack.yaml."""
    root: str
    """Bundle root: every package and data path lives under `data.<root>`."""
    lanes: Mapping[str, str]
    """Lane → package under the root that exposes `decision`."""
    files: Mapping[str, bytes] = field(repr=False)
    """Bundle path → content of every policy and data file (tests and manifests excluded)."""
    source: str
    """`tree` (a pack directory) or `bundle` (a built tarball)."""
    origin: Path
    """The pack directory or the bundle file."""
    bundle_sha256: str | None = None
    """`sha256:` of the tarball when the set was read from one."""
    description: str = ""
    """What the pack is for."""
    levels: Mapping[str, str] = field(default_factory=dict)
    """Lane → the pack's own name for that level (e.g. production → P2), for display."""

    @cached_property
    def file_digests(self) -> dict[str, str]:
        """Bundle path → `sha256:` of its content."""
        return {path: raw_digest(content) for path, content in sorted(self.files.items())}

    @cached_property
    def digest(self) -> str:
        """`sha256:` over the canonical JSON of `file_digests`: the identity of the policy."""
        return digest(self.file_digests)

    @property
    def revision(self) -> str:
        """Bundle revision: pack version plus a short digest, so two builds of an edit never share one."""
        return f"{self.version}+{self.digest.removeprefix('sha256:')[:12]}"

    def query(self, lane: str) -> str:
        """The Rego query of a lane's decision."""
        if lane not in self.lanes:
            raise PolicyError(f"pack {self.pack!r} has no lane {lane!r} (lanes: {', '.join(self.lanes)})")
        return f"data.{self.root}.{self.lanes[lane]}.decision"
