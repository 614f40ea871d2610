"""Keyless signing and RFC 3161 timestamps end to end, against a private Sigstore on loopback.

One stack per test run (tests/sigstore_stack.py: OIDC issuer, Fulcio, CT log, Rekor v2, TSA), built by
scripts/install-sigstore-stack. Every test that uses it lives in this file: the TSA's metrics port is
fixed at :2112, and `--dist loadfile` keeps one file on one worker. Decisions come from the real CLI and
real OPA; the bundles are also checked by the real cosign. Without the servers the tests skip, except
under CI=true, where that is a failure.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from readypolicy.canonical import canonical_bytes
from readypolicy.signing.intoto import DECISION_PREDICATE_TYPE
from signed_project import PASSWORD, SignedProject, signed_project
from sigstore_stack import BINARIES, SigstoreStack, StackError
from support import OPA, REPO, coverage_json, make_project, run_cli

TOOLS = Path(os.environ.get("READYPOLICY_TOOLS_DIR", REPO / ".tools" / "bin"))
ALICE = "alice@example.test"


def _missing(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; `make test` runs scripts/install-sigstore-stack and scripts/install-cosign first")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SigstoreStack]:
    """The one private Sigstore of this run; required (fails, not skips) when CI=true."""
    missing = [name for name in BINARIES if not (TOOLS / name).is_file()]
    if missing:
        _missing(f"Sigstore servers not built: {', '.join(missing)} (run scripts/install-sigstore-stack)")
    running = SigstoreStack(TOOLS, tmp_path_factory.mktemp("sigstore"))
    try:
        running.start()
    except StackError as exc:
        pytest.fail(f"the private Sigstore stack did not start: {exc}")
    yield running
    running.stop()


@pytest.fixture(scope="session")
def cosign() -> Path:
    binary = TOOLS / "cosign"
    if not binary.is_file():
        _missing("cosign not installed (run scripts/install-cosign)")
    return binary


@dataclass(frozen=True)
class Signed:
    """A decision file written by `eval --sign` and its bundle."""

    root: Path
    decision: Path
    bundle: Path

    def record(self) -> dict[str, Any]:
        return json.loads(self.decision.read_text(encoding="utf-8"))

    def bundle_json(self) -> dict[str, Any]:
        return json.loads(self.bundle.read_text(encoding="utf-8"))

    def blob(self) -> Path:
        """The decision's canonical bytes: the statement subject cosign hashes and compares."""
        path = self.root / "decision.canonical.json"
        path.write_bytes(canonical_bytes(self.record()))
        return path

    def variant(self, name: str, bundle: dict[str, Any]) -> Path:
        path = self.root / name
        path.write_text(json.dumps(bundle), encoding="utf-8")
        return path


def _decisions(project: Path) -> Signed:
    directory = project / ".readypolicy" / "decisions"
    return Signed(project, directory / "svc.candidate.decision.json", directory / "svc.candidate.decision.sigstore.json")


@pytest.fixture(scope="module")
def keyless(stack: SigstoreStack, tmp_path_factory: pytest.TempPathFactory) -> Signed:
    """A real OPA decision signed keylessly by alice through `eval --sign` (no --key)."""
    project = make_project(tmp_path_factory.mktemp("keyless"))
    report = coverage_json(project / "coverage.json", covered=90, total=100)
    assert run_cli("ingest", report, "-m", "svc", "-r", "r1", cwd=project).returncode == 0
    evaluated = run_cli("eval", "-m", "svc", "--sign", "--identity-token", stack.issuer.token(ALICE),
                        "--trust-config", stack.trust_config, cwd=project)
    assert evaluated.returncode == 0, evaluated.stderr
    return _decisions(project)


def _verify_keyless(stack: SigstoreStack, signed: Signed, *policy: str, bundle: Path | None = None) -> Any:
    return run_cli("verify", signed.decision, "--bundle", bundle or signed.bundle, "--trusted-root",
                   stack.trusted_root, *policy, cwd=signed.root)


def _as_alice(stack: SigstoreStack) -> tuple[str, ...]:
    return ("--cert-identity", ALICE, "--cert-oidc-issuer", stack.issuer.url)


