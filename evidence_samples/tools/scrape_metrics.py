"""Write a real Prometheus text exposition of a sample module's metrics (bounded labels only)."""

from __future__ import annotations

import sys

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest


def main() -> None:
    module, out = sys.argv[1], sys.argv[2]
    registry = CollectorRegistry()
    requests = Counter(f"{module}_requests", "Requests handled", ["lane", "component", "operation", "status"], registry=registry)
    latency = Histogram(f"{module}_latency_seconds", "Latency", ["operation"], registry=registry)
    for operation in ("tick", "decide"):
        for status in ("ok", "error"):
            requests.labels("production", "api", operation, status).inc(7)
        latency.labels(operation).observe(0.012)
    with open(out, "wb") as handle:
        handle.write(generate_latest(registry))


if __name__ == "__main__":
    main()
