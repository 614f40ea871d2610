"""Measure real per-call latencies of a sample module's operations and write latency-sample files.

Each output file is {"name": <operation>, "samples_ms": [...]}, the plain latency format readypolicy
turns into p50/p95/p99 with a bootstrap CI95 of p95.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path


def measure(call, rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        samples.append(round((time.perf_counter() - start) * 1000, 4))
    return samples


def main() -> None:
    module, out = sys.argv[1], Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    core = importlib.import_module(f"{module}.core")
    if module == "payments":
        auth = core.Authorizer()
        batch = [(i % 12_000, "EUR") for i in range(200)]
        operations = {"tick": lambda: auth.tick(batch), "decide": lambda: auth.decide(120, "EUR")}
    else:
        book = core.Ledger()
        book.post([("cash", 5), ("fees", -5)])
        operations = {"reconcile": lambda: book.reconcile({"cash": 5, "fees": -5})}
    for name, call in operations.items():
        measure(call, 200)  # warm-up
        doc = {"name": name, "samples_ms": measure(call, 2000)}
        (out / f"latency-{name}.json").write_text(json.dumps(doc), encoding="utf-8")


if __name__ == "__main__":
    main()