def test_keyless_round_trip_names_the_identity_and_a_tsa_time(stack: SigstoreStack, keyless: Signed) -> None:
    bundle = keyless.bundle_json()
    assert "x509CertificateChain" in bundle["verificationMaterial"] or "certificate" in bundle["verificationMaterial"]
    assert len(bundle["verificationMaterial"]["tlogEntries"]) == 1
    result = _verify_keyless(stack, keyless, *_as_alice(stack))
    assert result.returncode == 0, result.stderr
    assert f"signer:   {ALICE} (OIDC issuer {stack.issuer.url})" in result.stdout
    assert "trusted (RFC 3161 timestamp by " in result.stdout
    assert "verified decision attestation: allow for lane candidate" in result.stdout


@pytest.mark.parametrize(("option", "value", "named"), [
    ("--cert-identity", "mallory@example.test", "mallory@example.test"),
    ("--cert-oidc-issuer", "https://accounts.example.test", "https://accounts.example.test"),
])
def test_a_bundle_signed_by_someone_else_is_refused_naming_who(
    stack: SigstoreStack, keyless: Signed, option: str, value: str, named: str,
) -> None:
    policy = dict(zip(_as_alice(stack)[::2], _as_alice(stack)[1::2], strict=True))
    policy[option] = value
    result = _verify_keyless(stack, keyless, *(part for pair in policy.items() for part in pair))
    assert result.returncode == 2
    assert "Sigstore verification failed" in result.stderr and named in result.stderr


def test_identity_patterns_must_match_the_whole_value(stack: SigstoreStack, keyless: Signed) -> None:
    issuer = stack.issuer.url.replace(".", r"\.")
    accepted = _verify_keyless(stack, keyless, "--cert-identity-regexp", r"[a-z]+@example\.test",
                               "--cert-oidc-issuer-regexp", issuer)
    assert accepted.returncode == 0, accepted.stderr
    assert f"signer:   {ALICE} (OIDC issuer {stack.issuer.url})" in accepted.stdout
    # A search (cosign's semantics) would accept both: a prefix of the SAN, and a prefix of the issuer URL.
    prefix = _verify_keyless(stack, keyless, "--cert-identity-regexp", "alice", "--cert-oidc-issuer", stack.issuer.url)
    assert prefix.returncode == 2 and "do not match pattern 'alice'" in prefix.stderr
    host_only = _verify_keyless(stack, keyless, "--cert-identity", ALICE, "--cert-oidc-issuer-regexp", r"http://127\.0")
    assert host_only.returncode == 2 and "does not match pattern" in host_only.stderr


def test_a_bundle_without_its_log_entry_is_refused(stack: SigstoreStack, keyless: Signed) -> None:
    stripped = copy.deepcopy(keyless.bundle_json())
    stripped["verificationMaterial"]["tlogEntries"] = []
    result = _verify_keyless(stack, keyless, *_as_alice(stack), bundle=keyless.variant("no-tlog.json", stripped))
    assert result.returncode == 2
    assert "tlog" in result.stderr.lower()


def test_a_bundle_without_its_timestamp_is_refused(stack: SigstoreStack, keyless: Signed) -> None:
    """Rekor v2 gives no integrated time: without the TSA token nothing vouches for when the cert was valid."""
    stripped = copy.deepcopy(keyless.bundle_json())
    del stripped["verificationMaterial"]["timestampVerificationData"]
    result = _verify_keyless(stack, keyless, *_as_alice(stack), bundle=keyless.variant("no-tsa.json", stripped))
    assert result.returncode == 2
    assert "must contain an inclusion promise or signed timestamp" in result.stderr


def test_a_token_from_an_issuer_fulcio_does_not_trust_cannot_sign(stack: SigstoreStack, keyless: Signed) -> None:
    forged = stack.issuer.token(ALICE, issuer="http://127.0.0.1:9")
    result = run_cli("sign", keyless.decision, "--identity-token", forged, "--trust-config", stack.trust_config,
                     "-o", keyless.root / "forged.sigstore.json", cwd=keyless.root)
    assert result.returncode == 2
    assert "keyless signing failed" in result.stderr
    assert not (keyless.root / "forged.sigstore.json").exists()


def _cosign(cosign: Path, *args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(cosign), *map(str, args)], cwd=cwd, env={**os.environ, "HOME": str(cwd)},
                          capture_output=True, text=True, timeout=120, check=False)


