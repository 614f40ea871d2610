"""promtool `check rules` and `check metrics` output (stdout and stderr together: `2>&1`).

`promtool check rules F...` prints `Checking F` per file, then `  SUCCESS: N rules found` or
`  FAILED:` followed by the errors (on stderr). A section without a verdict counts as failed: it is
what a log cut short, or one whose stderr was not captured, looks like, and a missing verdict is not
a pass. Scope `rules-check`; `rules` is the total of rules found in the files that passed.

`promtool check metrics < scrape` lints an exposition: one `<metric> <problem>` line per problem
(on stderr) and, with `--extended`, a cardinality table on stdout (`Metric Cardinality
Percentage`, one row per metric, `Total N 100%`). Scope `metrics-lint`; `series` is the table's
total and `metric_cardinality` its rows (null and empty without `--extended`).

An empty file is refused, even with `--format promtool-check`: promtool prints its problems on
stderr and nothing on success, so `promtool check metrics > f` leaves an empty file however many
problems there were, and so does a job that never ran it. Capture with `--extended ... 2>&1`, whose
table shows that the check ran.
"""

from __future__ import annotations

import re
from typing import Any

from readypolicy.evidence.formats.promtool_test_output import MAX_FAILURE_TEXT, MAX_FAILURES
from readypolicy.evidence.interface import Artifact, Normalized, Normalizer, Producer

_CHECKING = re.compile(r"^Checking (?P<file>\S.*?)\s*$")
_SUCCESS = re.compile(r"^\s+SUCCESS: (?P<rules>\d+) rules found\s*$")
_FAILED = re.compile(r"^\s+FAILED:(?P<rest>.*)$")
_TABLE_HEADER = re.compile(r"^Metric\s+Cardinality\s+Percentage\s*$")
_TABLE_ROW = re.compile(r"^(?P<metric>[a-zA-Z_:][a-zA-Z0-9_:]*)\s+(?P<count>\d+)\s+(?P<share>\d+(?:\.\d+)?)%\s*$")
_LINT = re.compile(r"^(?P<metric>[a-zA-Z_:][a-zA-Z0-9_:]*) (?P<text>\S.*?)\s*$")
_PROMLINT_TEXT = re.compile(r"no help text|should |use base unit")
"""What promlint's problem texts say; auto-detection of a lint-only file needs one of them."""


class PromtoolCheck(Normalizer):
    """promtool check rules / check metrics output → `telemetry` evidence (scope rules-check or metrics-lint)."""

    kind = "telemetry"
    format = "promtool-check"
    description = "promtool check rules / check metrics output (2>&1); an empty file is refused"
    priority = 40

    def detect(self, artifact: Artifact) -> bool:
        head = artifact.head
        # Each way to say yes below matches words of the head (`_CHECKING` on the first line, `_TABLE_HEADER`,
        # `_PROMLINT_TEXT`): a head without any of them is no promtool output, found without splitting it.
        if ("Checking " not in head and "Metric" not in head and "no help text" not in head
                and "should " not in head and "use base unit" not in head):
            return False
        lines = [line for line in head.splitlines() if line.strip()]
        if len(artifact.raw) > 4096:
            lines = lines[:-1]  # the head may cut the last line short
        if not lines:
            return False
        if _CHECKING.match(lines[0]):
            return any(_SUCCESS.match(line) or _FAILED.match(line) for line in lines)
        if any(_TABLE_HEADER.match(line) for line in lines):
            return True
        return all(_LINT.match(line) for line in lines) and any(
            _PROMLINT_TEXT.search(match["text"]) for line in lines if (match := _LINT.match(line)))

    def normalize(self, artifact: Artifact) -> Normalized:
        text = artifact.text
        if text is None:
            raise self.fail(artifact, "not UTF-8 text")
        lines = text.lstrip("\ufeff").splitlines()
        content = [line for line in lines if line.strip()]
        if not content:
            raise self.fail(artifact, "empty: promtool prints its problems on stderr and nothing on success, so an empty "
                                      "file cannot tell a pass from a lost stderr or a run that never happened; capture "
                                      "check metrics with --extended and 2>&1")
        data = self._rules(artifact, lines) if _CHECKING.match(content[0]) else self._metrics(artifact, content)
        return Normalized(kind=self.kind, format=self.format, producer=Producer("promtool"), data=data)

    def _rules(self, artifact: Artifact, lines: list[str]) -> dict[str, Any]:
        files: list[dict[str, Any]] = []
        details: dict[int, list[str]] = {}  # index in files -> promtool's error lines for that file
        for number, line in enumerate(lines, start=1):
            if header := _CHECKING.match(line):
                files.append({"file": header["file"], "passed": None, "rules": None})
            elif not files:
                raise self.fail(artifact, f"line {number} comes before any `Checking FILE` line")
            elif (success := _SUCCESS.match(line)) and files[-1]["passed"] is None:
                files[-1]["passed"], files[-1]["rules"] = True, int(success["rules"])
            elif (failed := _FAILED.match(line)) and files[-1]["passed"] is None:
                files[-1]["passed"] = False
                details[len(files) - 1] = [failed["rest"].strip()]
            elif files[-1]["passed"] is False and line.strip():
                details[len(files) - 1].append(line.strip())
            elif line.strip():
                raise self.fail(artifact, f"line {number} is not part of a promtool check rules verdict")
        failures: list[str] = []
        for index, entry in enumerate(files):
            if entry["passed"] is None:
                entry["passed"] = False
                failures.append(f"{entry['file']}: no SUCCESS or FAILED verdict in the output")
            elif entry["passed"] is False:
                # promtool prefixes each error with the file name already; say it once.
                text = " ".join(" ".join(part for part in details[index] if part).split()).removeprefix(f"{entry['file']}: ")
                failures.append(f"{entry['file']}: {text or 'FAILED'}"[:MAX_FAILURE_TEXT])
        return {
            "source": "rules-check", "scope": "rules-check", "passed": all(entry["passed"] for entry in files),
            "rules": sum(entry["rules"] for entry in files if entry["rules"] is not None),
            "failures": failures[:MAX_FAILURES], "files": files,
        }

    def _metrics(self, artifact: Artifact, lines: list[str]) -> dict[str, Any]:
        problems: list[dict[str, str]] = []
        cardinality: dict[str, int] = {}
        series: int | None = None
        in_table = False
        for number, line in enumerate(lines, start=1):
            if _TABLE_HEADER.match(line) and not in_table:
                in_table = True
            elif in_table and (row := _TABLE_ROW.match(line)):
                if row["metric"] == "Total":
                    series = int(row["count"])
                else:
                    cardinality[row["metric"]] = int(row["count"])
            elif not in_table and (lint := _LINT.match(line)):
                problems.append({"metric": lint["metric"], "problem": lint["text"][:MAX_FAILURE_TEXT]})
            else:
                raise self.fail(artifact, f"line {number} is not a promtool check metrics line")
        if in_table and series is None:
            raise self.fail(artifact, "the --extended table has no Total row (output cut short)")
        return {
            "source": "metrics-lint", "scope": "metrics-lint", "passed": not problems,
            "problem_count": len(problems), "problems": problems[:MAX_FAILURES], "series": series,
            "metric_cardinality": cardinality,
        }


NORMALIZER = PromtoolCheck()
