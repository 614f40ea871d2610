"""OPA's speed settings never change an answer (issue 17, sixth round).

readypolicy runs OPA with three settings a plain `opa eval` does not have: Go's collector waits for a
512 MiB soft limit (`GOGC=off GOMEMLIMIT=512MiB`, engines/opa_binary.py), the bundle's data is held
as Rego values (`--optimize-store-for-read-speed`) and the value is printed compact, without the JSON
envelope (`--format raw`, both in engines/opa_cli.py; seventh round). All are for speed only, so the
attack is a decision that differs from what OPA decides without them: every golden case of every pack
and a synthetic fleet on every lane are decided both ways, through the real binary, and must agree byte
for byte (messages included). The comparison is shown to catch a difference, so it cannot pass vacuously.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from synthetic_fleet import module_name, module_records

from readypolicy.decision.inputs import build_input
from readypolicy.engines.locate import find_opa
from readypolicy.engines.opa_binary import COLLECTOR_DEFAULTS, OpaBinary
from readypolicy.engines.opa_cli import RAW, READ_SPEED, OpaCliEngine, batch_query, eval_args
from readypolicy.policy import stage
from readypolicy.policy.interface import PolicySet
from readypolicy.policy.pack import golden_dir, load_pack

ROOT = Path(__file__).resolve().parent.parent
PACKS = [ROOT / "policies", ROOT / "policies" / "packs" / "enterprise", ROOT / "policies" / "packs" / "priority",
         ROOT / ".ci" / "pack"]
NOW = "2026-12-02T12:00:00.000000Z"


@pytest.fixture(scope="module")
def opa(tmp_path_factory: pytest.TempPathFactory) -> OpaBinary:
    """The project's OPA binary, with its restricted capabilities cached in a temp dir."""
    return OpaBinary(path=find_opa(None, ROOT), cache_dir=tmp_path_factory.mktemp("opa-cache"))


def plain_opa(opa: OpaBinary, bundle: Path, query: str, inputs: list[Any]) -> list[Any]:
    """The batch decided by `opa eval` without readypolicy's speed settings: Go's default collector, OPA's
    default data store, and OPA's own JSON envelope, read here rather than by the engine's parser."""
    args = eval_args(str(opa.capabilities_file), str(bundle), query)
    assert args[1:3] == list(RAW)
    args = [args[0], "--format", "json", *(arg for arg in args[3:] if arg != READ_SPEED)]
    env = {name: value for name, value in os.environ.items() if name not in COLLECTOR_DEFAULTS}
    done = subprocess.run([str(opa.path), *args], input=json.dumps({"batch": inputs}).encode(), capture_output=True,
                          env=env, check=True, timeout=120)
    return [item["v"][0] for item in json.loads(done.stdout)["result"][0]["expressions"][0]["value"]]


def cases(policy: PolicySet, pack: Path) -> dict[str, list[Any]]:
    """Inputs per lane: the pack's golden cases for it, and 12 synthetic modules."""
    records = [module_records(i, "r1", "2026-12-02T11:00:00Z") for i in range(12)]
    by_lane: dict[str, list[Any]] = {
        lane: [build_input(module_name(i), "r1", lane, found, NOW, []) for i, found in enumerate(records)]
        for lane in policy.lanes
    }
    directory = golden_dir(pack)
    for path in sorted(directory.glob("*.json")) if directory else []:
        case = json.loads(path.read_text(encoding="utf-8"))
        by_lane[case["lane"]].append(case["input"])
    return by_lane


@pytest.mark.parametrize("pack", PACKS, ids=lambda p: p.name)
def test_speed_settings_decide_exactly_as_plain_opa(opa: OpaBinary, pack: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Every lane, golden cases and synthetic modules: the engine's answers equal plain OPA's byte for byte."""
    for name in COLLECTOR_DEFAULTS:
        monkeypatch.delenv(name, raising=False)
    policy = load_pack(pack)
    loaded = stage.load(policy, tmp_path)
    compared = 0
    for lane, inputs in cases(policy, pack).items():
        ours = OpaCliEngine(opa).evaluate(loaded, policy.query(lane), inputs)
        theirs = plain_opa(opa, loaded.path, policy.query(lane), inputs)
        assert json.dumps(ours, sort_keys=True) == json.dumps(theirs, sort_keys=True), lane
        compared += len(inputs)
    assert compared >= 12 * len(policy.lanes)


def test_the_comparison_sees_a_changed_answer(opa: OpaBinary, tmp_path: Path) -> None:
    """A decision that differs in one message is a difference: the check above cannot pass vacuously."""
    policy = load_pack(ROOT / "policies")
    loaded = stage.load(policy, tmp_path)
    inputs = cases(policy, ROOT / "policies")["candidate"][:3]
    ours = OpaCliEngine(opa).evaluate(loaded, policy.query("candidate"), inputs)
    theirs = plain_opa(opa, loaded.path, policy.query("candidate"), inputs)
    assert ours == theirs
    changed = json.loads(json.dumps(theirs))
    changed[0]["checks"][0]["message"] += " "
    assert json.dumps(ours, sort_keys=True) != json.dumps(changed, sort_keys=True)


def test_plain_opa_really_runs_without_the_settings(opa: OpaBinary, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The baseline is what it claims: no read-speed flag, no raw output, no collector variables (a wrapper
    records them)."""
    for name in COLLECTOR_DEFAULTS:
        monkeypatch.delenv(name, raising=False)
    seen = tmp_path / "seen"
    wrapper = tmp_path / "opa"
    wrapper.write_text(f'#!/bin/sh\nprintf "%s|%s|%s\\n" "$GOGC" "$GOMEMLIMIT" "$*" > {seen}\nexec {opa.path} "$@"\n',
                       encoding="utf-8")
    wrapper.chmod(0o755)
    policy = load_pack(ROOT / "policies")
    loaded = stage.load(policy, tmp_path / "stage")
    plain_opa(OpaBinary(path=wrapper, cache_dir=opa.cache_dir), loaded.path, policy.query("candidate"), [])
    gogc, limit, argv = seen.read_text(encoding="utf-8").rstrip("\n").split("|", 2)
    assert (gogc, limit) == ("", "")
    assert READ_SPEED not in argv.split() and batch_query(policy.query("candidate")) in argv
    assert "--format json" in argv and "raw" not in argv.split()
