"""mypy's console output (`mypy PATHS > mypy.txt`): type errors, kind `lint`.

mypy prints one `file:line[:col]: error: message  [code]` per error (notes and warnings are not
errors), and ends with a summary: `Found N errors in M files (checked K source files)` or
`Success: no issues found in K source files`. The summary is required, and the errors counted must
agree with it: without it a log cut short (or a crash) would read as fewer errors than there were.
With `--pretty` a message wraps onto unindented lines and is followed by an indented source snippet;
both belong to the message above them.
`--show-error-end` adds the end line and column to each position (`m.py:2:12:2:14: error: ...`), and
`--show-error-context` a note naming the function or class before its errors; both are read, an
error without a line keeps `line` null. `files_checked` is K (what `checked K source files` says).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from readypolicy.evidence.formats.ruff_json import MAX_FINDINGS
from readypolicy.evidence.formats.shape import MESSAGE_LIMIT
from readypolicy.evidence.interface import Artifact, Normalized, Normalizer, Producer

_MESSAGE = re.compile(
    r"^(?P<file>[^\s:][^:]*):(?:(?P<line>\d+)(?::(?P<column>\d+)(?::\d+:\d+)?)?:)? "
    r"(?P<severity>error|note|warning): (?P<text>.*)$")
"""`file:line[:col[:end_line:end_col]]: severity: text`; the position is left out of context notes
(`--show-error-context`: `m.py: note: In function "f":`) and of errors that belong to a whole file."""
_FOUND = re.compile(r"^Found (?P<errors>\d+) errors? in (?P<files>\d+) files? "
                    r"\((?:checked (?P<checked>\d+) source files?|errors prevented further checking)\)$")
_SUCCESS = re.compile(r"^Success: no issues found in (?P<checked>\d+) source files?$")
_CODE = re.compile(r"\s*\[(?P<code>[a-z0-9-]+)\]$")


class MypyText(Normalizer):
    """mypy console output → `lint` evidence (scope mypy)."""

    kind = "lint"
    format = "mypy-text"
    description = "mypy console output with its summary line (Found N errors in M files / Success: ...)"
    priority = 40

    def detect(self, artifact: Artifact) -> bool:
        last = artifact.text_or_empty.rstrip().rsplit("\n", 1)[-1].strip()
        return bool(_FOUND.match(last) or _SUCCESS.match(last))

    def normalize(self, artifact: Artifact) -> Normalized:
        text = artifact.text
        if text is None:
            raise self.fail(artifact, "not UTF-8 text")
        lines = [line.rstrip() for line in text.splitlines() if line.strip()]
        summary = (_FOUND.match(lines[-1]) or _SUCCESS.match(lines[-1])) if lines else None
        if summary is None:
            raise self.fail(artifact, "no summary line (Found N errors in M files / Success: ...): the output is cut "
                                      "short, or mypy ran with --no-error-summary")
        messages: list[dict[str, Any]] = []
        for number, line in enumerate(lines[:-1], start=1):
            if match := _MESSAGE.match(line):
                messages.append({**match.groupdict(), "text": match["text"].strip()})
            elif not messages:
                raise self.fail(artifact, f"line {number} is neither a mypy message nor part of one")
            elif not line.startswith(" "):  # --pretty wraps a message onto unindented lines; snippets are indented
                messages[-1]["text"] = f"{messages[-1]['text']} {line.strip()}"
        errors = [_finding(message) for message in messages if message["severity"] == "error"]
        files = {finding["file"] for finding in errors}
        stated = int(summary.groupdict().get("errors") or 0), int(summary.groupdict().get("files") or 0)
        if (len(errors), len(files)) != stated:
            raise self.fail(artifact, f"the summary says {stated[0]} error(s) in {stated[1]} file(s) but the output holds "
                                      f"{len(errors)} in {len(files)}")
        by_rule = Counter(finding["rule"] for finding in errors)
        checked = summary["checked"]
        data = {
            "scope": "mypy", "tool": "mypy", "total": len(errors), "files_with_findings": len(files),
            "by_rule": dict(sorted(by_rule.items())), "fixable": 0, "syntax_errors": by_rule.get("syntax", 0),
            "files_checked": None if checked is None else int(checked),
            "findings": sorted(errors, key=lambda f: (f["file"], f["line"] or 0, f["column"] or 0))[:MAX_FINDINGS],
        }
        return Normalized(kind=self.kind, format=self.format, producer=Producer("mypy"), data=data)


def _finding(message: dict[str, Any]) -> dict[str, Any]:
    """A `lint` finding from one mypy error; the rule is its trailing `[code]` (`error` when codes are hidden)."""
    code = _CODE.search(message["text"])
    text = message["text"][: code.start()] if code else message["text"]
    return {
        "rule": code["code"] if code else "error", "name": None, "file": message["file"],
        "line": int(message["line"]) if message["line"] else None,
        "column": int(message["column"]) if message["column"] else None,
        "message": " ".join(text.split())[:MESSAGE_LIMIT], "fixable": False,
    }


NORMALIZER = MypyText()
