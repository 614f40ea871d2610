"""`readypolicy audit ...`: read and check the audit trail, checkpoint it, and export or verify archives.

Shape: `log` and `verify-chain` read the store's chain; `checkpoint` signs its head and
`checkpoint verify` checks a checkpoint against the chain; `export` packs one signed decision and
everything it was made from, and `verify ARCHIVE` checks such an archive offline. The work is in
`readypolicy.audit`; every expected failure exits 2 with one line.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict
from pathlib import Path

import click

from readypolicy.audit.archive_verify import verify_archive
from readypolicy.audit.checkpoint import sign_checkpoint, verify_checkpoint
from readypolicy.audit.export import TRUSTED_ROOT, read_archive
from readypolicy.audit.export_decision import decision_signature, export_decision, recorded_decision
from readypolicy.audit.rows import decision_problems, ingest_problems
from readypolicy.audit.trail import AuditError, checked_chain
from readypolicy.canonical import rfc3339, utc_now
from readypolicy.cli.context import fail_closed, recorded_policy, runtime, warn
from readypolicy.cli.sign import (
    exit_if_unexpected,
    expectation_options,
    report_replay,
    require_timestamp_option,
    signer_from_options,
    timestamp_required,
    verifier_from_options,
    verifier_options,
)
from readypolicy.signing import read_bundle, summary_lines, write_bundle
from readypolicy.signing.decision_files import SIGN_DIR
from readypolicy.since import since_time
from readypolicy.store.chain import evidence_problems
from readypolicy.store.interface import AuditEntry

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
_DETAIL_KEYS = ("decision_id", "digest", "check", "lane", "allow", "kind", "scope", "revision", "reason")
_DETAIL_CHARS = 100


@click.group("audit")
def audit_group() -> None:
    """The tamper-evident audit trail and offline audit archives of signed decisions."""


def _summary(entry: AuditEntry) -> str:
    """The details an operator scans for, in a fixed order, shortened to one table cell."""
    details = entry.details
    parts = [f"{key}={_short(details[key])}" for key in _DETAIL_KEYS if key in details]
    if "digests" in details:
        parts.append(f"digests={len(details['digests'])}")
    text = " ".join(parts) or json.dumps(details, sort_keys=True)
    return text if len(text) <= _DETAIL_CHARS else text[: _DETAIL_CHARS - 3] + "..."


def _short(value: object) -> str:
    """Digests shortened to their first 12 hex digits, as the other tables print them."""
    text = str(value)
    return text[:19] if text.startswith("sha256:") else text


@audit_group.command("log")
@click.option("--since", help="Only entries at or after this date or RFC 3339 time.")
@click.option("--module", "-m", help="Only entries about this module.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
@fail_closed
def log_command(ctx: click.Context, since: str | None, module: str | None, fmt: str) -> None:
    """Show the audit chain (filtered views do not check it; use verify-chain)."""
    entries = list(runtime(ctx).store.audit_entries(since=since_time(since) if since is not None else None, module=module))
    if fmt == "json":
        click.echo(json.dumps([asdict(entry) for entry in entries], indent=2, sort_keys=True))
        return
    click.echo(f"{'SEQ':>6}  {'AT':<27}  {'ACTOR':<16}  {'ACTION':<9}  {'MODULE':<16}  DETAILS")
    for entry in entries:
        click.echo(
            f"{entry.seq:>6}  {entry.at:<27}  {entry.actor[:16]:<16}  {entry.action:<9}  "
            f"{(entry.module or '-')[:16]:<16}  {_summary(entry)}"
        )


@audit_group.command("verify-chain")
@click.option("--checkpoint", "checkpoints", multiple=True, type=_FILE,
              help="Signed checkpoint the chain must still hold (repeatable); needs --key or --cert-identity/-issuer.")
@verifier_options
@click.pass_context
@fail_closed
def verify_chain_command(ctx: click.Context, checkpoints: tuple[Path, ...], key: Path | None,
                         cert_identity: str | None, cert_oidc_issuer: str | None, offline: bool,
                         trusted_root: Path | None) -> None:
    """Check the chain, every evidence and decision row against it, and each checkpoint; exit 2 naming the first problem.

    Without a checkpoint the chain cannot show a rewrite or a truncation of its newest entries:
    pass the checkpoints kept outside the store.
    """
    if not checkpoints and (key or cert_identity or cert_oidc_issuer or trusted_root or offline):
        raise click.UsageError("--key/--cert-identity/--cert-oidc-issuer/--trusted-root/--offline check a --checkpoint")
    store = runtime(ctx).store
    entries = checked_chain(store)
    problems = evidence_problems(store, entries) + ingest_problems(store, entries) + decision_problems(store, entries)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise AuditError(f"{store.url}: {problems[0]}{more}; the store was edited")
    for path in checkpoints:
        verifier = verifier_from_options(key, cert_identity, cert_oidc_issuer, offline, trusted_root, str(path))
        result = verify_checkpoint(read_bundle(path), verifier, store, str(path))
        click.echo(f"checkpoint {path}: entry {result.seq} still has the signed hash ({result.entries_since} entries since)")
    head = f"head {entries[-1].seq} {entries[-1].entry_hash}" if entries else "empty chain"
    click.echo(f"audit chain intact: {len(entries)} entries, {head}")


@audit_group.group("checkpoint", invoke_without_command=True)
@click.option("--key", type=_FILE, help="Sign with this PEM private key (passphrase from READYPOLICY_KEY_PASSWORD).")
@click.option("--identity-token", help="OIDC token for keyless signing (default: CI ambient credential).")
@click.option("--trust-config", type=_FILE, help="Sigstore client trust config of a private instance.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Bundle path (default .readypolicy/checkpoints/audit-<seq>.sigstore.json).")
@click.pass_context
@fail_closed
def checkpoint_group(ctx: click.Context, key: Path | None, identity_token: str | None, trust_config: Path | None,
                     output: Path | None) -> None:
    """Sign the current chain head (seq + entry hash) as an in-toto statement; keep the bundle elsewhere."""
    if ctx.invoked_subcommand is not None:
        if key or identity_token or trust_config or output:
            raise click.UsageError("signing options go with `audit checkpoint`, not its subcommands")
        return
    rt = runtime(ctx)
    signer = signer_from_options(key, identity_token, trust_config)
    head, bundle = sign_checkpoint(rt.store, signer, rfc3339(utc_now()))
    out = output or rt.config.path(Path(".readypolicy/checkpoints")) / f"audit-{head.seq}.sigstore.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    write_bundle(bundle, out)
    click.echo(f"checkpoint of entry {head.seq} ({head.entry_hash}) -> {out}")


@checkpoint_group.command("verify")
@click.argument("bundle_path", metavar="CHECKPOINT.sigstore.json", type=_FILE)
@verifier_options
@click.pass_context
@fail_closed
def checkpoint_verify_command(ctx: click.Context, bundle_path: Path, key: Path | None, cert_identity: str | None,
                              cert_oidc_issuer: str | None, offline: bool, trusted_root: Path | None) -> None:
    """Verify a checkpoint's signature and that the chain still has the checkpointed head."""
    verifier = verifier_from_options(key, cert_identity, cert_oidc_issuer, offline, trusted_root, str(bundle_path))
    result = verify_checkpoint(read_bundle(bundle_path), verifier, runtime(ctx).store, str(bundle_path))
    click.echo(f"checkpoint verified: entry {result.seq} of the chain still has the signed hash {result.entry_hash}")
    click.echo(f"  signer:       {result.signer}")
    click.echo(f"  checkpointed: {result.checkpointed_at}")
    click.echo(f"  since then:   {result.entries_since} entries")


