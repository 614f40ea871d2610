"""A running OPA server as the Rego engine, over its REST API (through `engines/opa_http.py`).

For deployments that already run OPA as a service with the approved bundle (`opa run --server
--bundle ...`). A batch is one ad-hoc query with the same comprehension the CLI engine uses, so
both engines answer the same question the same way. Before the first query for a policy, the
server's loaded bundles are read from `data.system.bundles`: a server running other policy files
than the ones the decision will name is refused, never silently used.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any

from readypolicy.engines.interface import EngineError, EngineInfo, LoadedPolicy, RegoEngine
from readypolicy.engines.opa_cli import batch_query, unwrap_batch
from readypolicy.engines.opa_http import OpaHttp


class OpaServerEngine(RegoEngine):
    """Evaluates against `opa run --server` over HTTP."""

    def __init__(self, url: str, timeout_s: float = 60.0) -> None:
        self.http = OpaHttp(url, timeout_s=timeout_s)
        self.url = self.http.url
        self._verified: set[str] = set()

    @cached_property
    def _version(self) -> str:
        version = self.http.value("data.system.version.version", None)
        if not isinstance(version, str):
            raise EngineError(f"OPA server {self.url} does not report its version")
        return version

    def info(self) -> EngineInfo:
        return EngineInfo(name="opa-server", version=self._version)

    def _check_policy(self, policy: LoadedPolicy) -> None:
        """Refuse a server that has not loaded exactly this policy (matched by readypolicy digest)."""
        if policy.digest in self._verified:
            return
        bundles: object = self.http.value("data.system.bundles", {})
        digests = {
            str(((b.get("manifest") or {}).get("metadata") or {}).get("readypolicy", {}).get("digest"))
            for b in (bundles if isinstance(bundles, dict) else {}).values() if isinstance(b, dict)
        }
        if policy.digest not in digests:
            raise EngineError(
                f"OPA server {self.url} has not loaded policy {policy.revision} ({policy.digest}); "
                f"it runs {', '.join(sorted(digests)) or 'no readypolicy bundle'}"
            )
        self._verified.add(policy.digest)

    def evaluate(self, policy: LoadedPolicy, query: str, inputs: Sequence[Any]) -> list[Any]:
        if not inputs:
            return []
        self._check_policy(policy)
        rows = self.http.query(f"out := {batch_query(query)}", {"batch": list(inputs)})
        if len(rows) != 1 or "out" not in rows[0]:
            raise EngineError(f"OPA server {self.url} returned no value for the batch query")
        return unwrap_batch(rows[0]["out"], len(inputs), query)
