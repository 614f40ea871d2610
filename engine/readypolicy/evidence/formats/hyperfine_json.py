"""hyperfine JSON export (`hyperfine --export-json FILE`).

Each entry of `results` is one benchmarked command with every run's wall time in `times` (seconds);
percentiles and the bootstrap interval are computed from those, in milliseconds. The metric is
named by the command as hyperfine recorded it, so `--command-name tick` yields metric `tick`.

hyperfine only keeps going after a failing run when told to (`-i`/`--ignore-failure`), and then
merely warns: the times of a command that crashed are not latencies of the operation. Each run's
exit status is therefore kept (`exit_codes`; null is a run killed by a signal) and `failed_runs`
counts the runs that did not exit 0; perf checks fail an operation with any failed run. A report
from a hyperfine too old to record exit codes has `failed_runs: null` (unknown) and a warning.
"""

from __future__ import annotations

from typing import Any

from readypolicy.evidence.formats.latency import is_number, metric_from_samples, summary_problem
from readypolicy.evidence.interface import Artifact, Normalized, Normalizer, Producer


class HyperfineJson(Normalizer):
    """hyperfine --export-json → `perf` evidence."""

    kind = "perf"
    format = "hyperfine-json"
    description = "hyperfine --export-json (results[].times in seconds, exit_codes per run)"
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
        for index, result in enumerate(results):
            if not isinstance(result, dict) or not isinstance(result.get("command"), str) or not result["command"]:
                raise self.fail(artifact, "a result has no 'command'")
            name, times = result["command"], result.get("times")
            where = f"results[{index}]"  # errors name the position, never the command text
            if name in metrics:
                raise self.fail(artifact, f"{where}: the same command appears twice")
            if not isinstance(times, list) or not all(is_number(t) for t in times):
                raise self.fail(artifact, f"{where}: 'times' must be an array of numbers (seconds)")
            if problem := summary_problem(times, result):
                raise self.fail(artifact, f"{where}: {problem}")
            metric = metric_from_samples((t * 1000.0 for t in times), f"{artifact.path}: {where}")
            codes = self._exit_codes(artifact, where, result, len(times))
            metric["exit_codes"] = codes
            metric["failed_runs"] = None if codes is None else sum(1 for code in codes if code != 0)
            if codes is None:
                warnings.append(f"command {name!r} has no exit_codes; failed runs cannot be told apart")
            elif metric["failed_runs"]:
                warnings.append(f"command {name!r} failed in {metric['failed_runs']} of {len(codes)} runs")
            metrics[name] = metric
        return Normalized(kind=self.kind, format=self.format, producer=Producer("hyperfine"),
                          data={"metrics": metrics}, warnings=tuple(warnings))

    def _exit_codes(self, artifact: Artifact, where: str, result: dict[str, Any], runs: int) -> list[int | None] | None:
        """One exit status per run (None: killed by a signal), or None when hyperfine did not record them."""
        if "exit_codes" not in result:
            return None
        codes = result["exit_codes"]
        if not isinstance(codes, list) or not all(c is None or (isinstance(c, int) and not isinstance(c, bool))
                                                  for c in codes):
            raise self.fail(artifact, f"{where}: 'exit_codes' must be an array of integers or null")
        if len(codes) != runs:
            raise self.fail(artifact, f"{where}: {len(codes)} exit codes for {runs} runs")
        return codes


NORMALIZER = HyperfineJson()
