"""Interop with the real cosign: each side verifies bundles the other signed with the same key.

cosign is built from the Go module proxy by scripts/install-cosign. Without it these tests skip,
except under CI=true, where a missing cosign is a failure (the CI script must have built it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization

from readypolicy.canonical import canonical_bytes, raw_digest
from readypolicy.cli.sign import verify
from readypolicy.signing import (
    SigningError,
    generate_key_pair,
    key_signer,
    key_verifier,
    read_bundle,
    sign_decision,
    verify_decision,
    write_bundle,
    write_key_pair,
)
from readypolicy.signing.intoto import DECISION_PREDICATE_TYPE, VSA_PREDICATE_TYPE, decision_statement

FIXTURES = Path(__file__).parent / "fixtures" / "signing"
ROOT = Path(__file__).resolve().parent.parent
PASSPHRASE = b"interop passphrase"
COSIGN_PASSWORD = "cosign side passphrase"
# cosign insists on a trusted root for --new-bundle-format; key-only verification needs no entries.
EMPTY_TRUSTED_ROOT = {"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1"}


@pytest.fixture(scope="module")
def cosign() -> str:
    tools = Path(os.environ.get("READYPOLICY_TOOLS_DIR", ROOT / ".tools" / "bin"))
    candidate = tools / "cosign"
    found = str(candidate) if candidate.is_file() else shutil.which("cosign")
    if found is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("cosign is required in CI: scripts/install-cosign must run before the tests")
        pytest.skip("cosign not installed; run scripts/install-cosign to enable the interop tests")
    return found


def _cosign(binary: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COSIGN_PASSWORD": COSIGN_PASSWORD, "HOME": str(cwd)}
    return subprocess.run([binary, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
                          check=False)


@pytest.fixture
def work(tmp_path: Path) -> Path:
    write_key_pair(generate_key_pair(PASSPHRASE), tmp_path / "rp.key", tmp_path / "rp.pub")
    (tmp_path / "trusted_root.json").write_text(json.dumps(EMPTY_TRUSTED_ROOT))
    return tmp_path


@pytest.fixture
def decision() -> dict[str, Any]:
    return json.loads((FIXTURES / "decision.json").read_text())


def _cosign_verify(cosign: str, work: Path, bundle: Path, predicate_type: str, blob: Path):
    return _cosign(cosign, "verify-blob-attestation", "--key", "rp.pub", "--bundle", str(bundle),
                   "--new-bundle-format", "--insecure-ignore-tlog", "--trusted-root", "trusted_root.json",
                   "--type", predicate_type, str(blob), cwd=work)


def _import_key(cosign: str, work: Path) -> Path:
    """cosign import-key-pair takes an unencrypted PKCS#8 PEM; decrypt readypolicy's key for it."""
    key = serialization.load_pem_private_key((work / "rp.key").read_bytes(), PASSPHRASE)
    plain = work / "plain.pem"
    plain.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()))
    result = _cosign(cosign, "import-key-pair", "--key", "plain.pem", "--output-key-prefix", "imported",
                     cwd=work)
    assert result.returncode == 0, result.stderr
    assert (work / "imported.pub").read_bytes() == (work / "rp.pub").read_bytes()
    return work / "imported.key"


def test_cosign_verifies_a_readypolicy_decision_bundle(cosign: str, work: Path, decision) -> None:
    bundle = work / "decision.sigstore.json"
    write_bundle(sign_decision(decision, key_signer(work / "rp.key", PASSPHRASE)), bundle)
    blob = work / "payments.decision.json"
    blob.write_bytes(canonical_bytes(decision))
    result = _cosign_verify(cosign, work, bundle, DECISION_PREDICATE_TYPE, blob)
    assert result.returncode == 0, result.stderr
    assert "Verified OK" in result.stderr


def test_cosign_verifies_a_readypolicy_vsa_about_the_module_artifact(cosign: str, work: Path, decision) -> None:
    artifact = work / "payments.tar"
    artifact.write_bytes(b"module artifact bytes\n")
    bundle = work / "decision.vsa.sigstore.json"
    signer = key_signer(work / "rp.key", PASSPHRASE)
    write_bundle(sign_decision(decision, signer, raw_digest(artifact.read_bytes()), vsa=True), bundle)
    result = _cosign_verify(cosign, work, bundle, VSA_PREDICATE_TYPE, artifact)
    assert result.returncode == 0, result.stderr


def test_cosign_rejects_a_changed_decision_and_a_changed_bundle(cosign: str, work: Path, decision) -> None:
    signed = sign_decision(decision, key_signer(work / "rp.key", PASSPHRASE))
    bundle = work / "decision.sigstore.json"
    write_bundle(signed, bundle)
    blob = work / "payments.decision.json"
    blob.write_bytes(canonical_bytes({**decision, "allow": True}))
    changed_blob = _cosign_verify(cosign, work, bundle, DECISION_PREDICATE_TYPE, blob)
    assert changed_blob.returncode != 0
    assert "digest does not match" in changed_blob.stderr
    blob.write_bytes(canonical_bytes(decision))
    sig = signed["dsseEnvelope"]["signatures"][0]["sig"]
    signed["dsseEnvelope"]["signatures"][0]["sig"] = sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:]
    write_bundle(signed, bundle)
    assert _cosign_verify(cosign, work, bundle, DECISION_PREDICATE_TYPE, blob).returncode != 0


def test_readypolicy_verifies_a_cosign_signed_readypolicy_statement(cosign: str, work: Path, decision) -> None:
    imported = _import_key(cosign, work)
    (work / "statement.json").write_text(json.dumps(decision_statement(decision)))
    result = _cosign(cosign, "attest-blob", "--key", str(imported), "--statement", "statement.json",
                     "--new-bundle-format", "--tlog-upload=false", "--bundle", "cosign.sigstore.json", "-y",
                     cwd=work)
    assert result.returncode == 0, result.stderr
    bundle = read_bundle(work / "cosign.sigstore.json")
    assert "tlogEntries" not in bundle["verificationMaterial"]
    verified = verify_decision(decision, bundle, key_verifier(work / "rp.pub"))
    assert verified.kind == "decision"
    assert verified.subject_name == "payments.decision.json"
    with pytest.raises(SigningError, match=r"differs from the signed decision at evaluated_at"):
        verify_decision({**decision, "evaluated_at": "2026-11-26T12:00:00.000000Z"}, bundle,
                        key_verifier(work / "rp.pub"))


def test_readypolicy_cli_verifies_a_cosign_predicate_attestation(cosign: str, work: Path, decision) -> None:
    imported = _import_key(cosign, work)
    (work / "decision.json").write_text(json.dumps(decision, indent=2))
    (work / "payments").write_bytes(b"module artifact bytes\n")
    result = _cosign(cosign, "attest-blob", "--key", str(imported), "--predicate", "decision.json",
                     "--type", DECISION_PREDICATE_TYPE, "--new-bundle-format", "--tlog-upload=false",
                     "--bundle", "decision.sigstore.json", "-y", "payments", cwd=work)
    assert result.returncode == 0, result.stderr
    checked = CliRunner().invoke(verify, [str(work / "decision.json"), "--key", str(work / "rp.pub")])
    assert checked.exit_code == 0, checked.output
    assert "subject:  payments sha256:" in checked.output
