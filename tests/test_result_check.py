"""The hand-written result check enforces exactly the documented result schema."""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from readypolicy.decision.result_check import REQUIRED, result_problem

SCHEMA = json.loads((resources.files("readypolicy.decision") / "result.schema.json").read_text(encoding="utf-8"))
GOOD: dict[str, Any] = {
    "allow": False, "lane": "integration", "summary": {"fail": 1},
    "checks": [{"id": "coverage.line", "title": "Line coverage", "status": "fail", "severity": "high",
                "message": "84% is not above 90%", "evidence": ["sha256:" + "a" * 64], "remediation": "add tests",
                "needs": ["coverage"], "waiver": {"approver": "x"}}],
}


def _mutated(path: list[str | int], value: Any) -> Any:
    doc = copy.deepcopy(GOOD)
    target = doc
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return doc


CASES = [
    ("good", GOOD),
    ("not an object", [GOOD]),
    ("allow missing", _mutated(["allow"], KeyError)),
    ("allow a string", _mutated(["allow"], "yes")),
    ("lane a number", _mutated(["lane"], 3)),
    ("summary a list", _mutated(["summary"], [])),
    ("checks missing", _mutated(["checks"], KeyError)),
    ("checks empty", _mutated(["checks"], [])),
    ("checks an object", _mutated(["checks"], {})),
    ("check not an object", _mutated(["checks", 0], "x")),
    *((f"check without {k}", _mutated(["checks", 0, k], KeyError)) for k in REQUIRED),
    ("empty id", _mutated(["checks", 0, "id"], "")),
    ("title a number", _mutated(["checks", 0, "title"], 1)),
    ("unknown status", _mutated(["checks", 0, "status"], "great")),
    ("unknown severity", _mutated(["checks", 0, "severity"], "urgent")),
    ("evidence a string", _mutated(["checks", 0, "evidence"], "sha256:x")),
    ("evidence not a digest", _mutated(["checks", 0, "evidence"], ["sha256:xyz"])),
    ("evidence upper-case hex", _mutated(["checks", 0, "evidence"], ["sha256:" + "A" * 64])),
    ("remediation a list", _mutated(["checks", 0, "remediation"], [])),
    ("needs a string", _mutated(["checks", 0, "needs"], "coverage")),
    ("needs with a number", _mutated(["checks", 0, "needs"], [1])),
    ("waiver a string", _mutated(["checks", 0, "waiver"], "x")),
    ("extra keys allowed", _mutated(["checks", 0, "extra"], 1)),
]


@pytest.mark.parametrize(("name", "result"), CASES, ids=[c[0] for c in CASES])
def test_hand_check_agrees_with_the_schema(name: str, result: Any) -> None:
    schema_ok = Draft202012Validator(SCHEMA).is_valid(result)
    assert (result_problem(result) is None) == schema_ok, name
