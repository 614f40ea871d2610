"""The check catalog is held to the check rules' METADATA annotations, read back with the real `opa inspect -a`.

Each attack edits a copy of the real readiness pack the way a careless change would, and expects
`readypolicy policy check` to name the check, the file and the disagreement.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from readypolicy.engines.opa_binary import OpaBinary
from readypolicy.policy.annotations import annotation_problems
from readypolicy.policy.pack import load_pack
from support import REPO, require_opa, run_cli

POLICIES = REPO / "policies"
PACK_DIRS = {"readiness": POLICIES, "priority": POLICIES / "packs" / "priority", "enterprise": POLICIES / "packs" / "enterprise"}


@pytest.fixture
def opa(tmp_path: Path) -> OpaBinary:
    return OpaBinary(require_opa(), tmp_path / "opa-cache")


def _check(project: Path) -> tuple[int, str]:
    done = run_cli("policy", "check", cwd=project)
    return done.returncode, done.stdout + done.stderr


def _catalog(project: Path) -> dict[str, dict[str, str]]:
    return yaml.safe_load((project / "policies" / "config" / "data.yaml").read_text(encoding="utf-8"))["checks"]


@pytest.mark.parametrize("pack", sorted(PACK_DIRS))
def test_the_shipped_packs_agree_with_their_annotations(opa: OpaBinary, pack: str) -> None:
    """Every check rule of every shipped pack is annotated, and every catalog entry has its rule."""
    assert annotation_problems(opa, load_pack(PACK_DIRS[pack])) == []


def test_every_check_rule_carries_title_description_and_custom_fields() -> None:
    """Counted from the Rego text independently: one METADATA block with custom.id per check's `result` head."""
    files = [*(POLICIES / "checks").glob("*.rego"), *(POLICIES / "packs").glob("*/checks/*.rego")]
    text = "\n".join(path.read_text(encoding="utf-8") for path in files if not path.name.endswith("_test.rego"))
    rules = re.findall(r'^result\(id, (?:lane|_)\) := .+ if id == "([^"]+)"$', text, flags=re.MULTILINE)
    assert len(rules) == len(re.findall(r"^result\(", text, flags=re.MULTILINE))
    ids = re.findall(r"^#   id: (\S+)\n#   severity: \w+\n#   remediation: ", text, flags=re.MULTILINE)
    assert rules and sorted(rules) == sorted(ids)


def test_an_annotation_severity_the_catalog_contradicts_fails_the_check(pack_copy: Path) -> None:
    """Raising a check's severity in the catalog alone (or lowering it in the rule alone) is caught."""
    catalog = _catalog(pack_copy)
    assert catalog["coverage.line"]["severity"] == "high"
    data = pack_copy / "policies" / "config" / "data.yaml"
    text = data.read_text(encoding="utf-8")
    entry = text.index("  coverage.line:\n")
    data.write_text(text[:entry] + text[entry:].replace("severity: high", "severity: low", 1), encoding="utf-8")
    assert _catalog(pack_copy)["coverage.line"]["severity"] == "low"
    code, out = _check(pack_copy)
    assert code == 1, out
    assert re.search(
        r"policies/checks/coverage\.rego:\d+: check coverage\.line: annotation severity 'high' differs from the "
        r"catalog's 'low' \(policies/config/data\.yaml\)", out,
    ), out


def test_a_check_rule_without_metadata_fails_the_check(pack_copy: Path) -> None:
    """Deleting a rule's METADATA block (or adding a check without one) is caught at the rule's file and line."""
    rego = pack_copy / "policies" / "checks" / "manifest.rego"
    text = rego.read_text(encoding="utf-8")
    stripped = re.sub(r"# METADATA\n(#.*\n)+(?=result\(id, _\) := manifest_present if id == \"manifest\.present\")", "", text)
    assert stripped != text and "# METADATA" not in stripped
    rego.write_text(stripped, encoding="utf-8")
    row = next(n for n, line in enumerate(stripped.splitlines(), 1) if line.endswith(' if id == "manifest.present"'))
    code, out = _check(pack_copy)
    assert code == 1, out
    assert f"policies/checks/manifest.rego:{row}: check manifest.present: the rule has no METADATA annotation" in out, out


def test_an_annotation_copied_onto_another_check_fails_the_check(pack_copy: Path) -> None:
    """An annotation pasted from tests.unit onto tests.smoke would describe the wrong check: its id must be the rule's."""
    rego = pack_copy / "policies" / "checks" / "tests.rego"
    text = rego.read_text(encoding="utf-8")
    rego.write_text(text.replace("#   id: tests.smoke\n", "#   id: tests.unit\n", 1), encoding="utf-8")
    code, out = _check(pack_copy)
    assert code == 1, out
    assert "check tests.smoke: its METADATA annotation names custom.id 'tests.unit', not 'tests.smoke'" in out, out


def test_an_annotation_without_remediation_fails_the_check(pack_copy: Path) -> None:
    rego = pack_copy / "policies" / "checks" / "docs.rego"
    text = rego.read_text(encoding="utf-8")
    cut = re.sub(r"#   remediation: >-\n(#     .*\n)+(?=result\(id, lane\) := \w+\(lane\) if id == \"docs\.present\")", "", text)
    assert cut != text
    rego.write_text(cut, encoding="utf-8")
    code, out = _check(pack_copy)
    assert code == 1, out
    assert "check docs.present: its METADATA annotation lacks custom.remediation" in out, out


def test_a_catalog_entry_without_a_rule_fails_the_check(pack_copy: Path) -> None:
    """A check listed in the catalog (and so in some lane) that no rule defines is named."""
    data = pack_copy / "policies" / "config" / "data.yaml"
    text = data.read_text(encoding="utf-8")
    data.write_text(text.replace("checks:\n", "checks:\n  ghost.check:\n    title: Ghost\n    severity: low\n"
                                 "    needs: [manifest]\n    remediation: None.\n", 1), encoding="utf-8")
    assert "ghost.check" in _catalog(pack_copy)
    code, out = _check(pack_copy)
    assert code == 1, out
    assert 'policies/config/data.yaml: catalog entry ghost.check has no check rule result("ghost.check", lane)' in out, out


def test_a_pack_reusing_checks_may_word_them_its_own_way(opa: OpaBinary) -> None:
    """The priority pack retitles reused checks ("P0: ..."); the rule is held to its owning pack's catalog instead."""
    priority = yaml.safe_load((PACK_DIRS["priority"] / "config" / "data.yaml").read_text(encoding="utf-8"))["checks"]
    readiness = yaml.safe_load((POLICIES / "config" / "data.yaml").read_text(encoding="utf-8"))["checks"]
    assert priority["manifest.present"]["title"] != readiness["manifest.present"]["title"]
    assert annotation_problems(opa, load_pack(PACK_DIRS["priority"])) == []


def test_every_check_is_written_one_way() -> None:
    """A check's verdict comes from lib.verdict (problems, ok message, evidence): no check file calls lib.pass or lib.fail."""
    files = [*(POLICIES / "checks").glob("*.rego"), *(POLICIES / "packs").glob("*/checks/*.rego")]
    policy_files = [path for path in files if not path.name.endswith("_test.rego")]
    assert len(policy_files) > 10
    offenders = [
        f"{path.relative_to(REPO)}:{n}" for path in policy_files
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if re.search(r"\blib\.(pass|fail)\(", line)
    ]
    assert offenders == []
