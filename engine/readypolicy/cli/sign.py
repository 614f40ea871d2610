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

from readypolicy.cli.context import EXIT_NOT_READY, fail_closed, recorded_policy, runtime, warn
from readypolicy.config import Config
from readypolicy.policy.approval import approved_for_replay
from readypolicy.replay import ReplayResult, check_replay, replay_decision
from readypolicy.runtime import Runtime
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
from readypolicy.signing.attest import unexpected
from readypolicy.signing.identity import IdentityPolicy
from readypolicy.signing.keys import load_private_key
from readypolicy.signing.timestamp import bundle_timestamps
from readypolicy.worktree import committable_in

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
    tree = committable_in(private_path)
    if tree is not None:
        warn(f"{private_path} is inside the git work tree {tree} and not git-ignored: add *.key to .gitignore, "
             "or keep the key outside the repository (in CI, in the secret store)")


def configured(ctx: click.Context) -> Config | None:
    """The project configuration when run under `readypolicy` (None when a command is invoked alone)."""
    obj = ctx.find_root().obj
    return obj.config if isinstance(obj, Runtime) else None


def unencrypted_key_pem(key: Path) -> bytes:
    """The private key at `key` as unencrypted PKCS#8 PEM, for a tool that cannot decrypt it (`opa sign`)."""
    from cryptography.hazmat.primitives import serialization

    private = load_private_key(key, _passphrase(confirm=False) if is_encrypted(key) else None)
    return private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())


def signer_from_options(key: Path | None, identity_token: str | None, trust_config: Path | None,
                        timestamp_url: str | None = None) -> Signer:
    """The signer the --key / --identity-token / --trust-config / --timestamp-url options name (shared with `eval --sign`)."""
    if key is not None:
        if identity_token or trust_config:
            raise click.UsageError("--key signs with a local key; drop --identity-token/--trust-config")
        return key_signer(key, _passphrase(confirm=False) if is_encrypted(key) else None, timestamp_url)
    if timestamp_url:
        raise click.UsageError("--timestamp-url is for --key signing; keyless signing uses the trust config's TSA")
    return keyless_signer(identity_token, trust_config, interactive=sys.stdin.isatty())


def timestamp_url_option(command: F) -> F:
    """`--timestamp-url`, shared by `sign` and `eval --sign`."""
    return click.option("--timestamp-url", help="Key-based signing: RFC 3161 timestamp authority URL for a trusted "
                        "signing time. Env: READYPOLICY_TIMESTAMP_URL.")(command)


@click.command("sign")
@click.argument("decision_path", metavar="DECISION.json", type=_FILE)
@click.option("--key", type=_FILE, help="Sign with this PEM private key (no Sigstore servers needed).")
@click.option("--identity-token", help="OIDC token for keyless signing (default: CI ambient credential).")
@click.option("--trust-config", type=_FILE, help="Sigstore client trust config of a private instance.")
@timestamp_url_option
@click.option("--subject-digest", help="sha256:<hex> of the module artifact the decision is about.")
@click.option("--vsa", is_flag=True, help="Also sign a SLSA Verification Summary (X.vsa.sigstore.json).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Bundle path (default: DECISION.sigstore.json next to the decision).")
@click.pass_context
@fail_closed
def sign(ctx: click.Context, decision_path: Path, key: Path | None, identity_token: str | None,
         trust_config: Path | None, timestamp_url: str | None, subject_digest: str | None, vsa: bool,
         output: Path | None) -> None:
    """Sign a decision record into a Sigstore bundle (in-toto attestation in a DSSE envelope)."""
    decision = read_decision(decision_path)
    config = configured(ctx)
    if timestamp_url is None and key is not None and config is not None:
        timestamp_url = config.timestamp_url
    signer = signer_from_options(key, identity_token, trust_config, timestamp_url)
    out = output or default_bundle_path(decision_path)
    write_bundle(sign_decision(decision, signer, subject_digest), out)
    click.echo(f"signed decision {decision.get('decision_id')} -> {out}")
    if vsa:
        vsa_out = vsa_bundle_path(out)
        write_bundle(sign_decision(decision, signer, subject_digest, vsa=True), vsa_out)
        click.echo(f"signed verification summary -> {vsa_out}")


def verifier_from_options(key: Path | None, identity: str | None, issuer: str | None, offline: bool,
                          trusted_root: Path | None, origin: str, *, identity_regexp: str | None = None,
                          issuer_regexp: str | None = None, require_timestamp: bool = False) -> BundleVerifier:
    """The verifier the --key / --cert-identity[-regexp] / --cert-oidc-issuer[-regexp] options name (shared with `audit`)."""
    if identity and identity_regexp:
        raise click.UsageError("give --cert-identity or --cert-identity-regexp, not both")
    if issuer and issuer_regexp:
        raise click.UsageError("give --cert-oidc-issuer or --cert-oidc-issuer-regexp, not both")
    who, by = identity or identity_regexp, issuer or issuer_regexp
    if key is not None:
        if who or by:
            raise click.UsageError("use either --key or --cert-identity/--cert-oidc-issuer, not both")
        return key_verifier(key, origin, trusted_root, require_timestamp)
    if not (who and by):
        raise click.UsageError("give --key PUBLIC.pem, or both --cert-identity and --cert-oidc-issuer "
                               "(or their -regexp forms)")
    policy = IdentityPolicy(who, by, identity_regexp=identity_regexp is not None, issuer_regexp=issuer_regexp is not None)
    # Keyless bundles always carry a trusted time: sigstore refuses one without a verified TSA or log time.
    return SigstoreVerifier(policy, trusted_root=trusted_root, offline=offline, origin=origin)


