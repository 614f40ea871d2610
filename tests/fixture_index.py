"""Where the real samples of each registered format live (tests/fixtures/artifacts/index.yaml).

Registry-driven tests ask this module for a format's samples instead of keeping hand lists, so a
format added to the registry is tested (or fails for lack of a sample) without anyone editing a test.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

from readypolicy.evidence.registry import all_normalizers

FIXTURES = Path(__file__).resolve().parent / "fixtures"
ARTIFACTS = FIXTURES / "artifacts"
INDEX = ARTIFACTS / "index.yaml"


def registered_formats() -> list[str]:
    """Every format id in the registry, in detection order."""
    return [normalizer.format for normalizer in all_normalizers()]


@cache
def _index() -> dict[str, Any]:
    doc = yaml.safe_load(INDEX.read_text(encoding="utf-8")) or {}
    return {key: doc.get(key) or {} for key in ("samples", "refused", "inputs")}


def _paths(patterns: list[str]) -> list[Path]:
    found: list[Path] = []
    for pattern in patterns:
        matches = sorted(FIXTURES.glob(pattern))
        assert matches, f"{INDEX}: {pattern!r} matches nothing"
        found += matches
    return found


def indexed_formats() -> list[str]:
    """Format ids that index.yaml gives samples for."""
    return list(_index()["samples"])


def refused() -> dict[Path, str]:
    """Real outputs that ingest must refuse as they are, with the reason."""
    return {FIXTURES / path: reason for path, reason in _index()["refused"].items()}


def inputs() -> dict[Path, str]:
    """Files in the fixture folders that are inputs of a tool run, not outputs."""
    return {FIXTURES / path: reason for path, reason in _index()["inputs"].items()}


def samples(fmt: str) -> list[Path]:
    """The real samples of one format: index.yaml's list, else every entry of artifacts/<fmt>/."""
    if fmt in _index()["samples"]:
        return _paths(_index()["samples"][fmt])
    folder = ARTIFACTS / fmt
    if not folder.is_dir():
        return []
    excluded = set(refused()) | set(inputs())
    return sorted(entry for entry in folder.iterdir() if entry not in excluded)


def unaccounted() -> list[Path]:
    """Entries of the fixture folders that are no registered format's sample, refused output or input."""
    claimed = {path for fmt in registered_formats() for path in samples(fmt)} | set(refused()) | set(inputs())
    return sorted(entry for folder in ARTIFACTS.iterdir() if folder.is_dir()
                  for entry in folder.iterdir() if entry not in claimed)
