"""What a lane asks for: per check the evidence kinds, scopes, readable formats and thresholds.

Read from the pack itself (its check catalog and lane table in `<root>/config/data.*`), from the
normalizer registry and from OPA's parse of the pack, so the answer cannot drift from what `eval`
applies: a check is listed because the lane's table names it, a format because a normalizer reads
it, a threshold because the check's rules (or the helpers they call) name it. A catalog entry may say
which scope each kind must be ingested in (`scopes: {tests: [unit]}`); without it any scope counts.
"""

from __future__ import annotations

from collections.abc import Callable, Set
from dataclasses import dataclass, replace
from typing import Any

from readypolicy.decision.catalog import pack_config as catalog_config
from readypolicy.evidence.registry import all_normalizers
from readypolicy.policy.interface import PolicyError, PolicySet

ThresholdReader = Callable[[str], Set[str]]
"""Check id → the strings its rules reach (`RegoIndex.strings_reached`): which thresholds it reads."""


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
    thresholds: tuple[str, ...] = ()
    """Names of the lane's thresholds the check's rules read (empty when not asked for, or none)."""


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
                 "needs": [{"kind": n.kind, "scopes": list(n.scopes), "formats": list(n.formats)} for n in c.needs],
                 "thresholds": list(c.thresholds)}
                for c in self.checks
            ],
            "thresholds": {t.name: {"value": t.value, "lane": t.lane} for t in self.thresholds},
        }


def pack_config(policy: PolicySet) -> dict[str, Any]:
    """The pack's `data.<root>.config` document, which must hold a check catalog and a lane table."""
    doc = catalog_config(policy)
    if doc is None:
        raise PolicyError(f"pack {policy.pack!r} has no check catalog ({policy.root}/config/data.yaml)")
    if not isinstance(doc.get("checks"), dict) or not isinstance(doc.get("lanes"), dict):
        raise PolicyError(f"{policy.origin}: {policy.root}/config/data.yaml has no 'checks' catalog and 'lanes' table")
    return doc


def requirements(policy: PolicySet, lane: str, reads: ThresholdReader | None = None) -> Requirements:
    """The checks, evidence and effective thresholds of `lane` (lower lanes included, as eval applies them).

    With `reads`, each check also names the thresholds of the lane its rules read.
    """
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
    if reads is not None:
        checks = [replace(c, thresholds=tuple(sorted(set(thresholds) & set(reads(c.id))))) for c in checks]
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
