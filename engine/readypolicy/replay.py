"""Replay a recorded decision: decide it again from what it names, and compare.

A signature proves who signed a decision; replay proves the decision follows from its inputs. The
evidence is looked up by the digests the record lists (never "the latest"), each document's digest
is recomputed, the policy must be the one with the recorded digest, and the recorded evaluation time
and waivers are fed back in. Anything that does not come out identical is named, so "replay
failed" always says which check, field or document disagreed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from readypolicy.engines.interface import RegoEngine
from readypolicy.errors import ReadyPolicyError
from readypolicy.evaluate import Subject, decide
from readypolicy.policy.bundle_build import bundle_file_name
from readypolicy.policy.bundle_read import read_bundle
from readypolicy.policy.interface import PolicyError, PolicySet
from readypolicy.records import DecisionRecord
from readypolicy.signing.attest import differences
from readypolicy.store.interface import EvidenceRecord, Store, evidence_problem

PROVENANCE_PATHS = frozenset({"decision_id", "engine.version", "policy.source", "policy.bundle_sha256"})
"""Record paths a faithful replay may change: the id (a digest of everything, engine version
included), the engine version (reported as a warning instead), and where the policy files were
read from (a source tree or a bundle with the same policy digest hold the same files)."""

_SHOWN_CHARS = 120


class ReplayError(ReadyPolicyError):
    """A decision cannot be replayed (evidence missing or altered, policy unavailable) or came out different."""


@dataclass(frozen=True)
class ReplayResult:
    """The outcome of deciding a recorded decision again."""

    recorded: Mapping[str, Any]
    """The decision record as recorded (and, when signed, verified)."""
    replayed: DecisionRecord
    """The record the replay produced."""
    differences: tuple[str, ...]
    """Record paths that differ, most telling first (input digest, checks, allow, then the rest)."""
    warnings: tuple[str, ...]
    """Differences that do not fail a replay, such as another OPA version."""

    def describe_first(self) -> str:
        """One line naming the first difference with both values."""
        path = self.differences[0]
        return (
            f"replay of {self.recorded.get('decision_id')} differs at {path}: "
            f"recorded {_shown(_at(self.recorded, path))}, replayed {_shown(_at(self.replayed, path))}"
        )


def recorded_evidence(record: Mapping[str, Any], store: Store) -> tuple[EvidenceRecord, ...]:
    """The exact evidence documents a decision names, each checked against its recorded digest and subject.

    A digest proves which document is meant, not that it is this decision's: live evaluation only
    ever reads the subject's own slots, one document each. A record naming another revision's (or
    module's) passing report, or two documents for one slot (the passing one first), would replay
    "identical" while deciding the subject on evidence that was not its own or not its current one,
    so each is refused naming the document. (An entry's kind or scope differing from the stored document's
    already makes the replayed record differ.)
    """
    subject = record.get("subject") or {}
    module, revision = subject.get("module"), subject.get("revision")
    found: list[EvidenceRecord] = []
    slots: dict[tuple[str, str], str] = {}
    for entry in record.get("evidence") or []:
        wanted = str(entry.get("digest"))
        label = f"evidence {entry.get('kind')}/{entry.get('scope')} {wanted}"
        stored = store.get_evidence(wanted)
        if stored is None:
            raise ReplayError(f"{label} named by the decision is not in {store.url} (pruned or never copied)")
        problem = evidence_problem(stored)  # the same check live evaluation makes
        if problem is not None:
            raise ReplayError(f"{label} was altered in {store.url}: {problem}")
        if (stored.module, stored.revision) != (module, revision):
            raise ReplayError(
                f"{label} is evidence of {stored.module}@{stored.revision}, not of the decision's subject "
                f"{module}@{revision}: a decision is replayed only on its subject's own evidence"
            )
        other = slots.setdefault((stored.kind, stored.scope), stored.digest)
        if len(slots) == len(found):  # this slot was named before: live evaluation reads one document per slot
            raise ReplayError(
                f"{label}: the decision names the slot {stored.kind}/{stored.scope} twice ({other} and "
                f"{stored.digest}); a decision reads one document per slot"
            )
        found.append(stored)
    return tuple(found)


def select_policy(record: Mapping[str, Any], candidates: Sequence[tuple[str, Callable[[], PolicySet]]]) -> PolicySet:
    """The first candidate policy set whose digest is the recorded one.

    Candidates are loaded lazily and in order; one that cannot be loaded is skipped, so a missing
    bundles directory does not hide a source tree that still matches.
    """
    wanted = (record.get("policy") or {}).get("digest")
    tried: list[str] = []
    for label, load in candidates:
        try:
            policy = load()
        except PolicyError as exc:
            tried.append(str(exc))  # names the file or pack itself
            continue
        if policy.digest == wanted:
            return policy
        tried.append(f"{label} has {policy.digest}")
    detail = "; ".join(tried) if tried else "no candidates"
    raise ReplayError(f"policy digest {wanted} not available ({detail})")


def policy_candidates(
    record: Mapping[str, Any], explicit: Path | None, bundles_dir: Path, load_source: Callable[[str], PolicySet]
) -> list[tuple[str, Callable[[], PolicySet]]]:
    """Where the recorded policy may be found: the given bundle alone, else the built bundle, else the tree.

    A bundle built by `policy build` is named by its pack and revision in `bundles_dir`, so the
    record's pack and revision say where it would be; the current source tree of the pack
    (`load_source(pack)`) is tried last and only counts if its digest still matches.
    """
    if explicit is not None:
        return [(str(explicit), lambda: read_bundle(explicit))]
    pack = str(record.get("pack"))
    revision = str((record.get("policy") or {}).get("revision", ""))
    built = bundles_dir / bundle_file_name(pack, revision)
    return [
        (str(built), lambda: read_bundle(built)),
        (f"source tree of pack {pack!r}", lambda: load_source(pack)),
    ]


def _compare(recorded: Mapping[str, Any], replayed: DecisionRecord) -> tuple[str, ...]:
    """Differing paths, ordered so the first says most: input, then checks, then allow, then the rest."""
    found = [p for p in differences(recorded, replayed) if p not in PROVENANCE_PATHS]

    def rank(path: str) -> int:
        if path == "input_digest":
            return 0
        if path.startswith("checks"):
            return 1
        return 2 if path == "allow" else 3

    return tuple(sorted(found, key=rank))


def _engine_warnings(recorded: Mapping[str, Any], replayed: DecisionRecord) -> tuple[str, ...]:
    was, now = recorded.get("engine") or {}, replayed["engine"]
    if (was.get("name"), was.get("version")) == (now["name"], now["version"]):
        return ()
    return (
        f"decision was made with {was.get('name')} {was.get('version')}, "
        f"replayed with {now['name']} {now['version']}",
    )


def replay_decision(
    record: Mapping[str, Any], store: Store, policy: PolicySet, engine: RegoEngine, cache_dir: Path
) -> ReplayResult:
    """Decide `record` again from its recorded evidence, policy, time and waivers, and compare."""
    recorded_digest = (record.get("policy") or {}).get("digest")
    if policy.digest != recorded_digest:
        raise ReplayError(f"policy digest {recorded_digest} not available (given policy has {policy.digest})")
    subject = record.get("subject") or {}
    evidence = recorded_evidence(record, store)
    [evaluation] = decide(
        engine=engine, policy=policy, cache_dir=cache_dir, lane=str(record.get("lane")),
        batch=[(Subject(str(subject.get("module")), str(subject.get("revision"))), evidence)],
        now=str(record.get("evaluated_at")), waivers=list(record.get("waivers") or []),
    )
    replayed = evaluation.record
    return ReplayResult(
        recorded=record, replayed=replayed, differences=_compare(record, replayed),
        warnings=_engine_warnings(record, replayed),
    )


def check_replay(result: ReplayResult) -> list[str]:
    """Summary lines of a replay that matched; a replay that did not raises `ReplayError`."""
    if result.differences:
        raise ReplayError(result.describe_first())
    record = result.recorded
    checks = record.get("checks") or []
    verdict = "allow" if record.get("allow") is True else "deny"
    return [
        f"replayed: identical ({verdict}, {len(checks)} checks, input {record.get('input_digest')})",
        f"  evidence: {len(record.get('evidence') or [])} documents matched their recorded digests",
        f"  engine:   {result.replayed['engine']['name']} {result.replayed['engine']['version']}",
    ]


def _at(value: Any, path: str) -> Any:
    """The value at a `differences` path such as `checks[0].status` (None when absent)."""
    current = value
    for part in path.replace("[", ".[").split("."):
        if not part:
            continue
        if part.startswith("["):
            index = int(part[1:-1])
            current = current[index] if isinstance(current, list) and index < len(current) else None
        else:
            current = current.get(part) if isinstance(current, dict) else None
    return current


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 3] + "..."
