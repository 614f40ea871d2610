"""Key-based signing of decision records: statements, bundles, verification and tamper evidence."""

from __future__ import annotations

import base64
import copy
import json
import stat
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sigstore_models.bundle.v1 import Bundle as BundleModel

from readypolicy.canonical import digest
from readypolicy.cli.sign import keygen, sign, verify
from readypolicy.signing import (
    KeySigner,
    KeyVerifier,
    SigningError,
    check_decision_id,
    generate_key_pair,
    key_signer,
    key_verifier,
    sign_decision,
    verify_decision,
    write_key_pair,
)
from readypolicy.signing.dsse import INTOTO_PAYLOAD_TYPE, pae
from readypolicy.signing.intoto import (
    DECISION_PREDICATE_TYPE,
    VSA_PREDICATE_TYPE,
    decision_statement,
    lane_level,
    vsa_statement,
)

FIXTURES = Path(__file__).parent / "fixtures" / "signing"
PASSPHRASE = b"correct horse battery staple"
ARTIFACT = "sha256:" + "ab" * 32


@pytest.fixture
def decision() -> dict[str, Any]:
    return json.loads((FIXTURES / "decision.json").read_text())


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    private, public = tmp_path / "rp.key", tmp_path / "rp.pub"
    write_key_pair(generate_key_pair(PASSPHRASE), private, public)
    return private, public


@pytest.fixture
def signer(keys: tuple[Path, Path]) -> KeySigner:
    return key_signer(keys[0], PASSPHRASE)


@pytest.fixture
def verifier(keys: tuple[Path, Path]) -> KeyVerifier:
    return key_verifier(keys[1])


def _payload(bundle: dict[str, Any]) -> bytes:
    return base64.b64decode(bundle["dsseEnvelope"]["payload"])


def _with_payload(bundle: dict[str, Any], payload: bytes) -> dict[str, Any]:
    tampered = copy.deepcopy(bundle)
    tampered["dsseEnvelope"]["payload"] = base64.b64encode(payload).decode()
    return tampered


# --- statements ---------------------------------------------------------------------------------


def test_decision_fixture_id_is_its_content_digest(decision: dict[str, Any]) -> None:
    body = {k: v for k, v in decision.items() if k != "decision_id"}
    assert decision["decision_id"] == digest(body)
    check_decision_id(decision)


def test_statement_subject_is_the_decision_digest_without_artifact(decision: dict[str, Any]) -> None:
    statement = decision_statement(decision)
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == DECISION_PREDICATE_TYPE
    assert statement["predicate"] == decision
    assert statement["subject"] == [
        {"name": "payments.decision.json", "digest": {"sha256": digest(decision).removeprefix("sha256:")}}
    ]


def test_statement_subject_is_the_module_artifact_when_given(decision: dict[str, Any]) -> None:
    statement = decision_statement(decision, ARTIFACT)
    assert statement["subject"] == [{"name": "payments", "digest": {"sha256": "ab" * 32}}]


def test_statement_rejects_a_malformed_subject_digest(decision: dict[str, Any]) -> None:
    with pytest.raises(SigningError, match=r"subject digest: expected a digest of the form sha256"):
        decision_statement(decision, "md5:1234")


def test_vsa_summarises_a_failed_decision(decision: dict[str, Any]) -> None:
    predicate = vsa_statement(decision)["predicate"]
    assert vsa_statement(decision)["predicateType"] == VSA_PREDICATE_TYPE
    assert predicate["verificationResult"] == "FAILED"
    assert predicate["verifiedLevels"] == ["FAILED"]
    assert predicate["timeVerified"] == decision["evaluated_at"]
    assert predicate["resourceUri"] == "urn:readypolicy:module:payments@abc123"
    assert predicate["policy"]["digest"] == {"sha256": "3" * 64}
    assert [item["digest"]["sha256"] for item in predicate["inputAttestations"]] == ["1" * 64, "2" * 64]
    assert predicate["verifier"]["version"] == {"opa": "1.22.2"}


