"""hyperfine JSON export (`hyperfine --export-json FILE`).

Each entry of `results` is one benchmarked command with every run's wall time in `times` (seconds);
percentiles and the bootstrap interval are computed from those, in milliseconds. The metric is
named by the command as hyperfine recorded it, so `--command-name tick` yields metric `tick`.
"""

from __future__ import annotations

from typing import Any

from readypolicy.evidence.formats.latency import is_number, metric_from_samples
from readypolicy.evidence.interface import Artifact, Normalized, Normalizer, Producer


class HyperfineJson(Normalizer):
    """hyperfine --export-json → `perf` evidence."""

    kind = "perf"
    format = "hyperfine-json"
    description = "hyperfine --export-json (results[].times in seconds)"
    priority = 30

    def detect(self, artifact: Artifact) -> bool:
        text = artifact.text_or_empty
        return artifact.head[:1] == "{" and '"results"' in artifact.head and '"command"' in text and '"times"' in text

    def normalize(self, artifact: Artifact) -> Normalized:
        doc = artifact.json()
        results = doc.get("results") if isinstance(doc, dict) else None
        if not isinstance(results, list) or not results:
            raise self.fail(artifact, "'results' must be a non-empty array")
        metrics: dict[str, Any] = {}
        warnings: list[str] = []
        for result in results:
            if not isinstance(result, dict) or not isinstance(result.get("command"), str) or not result["command"]:
                raise self.fail(artifact, "a result has no 'command'")
            name, times = result["command"], result.get("times")
            if name in metrics:
                raise self.fail(artifact, f"command {name!r} appears twice")
            if not isinstance(times, list) or not all(is_number(t) for t in times):
                raise self.fail(artifact, f"command {name!r}: 'times' must be an array of numbers (seconds)")
            metrics[name] = metric_from_samples((t * 1000.0 for t in times), f"{artifact.path}: command {name!r}")
            codes = result.get("exit_codes")
            if isinstance(codes, list) and any(code != 0 for code in codes):
                warnings.append(f"{artifact.path}: command {name!r} exited non-zero in some runs")
        return Normalized(kind=self.kind, format=self.format, producer=Producer("hyperfine"),
                          data={"metrics": metrics}, warnings=tuple(warnings))


NORMALIZER = HyperfineJson()
