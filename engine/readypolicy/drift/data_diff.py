"""Leaf-level differences between two versions of a data document (thresholds, catalogs).

A changed threshold is the most common policy edit and the one reviewers most need named:
`data.readiness.config.thresholds.candidate.coverage_line_min: 80 -> 85` says more than "data.yaml
changed". Objects are walked key by key; lists and scalars are compared whole.
"""

from __future__ import annotations

import json
from pathlib import PurePosixPath
from typing import Any

from readypolicy.canonical import canonical_bytes
from readypolicy.drift.interface import DataChange, DriftError
from readypolicy.safeio import UnsafeInputError, loads_json, loads_yaml

MAX_SHOWN = 80
ABSENT: Any = object()
"""Marks a side of a comparison where the value does not exist (distinct from JSON null)."""


def data_mount(path: str) -> str:
    """Where a bundle data file lands in OPA's data tree: `readiness/config/data.yaml` → `readiness/config`."""
    return str(PurePosixPath(path).parent)


def load_data(path: str, content: bytes) -> Any:
    """The value of a bundle data file (`data.json` or `data.yaml`), parsed with readypolicy's safe loaders."""
    try:
        return loads_json(content, path) if path.endswith(".json") else loads_yaml(content, path)
    except UnsafeInputError as exc:
        raise DriftError(str(exc)) from exc


def shown(value: Any) -> str:
    """Compact JSON of a value, shortened for a report cell."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 3] + "..."


def diff_data(prefix: str, old: Any, new: Any) -> list[DataChange]:
    """Leaves that differ under `prefix`; pass ABSENT for a side where the document does not exist."""
    if isinstance(old, dict) and isinstance(new, dict):
        changes: list[DataChange] = []
        for key in sorted(old.keys() | new.keys()):
            changes.extend(diff_data(f"{prefix}.{key}", old.get(key, ABSENT), new.get(key, ABSENT)))
        return changes
    if old is ABSENT and new is ABSENT:
        return []
    if old is not ABSENT and new is not ABSENT and canonical_bytes(old) == canonical_bytes(new):
        return []
    return [DataChange(prefix, None if old is ABSENT else shown(old), None if new is ABSENT else shown(new))]