def test_vsa_of_an_allowed_decision_names_the_lane_level(decision: dict[str, Any]) -> None:
    decision["allow"] = True
    predicate = vsa_statement(decision)["predicate"]
    assert predicate["verificationResult"] == "PASSED"
    assert predicate["verifiedLevels"] == ["READYPOLICY_LANE_PRODUCTION"]
    assert lane_level("pre-prod") == "READYPOLICY_LANE_PRE_PROD"


# --- keys ---------------------------------------------------------------------------------------


def test_keygen_writes_an_encrypted_private_key_with_owner_only_access(keys: tuple[Path, Path]) -> None:
    private, public = keys
    assert private.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert public.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")


def test_keygen_refuses_to_overwrite_and_to_encrypt_with_nothing(keys: tuple[Path, Path]) -> None:
    with pytest.raises(SigningError, match=r"already exists"):
        write_key_pair(generate_key_pair(PASSPHRASE), *keys)
    with pytest.raises(SigningError, match=r"passphrase is empty"):
        generate_key_pair(b"")


def test_private_key_needs_the_right_passphrase(keys: tuple[Path, Path]) -> None:
    with pytest.raises(SigningError, match=r"is encrypted; set READYPOLICY_KEY_PASSWORD"):
        key_signer(keys[0], None)
    with pytest.raises(SigningError, match=r"wrong passphrase"):
        key_signer(keys[0], b"not it")


# --- sign and verify ----------------------------------------------------------------------------


