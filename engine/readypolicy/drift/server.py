"""Running OPA vs lock: what a live `opa run --server` holds, compared with the approved bundle.

Read over OPA's REST API (read-only GETs): `/v1/data/system/bundles` for the loaded bundle's
manifest (revision and readypolicy digest), `/v1/policies` for every loaded module with its raw
text, and `/v1/data/<mount>` for each data document of the approved bundle. Modules are compared
as files (bundle path → text), so a module replaced, added or removed on the server is named down
to the rule. The REST API is used directly rather than opa-python-client because the client's
`get_policy` cannot fetch modules whose ids start with `/` (bundles loaded from absolute paths).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from readypolicy.drift.compare import compare_files, data_difference
from readypolicy.drift.data_diff import ABSENT, data_mount, diff_data, load_data
from readypolicy.drift.interface import Difference, DriftError
from readypolicy.engines.opa_binary import OpaBinary
from readypolicy.policy.interface import PolicySet


@dataclass(frozen=True)
class ServerBundle:
    """A bundle the server reports as loaded."""

    name: str
    """Bundle name (for `--bundle FILE`, the path as given); module ids start with `<name>/`."""
    revision: str
    """`.manifest` revision."""
    digest: str | None
    """readypolicy policy digest from the manifest metadata, None for bundles readypolicy did not build."""
    pack: str | None
    """readypolicy pack name from the manifest metadata."""


class OpaServerReader:
    """Read-only view of a running OPA server."""

    def __init__(self, url: str, timeout_s: float = 10.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise DriftError(f"OPA server URL must be http(s)://host:port, not {url!r}")
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s

    def get(self, path: str) -> Any:
        """The `result` of a GET, or DriftError naming the server and path."""
        try:
            with urllib.request.urlopen(self.url + path, timeout=self.timeout_s) as response:  # nosec B310 - scheme checked
                doc = json.load(response)
        except urllib.error.HTTPError as exc:
            raise DriftError(f"OPA server {self.url}{path} answered HTTP {exc.code}") from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise DriftError(f"OPA server {self.url} unreachable or unreadable: {exc}") from exc
        if not isinstance(doc, dict):
            raise DriftError(f"OPA server {self.url}{path} returned no JSON object")
        return doc.get("result", ABSENT)

    def bundles(self) -> list[ServerBundle]:
        """Every bundle the server has activated."""
        result = self.get("/v1/data/system/bundles")
        out: list[ServerBundle] = []
        for name, info in (result if isinstance(result, dict) else {}).items():
            manifest = (info or {}).get("manifest") or {}
            meta = (manifest.get("metadata") or {}).get("readypolicy") or {}
            out.append(ServerBundle(str(name), str(manifest.get("revision", "")), meta.get("digest"), meta.get("pack")))
        return out

    def modules(self) -> tuple[dict[str, bytes], set[str]]:
        """Module id → raw text of every loaded module, and the package paths (`a/b`) they define."""
        result = self.get("/v1/policies")
        if not isinstance(result, list):
            raise DriftError(f"OPA server {self.url}/v1/policies returned no module list")
        raw: dict[str, bytes] = {}
        packages: set[str] = set()
        for module in result:
            if isinstance(module, dict) and "id" in module:
                raw[str(module["id"])] = str(module.get("raw", "")).encode()
                terms = ((module.get("ast") or {}).get("package") or {}).get("path") or []
                packages.add("/".join(str(t.get("value")) for t in terms[1:]))
        return raw, packages

    def data(self, mount: str) -> Any:
        """The document at `data/<mount>`, or ABSENT when undefined."""
        return self.get("/v1/data/" + quote(mount))


def _served_files(modules: dict[str, bytes], bundle: ServerBundle, others: list[ServerBundle]) -> dict[str, bytes]:
    """Bundle path → text for modules of `bundle`, plus modules loaded outside any bundle (kept by id)."""
    files: dict[str, bytes] = {}
    for module_id, raw in modules.items():
        if module_id.startswith(bundle.name + "/"):
            files[module_id.removeprefix(bundle.name + "/")] = raw
        elif not any(module_id.startswith(o.name + "/") for o in others):
            files[module_id] = raw
    return files


def _owned_elsewhere(path: str, mounts: set[str]) -> bool:
    """Whether another data document or a Rego package lives at or under `path`."""
    return any(m == path or m.startswith(path + "/") for m in mounts)


def _data_differences(
    reader: OpaServerReader, approved: PolicySet, lanes: tuple[str, ...], packages: set[str],
) -> list[Difference]:
    """Each approved data document vs the value the server holds at its mount.

    Keys under a mount that belong to another data document or to a Rego package are left out of
    the comparison; those are compared as their own files.
    """
    data_files = {path: content for path, content in approved.files.items() if not path.endswith(".rego")}
    mounts = {data_mount(path) for path in data_files} | packages
    out: list[Difference] = []
    for path, content in sorted(data_files.items()):
        mount = data_mount(path)
        actual = reader.data(mount)
        if isinstance(actual, dict):
            actual = {k: v for k, v in actual.items() if not _owned_elsewhere(f"{mount}/{k}", mounts)}
        changes = diff_data("data." + mount.replace("/", "."), load_data(path, content), actual)
        out.extend(data_difference("server", lanes, change, f"{reader.url} data/{mount}") for change in changes)
    return out


def server_differences(
    opa: OpaBinary, reader: OpaServerReader, approved: PolicySet, lanes: tuple[str, ...],
) -> list[Difference]:
    """How the running server departs from the approved policy set."""
    bundles = reader.bundles()
    ours = [b for b in bundles if b.pack == approved.pack] or [b for b in bundles if b.digest is None]
    if len(ours) != 1:
        found = ", ".join(f"{b.name} ({b.pack or 'not readypolicy'} {b.revision})" for b in bundles) or "none"
        return [Difference("server", lanes, "bundle-missing", approved.pack, approved.revision, None,
                           f"{reader.url} should run exactly one bundle of pack {approved.pack}; loaded: {found}")]
    [bundle] = ours
    out = [
        Difference("server", lanes, kind, bundle.name, want, got, reader.url)
        for kind, want, got in (("revision", approved.revision, bundle.revision), ("digest", approved.digest, bundle.digest))
        if want != got
    ]
    modules, packages = reader.modules()
    served = _served_files(modules, bundle, [b for b in bundles if b is not bundle])
    expected = {path: content for path, content in approved.files.items() if path.endswith(".rego")}
    out.extend(compare_files(opa, expected, served, source="server", lanes=lanes, where=f"{reader.url} vs approved"))
    out.extend(_data_differences(reader, approved, lanes, packages))
    return out
