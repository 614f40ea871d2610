"""Keyless (Fulcio + Rekor) verification against a real public-good Sigstore bundle.

No Sigstore server is reachable from the test machines, so verification runs offline against a
recorded bundle and the public-good trusted root (sources in fixtures/signing/public-good/README.md).
Keyless *signing* needs a reachable Fulcio and Rekor; here only its failure path is exercised.
"""

from __future__ import annotations

import base64
import copy
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
import pytest
from click.testing import CliRunner

from readypolicy.cli.sign import sign, verify
from readypolicy.signing import SigningError, SigstoreVerifier, keyless_signer, read_bundle, verify_decision
from readypolicy.signing.interface import SignatureMismatchError

FIXTURES = Path(__file__).parent / "fixtures" / "signing"
PUBLIC_GOOD = FIXTURES / "public-good"
BUNDLE = PUBLIC_GOOD / "pypi_attestations-0.0.19.sigstore.json"
TRUSTED_ROOT = PUBLIC_GOOD / "trusted_root.json"
IDENTITY = "jku@goto.fi"
ISSUER = "https://github.com/login/oauth"


@pytest.fixture
def bundle() -> dict[str, Any]:
    return read_bundle(BUNDLE)


def _verifier(identity: str = IDENTITY, issuer: str = ISSUER) -> SigstoreVerifier:
    return SigstoreVerifier(identity, issuer, trusted_root=TRUSTED_ROOT)


def test_real_public_good_bundle_verifies_offline(bundle: dict[str, Any]) -> None:
    verified = _verifier().verify_bundle(bundle)
    assert verified.signer == f"{IDENTITY} (OIDC issuer {ISSUER})"
    assert verified.signed_at == datetime(2025, 10, 10, 8, 22, 28, tzinfo=UTC)
    assert verified.media_type == "application/vnd.dev.sigstore.bundle.v0.3+json"
    assert verified.statement["predicateType"] == "https://docs.pypi.org/attestations/publish/v1"
    assert verified.statement["subject"][0]["name"] == "pypi_attestations-0.0.19.tar.gz"


def test_embedded_trust_root_verifies_the_same_bundle_offline(bundle: dict[str, Any]) -> None:
    verified = SigstoreVerifier(IDENTITY, ISSUER, offline=True).verify_bundle(bundle)
    assert verified.signed_at is not None


def test_wrong_identity_is_refused_with_the_actual_san(bundle: dict[str, Any]) -> None:
    with pytest.raises(SigningError, match=r"SANs do not match ci@example.com.*jku@goto.fi"):
        _verifier(identity="ci@example.com").verify_bundle(bundle)


def test_wrong_issuer_is_refused(bundle: dict[str, Any]) -> None:
    with pytest.raises(SigningError, match=r"Sigstore verification failed: Certificate's OIDCIssuer does not match"):
        _verifier(issuer="https://token.actions.githubusercontent.com").verify_bundle(bundle)


def test_changed_statement_fails_the_dsse_signature(bundle: dict[str, Any]) -> None:
    tampered = copy.deepcopy(bundle)
    payload = base64.b64decode(tampered["dsseEnvelope"]["payload"]).replace(b"0.0.19", b"0.0.20")
    tampered["dsseEnvelope"]["payload"] = base64.b64encode(payload).decode()
    with pytest.raises(SignatureMismatchError, match=r"does not verify with the signing certificate"):
        _verifier().verify_bundle(tampered)


def test_changed_log_entry_fails(bundle: dict[str, Any]) -> None:
    tampered = copy.deepcopy(bundle)
    tampered["verificationMaterial"]["tlogEntries"][0]["integratedTime"] = "1760084549"
    with pytest.raises(SigningError, match=r"Sigstore verification failed"):
        _verifier().verify_bundle(tampered)