def require_timestamp_option(command: F) -> F:
    """`--require-timestamp` (default from `require_timestamp` / READYPOLICY_REQUIRE_TIMESTAMP; `verify`, `audit verify`)."""
    return click.option(
        "--require-timestamp", is_flag=True, default=None,
        help="Fail unless an RFC 3161 timestamp from a --trusted-root TSA vouches for the signing time. "
             "Env: READYPOLICY_REQUIRE_TIMESTAMP.",
    )(command)


def timestamp_required(ctx: click.Context, flag: bool | None) -> bool:
    """The flag when given, else the project setting: one reading for every command that checks a decision's time."""
    if flag is not None:
        return flag
    config = configured(ctx)
    return config is not None and config.require_timestamp


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


def expectation_options(command: F) -> F:
    """What the verifier is promoting (shared by `verify` and `audit verify`): a valid signature on anything else exits 1."""
    for option in reversed((
        click.option("--module", "expect_module", help="Exit 1 unless the signed decision is about this module."),
        click.option("--lane", "expect_lane", help="Exit 1 unless the signed decision is for this lane."),
        click.option("--revision", "expect_revision", help="Exit 1 unless the signed decision is of this revision."),
        click.option("--pack", "expect_pack", help="Exit 1 unless the signed decision was made by this policy pack."),
        click.option("--require-allow", is_flag=True, help="Exit 1 when the verified decision is a deny."),
    )):
        command = option(command)
    return command


def exit_if_unexpected(ctx: click.Context, decision: dict[str, Any], module: str | None, lane: str | None,
                       revision: str | None, pack: str | None, require_allow: bool) -> None:
    """Exit 1 naming each field (both values) where a verified decision is not what is being promoted.

    Exit 1, not 2: the signature is fine and nothing is broken; the decision simply does not let
    this module, revision and lane through, which is what a gate's "not ready" means.
    """
    expected = {"module": module, "lane": lane, "revision": revision, "pack": pack}
    problems = unexpected(decision, expected, require_allow)
    for problem in problems:
        click.echo(f"readypolicy: not as expected: {problem}", err=True)
    if problems:
        ctx.exit(EXIT_NOT_READY)


@click.command("verify")
@click.argument("decision_path", metavar="DECISION.json", type=_FILE)
@click.option("--bundle", "bundle_path", type=_FILE,
              help="Sigstore bundle (default: DECISION.sigstore.json next to the decision).")
@verifier_options
@click.option("--cert-identity-regexp", help="Keyless: regular expression the whole signer identity must match.")
@click.option("--cert-oidc-issuer-regexp", help="Keyless: regular expression the whole OIDC issuer must match.")
@require_timestamp_option
@click.option("--replay", is_flag=True,
              help="Then decide again from the stored evidence, recorded policy, time and waivers; exit 2 if it differs.")
@click.option("--policy-bundle", type=_FILE,
              help="Policy bundle with the recorded policy digest (default: bundles dir, then the source tree).")
@expectation_options
@click.pass_context
@fail_closed
def verify(ctx: click.Context, decision_path: Path, bundle_path: Path | None, key: Path | None,
           cert_identity: str | None, cert_oidc_issuer: str | None, offline: bool, trusted_root: Path | None,
           cert_identity_regexp: str | None, cert_oidc_issuer_regexp: str | None, require_timestamp: bool | None,
           replay: bool, policy_bundle: Path | None, expect_module: str | None, expect_lane: str | None,
           expect_revision: str | None, expect_pack: str | None, require_allow: bool) -> None:
    """Verify that DECISION.json is exactly what the bundle's signer signed, and say who and when.

    Exit 0 verified (and as expected), 1 verified but not what --module/--lane/--revision/--pack
    expect or a deny under --require-allow, 2 not verified (bad signature, edited file, error).
    """
    if policy_bundle is not None and not replay:
        raise click.UsageError("--policy-bundle is only used with --replay")
    bundle_path = bundle_path or default_bundle_path(decision_path)
    verifier = verifier_from_options(key, cert_identity, cert_oidc_issuer, offline, trusted_root, str(bundle_path),
                                     identity_regexp=cert_identity_regexp, issuer_regexp=cert_oidc_issuer_regexp,
                                     require_timestamp=timestamp_required(ctx, require_timestamp))
    decision = read_decision(decision_path)
    bundle = read_bundle(bundle_path)
    result = verify_decision(decision, bundle, verifier, origin=str(decision_path))
    for line in summary_lines(result):
        click.echo(line)
    if key is not None and trusted_root is None and bundle_timestamps(bundle):
        warn(f"{bundle_path} carries an RFC 3161 timestamp that was not checked: pass --trusted-root with its "
             "timestamp authority to trust the signing time")
    if replay:
        rt = runtime(ctx)
        policy = recorded_policy(rt, result.decision, policy_bundle)
        approved_for_replay(policy, result.decision, rt.config.policy_approver_keys())
        report_replay(replay_decision(result.decision, rt.store, policy, rt.engine(), rt.cache_dir))
    exit_if_unexpected(ctx, result.decision, expect_module, expect_lane, expect_revision, expect_pack, require_allow)


def report_replay(result: ReplayResult) -> None:
    """Print a replay's warnings and summary; a replay that differs raises (exit 2) naming the difference."""
    for message in result.warnings:
        warn(message)
    for line in check_replay(result):
        click.echo(line)
