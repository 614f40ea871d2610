"""The normalizer extension point.

A normalizer turns one raw CI artifact (a JUnit XML file, a bandit report, a lane manifest...) into
an evidence document of one *kind*, whose `data` validates against that kind's versioned JSON
Schema. Policies only ever see normalized documents, so a new scanner is supported by adding one
module here, not by touching Rego.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar
from xml.etree.ElementTree import Element

from readypolicy.canonical import raw_digest
from readypolicy.errors import ReadyPolicyError
from readypolicy.safeio import DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH, loads_json, loads_xml, loads_yaml


class NormalizeError(ReadyPolicyError):
    """An artifact cannot be normalized: wrong kind, malformed, unsafe or schema-invalid."""


@dataclass(frozen=True)
class Artifact:
    """One raw artifact as read from disk, with lazily parsed views shared by all detectors."""

    path: Path
    """Where the artifact was read from (used in error messages and recorded as source)."""
    raw: bytes
    """The exact bytes the tool wrote; the evidence is content-addressed by their sha256."""
    max_depth: int = DEFAULT_MAX_DEPTH
    """Nesting limit for JSON and XML parsing."""
    max_bytes: int = DEFAULT_MAX_BYTES
    """Size limit for this artifact and for any file it refers to (a schema pair's schemas)."""

    @cached_property
    def sha256(self) -> str:
        """`sha256:<hex>` of the raw bytes."""
        return raw_digest(self.raw)

    @cached_property
    def text(self) -> str | None:
        """The artifact decoded as UTF-8, or None for binary content."""
        try:
            return self.raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            return None

    @property
    def text_or_empty(self) -> str:
        """The decoded text, or an empty string for binary content (for substring sniffing)."""
        return self.text or ""

    @cached_property
    def head(self) -> str:
        """The first 4 KiB as text, for cheap format sniffing."""
        return self.raw[:4096].decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")

    def looks_like_json(self) -> bool:
        """True when the artifact starts like a JSON object or array."""
        return self.head[:1] in ("{", "[")

    def looks_like_xml(self) -> bool:
        """True when the artifact starts like an XML document."""
        return self.head[:1] == "<"

    @cached_property
    def _json(self) -> Any:
        return loads_json(self.raw, str(self.path), self.max_depth)

    def json(self) -> Any:
        """The parsed JSON value (depth-limited); raises UnsafeInputError on malformed input."""
        return self._json

    @cached_property
    def _yaml(self) -> Any:
        return loads_yaml(self.raw, str(self.path), self.max_depth)

    def yaml(self) -> Any:
        """The parsed YAML value (safe loader, no aliases); raises UnsafeInputError when malformed."""
        return self._yaml

    @cached_property
    def _xml(self) -> Element:
        return loads_xml(self.raw, str(self.path), self.max_depth)

    def xml(self) -> Element:
        """The parsed XML root via defusedxml; raises UnsafeInputError on malformed or unsafe input."""
        return self._xml


@dataclass(frozen=True)
class Producer:
    """The tool that wrote the artifact, as far as the artifact says."""

    tool: str
    """Tool name, e.g. `bandit`, `coverage.py`, `pytest`."""
    version: str | None = None
    """Tool version if the artifact records it."""


@dataclass(frozen=True)
class Normalized:
    """What a normalizer returns: the kind-specific data plus provenance."""

    kind: str
    """Evidence kind (`tests`, `coverage`, `sast`, ...): what policies ask for."""
    format: str
    """Artifact format id (`junit-xml`, `coverage-py-json`, ...)."""
    producer: Producer
    """The tool that produced the artifact."""
    data: dict[str, Any]
    """Kind-specific normalized content; validated against the kind's JSON Schema."""
    collected_at: str | None = None
    """When the tool produced the artifact (UTC RFC 3339), if the artifact says."""
    warnings: tuple[str, ...] = field(default_factory=tuple)
    """Things a person should know (e.g. skipped dependencies) that do not make the input invalid."""
    module: str | None = None
    """The module the artifact says it describes (a manifest's `module`, a protocol perf report's), if it
    says; ingest refuses the artifact for any other module, so one module's report cannot stand for another's."""


class Normalizer(ABC):
    """Turns one artifact format into one evidence kind."""

    kind: ClassVar[str]
    """The evidence kind this normalizer produces."""
    format: ClassVar[str]
    """The artifact format it reads (unique across normalizers)."""
    description: ClassVar[str]
    """One line for `readypolicy formats` and the docs."""
    priority: ClassVar[int] = 50
    """Detection order: lower is tried first (specific formats before generic ones)."""

    @abstractmethod
    def detect(self, artifact: Artifact) -> bool:
        """Whether the artifact is in this format. Must be cheap and must not raise."""

    @abstractmethod
    def normalize(self, artifact: Artifact) -> Normalized:
        """Normalize the artifact; raise NormalizeError (or UnsafeInputError) if it cannot be."""

    def fail(self, artifact: Artifact, problem: str) -> NormalizeError:
        """Build a one-line error naming the file, the format and the problem."""
        return NormalizeError(f"{artifact.path}: not valid {self.format}: {problem}")
