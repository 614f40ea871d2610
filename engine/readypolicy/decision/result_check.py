"""The shape a lane policy's `decision` must have, checked by hand on the hot path.

`result.schema.json` is the documented contract; this module enforces exactly that contract (a
test keeps the two in agreement) without loading a JSON Schema engine, because it runs once per
module and lane: thousands of times in a fleet evaluation, and on every CI gate's start-up path.
"""

from __future__ import annotations

import re
from typing import Any

STATUSES = frozenset({"pass", "fail", "missing", "waived", "warn"})
ENFORCEMENTS = frozenset({"blocking", "advisory"})
SEVERITIES = frozenset({"critical", "high", "medium", "low", "info"})
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
REQUIRED = ("id", "title", "status", "severity", "message", "evidence")
OPTIONAL_TYPES: dict[str, type] = {"remediation": str, "needs": list, "waiver": dict, "enforce_from": str}
JSON_TYPES: dict[type, str] = {str: "string", list: "array", dict: "object"}


def result_problem(result: Any) -> tuple[str, str] | None:
    """(where, what) of the first violation of the result contract, or None when it holds."""
    if not isinstance(result, dict):
        return "(root)", f"{_kind(result)} is not of type 'object'"
    for key in ("allow", "checks"):
        if key not in result:
            return "(root)", f"'{key}' is a required property"
    if not isinstance(result["allow"], bool):
        return "allow", f"{result['allow']!r} is not of type 'boolean'"
    if "lane" in result and not isinstance(result["lane"], str):
        return "lane", f"{result['lane']!r} is not of type 'string'"
    if "summary" in result and not isinstance(result["summary"], dict):
        return "summary", f"{result['summary']!r} is not of type 'object'"
    checks = result["checks"]
    if not isinstance(checks, list):
        return "checks", f"{_kind(checks)} is not of type 'array'"
    if not checks:
        return "checks", "[] should be non-empty"
    for index, check in enumerate(checks):
        problem = _check_problem(check)
        if problem is not None:
            where, what = problem
            return f"checks/{index}{'/' + where if where else ''}", what
    return None


def _check_problem(check: Any) -> tuple[str, str] | None:
    if not isinstance(check, dict):
        return "", f"{_kind(check)} is not of type 'object'"
    for key in REQUIRED:
        if key not in check:
            return "", f"'{key}' is a required property"
    for key in ("id", "title", "message"):
        if not isinstance(check[key], str):
            return key, f"{check[key]!r} is not of type 'string'"
    if not check["id"]:
        return "id", "'' should be non-empty"
    if check["status"] not in STATUSES:
        return "status", f"{check['status']!r} is not one of {sorted(STATUSES)}"
    if check["severity"] not in SEVERITIES:
        return "severity", f"{check['severity']!r} is not one of {sorted(SEVERITIES)}"
    if "enforcement" in check and check["enforcement"] not in ENFORCEMENTS:
        return "enforcement", f"{check['enforcement']!r} is not one of {sorted(ENFORCEMENTS)}"
    evidence = check["evidence"]
    if not isinstance(evidence, list):
        return "evidence", f"{_kind(evidence)} is not of type 'array'"
    for position, item in enumerate(evidence):
        if not isinstance(item, str) or not DIGEST.match(item):
            return f"evidence/{position}", f"{item!r} is not a sha256 digest"
    for key, kind in OPTIONAL_TYPES.items():
        if key in check and not isinstance(check[key], kind):
            return key, f"{check[key]!r} is not of type '{_json_type(kind)}'"
    if "needs" in check and not all(isinstance(n, str) for n in check["needs"]):
        return "needs", "every item must be a string"
    return None


def _kind(value: Any) -> str:
    return repr(value) if not isinstance(value, dict | list) else type(value).__name__


def _json_type(kind: type) -> str:
    return JSON_TYPES[kind]
