"""Prometheus text exposition (what `/metrics` serves; also OpenMetrics text) checked for label cardinality.

Every distinct label value becomes a new time series, so ids and timestamps in labels grow the
series count without bound. A label is a violation when its name says it carries an id
(request/session/trace/span/correlation/user ids, uuid/guid) or when a value looks unbounded: a
UUID or a run of 13 or more digits (millisecond timestamps). Violations are reported once per
(metric, label, reason) with one example value and the number of distinct values seen. Distinct
values per label are recorded (capped) so the policy can compare them with the manifest's allowed
label sets; `le` and `quantile` are structural (histogram buckets, summary quantiles) and are left out.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from readypolicy.evidence.interface import Artifact, Normalized, Normalizer, Producer

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_VALUE = r"(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?Inf|NaN)"
_SAMPLE_START = re.compile(rf"({_NAME})(\{{|\s+{_VALUE}(?:\s+-?\d+(?:\.\d+)?)?\s*$)")
_LABEL = re.compile(rf"\s*({_NAME})\s*=\s*\"((?:[^\"\\]|\\.)*)\"\s*(,?)")
_TAIL = re.compile(rf"\s+{_VALUE}(?:\s+-?\d+(?:\.\d+)?)?\s*")
_UUID = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")
_LONG_NUMBER = re.compile(r"\d{13,}")
_ID_LABEL = re.compile(
    r"(?:^|_)(?:request|req|session|trace|span|correlation|user|customer|account|transaction|txn)_?ids?$|^(?:uuid|guid|id)$",
    re.IGNORECASE,
)
_STRUCTURAL = frozenset({"le", "quantile"})
_SUFFIXES = ("_bucket", "_count", "_sum", "_total", "_created", "_info", "_gcount", "_gsum")
MAX_VALUES_PER_LABEL = 50


class PrometheusExposition(Normalizer):
    """Prometheus/OpenMetrics text exposition → `telemetry` evidence (source exposition)."""

    kind = "telemetry"
    format = "prometheus-exposition"
    description = "Prometheus text exposition (/metrics): series, label values, cardinality violations"
    priority = 60

    def detect(self, artifact: Artifact) -> bool:
        lines = artifact.head.split("\n")
        if len(artifact.raw) > 4096:
            lines = lines[:-1]
        lines = [line.strip() for line in lines if line.strip()]
        if not lines:
            return False
        meaningful = False
        for line in lines:
            if line.startswith(("# HELP ", "# TYPE ")):
                meaningful = True
            elif line.startswith("#"):
                continue
            elif _SAMPLE_START.match(line):
                meaningful = True
            else:
                return False
        return meaningful

    def normalize(self, artifact: Artifact) -> Normalized:
        text = artifact.text
        if text is None:
            raise self.fail(artifact, "not UTF-8 text")
        families: set[str] = set()
        sample_names: set[str] = set()
        values: dict[str, set[str]] = defaultdict(set)
        offending: dict[tuple[str, str, str], dict[str, Any]] = {}
        series = 0
        for number, raw_line in enumerate(text.splitlines(), start=1):
            line = raw_line.strip()
            if not line:
                continue
            if line.startswith("#"):
                parts = line.split(None, 3)
                if len(parts) >= 3 and parts[1] == "TYPE":
                    families.add(parts[2])
                continue
            name, labels = self._parse_sample(artifact, line, number)
            series += 1
            sample_names.add(name)
            for label, value in labels.items():
                if label in _STRUCTURAL:
                    continue
                values[label].add(value)
                for reason in _reasons(label, value):
                    entry = offending.setdefault((name, label, reason), {
                        "metric": name, "label": label, "value": value, "reason": reason, "values": set()})
                    entry["values"].add(value)
        if series == 0:
            raise self.fail(artifact, "no samples")
        metrics = families | {n for n in sample_names if _family(n, families) is None}
        violations = [
            {"metric": e["metric"], "label": e["label"], "value": e["value"], "reason": e["reason"],
             "distinct_values": len(e["values"])}
            for e in sorted(offending.values(), key=lambda e: (e["metric"], e["label"], e["reason"]))
        ]
        data: dict[str, Any] = {
            "source": "exposition", "scope": "exposition", "series": series, "metrics": len(metrics),
            "label_values": {label: sorted(found)[:MAX_VALUES_PER_LABEL] for label, found in sorted(values.items())},
            "label_cardinality": {label: len(found) for label, found in sorted(values.items())},
            "violations": violations,
        }
        return Normalized(kind=self.kind, format=self.format, producer=Producer("prometheus-exposition"), data=data)

    def _parse_sample(self, artifact: Artifact, line: str, number: int) -> tuple[str, dict[str, str]]:
        """Split `name{a="x",b="y"} value [timestamp]` into the name and its labels."""
        start = _SAMPLE_START.match(line)
        if not start:
            raise self.fail(artifact, f"line {number} is not a sample")
        name, position = start[1], start.end(1)
        labels: dict[str, str] = {}
        if line.startswith("{", position):
            position += 1
            while not line.startswith("}", position):
                label = _LABEL.match(line, position)
                if not label:
                    raise self.fail(artifact, f"line {number}: malformed label set")
                labels[label[1]] = _unescape(label[2])
                position = label.end()
                if not label[3] and not line.startswith("}", position):
                    raise self.fail(artifact, f"line {number}: labels must be separated by commas")
            position += 1
        if not _TAIL.fullmatch(line, position):
            raise self.fail(artifact, f"line {number}: no sample value after the labels")
        return name, labels


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m[1] == "n" else m[1], value)


def _reasons(label: str, value: str) -> list[str]:
    """Why a label/value pair is unbounded, if it is."""
    found = []
    if _ID_LABEL.search(label):
        found.append("id-label-name")
    if _UUID.search(value):
        found.append("uuid-value")
    if _LONG_NUMBER.search(value):
        found.append("long-number-value")
    return found


def _family(sample_name: str, families: set[str]) -> str | None:
    """The declared metric family a sample belongs to (`x_bucket` → `x`), if any."""
    if sample_name in families:
        return sample_name
    for suffix in _SUFFIXES:
        if sample_name.endswith(suffix) and sample_name.removesuffix(suffix) in families:
            return sample_name.removesuffix(suffix)
    return None


NORMALIZER = PrometheusExposition()
