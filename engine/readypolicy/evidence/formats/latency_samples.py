"""A plain list of latency samples in milliseconds, for load generators that write no standard format.

Three shapes are read: text with one number per line, a JSON array of numbers, or a JSON object
`{"name": ..., "samples_ms": [...], "load_multiplier": ..., "throughput_rps": ...}`, and nothing else: a
key this reader would ignore (`"unit": "s"` beside samples in seconds, a misspelt `load_multipler`)
could say the samples mean something other than what is stored, so it is refused. The metric is
named by `name`, else by the file stem (`tick.txt` → `tick`), so that a manifest budget `tick_p95_ms`
finds it; the metric name is also the evidence scope, so one file per operation can be ingested
side by side. The text shape is recognised only when every line of the file's head is a bare number,
because a generic sniff must not capture other text formats.
"""

from __future__ import annotations

import re
from typing import Any

from readypolicy.evidence.formats.latency import all_numbers, is_number, metric_from_samples
from readypolicy.evidence.interface import Artifact, Normalized, Normalizer, Producer

_NUMBER_LINE = re.compile(r"[ \t]*\+?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?[ \t]*\r?")
_JSON_ARRAY_OF_NUMBERS = re.compile(r"\[\s*-?[\d.]")
"""A JSON array that starts with a number. Not `[]`: an empty list holds no sample (it would be refused
anyway) and is what other tools print for "nothing found" (ruff, pip-licenses), so claiming it here
hid those formats behind a misleading "no samples" error."""
_MAX_NAME = 200


class LatencySamples(Normalizer):
    """Latency sample list (text or JSON) → `perf` evidence with p50/p95/p99 and a bootstrap CI."""

    kind = "perf"
    format = "latency-samples"
    description = "Latency samples in ms: one number per line, a JSON array, or {name, samples_ms}"
    priority = 90

    def detect(self, artifact: Artifact) -> bool:
        head = artifact.head
        if artifact.looks_like_json():
            return bool(_JSON_ARRAY_OF_NUMBERS.match(head)) or (head[:1] == "{" and '"samples_ms"' in head)
        lines = head.split("\n")
        if len(artifact.raw) > 4096:
            lines = lines[:-1]  # the head may cut the last line short
        lines = [line for line in lines if line.strip()]
        return bool(lines) and all(_NUMBER_LINE.fullmatch(line) for line in lines)

    def normalize(self, artifact: Artifact) -> Normalized:
        name = artifact.path.stem
        extras: dict[str, float | None] = {"load_multiplier": None, "throughput_rps": None}
        if artifact.looks_like_json():
            doc = artifact.json()
            if isinstance(doc, dict):
                samples, name = self._from_object(artifact, doc, extras)
            elif isinstance(doc, list):
                samples = doc
            else:
                raise self.fail(artifact, "expected a JSON array of numbers or an object with samples_ms")
            if not all_numbers(samples):
                raise self.fail(artifact, "every sample must be a number")
        else:
            text = artifact.text
            if text is None:
                raise self.fail(artifact, "not UTF-8 text")
            samples = []
            for number, line in enumerate(text.splitlines(), start=1):
                if not line.strip():
                    continue
                if not _NUMBER_LINE.fullmatch(line):
                    raise self.fail(artifact, f"line {number} is not a number")
                samples.append(float(line))
        if not name or len(name) > _MAX_NAME:
            raise self.fail(artifact, "metric name must be 1-200 characters (set 'name')")
        metric = metric_from_samples(samples, str(artifact.path), **extras)
        return Normalized(kind=self.kind, format=self.format, producer=Producer("latency-samples"),
                          data={"scope": name, "metrics": {name: metric}})

    def _from_object(
        self, artifact: Artifact, doc: dict[str, Any], extras: dict[str, float | None]
    ) -> tuple[list[Any], str]:
        samples = doc.get("samples_ms")
        if unknown := len(doc.keys() - {"name", "samples_ms", *extras}):
            raise self.fail(artifact, f"the object holds {unknown} key(s) besides name, samples_ms, load_multiplier and "
                                      "throughput_rps (a unit? a misspelt field?): samples_ms are read as milliseconds and "
                                      "nothing else is read, so the file must say nothing else")
        if not isinstance(samples, list):
            raise self.fail(artifact, "'samples_ms' must be an array of numbers")
        for key in extras:
            value = doc.get(key)
            if value is not None and not (is_number(value) and value >= 0):
                raise self.fail(artifact, f"{key!r} must be a non-negative number")
            extras[key] = None if value is None else float(value)
        name = doc.get("name", artifact.path.stem)
        if not isinstance(name, str):
            raise self.fail(artifact, "'name' must be a string")
        return samples, name


NORMALIZER = LatencySamples()
