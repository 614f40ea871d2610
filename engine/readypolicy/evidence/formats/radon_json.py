"""radon JSON reports: cyclomatic complexity (`radon cc -j`) and maintainability index (`radon mi -j`).

`radon cc -j` maps each file to its blocks (functions, methods, classes; methods are listed at the
top level as well as inside their class, so only top-level entries are counted) or to
`{"error": ...}` when radon could not parse the file; such files were not measured and are counted
in `errors`. `radon mi -j` maps each file to `{"mi": score, "rank": A..C}`, where higher is better.
The two are different measures, so they land in different scopes: `cyclomatic` and `maintainability`.
For maintainability, `average` is the mean index, `max` is null, `min` the lowest index, and `worst`
lists the lowest-scoring modules with the index in `complexity`.
"""

from __future__ import annotations

from typing import Any

from readypolicy.evidence.formats.latency import is_number
from readypolicy.evidence.interface import Artifact, Normalized, Normalizer, Producer

RANKS = ("A", "B", "C", "D", "E", "F")
MAX_WORST = 20
"""How many of the worst blocks are listed."""


class RadonJson(Normalizer):
    """radon cc -j / radon mi -j → `complexity` evidence."""

    kind = "complexity"
    format = "radon-json"
    description = "radon cc -j (cyclomatic complexity) or radon mi -j (maintainability index)"
    priority = 40

    def detect(self, artifact: Artifact) -> bool:
        text = artifact.text_or_empty
        if artifact.head[:1] != "{" or '"rank"' not in text:
            return False
        return ('"complexity"' in text and '"lineno"' in text) or '"mi"' in text

    def normalize(self, artifact: Artifact) -> Normalized:
        doc = artifact.json()
        if not isinstance(doc, dict) or not doc:
            raise self.fail(artifact, "expected a non-empty object keyed by file")
        measured = [entry for entry in doc.values() if not (isinstance(entry, dict) and "error" in entry)]
        if measured and all(isinstance(entry, dict) for entry in measured):
            data = self._maintainability(artifact, doc)
        else:
            data = self._cyclomatic(artifact, doc)
        return Normalized(kind=self.kind, format=self.format, producer=Producer("radon"), data=data)

    def _cyclomatic(self, artifact: Artifact, doc: dict[str, Any]) -> dict[str, Any]:
        blocks: list[dict[str, Any]] = []
        errors = 0
        for position, (file, entries) in enumerate(doc.items(), start=1):
            if isinstance(entries, dict) and "error" in entries:
                errors += 1
                continue
            if not isinstance(entries, list):
                raise self.fail(artifact, f"file entry {position}: expected a list of blocks")
            for block in entries:
                if not isinstance(block, dict) or not is_number(block.get("complexity")) or block.get("rank") not in RANKS:
                    raise self.fail(artifact, f"file entry {position}: a block lacks a numeric complexity or an A-F rank")
                name = str(block.get("name") or "")
                if block.get("classname"):
                    name = f"{block['classname']}.{name}"
                blocks.append({"name": name, "file": str(file), "line": block.get("lineno"),
                               "complexity": block["complexity"], "rank": block["rank"]})
        scores = [block["complexity"] for block in blocks]
        return _complexity_data("radon", "cyclomatic", blocks, errors,
                                average=round(sum(scores) / len(scores), 4) if scores else 0.0,
                                maximum=max(scores, default=0), worst_first=True)

    def _maintainability(self, artifact: Artifact, doc: dict[str, Any]) -> dict[str, Any]:
        modules: list[dict[str, Any]] = []
        errors = 0
        for position, (file, entry) in enumerate(doc.items(), start=1):
            if "error" in entry:
                errors += 1
                continue
            if not is_number(entry.get("mi")) or entry.get("rank") not in RANKS:
                raise self.fail(artifact, f"file entry {position}: lacks a numeric 'mi' or an A-F rank")
            modules.append({"name": str(file), "file": str(file), "line": None,
                            "complexity": round(float(entry["mi"]), 4), "rank": entry["rank"]})
        scores = [module["complexity"] for module in modules]
        data = _complexity_data("radon", "maintainability", modules, errors,
                                average=round(sum(scores) / len(scores), 4) if scores else 0.0,
                                maximum=None, worst_first=False)
        data["min"] = min(scores, default=None)
        return data


def _complexity_data(
    tool: str, metric: str, items: list[dict[str, Any]], errors: int,
    average: float | None, maximum: float | None, worst_first: bool,
) -> dict[str, Any]:
    """The `complexity` shape; `worst_first` is True when a higher score is worse."""
    ranks = dict.fromkeys(RANKS, 0)
    for item in items:
        ranks[item["rank"]] += 1
    ordered = sorted(items, key=lambda i: (-i["complexity"] if worst_first else i["complexity"], i["file"], i["name"]))
    return {"tool": tool, "metric": metric, "scope": metric, "blocks": len(items), "average": average, "max": maximum,
            "worst": ordered[:MAX_WORST], "ranks": ranks, "errors": errors}


NORMALIZER = RadonJson()
