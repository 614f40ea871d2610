"""Red-team findings on the SLSA VSA: a verification summary must vouch for one decision record, not a family.

The VSA's summary fields (allow, lane, evidence, policy, waived/warned lists) match every record that
differs only elsewhere (check messages, `input_digest`, recorded waivers), so a VSA bound to nothing
more "verified" a decision file edited after signing. These tests sign with the real CLI, edit the
real files, and check the binding digest independently (hashlib over rfc8785 bytes, and with the
real cosign for the VSA-only path).
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import rfc8785

from policy_project import Project, make_project
from readypolicy.signing import generate_key_pair, key_signer, write_bundle, write_key_pair
from readypolicy.signing.intoto import DECISION_BINDING, VSA_PREDICATE_TYPE, vsa_statement
from test_signing_cosign import _cosign
from test_signing_cosign import cosign as cosign  # the fixture: the real cosign, skipped when not installed

PASSWORD = "red team passphrase"
ARTIFACT = "sha256:" + "ab" * 32


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _signed(tmp_path: Path, *subject: str) -> tuple[Project, Path, Path]:
    """A project whose payments decision `eval --sign --vsa` signed: (project, decision file, VSA bundle)."""
    project = make_project(tmp_path)
    write_key_pair(generate_key_pair(PASSWORD.encode()), tmp_path / "k.key", tmp_path / "k.pub")
    signed = project.run("eval", "--module", "payments", "--lane", "candidate", "--revision", "abc", "--sign",
                         "--key", str(tmp_path / "k.key"), "--vsa", *subject, "--sign-dir", str(tmp_path / "d"),
                         env={"READYPOLICY_KEY_PASSWORD": PASSWORD})
    assert signed.exit_code in (0, 1), signed.output
    out = tmp_path / "d"
    return project, out / "payments.candidate.decision.json", out / "payments.candidate.decision.vsa.sigstore.json"


def _predicate(bundle: Path) -> dict[str, Any]:
    payload = json.loads(bundle.read_text(encoding="utf-8"))["dsseEnvelope"]["payload"]
    statement = json.loads(base64.b64decode(payload))
    assert statement["predicateType"] == VSA_PREDICATE_TYPE
    predicate: dict[str, Any] = statement["predicate"]
    return predicate


def _verify(project: Project, tmp_path: Path, decision: Path, bundle: Path) -> Any:
    return project.run("verify", str(decision), "--key", str(tmp_path / "k.pub"), "--bundle", str(bundle))


def test_a_vsa_bundle_does_not_vouch_for_an_edited_decision_file(tmp_path: Path) -> None:
    """Edit messages and input_digest, recompute decision_id: the summary is unchanged, the binding is not."""
    project, decision_path, vsa = _signed(tmp_path, "--subject-digest", ARTIFACT)
    assert _verify(project, tmp_path, decision_path, vsa).exit_code == 0  # the untouched file verifies
    signed_digest = _sha256(decision_path.read_bytes())  # eval --sign writes the canonical bytes
    decision = json.loads(decision_path.read_text(encoding="utf-8"))
    decision["checks"][0]["message"] = "edited after signing"
    decision["input_digest"] = "sha256:" + "0" * 64
    decision["decision_id"] = _sha256(rfc8785.dumps({k: v for k, v in decision.items() if k != "decision_id"}))
    decision_path.write_bytes(rfc8785.dumps(decision))
    verified = _verify(project, tmp_path, decision_path, vsa)
    assert verified.exit_code == 2, f"an edited decision file verified: {verified.output}"
    assert decision["decision_id"] not in verified.stdout
    assert f"{decision_path}: is not the decision record the VSA vouches for" in verified.stderr
    assert f"the VSA binds {signed_digest}, this file is {_sha256(decision_path.read_bytes())}" in verified.stderr


def test_a_vsa_that_names_no_decision_record_vouches_for_no_file(tmp_path: Path) -> None:
    """A VSA signed without the binding (as before the fix) must not verify whatever file matches its summary."""
    project, decision_path, vsa = _signed(tmp_path, "--subject-digest", ARTIFACT)
    decision = json.loads(decision_path.read_text(encoding="utf-8"))
    statement = vsa_statement(decision, ARTIFACT)
    del statement["predicate"][DECISION_BINDING]
    signer = key_signer(tmp_path / "k.key", PASSWORD.encode())
    write_bundle(signer.sign_statement(statement), vsa)
    verified = _verify(project, tmp_path, decision_path, vsa)
    assert verified.exit_code == 2, verified.output
    assert f"{decision_path}: the VSA names no decision record it vouches for" in verified.stderr


@pytest.mark.parametrize("subject", [("--subject-digest", ARTIFACT), ()], ids=["artifact-subject", "decision-subject"])
def test_a_verified_vsa_names_the_decision_record_it_vouches_for(tmp_path: Path, subject: tuple[str, ...]) -> None:
    """The VSA carries the record's canonical sha256 and id, and `verify` prints what it vouched for."""
    project, decision_path, vsa = _signed(tmp_path, *subject)
    raw = decision_path.read_bytes()
    decision = json.loads(raw)
    expected = _sha256(rfc8785.dumps(decision))
    assert _sha256(raw) == expected  # the sign dir holds the canonical bytes, so sha256sum of the file agrees
    bound = _predicate(vsa)[DECISION_BINDING]
    assert bound == {"name": "payments.decision.json", "digest": {"sha256": expected.removeprefix("sha256:")},
                     "annotations": {"decision_id": decision["decision_id"]}}
    verified = _verify(project, tmp_path, decision_path, vsa)
    assert verified.exit_code == 0, verified.output
    assert f"  vouches:  decision record {expected} (this file)" in verified.stdout


def test_a_vsa_checked_with_cosign_alone_still_tells_an_edited_decision_file_apart(tmp_path: Path, cosign: str) -> None:
    """Without readypolicy: cosign verifies the VSA over the module artifact; the signed binding names the file.

    An auditor holding the VSA and a decision file compares the predicate's digest with the file's
    sha256sum; an edited file (decision_id recomputed) no longer matches, while cosign still
    verifies the VSA (it binds the artifact, and only the binding ties it to one record).
    """
    artifact = tmp_path / "payments.tar"
    artifact.write_bytes(b"module artifact bytes\n")
    _, decision_path, vsa = _signed(tmp_path, "--subject-digest", _sha256(artifact.read_bytes()))
    (tmp_path / "trusted_root.json").write_text(
        json.dumps({"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1"}), encoding="utf-8")
    checked = _cosign(cosign, "verify-blob-attestation", "--key", "k.pub", "--bundle", str(vsa),
                      "--new-bundle-format", "--insecure-ignore-tlog", "--trusted-root", "trusted_root.json",
                      "--type", VSA_PREDICATE_TYPE, str(artifact), cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    bound = "sha256:" + _predicate(vsa)[DECISION_BINDING]["digest"]["sha256"]
    assert bound == _sha256(decision_path.read_bytes())
    decision = json.loads(decision_path.read_text(encoding="utf-8"))
    decision["checks"][0]["message"] = "edited after signing"
    decision["decision_id"] = _sha256(rfc8785.dumps({k: v for k, v in decision.items() if k != "decision_id"}))
    decision_path.write_bytes(rfc8785.dumps(decision))
    assert bound != _sha256(decision_path.read_bytes())
