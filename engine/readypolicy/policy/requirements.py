"""What a lane asks for: per check the evidence kinds, scopes and readable formats, plus the thresholds.

Read from the pack itself (its check catalog and lane table in `<root>/config/data.*`) and from the
normalizer registry, so the answer cannot drift from what `eval` applies: a check is listed because
the lane's table names it, a format because a normalizer reads it. A catalog entry may say which
scope each kind must be ingested in (`scopes: {tests: [unit]}`); without it any scope counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from readypolicy.evidence.registry import all_normalizers
from readypolicy.policy.interface import PolicyError, PolicySet
from readypolicy.safeio import UnsafeInputError, loads_json, loads_yaml

CONFIG_NAMES = ("data.yaml", "data.yml", "data.json")


@dataclass(frozen=True)
class Need:
    """One evidence kind a check reads."""

    kind: str
    scopes: tuple[str, ...]
    """Scopes the check looks in; empty means any scope."""
    formats: tuple[str, ...]
    """Artifact formats some normalizer turns into this kind."""


@dataclass(frozen=True)
class CheckNeeds:
    """One check of the lane (or of a lower lane it inherits)."""

    id: str
    title: str
    severity: str
    lane: str
    """The lane that introduces the check."""
    needs: tuple[Need, ...]


@dataclass(frozen=True)
class Threshold:
    """An effective threshold: its value and the lane whose table set it last."""

    name: str
    value: Any
    lane: str


@dataclass(frozen=True)
class Requirements:
    """Everything `readypolicy requirements --lane L` prints."""

    pack: str
    version: str
    lane: str
    checks: tuple[CheckNeeds, ...]
    thresholds: tuple[Threshold, ...]

    def to_json(self) -> dict[str, Any]:
        """A plain-JSON view (stable key order is left to the serializer)."""
        return {
            "pack": self.pack, "version": self.version, "lane": self.lane,
            "checks": [
                {"id": c.id, "title": c.title, "severity": c.severity, "lane": c.lane,
                 "needs": [{"kind": n.kind, "scopes": list(n.scopes), "formats": list(n.formats)} for n in c.needs]}
                for c in self.checks
            ],
            "thresholds": {t.name: {"value": t.value, "lane": t.lane} for t in self.thresholds},
        }


def pack_config(policy: PolicySet) -> dict[str, Any]:
    """The pack's `data.<root>.config` document (check catalog and lane table)."""
    for name in CONFIG_NAMES:
        path = f"{policy.root}/config/{name}"
        raw = policy.files.get(path)
        if raw is None:
            continue
        try:
            doc = loads_json(raw, path) if name.endswith(".json") else loads_yaml(raw, path)
        except UnsafeInputError as exc:
            raise PolicyError(str(exc)) from exc
        if not isinstance(doc, dict) or not isinstance(doc.get("checks"), dict) or not isinstance(doc.get("lanes"), dict):
            raise PolicyError(f"{policy.origin}: {path} has no 'checks' catalog and 'lanes' table")
        return doc
    raise PolicyError(f"pack {policy.pack!r} has no check catalog ({policy.root}/config/data.yaml)")


def requirements(policy: PolicySet, lane: str) -> Requirements:
    """The checks, evidence and effective thresholds of `lane` (lower lanes included, as eval applies them)."""
    if lane not in policy.lanes:
        raise PolicyError(f"pack {policy.pack!r} has no lane {lane!r} (lanes: {', '.join(policy.lanes)})")
    config = pack_config(policy)
    formats: dict[str, list[str]] = {}
    for normalizer in all_normalizers():
        formats.setdefault(normalizer.kind, []).append(normalizer.format)
    order = list(policy.lanes)
    checks: list[CheckNeeds] = []
    thresholds: dict[str, Threshold] = {}
    for current in order[: order.index(lane) + 1]:
        table = config["lanes"].get(current) or {}
        for check_id in table.get("checks") or []:
            checks.append(_check(config, str(check_id), current, formats))
        for name, value in (table.get("thresholds") or {}).items():
            thresholds[str(name)] = Threshold(str(name), value, current)
    return Requirements(
        pack=policy.pack, version=policy.version, lane=lane, checks=tuple(checks),
        thresholds=tuple(thresholds[name] for name in sorted(thresholds)),
    )


def _check(config: dict[str, Any], check_id: str, lane: str, formats: dict[str, list[str]]) -> CheckNeeds:
    entry = config["checks"].get(check_id)
    if not isinstance(entry, dict):
        raise PolicyError(f"lane {lane} lists check {check_id!r}, which the catalog does not describe")
    scopes = entry.get("scopes") or {}
    needs = tuple(
        Need(kind=str(kind), scopes=tuple(map(str, scopes.get(kind) or ())), formats=tuple(formats.get(str(kind), ())))
        for kind in entry.get("needs") or ()
    )
    return CheckNeeds(
        id=check_id, title=str(entry.get("title") or check_id), severity=str(entry.get("severity") or ""), lane=lane,
        needs=needs,
    )
