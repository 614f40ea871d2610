"""The assembly builds catalog and enforcement fields for the deciding lane's checks only
(policies/lib/decision.rego `decide`, a speed-up for issue 17). These tests attack that
shortcut through the real OPA binary and the staged default pack, under the flags readypolicy
evaluates with: a malformed `enforce_from` on a check of a *higher* lane must still be an error
when a lower lane decides (never silently skipped because the lane does not list the check), and
every check of the lane must still carry its catalog entry's fields.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from readypolicy.engines.locate import find_opa
from readypolicy.engines.opa_binary import OpaBinary
from readypolicy.policy import stage
from readypolicy.policy.pack import load_pack

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
GOLDEN = ROOT / "tests" / "golden" / "readiness" / "production-ready.json"


@pytest.fixture(scope="module")
def opa(tmp_path_factory: pytest.TempPathFactory) -> OpaBinary:
    """The project's OPA binary, with its restricted capabilities cached in a temp dir."""
    return OpaBinary(path=find_opa(None, ROOT), cache_dir=tmp_path_factory.mktemp("opa-cache"))


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default pack staged as evaluations load it."""
    return stage.load(load_pack(POLICIES), tmp_path_factory.mktemp("stage")).path


def _eval(opa: OpaBinary, bundle: Path, tmp_path: Path, query: str) -> tuple[int, dict]:
    case = json.loads(GOLDEN.read_text(encoding="utf-8"))
    inp = tmp_path / "input.json"
    inp.write_text(json.dumps(case["input"]), encoding="utf-8")
    done = opa.run(["eval", "--format", "json", "--strict", "--strict-builtin-errors", "--capabilities",
                    str(opa.capabilities_file), "--bundle", str(bundle), "--input", str(inp), query])
    return done.returncode, json.loads(done.stdout or "{}")


def _catalog() -> dict:
    return yaml.safe_load((POLICIES / "config" / "data.yaml").read_text(encoding="utf-8"))


def test_a_malformed_date_on_a_higher_lane_check_is_an_error_in_a_lower_lane(
    opa: OpaBinary, bundle: Path, tmp_path: Path,
) -> None:
    """dr.drill is a production check; candidate does not list it, yet its bad date still fails the evaluation."""
    catalog = _catalog()
    assert "dr.drill" in catalog["lanes"]["production"]["checks"]
    assert "dr.drill" not in catalog["lanes"]["candidate"]["checks"]
    query = ('[d | c := json.patch(data.readiness.config, [{"op": "add", "path": "/checks/dr.drill/enforce_from", '
             '"value": "15/01/2027"}]); d := data.readiness.candidate.decision with data.readiness.config as c]')
    code, out = _eval(opa, bundle, tmp_path, query)
    assert code != 0
    assert "time.parse_ns" in out["errors"][0]["message"]


def test_every_check_of_the_lane_carries_its_catalog_fields(opa: OpaBinary, bundle: Path, tmp_path: Path) -> None:
    """Compared with the catalog read by yaml, not by the policy: title, severity, remediation, needs, enforcement."""
    catalog = _catalog()
    code, out = _eval(opa, bundle, tmp_path, "data.readiness.candidate.decision")
    assert code == 0, out
    checks = out["result"][0]["expressions"][0]["value"]["checks"]
    assert [c["id"] for c in checks] == catalog["lanes"]["candidate"]["checks"]
    for check in checks:
        entry = catalog["checks"][check["id"]]
        assert {k: check[k] for k in ("title", "severity", "remediation", "needs")} == {
            k: entry[k] for k in ("title", "severity", "remediation", "needs")}
        assert check["enforcement"] == entry.get("enforcement", catalog["enforcement"]["default"])


def test_a_lane_check_missing_from_the_catalog_leaves_no_decision(opa: OpaBinary, bundle: Path, tmp_path: Path) -> None:
    """A candidate check whose catalog entry is gone is dropped by the assembly, so the lane has no decision at all."""
    whole = '[d | d := data.readiness.candidate.decision]'
    untitled = ('[d | c := json.remove(data.readiness.config, ["checks/tests.unit/title"]); '
                'd := data.readiness.candidate.decision with data.readiness.config as c]')
    for query, decisions in ((whole, 1), (untitled, 0)):
        code, out = _eval(opa, bundle, tmp_path, query)
        assert code == 0, out
        assert len(out["result"][0]["expressions"][0]["value"]) == decisions, query