@audit_group.command("export")
@click.option("--decision", "decision_id", required=True, help="Decision id (sha256:... or a unique hex prefix).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Archive .tar.gz.")
@click.option("--bundle", "bundle_path", type=_FILE,
              help="Signature bundle (default: .readypolicy/decisions/<module>.<lane>.decision.sigstore.json).")
@click.option("--policy-bundle", type=_FILE, help="Policy bundle with the recorded digest (default: bundles dir, tree).")
@click.option("--trusted-root", type=_FILE,
              help="Sigstore trusted root of the TSA that timestamped the bundle (required when it has a timestamp).")
@click.option("--checkpoint", type=_FILE,
              help="Signed checkpoint of the audit chain: pack the chain segment that logged the decision up to it.")
@click.option("--key", type=_FILE, help="Sign the archive's manifest with this PEM private key (the decisions' key).")
@click.option("--identity-token", help="OIDC token for keyless signing of the manifest (default: CI ambient credential).")
@click.option("--trust-config", type=_FILE, help="Sigstore client trust config of a private instance.")
@click.pass_context
@fail_closed
def export_command(ctx: click.Context, decision_id: str, output: Path, bundle_path: Path | None,
                   policy_bundle: Path | None, trusted_root: Path | None, checkpoint: Path | None, key: Path | None,
                   identity_token: str | None, trust_config: Path | None) -> None:
    """Pack a signed decision, its evidence, artifact digests and policy bundle into an archive with a signed manifest.

    The manifest lists the sha256 of every member and is signed by the signer the options name
    (as `sign`), so that the side files an auditor reads are covered by a signature too.
    """
    rt = runtime(ctx)
    row = recorded_decision(rt.store, decision_id)
    signer = signer_from_options(key, identity_token, trust_config)
    record = row.record
    signature = decision_signature(row, rt.config.path(SIGN_DIR), bundle_path)
    policy = recorded_policy(rt, record, policy_bundle)
    export_decision(output, row, signature, rt.store, policy, signer, trusted_root, checkpoint)
    click.echo(f"exported decision {row.decision_id} ({len(record.get('evidence') or [])} evidence documents) -> {output}")


