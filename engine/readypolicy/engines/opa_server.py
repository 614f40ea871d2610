"""A running OPA server as the Rego engine, over its REST API.

For deployments that already run OPA as a service with the approved bundle (`opa run --server
--bundle ...`). A batch is one `POST /v1/query` with the same comprehension the CLI engine uses, so
both engines answer the same question the same way. Before the first query for a policy, the
server's loaded bundles are read from `data.system.bundles`: a server running other policy files
than the ones the decision will name is refused, never silently used.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Sequence
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

from readypolicy.engines.interface import EngineError, EngineInfo, LoadedPolicy, RegoEngine
from readypolicy.engines.opa_cli import batch_query, unwrap_batch


class OpaServerEngine(RegoEngine):
    """Evaluates against `opa run --server` over HTTP."""

    def __init__(self, url: str, timeout_s: float = 60.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise EngineError(f"OPA server URL must be http(s)://host:port, not {url!r}")
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self._verified: set[str] = set()

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        request = urllib.request.Request(  # nosec B310 - the scheme is checked in __init__
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # nosec B310
                return json.load(response)
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:300].decode("utf-8", errors="replace")
            raise EngineError(f"OPA server {self.url}{path} answered HTTP {exc.code}: {' '.join(detail.split())}") from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise EngineError(f"OPA server {self.url} unreachable or unreadable: {exc}") from exc

    @cached_property
    def _version(self) -> str:
        doc = self._call("GET", "/v1/data/system/version")
        version = (doc.get("result") or {}).get("version") if isinstance(doc, dict) else None
        if not isinstance(version, str):
            raise EngineError(f"OPA server {self.url} does not report its version")
        return version

    def info(self) -> EngineInfo:
        return EngineInfo(name="opa-server", version=self._version)

    def _check_policy(self, policy: LoadedPolicy) -> None:
        """Refuse a server that has not loaded exactly this policy (matched by readypolicy digest)."""
        if policy.digest in self._verified:
            return
        doc = self._call("GET", "/v1/data/system/bundles")
        bundles = doc.get("result") if isinstance(doc, dict) else None
        digests = {
            str(((b.get("manifest") or {}).get("metadata") or {}).get("readypolicy", {}).get("digest"))
            for b in (bundles or {}).values() if isinstance(b, dict)
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
        doc = self._call("POST", "/v1/query", {"query": f"out := {batch_query(query)}", "input": {"batch": list(inputs)}})
        try:
            [bindings] = doc["result"]
            values = bindings["out"]
        except (KeyError, TypeError, ValueError) as exc:
            raise EngineError(f"OPA server {self.url} returned no value for the batch query") from exc
        return unwrap_batch(values, len(inputs), query)
