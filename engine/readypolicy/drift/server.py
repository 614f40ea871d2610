"""Running OPA vs lock: what a live `opa run --server` holds, compared with the approved bundle.

Read through the shared server client (`engines/opa_http.py`, on opa-python-client): the loaded
bundles' manifests (revision and readypolicy digest) from `data.system.bundles`, every loaded module
with its raw text from `/v1/policies`, and the value at each data mount of the approved bundle.
Modules are compared as files (bundle path → text), so a module replaced, added or removed on the
server is named down to the rule. Nothing is written to the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from readypolicy.drift.compare import compare_files, data_difference
from readypolicy.drift.data_diff import ABSENT, data_mount, diff_data, load_data
from readypolicy.drift.interface import Difference
from readypolicy.engines.opa_binary import OpaBinary
from readypolicy.engines.opa_http import OpaHttp, data_ref
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
        self.http = OpaHttp(url, timeout_s=timeout_s)
        self.url = self.http.url

    def bundles(self) -> list[ServerBundle]:
        """Every bundle the server has activated."""
        result: object = self.http.value("data.system.bundles", {})
        out: list[ServerBundle] = []
        for name, info in (result if isinstance(result, dict) else {}).items():
            manifest = (info or {}).get("manifest") or {}
            meta = (manifest.get("metadata") or {}).get("readypolicy") or {}
            out.append(ServerBundle(str(name), str(manifest.get("revision", "")), meta.get("digest"), meta.get("pack")))
        return out

    def modules(self) -> tuple[dict[str, bytes], set[str]]:
        """Module id → raw text of every loaded module, and the package paths (`a/b`) they define."""
        raw: dict[str, bytes] = {}
        packages: set[str] = set()
        for module in self.http.modules():
            raw[str(module["id"])] = str(module.get("raw", "")).encode()
            terms = ((module.get("ast") or {}).get("package") or {}).get("path") or []
            packages.add("/".join(str(t.get("value")) for t in terms[1:]))
        return raw, packages

    def data(self, mount: str) -> Any:
        """The document at `data/<mount>`, or ABSENT when undefined."""
        return self.http.value(data_ref(mount), ABSENT)


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
