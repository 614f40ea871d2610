"""A JSON Schema golden snapshot compared with the current schema: breaking drift as evidence.

The artifact is a small pair document that names both schemas, so one file carries the whole
comparison and its digest pins both sides:

    {"apiVersion": "readypolicy.dev/v1", "kind": "SchemaSnapshotPair", "name": "deployment-request",
     "snapshot": "golden.schema.json", "current": {"type": "object", ...}}

Each side is either a path relative to the pair document or an inline schema. Paths must stay
inside the document's directory tree: absolute paths and `..` are refused, and a symlink that
resolves outside is refused too, so a pair document cannot make the engine read arbitrary files.
A schema file is read under the same size limit as the pair document itself. Errors name the
side (`snapshot`, `current`) and the file, never the document's text.
The digests recorded are of the canonical JSON of each schema, so reformatting does not change them.
"""

from __future__ import annotations

from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from readypolicy.canonical import digest
from readypolicy.evidence.formats.schema_diff import compare
from readypolicy.evidence.interface import Artifact, Normalized, Normalizer, Producer
from readypolicy.safeio import loads_json, read_limited

API_VERSION = "readypolicy.dev/v1"
PAIR_KIND = "SchemaSnapshotPair"
MAX_LISTED = 500


class JsonSchemaSnapshot(Normalizer):
    """SchemaSnapshotPair document → `schema` evidence (breaking and compatible changes)."""

    kind = "schema"
    format = "jsonschema-snapshot"
    description = "JSON Schema golden snapshot vs current (readypolicy SchemaSnapshotPair document)"
    priority = 20

    def detect(self, artifact: Artifact) -> bool:
        head = artifact.head
        return head[:1] == "{" and f'"{PAIR_KIND}"' in head and API_VERSION in head

    def normalize(self, artifact: Artifact) -> Normalized:
        doc = artifact.json()
        if not isinstance(doc, dict) or doc.get("apiVersion") != API_VERSION or doc.get("kind") != PAIR_KIND:
            raise self.fail(artifact, f"expected apiVersion {API_VERSION!r} and kind {PAIR_KIND!r}")
        known = ("apiVersion", "kind", "name", "snapshot", "current")
        unknown = set(doc) - set(known)
        if unknown:
            raise self.fail(artifact, f"{len(unknown)} unknown key(s) (known: {', '.join(known)})")
        name = doc.get("name")
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise self.fail(artifact, "'name' must be a non-empty string")
        snapshot = self._side(artifact, doc, "snapshot")
        current = self._side(artifact, doc, "current")
        try:
            digests = digest(snapshot), digest(current)
        except ValueError as exc:
            raise self.fail(artifact, f"a schema holds a number canonical JSON cannot encode ({type(exc).__name__})") from exc
        diff = compare(snapshot, current)
        data: dict[str, Any] = {
            "snapshot_digest": digests[0],
            "current_digest": digests[1],
            "breaking": diff.breaking[:MAX_LISTED],
            "compatible": diff.compatible[:MAX_LISTED],
            "breaking_count": len(diff.breaking),
            "compatible_count": len(diff.compatible),
        }
        if name is not None:
            data["scope"] = name
        return Normalized(kind=self.kind, format=self.format, producer=Producer("readypolicy-schema-diff"), data=data)

    def _side(self, artifact: Artifact, doc: dict[str, Any], key: str) -> Any:
        """One schema: inline (object or boolean) or read from a confined relative path."""
        value = doc.get(key)
        if isinstance(value, dict | bool):
            return value
        if not isinstance(value, str) or not value:
            raise self.fail(artifact, f"'{key}' must be a relative path or an inline schema")
        if PurePosixPath(value).is_absolute() or PureWindowsPath(value).is_absolute() or PureWindowsPath(value).drive:
            raise self.fail(artifact, f"'{key}' path is absolute; paths are relative to the pair document")
        if ".." in PurePosixPath(value.replace("\\", "/")).parts:
            raise self.fail(artifact, f"'{key}' path leaves the pair document's directory")
        base = artifact.path.parent.resolve()
        target = (base / value).resolve()
        if not target.is_relative_to(base):
            raise self.fail(artifact, f"'{key}' path resolves outside the pair document's directory")
        schema = loads_json(read_limited(target, artifact.max_bytes), f"{artifact.path}: {key} file {target}", artifact.max_depth)
        if not isinstance(schema, dict | bool):
            raise self.fail(artifact, f"'{key}' file {target} is not a JSON Schema (object or boolean)")
        return schema


NORMALIZER = JsonSchemaSnapshot()
