"""An archive's anchor in the audit chain: the segment that logged the decision, up to a signed checkpoint.

A signed decision says what was decided; it does not say the decision and its evidence went through
the store's audit trail. `audit export --checkpoint FILE` packs the chain entries from the first one
that logged this decision's evidence or decision up to the checkpointed head, with the checkpoint.
Hash chains bind backwards, so a signed head vouches for every entry of the segment: the auditor
recomputes each hash, checks each link, compares the last with the signed head, and finds the
`decision` and `ingest` entries saying what the archive holds.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from readypolicy.audit.checkpoint import CHECKPOINT_PREDICATE_TYPE, signed_head
from readypolicy.audit.trail import AuditError, checked_chain
from readypolicy.safeio import UnsafeInputError, loads_json
from readypolicy.signing.dsse import decode_statement, open_envelope
from readypolicy.signing.interface import BundleVerifier
from readypolicy.store.chain import entry_hash
from readypolicy.store.interface import AuditEntry, Store

CHAIN = "audit/chain.json"
"""The chain segment, oldest first, each entry with every field its hash covers."""
CHECKPOINT = "audit/checkpoint.sigstore.json"
"""The signed checkpoint whose head is the segment's last entry."""


def _logs_decision(entry: AuditEntry, record: Mapping[str, Any]) -> bool:
    return entry.action == "decision" and entry.details.get("decision_id") == record.get("decision_id")


def _logs_ingest(entry: AuditEntry, item: dict[str, Any]) -> bool:
    return entry.action == "ingest" and entry.details.get("digest") == item.get("digest")


def chain_members(record: Mapping[str, Any], store: Store, checkpoint: dict[str, Any], origin: str) -> dict[str, bytes]:
    """The archive members anchoring `record`: the segment of the store's chain up to the checkpointed head.

    The checkpoint's signature is the auditor's to check; here it must at least name a head this
    store's chain has, after the entries that logged the decision and each of its evidence documents.
    """
    _, payload, _ = open_envelope(checkpoint.get("dsseEnvelope"), origin)
    statement = decode_statement(payload, origin)
    predicate = found if isinstance(found := statement.get("predicate"), dict) else {}
    seq = predicate.get("seq")
    entries = checked_chain(store)
    if statement["predicateType"] != CHECKPOINT_PREDICATE_TYPE or not isinstance(seq, int) or not 1 <= seq <= len(entries):
        raise AuditError(f"{origin}: not a checkpoint of an entry of {store.url}")
    if entries[seq - 1].entry_hash != predicate.get("entry_hash"):
        raise AuditError(f"{origin}: entry {seq} of {store.url} does not have the checkpointed hash")
    segment = entries[:seq]
    firsts = [next((e.seq for e in segment if _logs_decision(e, record)), None)]
    firsts += [next((e.seq for e in segment if _logs_ingest(e, item)), None) for item in record.get("evidence") or []]
    if None in firsts:
        raise AuditError(f"{origin}: the checkpoint (entry {seq}) is older than the entries logging decision "
                         f"{record.get('decision_id')} and its evidence; make a newer checkpoint")
    start = min(s for s in firsts if s is not None)
    text = json.dumps([asdict(e) for e in segment[start - 1:]], indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return {CHAIN: text.encode(), CHECKPOINT: (json.dumps(checkpoint, indent=2, sort_keys=True) + "\n").encode()}


def _segment(data: bytes, origin: str) -> list[AuditEntry]:
    try:
        raw = loads_json(data, f"{origin}:{CHAIN}")
        entries = [AuditEntry(**item) for item in raw] if isinstance(raw, list) else None
    except (UnsafeInputError, TypeError) as exc:
        raise AuditError(f"{origin}:{CHAIN}: not a list of audit entries ({exc})") from exc
    if not entries:
        raise AuditError(f"{origin}:{CHAIN}: not a list of audit entries")
    return entries


def check_chain(members: dict[str, bytes], record: Mapping[str, Any], verifier: BundleVerifier, origin: str) -> str | None:
    """What the archive's chain segment proves (one line), None without one; `AuditError` naming any break."""
    if CHAIN not in members and CHECKPOINT not in members:
        return None
    if CHAIN not in members or CHECKPOINT not in members:
        raise AuditError(f"{origin}: {CHAIN} and {CHECKPOINT} go together; one of them is missing")
    try:
        bundle = loads_json(members[CHECKPOINT], f"{origin}:{CHECKPOINT}")
    except UnsafeInputError as exc:
        raise AuditError(str(exc)) from exc
    head = signed_head(bundle if isinstance(bundle, dict) else {}, verifier, f"{origin}:{CHECKPOINT}")
    entries = _segment(members[CHAIN], origin)
    where = f"{origin}:{CHAIN}"
    for index, entry in enumerate(entries):
        recomputed = entry_hash(entry.seq, entry.prev_hash, entry.at, entry.actor, entry.action, entry.module,
                                entry.details)
        if recomputed != entry.entry_hash:
            raise AuditError(f"{where}: entry {entry.seq}: content does not match its hash (entry was edited)")
        if index and (entry.seq != entries[index - 1].seq + 1 or entry.prev_hash != entries[index - 1].entry_hash):
            raise AuditError(f"{where}: entry {entry.seq} does not follow entry {entries[index - 1].seq} "
                             "(removed, reordered or rewritten)")
    last = entries[-1]
    if (last.seq, last.entry_hash) != (head.seq, head.entry_hash):
        raise AuditError(f"{where}: ends at entry {last.seq} {last.entry_hash}, but the signed checkpoint is of entry "
                         f"{head.seq} {head.entry_hash}")
    logged = next((e for e in entries if _logs_decision(e, record)), None)
    if logged is None:
        raise AuditError(f"{where}: no entry logs decision {record.get('decision_id')} (a decision never stored)")
    subject = record.get("subject") or {}
    said = {"module": subject.get("module"), "lane": record.get("lane"), "allow": record.get("allow"),
            "policy_digest": (record.get("policy") or {}).get("digest"), "revision": subject.get("revision")}
    logs = {"module": logged.module, **{key: logged.details.get(key) for key in said if key != "module"}}
    for key, value in said.items():
        if logs[key] != value:
            raise AuditError(f"{where}: entry {logged.seq} logs {key} {logs[key]!r} for the decision, the record says "
                             f"{value!r}")
    for item in record.get("evidence") or []:
        if not any(_logs_ingest(e, item) and all(e.details.get(k) == item.get(k) for k in ("raw_sha256", "kind", "scope"))
                   for e in entries):
            raise AuditError(f"{where}: no ingest entry logs evidence {item.get('digest')} as the record names it")
    return (f"decision logged at entry {logged.seq}, with the ingests of its {len(record.get('evidence') or [])} "
            f"evidence documents; checkpointed at entry {head.seq} by {head.signer}")
