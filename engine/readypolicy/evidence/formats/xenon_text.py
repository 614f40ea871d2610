"""xenon output (its log lines on stderr: `xenon ... 2> xenon.txt`).

xenon prints nothing when every threshold holds and one `ERROR:xenon:` line per violation
otherwise: blocks and modules ranked worse than allowed, and the average rank. It reports no
scores, so `average` and `max` are null and `worst` lists the offending blocks with their rank only.
Any other line (a traceback, a usage error) is refused, because a crashed run is not a pass.

An empty file is refused too, even with `--format xenon`: xenon logs to stderr, so `xenon ... > f`
leaves an empty file however many thresholds failed, and so does a job that never ran xenon. A pass
cannot be told apart from those, so it cannot be evidence; `radon cc -j` (format `radon-json`)
records the measured complexity itself and is what a passing run should be gated on.
"""

from __future__ import annotations

import re
from typing import Any

from readypolicy.evidence.formats.radon_json import MAX_WORST, RANKS
from readypolicy.evidence.interface import Artifact, Normalized, Normalizer, Producer

_BLOCK = re.compile(r'^ERROR:xenon:block "(?P<file>.+):(?P<line>\d+) (?P<name>.+)" has a rank of (?P<rank>[A-F])$')
_MODULE = re.compile(r"^ERROR:xenon:module (?P<quote>['\"])(?P<file>.+)(?P=quote) has a rank of (?P<rank>[A-F])$")
_AVERAGE = re.compile(r"^ERROR:xenon:average complexity is ranked (?P<rank>[A-F])$")


class XenonText(Normalizer):
    """xenon log output → `complexity` evidence (threshold violations)."""

    kind = "complexity"
    format = "xenon"
    description = "xenon threshold violations (its stderr, 2>&1); an empty file is refused"
    priority = 40

    def detect(self, artifact: Artifact) -> bool:
        return artifact.head.startswith("ERROR:xenon:")

    def normalize(self, artifact: Artifact) -> Normalized:
        text = artifact.text
        if text is None:
            raise self.fail(artifact, "not UTF-8 text")
        if not text.strip():
            raise self.fail(artifact, "empty: xenon prints its verdicts on stderr and nothing when thresholds hold, so an "
                                      "empty file cannot tell a pass from a lost stderr or a run that never happened; "
                                      "ingest radon cc -j output instead")
        blocks: list[dict[str, Any]] = []
        violations: list[dict[str, Any]] = []
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line:
                continue
            if match := _BLOCK.match(line):
                blocks.append({"name": match["name"], "file": match["file"], "line": int(match["line"]),
                               "complexity": None, "rank": match["rank"]})
                violations.append({"subject": "block", "name": f"{match['file']}:{match['line']} {match['name']}",
                                   "rank": match["rank"]})
            elif match := _MODULE.match(line):
                violations.append({"subject": "module", "name": match["file"], "rank": match["rank"]})
            elif match := _AVERAGE.match(line):
                violations.append({"subject": "average", "name": "average", "rank": match["rank"]})
            else:
                raise self.fail(artifact, f"line {number} is not a xenon threshold message")
        ranks = dict.fromkeys(RANKS, 0)
        for block in blocks:
            ranks[block["rank"]] += 1
        data = {
            "tool": "xenon", "metric": "thresholds", "scope": "thresholds", "blocks": len(blocks), "average": None,
            "max": None, "worst": sorted(blocks, key=lambda b: (b["rank"], b["file"], b["line"]), reverse=True)[:MAX_WORST],
            "ranks": ranks, "errors": 0, "passed": not violations, "violations": violations,
        }
        return Normalized(kind=self.kind, format=self.format, producer=Producer("xenon"), data=data)


NORMALIZER = XenonText()