@audit_group.command("verify")
@click.argument("archive", metavar="ARCHIVE.tar.gz", type=_FILE)
@verifier_options
@require_timestamp_option
@expectation_options
@click.pass_context
@fail_closed
def verify_archive_command(ctx: click.Context, archive: Path, key: Path | None, cert_identity: str | None,
                           cert_oidc_issuer: str | None, offline: bool, trusted_root: Path | None,
                           require_timestamp: bool | None, expect_module: str | None, expect_lane: str | None,
                           expect_revision: str | None, expect_pack: str | None, require_allow: bool) -> None:
    """Verify an audit archive's signature and replay its decision from the archive alone (no store).

    A required timestamp must verify against a root the auditor pinned (`--trusted-root`): the root
    packed in the archive is the exporter's choice, so it never satisfies the requirement.
    """
    rt = runtime(ctx)
    required = timestamp_required(ctx, require_timestamp)
    carried = read_archive(archive).trusted_root if key is not None and trusted_root is None and not required else None
    with tempfile.TemporaryDirectory(prefix="readypolicy-audit-root-") as work:
        if carried is not None:
            trusted_root = Path(work) / TRUSTED_ROOT
            trusted_root.write_bytes(carried)
            warn(f"{archive}: its timestamp is checked against the trusted root packed in the archive; "
                 "pin your own copy of the TSA's root with --trusted-root")
        verifier = verifier_from_options(key, cert_identity, cert_oidc_issuer, offline, trusted_root, str(archive))
    result = verify_archive(archive, verifier, rt.engine(), rt.cache_dir, require_timestamp=required)
    for line in summary_lines(result.verified):
        click.echo(line)
    click.echo(f"  chain:    {result.chain or 'not anchored (export with --checkpoint to pack the audit chain)'}")
    report_replay(result.replay)
    exit_if_unexpected(ctx, result.verified.decision, expect_module, expect_lane, expect_revision, expect_pack,
                       require_allow)

