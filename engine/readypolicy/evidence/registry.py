"""Which normalizer reads which artifact: the ordered list of formats and auto-detection.

Detection runs each format's cheap sniff in order; more specific formats come first (SARIF before
generic JSON shapes). `--kind` narrows the candidates, so a file of the wrong kind is refused by
name instead of being normalized into nonsense.
"""

from __future__ import annotations

import pkgutil
from collections.abc import Sequence
from functools import cache
from importlib import import_module

from readypolicy.evidence import formats
from readypolicy.evidence.interface import Artifact, NormalizeError, Normalizer


@cache
def all_normalizers() -> tuple[Normalizer, ...]:
    """One instance of every normalizer (each module in `formats` exposing NORMALIZER), in detection order.

    Lower `priority` is tried first; specific formats (SARIF, tool-branded JSON) must sort before
    generic shapes (a plain list of latency samples) that would also match them.
    """
    found: list[Normalizer] = []
    for info in pkgutil.iter_modules(formats.__path__):
        module = import_module(f"{formats.__name__}.{info.name}")
        normalizer = getattr(module, "NORMALIZER", None)
        if isinstance(normalizer, Normalizer):
            found.append(normalizer)
    return tuple(sorted(found, key=lambda n: (n.priority, n.format)))


def kinds() -> list[str]:
    """The evidence kinds some normalizer produces."""
    return sorted({normalizer.kind for normalizer in all_normalizers()})


def detect(artifact: Artifact, kind: str | None = None, fmt: str | None = None) -> Normalizer:
    """The normalizer for an artifact, optionally restricted to a kind or an exact format."""
    candidates: Sequence[Normalizer] = all_normalizers()
    if fmt is not None:
        candidates = [n for n in candidates if n.format == fmt]
        if not candidates:
            raise NormalizeError(f"{artifact.path}: unknown format {fmt!r}")
        return candidates[0]
    if kind is not None:
        candidates = [n for n in candidates if n.kind == kind]
        if not candidates:
            raise NormalizeError(f"{artifact.path}: unknown evidence kind {kind!r} (known: {', '.join(kinds())})")
    for normalizer in candidates:
        if normalizer.detect(artifact):
            return normalizer
    if kind is not None:
        formats = ", ".join(n.format for n in candidates)
        raise NormalizeError(f"{artifact.path}: not a {kind} artifact (expected one of: {formats})")
    raise NormalizeError(f"{artifact.path}: unrecognized artifact format; pass --kind or --format")
