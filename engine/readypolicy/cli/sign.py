"""`readypolicy keygen | sign | verify`: sign decision records and check them later.

Only option parsing lives here; the work is in `readypolicy.signing`, which `eval --sign` and
`--replay` call directly. Every expected failure prints one line and exits 2.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from readypolicy.cli.context import fail_closed, runtime, warn
from readypolicy.replay import ReplayResult, check_replay, policy_candidates, replay_decision, select_policy
from readypolicy.signing import (
    PASSWORD_ENV,
    BundleVerifier,
    Signer,
    SigningError,
    SigstoreVerifier,
    default_bundle_path,
    generate_key_pair,
    is_encrypted,
    key_signer,
    key_verifier,
    keyless_signer,
    read_bundle,
    read_decision,
    sign_decision,
    summary_lines,
    verify_decision,
    vsa_bundle_path,
    write_bundle,
    write_key_pair,
)

F = TypeVar("F", bound=Callable[..., Any])
_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def _passphrase(confirm: bool) -> bytes:
    """The key passphrase from READYPOLICY_KEY_PASSWORD, else asked on the terminal."""
    value = os.environ.get(PASSWORD_ENV)
    if value is None:
        try:
            value = click.prompt("Key passphrase", hide_input=True, confirmation_prompt=confirm, err=True)
        except click.Abort as exc:
            # Without this, end of input would exit 1, which CI reads as "not ready" rather than an error.
            raise SigningError(f"no key passphrase: set {PASSWORD_ENV} or type it at the prompt") from exc
    return value.encode("utf-8")


@click.command("keygen")
@click.option("--prefix", default="readypolicy", show_default=True,
              help="Write PREFIX.key (encrypted private key) and PREFIX.pub (public key).")
@fail_closed
def keygen(prefix: str) -> None:
    """Generate an ECDSA P-256 signing key pair for key-based (air-gapped) signing."""
    pair = generate_key_pair(_passphrase(confirm=True))
    private_path, public_path = Path(prefix + ".key"), Path(prefix + ".pub")
    write_key_pair(pair, private_path, public_path)
    click.echo(f"wrote {private_path} and {public_path} (key {pair.fingerprint})")


def signer_from_options(key: Path | None, identity_token: str | None, trust_config: Path | None) -> Signer:
    """The signer the --key / --identity-token / --trust-config options name (shared with `eval --sign`)."""
    if key is not None:
        if identity_token or trust_config:
            raise click.UsageError("--key signs with a local key; drop --identity-token/--trust-config")
        return key_signer(key, _passphrase(confirm=False) if is_encrypted(key) else None)
    return keyless_signer(identity_token, trust_config, interactive=sys.stdin.isatty())


@click.command("sign")
@click.argument("decision_path", metavar="DECISION.json", type=_FILE)
@click.option("--key", type=_FILE, help="Sign with this PEM private key (no Sigstore servers needed).")
@click.option("--identity-token", help="OIDC token for keyless signing (default: CI ambient credential).")
@click.option("--trust-config", type=_FILE, help="Sigstore client trust config of a private instance.")
@click.option("--subject-digest", help="sha256:<hex> of the module artifact the decision is about.")
@click.option("--vsa", is_flag=True, help="Also sign a SLSA Verification Summary (X.vsa.sigstore.json).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Bundle path (default: DECISION.sigstore.json next to the decision).")
@fail_closed
def sign(decision_path: Path, key: Path | None, identity_token: str | None, trust_config: Path | None,
         subject_digest: str | None, vsa: bool, output: Path | None) -> None:
    """Sign a decision record into a Sigstore bundle (in-toto attestation in a DSSE envelope)."""
    decision = read_decision(decision_path)
    signer = signer_from_options(key, identity_token, trust_config)
    out = output or default_bundle_path(decision_path)
    write_bundle(sign_decision(decision, signer, subject_digest), out)
    click.echo(f"signed decision {decision.get('decision_id')} -> {out}")
    if vsa:
        vsa_out = vsa_bundle_path(out)
        write_bundle(sign_decision(decision, signer, subject_digest, vsa=True), vsa_out)
        click.echo(f"signed verification summary -> {vsa_out}")


def verifier_from_options(key: Path | None, identity: str | None, issuer: str | None, offline: bool,
                          trusted_root: Path | None, origin: str) -> BundleVerifier:
    """The verifier the --key / --cert-identity / --cert-oidc-issuer options name (shared with `audit`)."""
    if key is not None:
        if identity or issuer:
            raise click.UsageError("use either --key or --cert-identity/--cert-oidc-issuer, not both")
        return key_verifier(key, origin)
    if not (identity and issuer):
        raise click.UsageError("give --key PUBLIC.pem, or both --cert-identity and --cert-oidc-issuer")
    return SigstoreVerifier(identity, issuer, trusted_root=trusted_root, offline=offline, origin=origin)


def verifier_options(command: F) -> F:
    """The options that say whom to trust: a public key, or a keyless identity and its issuer."""
    for option in reversed((
        click.option("--key", type=_FILE, help="Trusted PEM public key for key-signed bundles."),
        click.option("--cert-identity", help="Expected signer identity (certificate SAN) for keyless bundles."),
        click.option("--cert-oidc-issuer", help="Expected OIDC issuer of that identity."),
        click.option("--offline", is_flag=True, help="Use the cached Sigstore trusted root; no network."),
        click.option("--trusted-root", type=_FILE, help="Sigstore trusted root JSON (private instance, air gap)."),
    )):
        command = option(command)
    return command


@click.command("verify")
@click.argument("decision_path", metavar="DECISION.json", type=_FILE)
@click.option("--bundle", "bundle_path", type=_FILE,
              help="Sigstore bundle (default: DECISION.sigstore.json next to the decision).")
@verifier_options
@click.option("--replay", is_flag=True,
              help="Then decide again from the stored evidence, recorded policy, time and waivers; exit 2 if it differs.")
@click.option("--policy-bundle", type=_FILE,
              help="Policy bundle with the recorded policy digest (default: bundles dir, then the source tree).")
@click.pass_context
@fail_closed
def verify(ctx: click.Context, decision_path: Path, bundle_path: Path | None, key: Path | None,
           cert_identity: str | None, cert_oidc_issuer: str | None, offline: bool, trusted_root: Path | None,
           replay: bool, policy_bundle: Path | None) -> None:
    """Verify that DECISION.json is exactly what the bundle's signer signed, and say who and when."""
    if policy_bundle is not None and not replay:
        raise click.UsageError("--policy-bundle is only used with --replay")
    bundle_path = bundle_path or default_bundle_path(decision_path)
    verifier = verifier_from_options(key, cert_identity, cert_oidc_issuer, offline, trusted_root, str(bundle_path))
    result = verify_decision(read_decision(decision_path), read_bundle(bundle_path), verifier,
                             origin=str(decision_path))
    for line in summary_lines(result):
        click.echo(line)
    if replay:
        rt = runtime(ctx)
        policy = select_policy(result.decision, policy_candidates(rt, result.decision, policy_bundle))
        report_replay(replay_decision(result.decision, rt.store, policy, rt.engine(), rt.cache_dir))


def report_replay(result: ReplayResult) -> None:
    """Print a replay's warnings and summary; a replay that differs raises (exit 2) naming the difference."""
    for message in result.warnings:
        warn(message)
    for line in check_replay(result):
        click.echo(line)