def test_a_key_bundle_is_pointed_to_key_verification(bundle: dict[str, Any]) -> None:
    keyed = copy.deepcopy(bundle)
    keyed["verificationMaterial"] = {"publicKey": {"hint": "x"}, "tlogEntries": []}
    with pytest.raises(SigningError, match=r"signed with a key; verify it with --key"):
        _verifier().verify_bundle(keyed)


def test_a_verified_statement_that_is_not_a_decision_is_refused(bundle: dict[str, Any]) -> None:
    decision = json.loads((FIXTURES / "decision.json").read_text())
    with pytest.raises(SigningError, match=r"'https://docs.pypi.org/attestations/publish/v1' is not a readypolicy"):
        verify_decision(decision, bundle, _verifier())


def test_cli_verify_keyless_reports_a_failure_in_one_line() -> None:
    result = CliRunner().invoke(verify, [
        str(FIXTURES / "decision.json"), "--bundle", str(BUNDLE), "--cert-identity", IDENTITY,
        "--cert-oidc-issuer", ISSUER, "--trusted-root", str(TRUSTED_ROOT),
    ])
    assert result.exit_code == 2
    assert result.stderr.startswith("readypolicy: error: ") and result.stderr.count("\n") == 1
    assert "is not a readypolicy decision or VSA attestation" in result.stderr


def _private_instance(tmp_path: Path) -> Path:
    """A client trust config for a Sigstore instance whose services are down (loopback, closed port)."""
    down = "http://127.0.0.1:9"
    service = {"url": down, "majorApiVersion": 1, "validFor": {"start": "2024-01-01T00:00:00Z"},
               "operator": "test"}
    config = {
        "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
        "trustedRoot": json.loads(TRUSTED_ROOT.read_text()),
        "signingConfig": {
            "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
            "caUrls": [service], "oidcUrls": [service], "rekorTlogUrls": [service], "tsaUrls": [],
            "rekorTlogConfig": {"selector": "ANY"}, "tsaConfig": {"selector": "ANY"},
        },
    }
    path = tmp_path / "trust_config.json"
    path.write_text(json.dumps(config))
    return path


def _token() -> str:
    now = int(time.time())
    claims = {"iss": "https://issuer.example", "sub": "ci@example.com", "aud": "sigstore",
              "iat": now, "exp": now + 600}
    return jwt.encode(claims, "sigstore clients never check this token's signature", algorithm="HS256")


def test_keyless_signing_against_an_unreachable_instance_fails_cleanly(tmp_path: Path) -> None:
    with pytest.raises(SigningError, match=r"keyless signing failed for identity ci@example.com"):
        keyless_signer(_token(), _private_instance(tmp_path), interactive=False).sign_statement(
            {"_type": "https://in-toto.io/Statement/v1"}
        )


def test_keyless_signing_without_any_identity_asks_for_one(tmp_path: Path, monkeypatch) -> None:
    for name in ("GITHUB_ACTIONS", "ACTIONS_ID_TOKEN_REQUEST_URL", "GOOGLE_SERVICE_ACCOUNT_NAME",
                 "BUILDKITE", "GITLAB_CI", "CIRCLECI"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SigningError, match=r"no OIDC identity token: pass --identity-token"):
        keyless_signer(None, _private_instance(tmp_path), interactive=False)


def test_a_malformed_identity_token_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SigningError, match=r"OIDC identity token: .*malformed"):
        keyless_signer("not-a-jwt", _private_instance(tmp_path), interactive=False)


def test_cli_sign_keyless_failure_exits_2(tmp_path: Path) -> None:
    decision = tmp_path / "decision.json"
    decision.write_bytes((FIXTURES / "decision.json").read_bytes())
    result = CliRunner().invoke(sign, [str(decision), "--identity-token", _token(),
                                       "--trust-config", str(_private_instance(tmp_path))])
    assert result.exit_code == 2
    assert "keyless signing failed" in result.stderr
    assert not (tmp_path / "decision.sigstore.json").exists()