def test_bundle_has_the_sigstore_v03_public_key_shape(decision: dict[str, Any], signer: KeySigner) -> None:
    bundle = sign_decision(decision, signer)
    assert bundle["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
    assert set(bundle["verificationMaterial"]) == {"publicKey", "tlogEntries"}
    envelope = bundle["dsseEnvelope"]
    assert envelope["payloadType"] == INTOTO_PAYLOAD_TYPE
    assert len(envelope["signatures"]) == 1
    model = BundleModel.from_dict(bundle)
    assert model.verification_material.public_key is not None
    assert json.loads(_payload(bundle)) == decision_statement(decision)


def test_signature_covers_the_dsse_pae(decision: dict[str, Any], signer: KeySigner, keys) -> None:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    bundle = sign_decision(decision, signer)
    public = serialization.load_pem_public_key(keys[1].read_bytes())
    signature = base64.b64decode(bundle["dsseEnvelope"]["signatures"][0]["sig"])
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(signature, pae(INTOTO_PAYLOAD_TYPE, _payload(bundle)), ec.ECDSA(hashes.SHA256()))
    assert pae("t", b"ab") == b"DSSEv1 1 t 2 ab"


def test_roundtrip_verifies_and_reports_the_signer(decision, signer, verifier, keys) -> None:
    result = verify_decision(decision, sign_decision(decision, signer, ARTIFACT), verifier)
    assert result.kind == "decision"
    assert result.subject_name == "payments"
    assert result.subject_digest == ARTIFACT
    assert result.verified.signer.startswith("key sha256:")
    assert result.verified.signed_at is None
    assert result.verified.statement["predicate"] == decision


def test_vsa_roundtrip_verifies_against_the_decision(decision, signer, verifier) -> None:
    result = verify_decision(decision, sign_decision(decision, signer, vsa=True), verifier)
    assert result.kind == "vsa"
    assert result.verified.statement["predicate"]["verificationResult"] == "FAILED"


def test_verification_ignores_json_key_order_of_the_decision(decision, signer, verifier) -> None:
    bundle = sign_decision(decision, signer)
    reordered = dict(reversed(list(decision.items())))
    assert verify_decision(reordered, bundle, verifier).decision == reordered


# --- tamper evidence ----------------------------------------------------------------------------


def test_changed_decision_names_the_changed_field(decision, signer, verifier) -> None:
    bundle = sign_decision(decision, signer)
    decision["allow"] = True
    with pytest.raises(SigningError, match=r"differs from the signed decision at allow$"):
        verify_decision(decision, bundle, verifier)


def test_changed_nested_decision_value_is_located(decision, signer, verifier) -> None:
    bundle = sign_decision(decision, signer)
    decision["checks"][0]["status"] = "pass"
    with pytest.raises(SigningError, match=r"at checks\[0\]\.status$"):
        verify_decision(decision, bundle, verifier)


def test_decision_edited_with_a_recomputed_signature_still_fails_on_its_id(decision, signer, verifier) -> None:
    decision["allow"] = True
    with pytest.raises(SigningError, match=r"decision_id .* does not match the record's content"):
        sign_decision(decision, signer)


@pytest.mark.parametrize("offset", [0, 40, 200, -3])
def test_any_changed_statement_byte_fails(decision, signer, verifier, offset: int) -> None:
    bundle = sign_decision(decision, signer)
    payload = bytearray(_payload(bundle))
    payload[offset] ^= 0x01
    with pytest.raises(SigningError, match=r"DSSE signature does not verify.*signed statement was altered"):
        verify_decision(decision, _with_payload(bundle, bytes(payload)), verifier)


def test_changed_statement_value_is_named(decision, signer, verifier) -> None:
    bundle = sign_decision(decision, signer)
    payload = _payload(bundle).replace(b'"allow":false', b'"allow":true ')
    with pytest.raises(SigningError, match=r"signed statement was altered at predicate\.allow"):
        verify_decision(decision, _with_payload(bundle, payload), verifier)


def test_changed_signature_byte_fails(decision, signer, verifier) -> None:
    bundle = sign_decision(decision, signer)
    signature = bytearray(base64.b64decode(bundle["dsseEnvelope"]["signatures"][0]["sig"]))
    signature[-1] ^= 0x01
    bundle["dsseEnvelope"]["signatures"][0]["sig"] = base64.b64encode(bytes(signature)).decode()
    with pytest.raises(SigningError, match=r"statement matches the decision, so the signature bytes were altered"):
        verify_decision(decision, bundle, verifier)


def test_non_base64_signature_is_refused_not_skipped(decision, signer, verifier) -> None:
    bundle = sign_decision(decision, signer)
    bundle["dsseEnvelope"]["signatures"][0]["sig"] = "!" + bundle["dsseEnvelope"]["signatures"][0]["sig"]
    with pytest.raises(SigningError, match=r"DSSE signature: not valid base64|not a valid Sigstore bundle"):
        verify_decision(decision, bundle, verifier)


def test_changed_payload_type_fails(decision, signer, verifier) -> None:
    bundle = sign_decision(decision, signer)
    bundle["dsseEnvelope"]["payloadType"] = "application/vnd.in-toto+jsoN"
    with pytest.raises(SigningError, match=r"payloadType is 'application/vnd.in-toto\+jsoN', expected"):
        verify_decision(decision, bundle, verifier)


def test_changed_public_key_byte_fails(decision, signer, keys, tmp_path: Path) -> None:
    bundle = sign_decision(decision, signer)
    lines = keys[1].read_text().splitlines()
    body = lines[1]
    lines[1] = body[:40] + ("A" if body[40] != "A" else "B") + body[41:]
    altered = tmp_path / "altered.pub"
    altered.write_text("\n".join(lines) + "\n")
    with pytest.raises(SigningError, match=r"altered.pub: not a valid PEM public key|given public key has hint"):
        verify_decision(decision, bundle, key_verifier(altered))


def test_another_key_is_named_by_its_hint(decision, signer, tmp_path: Path) -> None:
    bundle = sign_decision(decision, signer)
    write_key_pair(generate_key_pair(PASSPHRASE), tmp_path / "other.key", tmp_path / "other.pub")
    with pytest.raises(SigningError, match=r"signed by the key with hint .* but the given public key has hint"):
        verify_decision(decision, bundle, key_verifier(tmp_path / "other.pub"))


def test_another_key_without_a_hint_fails_on_the_signature(decision, signer, tmp_path: Path) -> None:
    bundle = sign_decision(decision, signer)
    bundle["verificationMaterial"]["publicKey"] = {"hint": ""}
    write_key_pair(generate_key_pair(PASSPHRASE), tmp_path / "other.key", tmp_path / "other.pub")
    with pytest.raises(SigningError, match=r"signature bytes were altered or another key signed"):
        verify_decision(decision, bundle, key_verifier(tmp_path / "other.pub"))


def test_a_second_signature_is_refused(decision, signer, verifier) -> None:
    bundle = sign_decision(decision, signer)
    signatures = bundle["dsseEnvelope"]["signatures"]
    signatures.append(dict(signatures[0]))
    with pytest.raises(SigningError, match=r"exactly one signature, found 2"):
        verify_decision(decision, bundle, verifier)


def test_a_statement_about_another_artifact_name_is_refused(decision, keys) -> None:
    statement = decision_statement(decision, ARTIFACT)
    statement["subject"][0]["name"] = "billing"
    bundle = key_signer(keys[0], PASSPHRASE).sign_statement(statement)
    with pytest.raises(SigningError, match=r"neither this decision nor an artifact of module 'payments'"):
        verify_decision(decision, bundle, key_verifier(keys[1]))


def test_a_foreign_predicate_type_is_refused(decision, keys) -> None:
    statement = decision_statement(decision)
    statement["predicateType"] = "https://slsa.dev/provenance/v1"
    bundle = key_signer(keys[0], PASSPHRASE).sign_statement(statement)
    with pytest.raises(SigningError, match=r"not a readypolicy decision or VSA attestation"):
        verify_decision(decision, bundle, key_verifier(keys[1]))


def test_a_malformed_bundle_names_the_field(decision, verifier) -> None:
    with pytest.raises(SigningError, match=r"not a valid Sigstore bundle: mediaType"):
        verify_decision(decision, {"mediaType": "x", "verificationMaterial": {}}, verifier)


# --- CLI ----------------------------------------------------------------------------------------


def _run(command, args: list[str], env: dict[str, str] | None = None):
    return CliRunner().invoke(command, args, env={"READYPOLICY_KEY_PASSWORD": "pw", **(env or {})})


def test_cli_keygen_sign_verify(tmp_path: Path) -> None:
    decision_path = tmp_path / "decision.json"
    decision_path.write_bytes((FIXTURES / "decision.json").read_bytes())
    prefix = str(tmp_path / "team")
    assert _run(keygen, ["--prefix", prefix]).exit_code == 0
    signed = _run(sign, [str(decision_path), "--key", prefix + ".key", "--vsa",
                         "--subject-digest", ARTIFACT])
    assert signed.exit_code == 0, signed.output
    assert (tmp_path / "decision.sigstore.json").is_file()
    assert (tmp_path / "decision.vsa.sigstore.json").is_file()
    checked = _run(verify, [str(decision_path), "--key", prefix + ".pub"])
    assert checked.exit_code == 0, checked.output
    assert "verified decision attestation: deny for lane production" in checked.output
    assert "module:   payments @ abc123" in checked.output
    assert f"subject:  payments {ARTIFACT}" in checked.output
    assert "policy:   bundle 1.0.0+sha256:333333333333" in checked.output
    vsa = _run(verify, [str(decision_path), "--bundle", str(tmp_path / "decision.vsa.sigstore.json"),
                        "--key", prefix + ".pub"])
    assert vsa.exit_code == 0 and "verified vsa attestation" in vsa.output


def test_cli_verify_failure_is_one_line_and_exit_2(tmp_path: Path) -> None:
    decision_path = tmp_path / "decision.json"
    decision = json.loads((FIXTURES / "decision.json").read_text())
    decision_path.write_text(json.dumps(decision))
    prefix = str(tmp_path / "team")
    _run(keygen, ["--prefix", prefix])
    assert _run(sign, [str(decision_path), "--key", prefix + ".key"]).exit_code == 0
    decision["lane"] = "candidate"
    decision_path.write_text(json.dumps(decision))
    result = _run(verify, [str(decision_path), "--key", prefix + ".pub"])
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0
    assert "differs from the signed decision at lane" in result.stderr


def test_cli_verify_requires_a_trust_anchor(tmp_path: Path) -> None:
    result = _run(verify, [str(FIXTURES / "decision.json"), "--bundle", str(FIXTURES / "decision.json")])
    assert result.exit_code == 2
    assert "give --key PUBLIC.pem, or both --cert-identity and --cert-oidc-issuer" in result.output
