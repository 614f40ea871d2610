"""promtool `test rules` text output (what it prints on stdout).

promtool prints one section per test file, headed `Processing test file: F` (older releases:
`Unit Testing:  F`), followed by `SUCCESS` or `FAILED:` and indented failure blocks separated by
blank lines. The output says nothing about how many test cases ran, so `tests` is null; a section
with neither verdict (a truncated log) counts as failed, because a missing verdict is not a pass.
Detection requires the very first line to be a section header, since any text could otherwise match.
"""

from __future__ import annotations

import re

from readypolicy.evidence.interface import Artifact, Normalized, Normalizer, Producer

_HEADER = re.compile(r"^(?:Processing test file:|Unit Testing:)\s*(?P<file>.+?)\s*$")
MAX_FAILURES = 100
MAX_FAILURE_TEXT = 500


class PromtoolTestOutput(Normalizer):
    """promtool test rules stdout → `telemetry` evidence (source rule-tests)."""

    kind = "telemetry"
    format = "promtool"
    description = "promtool test rules output (SUCCESS/FAILED per test file)"
    priority = 40

    def detect(self, artifact: Artifact) -> bool:
        first = artifact.head.split("\n", 1)[0]
        return bool(_HEADER.match(first))

    def normalize(self, artifact: Artifact) -> Normalized:
        text = artifact.text
        if text is None:
            raise self.fail(artifact, "not UTF-8 text")
        files: list[dict[str, object]] = []
        failures: list[str] = []
        block: list[str] = []
        current: dict[str, object] | None = None

        def flush_block() -> None:
            if block and current is not None and len(failures) < MAX_FAILURES:
                failures.append(f"{current['file']}: {' '.join(' '.join(block).split())}"[:MAX_FAILURE_TEXT])
            block.clear()

        for number, line in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
            header = _HEADER.match(line)
            if header:
                flush_block()
                current = {"file": header["file"], "passed": None}
                files.append(current)
                continue
            stripped = line.strip()
            if current is None:
                if stripped:
                    raise self.fail(artifact, f"line {number} comes before any test file header")
                continue
            if stripped == "SUCCESS" and current["passed"] is None:
                current["passed"] = True
            elif stripped.startswith("FAILED") and current["passed"] is None:
                current["passed"] = False
                if stripped.removeprefix("FAILED").strip(": "):
                    block.append(stripped)
            elif not stripped:
                flush_block()
            elif current["passed"] is False:
                block.append(stripped)
            else:
                raise self.fail(artifact, f"line {number} is not part of a promtool verdict")
        flush_block()
        if not files:
            raise self.fail(artifact, "no test file sections")
        for entry in files:
            if entry["passed"] is None:
                entry["passed"] = False
                failures.append(f"{entry['file']}: no SUCCESS or FAILED verdict in the output")
            elif entry["passed"] is False and not any(f.startswith(f"{entry['file']}: ") for f in failures):
                failures.append(f"{entry['file']}: FAILED")
        data = {
            "source": "rule-tests", "scope": "rule-tests",
            "passed": all(entry["passed"] for entry in files), "tests": None,
            "failures": failures, "files": files,
        }
        return Normalized(kind=self.kind, format=self.format, producer=Producer("promtool"), data=data)


NORMALIZER = PromtoolTestOutput()
