"""A throwaway project with a signing key and one signed decision, for replay and audit tests."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support import coverage_json, make_project, run_cli

PASSWORD = {"READYPOLICY_KEY_PASSWORD": "test passphrase"}


EVAL_LOCKED = ("eval", "-m", "svc", "-r", "r1", "--locked", "--no-record")
"""The gate under bundles/lock.json, for the subject every approver project ingests (svc@r1)."""
BUILD_MINI = ("policy", "build", "--pack", "mini")
APPROVE_MINI = ("policy", "approve", "--pack", "mini", "--key", "approver.key")
"""The approver's signed approval of the mini pack's newest build."""


def ok(project: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run the CLI in `project` (the key password set) and require exit 0."""
    done = run_cli(*args, cwd=project, env=PASSWORD)
    assert done.returncode == 0, done.stderr
    return done


def approver_project(project: Path, *key_prefixes: str) -> Path:
    """`project` with policy_approvers [approver.pub], a key pair per prefix and 90% coverage of svc@r1 ingested."""
    for prefix in key_prefixes:
        ok(project, "keygen", "--prefix", prefix)
    config = project / "readypolicy.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "policy_approvers: [approver.pub]\n", encoding="utf-8")
    ok(project, "ingest", coverage_json(project / "coverage.json", covered=90, total=100), "-m", "svc", "-r", "r1")
    return project


def tighten_mini(project: Path) -> None:
    """Raise the mini pack's coverage floor from 70% to 95% (90% coverage: READY before, NOT READY after)."""
    rego = project / "policies" / "packs" / "mini" / "candidate" / "candidate.rego"
    assert "> 70" in rego.read_text(encoding="utf-8")
    rego.write_text(rego.read_text(encoding="utf-8").replace("> 70", "> 95"), encoding="utf-8")

# A pack whose one check can be waived, with the expiry judged against input.now (as the shipped
# packs do), so replay must feed the recorded time and waivers back in to agree.
WAIVABLE_PACK = {
    "pack.yaml": "name: waivable\nversion: 0.1.0\nroot: waivable\nlanes:\n  candidate: candidate\n"
                 "sources:\n  candidate: candidate\n",
    "candidate/candidate.rego": """package waivable.candidate

import rego.v1

coverage := [d | some d in object.get(input.evidence, "coverage", [])]

base := {
	"id": "coverage.line", "title": "Line coverage", "severity": "high",
	"message": sprintf("%v%%", [coverage[0].data.line_percent]), "evidence": [coverage[0].digest],
}

waiver := w if {
	some w in input.waivers
	w.check == "coverage.line"
	w.lane == input.lane
	time.parse_rfc3339_ns(w.expires) > time.parse_rfc3339_ns(input.now)
}

check := object.union(base, {"status": "pass"}) if {
	coverage[0].data.line_percent > 70
} else := object.union(base, {"status": "waived", "waiver": waiver}) if {
	waiver
} else := object.union(base, {"status": "fail"})

decision := {"allow": check.status != "fail", "checks": [check]}
""",
}


@dataclass(frozen=True)
class SignedProject:
    """A project directory, its key pair and the files of one signed decision."""

    root: Path
    """Project directory (readypolicy.yaml, store.db, policies/)."""
    private_key: Path
    """Encrypted private key (passphrase in PASSWORD)."""
    public_key: Path
    """Public key."""
    decision: Path
    """The signed decision file written by `eval --sign`."""
    bundle: Path
    """Its Sigstore bundle."""

    def record(self) -> dict[str, Any]:
        """The decision record as written."""
        return json.loads(self.decision.read_text(encoding="utf-8"))

    def cli(self, *args: str | Path, **kwargs: Any) -> Any:
        """Run the CLI in the project with the key passphrase set."""
        return run_cli(*args, cwd=self.root, env=PASSWORD, **kwargs)


def write_waivable_pack(project: Path) -> None:
    """Add the waivable pack next to the copied test packs."""
    for relative, text in WAIVABLE_PACK.items():
        target = project / "policies" / "packs" / "waivable" / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def signed_project(tmp: Path, covered: int = 90, pack: str = "mini", waivers: str | None = None) -> SignedProject:
    """Keygen, ingest one coverage report for svc@r1, `eval --sign`; asserts each step worked."""
    project = make_project(tmp, pack=pack)
    write_waivable_pack(project)
    if waivers is not None:
        (project / "waivers.yaml").write_text(waivers, encoding="utf-8")
    keygen = run_cli("keygen", "--prefix", "team", cwd=project, env=PASSWORD)
    assert keygen.returncode == 0, keygen.stderr
    report = coverage_json(tmp / "coverage.json", covered=covered, total=100)
    ingest = run_cli("ingest", report, "-m", "svc", "-r", "r1", cwd=project)
    assert ingest.returncode == 0, ingest.stderr
    evaluated = run_cli("eval", "-m", "svc", "--sign", "--key", "team.key", cwd=project, env=PASSWORD)
    assert evaluated.returncode in (0, 1), evaluated.stderr
    decision = project / ".readypolicy" / "decisions" / "svc.candidate.decision.json"
    bundle = project / ".readypolicy" / "decisions" / "svc.candidate.decision.sigstore.json"
    assert f"signed: {decision}" in evaluated.stderr and f"signed: {bundle}" in evaluated.stderr
    return SignedProject(project, project / "team.key", project / "team.pub", decision, bundle)
