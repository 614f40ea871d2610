"""Evidence records for the store tests, and writer processes for the concurrency and kill tests.

Run as a script, it is one writer process:
  `ingest URL MODULE FIRST COUNT BATCH GATE` waits for the file GATE to exist, then stores records
  FIRST..FIRST+COUNT-1 of MODULE in batches and prints how many were new;
  `bigbatch URL MODULE COUNT` stores COUNT records in a single put_evidence call (the kill test
  SIGKILLs it part-way through).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from readypolicy.canonical import digest, raw_digest, rfc3339, utc_now
from readypolicy.store.interface import EvidenceRecord
from readypolicy.store.open import open_store


def make_record(
    module: str, n: int, revision: str = "r1", kind: str = "tests", scope: str = "unit", **extra: object
) -> EvidenceRecord:
    """Evidence number `n` of a module; the same arguments always give the same digest."""
    document = {
        "kind": kind, "scope": scope, "module": module, "revision": revision, "n": n,
        "data": {"passed": n % 97, "failed": n % 3, "ratio": n / 7, "name": f"case-{n}"},
        **extra,
    }
    return EvidenceRecord(
        digest=digest(document), module=module, revision=revision, kind=kind, scope=scope, schema_version=1,
        document=document, raw_sha256=raw_digest(json.dumps(document).encode()),
        source_path=f"artifacts/{kind}-{scope}-{n}.json", producer_tool="pytest", producer_version="8.3.0",
        collected_at=None, ingested_at=rfc3339(utc_now()),
    )


def _ingest(url: str, module: str, first: int, count: int, batch: int, gate: Path) -> None:
    records = [make_record(module, n) for n in range(first, first + count)]
    store = open_store(url)
    while not gate.exists():
        time.sleep(0.005)
    new = 0
    for start in range(0, len(records), batch):
        new += sum(store.put_evidence(records[start:start + batch], actor=f"worker-{first}"))
    store.close()
    print(new)


def _bigbatch(url: str, module: str, count: int) -> None:
    records = [make_record(module, n) for n in range(count)]
    store = open_store(url)
    store.put_evidence(records, actor="bigbatch")
    store.close()


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "ingest":
        _ingest(args[0], args[1], int(args[2]), int(args[3]), int(args[4]), Path(args[5]))
    elif command == "bigbatch":
        _bigbatch(args[0], args[1], int(args[2]))
    else:
        raise SystemExit(f"unknown command {command!r}")