def test_cosign_verifies_the_keyless_bundle(stack: SigstoreStack, keyless: Signed, cosign: Path) -> None:
    common = ("verify-blob-attestation", "--bundle", keyless.bundle, "--new-bundle-format", "--trusted-root",
              stack.trusted_root, "--certificate-oidc-issuer", stack.issuer.url, "--use-signed-timestamps",
              "--type", DECISION_PREDICATE_TYPE, keyless.blob())
    verified = _cosign(cosign, *common, "--certificate-identity", ALICE, cwd=keyless.root)
    assert verified.returncode == 0, verified.stderr
    assert "Verified OK" in verified.stderr
    other = _cosign(cosign, *common, "--certificate-identity", "mallory@example.test", cwd=keyless.root)
    assert other.returncode != 0


# --- key-based bundles with an RFC 3161 timestamp -------------------------------------------------


@pytest.fixture(scope="module")
def keyed(stack: SigstoreStack, tmp_path_factory: pytest.TempPathFactory) -> SignedProject:
    """A key-signed decision whose signing asked the TSA, set as `timestamp_url` in readypolicy.yaml."""
    project = signed_project(tmp_path_factory.mktemp("keyed"))
    with (project.root / "readypolicy.yaml").open("a", encoding="utf-8") as config:
        config.write(f"timestamp_url: {stack.tsa_url}\n")
    evaluated = project.cli("eval", "-m", "svc", "--sign", "--key", project.private_key)
    assert evaluated.returncode == 0, evaluated.stderr
    return project


def _verify_key(project: SignedProject, *extra: str | Path, bundle: Path | None = None, env: dict[str, str] | None = None) -> Any:
    return run_cli("verify", project.decision, "--key", project.public_key, "--bundle", bundle or project.bundle, *extra,
                   cwd=project.root, env={**PASSWORD, **(env or {})})


def _tsa_subject(stack: SigstoreStack) -> str:
    root = json.loads(stack.tsa_trusted_root.read_text())
    leaf = root["timestampAuthorities"][0]["certChain"]["certificates"][0]["rawBytes"]
    return x509.load_der_x509_certificate(base64.b64decode(leaf)).subject.rfc4514_string()


def test_key_bundle_time_is_trusted_only_through_the_pinned_tsa(stack: SigstoreStack, keyed: SignedProject) -> None:
    stamps = json.loads(keyed.bundle.read_text())["verificationMaterial"]["timestampVerificationData"]
    assert len(stamps["rfc3161Timestamps"]) == 1
    pinned = _verify_key(keyed, "--trusted-root", stack.tsa_trusted_root)
    assert pinned.returncode == 0, pinned.stderr
    signed_line = next(line for line in pinned.stdout.splitlines() if line.strip().startswith("signed:"))
    assert signed_line.endswith(f"trusted (RFC 3161 timestamp by {_tsa_subject(stack)})")
    when = dt.datetime.fromisoformat(signed_line.split()[1].replace("Z", "+00:00"))
    assert abs((dt.datetime.now(dt.UTC) - when).total_seconds()) < 600
    unpinned = _verify_key(keyed)
    assert unpinned.returncode == 0, unpinned.stderr
    assert f"{keyed.record()['evaluated_at']} claimed by the signer (evaluated_at)" in unpinned.stdout
    assert "trusted" not in unpinned.stdout and "RFC 3161 timestamp that was not checked" in unpinned.stderr


def _other_tsa_root(path: Path) -> Path:
    """A trusted root for a TSA that is not the stack's: a self-made CA and timeStamping leaf."""
    now = dt.datetime.now(dt.UTC)

    def cert(subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name, signer: ec.EllipticCurvePrivateKey,
             ca: bool) -> x509.Certificate:
        builder = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
                   .issuer_name(issuer).public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if not ca:
            builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        return builder.sign(signer, hashes.SHA256())

    root_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    root = cert("other-tsa-root", root_key, x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "other-tsa-root")]),
                root_key, ca=True)
    leaf = cert("other-tsa", leaf_key, root.subject, root_key, ca=False)
    chain = [{"rawBytes": base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode()} for c in (leaf, root)]
    path.write_text(json.dumps({
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "timestampAuthorities": [{
            "subject": {"organization": "other", "commonName": "other-tsa"}, "certChain": {"certificates": chain},
            "validFor": {"start": (now - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")},
        }],
    }))
    return path


def test_a_timestamp_checked_against_another_tsa_root_fails(keyed: SignedProject, tmp_path: Path) -> None:
    result = _verify_key(keyed, "--trusted-root", _other_tsa_root(tmp_path / "other_root.json"))
    assert result.returncode == 2
    assert "RFC 3161 timestamp 0 does not verify against the trusted root" in result.stderr


def _resigned_bundle(keyed: SignedProject, stack: SigstoreStack, tmp: Path) -> dict[str, Any]:
    """Another timestamped signature by the same key (over the same decision, so a fresh ECDSA signature)."""
    out = tmp / "again.sigstore.json"
    again = run_cli("sign", keyed.decision, "--key", keyed.private_key, "--timestamp-url", stack.tsa_url, "-o", out,
                    cwd=keyed.root, env=PASSWORD)
    assert again.returncode == 0, again.stderr
    return json.loads(out.read_text())


def test_swapped_or_altered_timestamps_fail(stack: SigstoreStack, keyed: SignedProject, tmp_path: Path, cosign: Path) -> None:
    original = json.loads(keyed.bundle.read_text())
    other = _resigned_bundle(keyed, stack, tmp_path)
    swapped = copy.deepcopy(original)
    swapped["verificationMaterial"]["timestampVerificationData"] = other["verificationMaterial"]["timestampVerificationData"]
    altered = copy.deepcopy(original)
    token = bytearray(base64.b64decode(altered["verificationMaterial"]["timestampVerificationData"]
                                       ["rfc3161Timestamps"][0]["signedTimestamp"]))
    token[-10] ^= 0x01  # inside the TSA's signature value
    altered["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"][0]["signedTimestamp"] = (
        base64.b64encode(bytes(token)).decode())
    for name, bundle in (("swapped", swapped), ("altered", altered)):
        path = tmp_path / f"{name}.sigstore.json"
        path.write_text(json.dumps(bundle))
        result = _verify_key(keyed, "--trusted-root", stack.tsa_trusted_root, bundle=path)
        assert result.returncode == 2, (name, result.stdout)
        assert "does not verify against the trusted root" in result.stderr, name
        by_cosign = _cosign(cosign, *_cosign_key_args(keyed, stack, path), cwd=keyed.root)
        assert by_cosign.returncode != 0, name


def test_a_required_timestamp_must_be_there_and_pinned(stack: SigstoreStack, keyed: SignedProject, tmp_path: Path) -> None:
    unstamped = tmp_path / "unstamped.sigstore.json"
    signed = run_cli("sign", keyed.decision, "--key", keyed.private_key, "-o", unstamped,
                     cwd=tmp_path, env=PASSWORD)  # outside the project: no timestamp_url setting
    assert signed.returncode == 0, signed.stderr
    assert "timestampVerificationData" not in json.loads(unstamped.read_text())["verificationMaterial"]
    root = ("--trusted-root", stack.tsa_trusted_root)
    assert _verify_key(keyed, *root, bundle=unstamped).returncode == 0
    missing = _verify_key(keyed, *root, "--require-timestamp", bundle=unstamped)
    assert missing.returncode == 2 and "no RFC 3161 timestamp" in missing.stderr
    by_env = _verify_key(keyed, *root, bundle=unstamped, env={"READYPOLICY_REQUIRE_TIMESTAMP": "true"})
    assert by_env.returncode == 2 and "a trusted timestamp is required" in by_env.stderr
    unpinned = _verify_key(keyed, "--require-timestamp")
    assert unpinned.returncode == 2 and "pass --trusted-root" in unpinned.stderr
    assert _verify_key(keyed, *root, "--require-timestamp").returncode == 0


def _cosign_key_args(keyed: SignedProject, stack: SigstoreStack, bundle: Path) -> tuple[str | Path, ...]:
    blob = keyed.root / "decision.canonical.json"
    blob.write_bytes(canonical_bytes(keyed.record()))
    return ("verify-blob-attestation", "--key", keyed.public_key, "--bundle", bundle, "--new-bundle-format",
            "--trusted-root", stack.tsa_trusted_root, "--use-signed-timestamps", "--insecure-ignore-tlog=true",
            "--type", DECISION_PREDICATE_TYPE, blob)


def test_cosign_verifies_the_timestamped_key_bundle(stack: SigstoreStack, keyed: SignedProject, cosign: Path,
                                                     tmp_path: Path) -> None:
    result = _cosign(cosign, *_cosign_key_args(keyed, stack, keyed.bundle), cwd=keyed.root)
    assert result.returncode == 0, result.stderr
    assert "Verified OK" in result.stderr
    other_root = _other_tsa_root(tmp_path / "other_root.json")
    args = list(_cosign_key_args(keyed, stack, keyed.bundle))
    args[args.index(stack.tsa_trusted_root)] = other_root
    assert _cosign(cosign, *args, cwd=keyed.root).returncode != 0


def test_audit_archive_carries_the_tsa_root_that_checks_its_timestamp(
    stack: SigstoreStack, keyed: SignedProject, tmp_path: Path,
) -> None:
    decision_id = keyed.record()["decision_id"]
    out = tmp_path / "audit.tar.gz"
    bare = keyed.cli("audit", "export", "--decision", decision_id, "-o", out, "--key", keyed.private_key)
    assert bare.returncode == 2 and "pass --trusted-root" in bare.stderr and not out.exists()
    foreign = keyed.cli("audit", "export", "--decision", decision_id, "-o", out, "--key", keyed.private_key, "--trusted-root",
                        _other_tsa_root(tmp_path / "other_root.json"))
    assert foreign.returncode == 2 and "does not verify against the trusted root" in foreign.stderr
    exported = keyed.cli("audit", "export", "--decision", decision_id, "-o", out, "--key", keyed.private_key,
                         "--trusted-root", stack.tsa_trusted_root)
    assert exported.returncode == 0, exported.stderr
    auditor = tmp_path / "auditor"
    auditor.mkdir()
    checked = run_cli("audit", "verify", out, "--key", keyed.public_key, cwd=auditor,
                      env={"READYPOLICY_OPA": str(OPA)})
    assert checked.returncode == 0, checked.stderr
    assert f"trusted (RFC 3161 timestamp by {_tsa_subject(stack)})" in checked.stdout
    assert "trusted root packed in the archive" in checked.stderr


def test_a_tsa_root_packed_in_the_archive_does_not_satisfy_a_required_timestamp(
    stack: SigstoreStack, keyed: SignedProject, tmp_path: Path,
) -> None:
    """The packed root is the exporter's choice (a key holder's own TSA would do): under
    `require_timestamp` it said "trusted" and exit 0, where `verify` insists on a pinned root."""
    out = tmp_path / "audit.tar.gz"
    exported = keyed.cli("audit", "export", "--decision", keyed.record()["decision_id"], "-o", out, "--key",
                         keyed.private_key, "--trusted-root", stack.tsa_trusted_root)
    assert exported.returncode == 0, exported.stderr
    auditor = tmp_path / "auditor"
    auditor.mkdir()
    required = {"READYPOLICY_OPA": str(OPA), "READYPOLICY_REQUIRE_TIMESTAMP": "true"}
    packed = run_cli("audit", "verify", out, "--key", keyed.public_key, cwd=auditor, env=required)
    assert packed.returncode == 2, packed.stdout
    assert "a trusted timestamp is required" in packed.stderr and "trusted (" not in packed.stdout
    pinned = run_cli("audit", "verify", out, "--key", keyed.public_key, "--trusted-root", stack.tsa_trusted_root,
                     cwd=auditor, env=required)
    assert pinned.returncode == 0, pinned.stderr
    assert f"trusted (RFC 3161 timestamp by {_tsa_subject(stack)})" in pinned.stdout


def test_timestamp_url_is_for_key_signing_and_settings_parse(stack: SigstoreStack, keyless: Signed) -> None:
    keyless_with_tsa = run_cli("sign", keyless.decision, "--identity-token", stack.issuer.token(ALICE),
                               "--trust-config", stack.trust_config, "--timestamp-url", stack.tsa_url, cwd=keyless.root)
    assert keyless_with_tsa.returncode == 2 and "--timestamp-url is for --key signing" in keyless_with_tsa.stderr
    bad = run_cli("verify", keyless.decision, "--key", keyless.decision, cwd=keyless.root,
                  env={"READYPOLICY_REQUIRE_TIMESTAMP": "sometimes"})
    assert bad.returncode == 2 and "require_timestamp" in bad.stderr
