"""`readypolicy waiver request|approve|revoke|list`: the life of a governed waiver in the waiver file.

Revocations are recorded in the store's audit chain as well (`waivers.revocations`), so approve and
list read the store, and revoke writes to it.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path

import click

from readypolicy.canonical import parse_rfc3339, rfc3339, utc_now
from readypolicy.cli.context import fail_closed, runtime
from readypolicy.decision.catalog import pack_lifetimes
from readypolicy.runtime import Runtime
from readypolicy.waivers import book

_DURATION = re.compile(r"^(\d+)([dh])$")


def _moment(text: str, start: datetime, option: str) -> datetime:
    """An RFC 3339 time, or a duration after `start` such as `7d` or `36h`."""
    match = _DURATION.match(text.strip())
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        return start + (timedelta(days=amount) if unit == "d" else timedelta(hours=amount))
    try:
        return parse_rfc3339(text)
    except ValueError as exc:
        raise click.BadParameter(f"{text!r} is neither an RFC 3339 time nor a duration like 7d or 36h",
                                 param_hint=option) from exc


def _lifetimes(rt: Runtime) -> dict[str, int] | None:
    return pack_lifetimes(rt.policy())


def _revocation_note(row: dict[str, object]) -> str:
    """Who revoked a listed waiver, when, why and where that is recorded; and what the file claims if it differs."""
    if row["state"] != "revoked":
        return ""
    claim = row.get("file_state")
    differs = f"; the waiver file says {claim}" if claim not in (None, "revoked") else ""
    return (f"  revoked by {row['revoked_by']} at {row['revoked_at']}: {row['revoke_reason']} "
            f"({row['revocation']}{differs})")


@click.group("waiver")
def waiver_group() -> None:
    """Request, approve (signed), revoke and list governed waivers in the waiver file."""


@waiver_group.command("request")
@click.option("--check", "check_id", required=True, help="Check id to waive.")
@click.option("--module", "-m", help="Module the waiver covers.")
@click.option("--pattern", help="Instead of --module: a shell-style pattern of module names (needs --owner).")
@click.option("--owner", help="With --pattern: the owning team; only modules the pack's waivers.owners gives it are covered.")
@click.option("--lane", "-l", "lanes", multiple=True, required=True, help="Lane (repeatable).")
@click.option("--reason", required=True, help="Why the risk is acceptable for now.")
@click.option("--link", required=True, help="Ticket or link tracking the fix.")
@click.option("--expires", required=True, help="RFC 3339 time, or a duration from now such as 7d (bounded per lane).")
@click.option("--id", "waiver_id", help="Waiver id (default: W- and a digest of the request).")
@click.pass_context
@fail_closed
def request_command(
    ctx: click.Context, check_id: str, module: str | None, pattern: str | None, owner: str | None,
    lanes: tuple[str, ...], reason: str, link: str, expires: str, waiver_id: str | None,
) -> None:
    """Add a waiver in state `requested` (the actor is requested_by); it does nothing until approved."""
    if bool(module) == bool(pattern) or bool(pattern) != bool(owner):
        raise click.UsageError("give --module M, or --pattern P with --owner TEAM")
    rt = runtime(ctx)
    now = utc_now()
    asked = book.Request(
        check=check_id, module=module, lanes=tuple(dict.fromkeys(lanes)), reason=reason, link=link,
        requested_by=rt.config.actor, created=now, expires=_moment(expires, now, "--expires"), id=waiver_id,
        pattern=pattern, owner=owner,
    )
    item = book.request(rt.config.path(rt.config.waivers), asked, _lifetimes(rt))
    covered = module or f"{pattern} (owner {owner})"
    click.echo(f"requested {item['id']}: {check_id} on {covered} in {', '.join(item['lanes'])} until {item['expires']}")


@waiver_group.command("approve")
@click.argument("waiver_id")
@click.option("--key", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Approver's PEM private key (passphrase from READYPOLICY_KEY_PASSWORD).")
@click.pass_context
@fail_closed
def approve_command(ctx: click.Context, waiver_id: str, key: Path) -> None:
    """Approve WAIVER_ID as the actor: sign the canonical waiver with KEY and mark it approved."""
    from readypolicy.cli.sign import signer_from_options  # the signing stack loads only when used

    rt = runtime(ctx)
    signer = signer_from_options(key, None, None, rt.config.timestamp_url)
    item = book.approve(rt.config.path(rt.config.waivers), waiver_id, rt.config.actor, signer, utc_now(), _lifetimes(rt),
                        rt.store)
    covered = item.get("module") or f"{item['pattern']} (owner {item['owner']})"
    click.echo(f"approved {item['id']} by {item['approved_by']} (signed): {item['check']} on {covered} until {item['expires']}")


@waiver_group.command("revoke")
@click.argument("waiver_id")
@click.option("--reason", required=True, help="Why the waiver ends early.")
@click.pass_context
@fail_closed
def revoke_command(ctx: click.Context, waiver_id: str, reason: str) -> None:
    """Revoke WAIVER_ID: recorded in the store's audit chain, eval ignores it from now on whatever the file says."""
    rt = runtime(ctx)
    item = book.revoke(rt.config.path(rt.config.waivers), waiver_id, rt.config.actor, reason, rt.writable_store)
    click.echo(f"revoked {item['id']} by {item['revoked_by']} at {item['revoked_at']} (recorded in {rt.store.url})")


@waiver_group.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
@fail_closed
def list_command(ctx: click.Context, fmt: str) -> None:
    """Every governed waiver with its state now (requested, approved, revoked, expired)."""
    rt = runtime(ctx)
    rows = book.listing(rt.config.path(rt.config.waivers), utc_now(), rt.store)
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, sort_keys=True))
        return
    for row in rows:
        click.echo(f"{row['id']:<14} {row['state']:<10} {row['check']} on {row['module']} in {','.join(row['lanes'] or [])} "
                   f"until {row['expires']}  requested by {row['requested_by']}, approved by {row['approved_by'] or '-'}"
                   + _revocation_note(row))
    if not rows:
        click.echo(f"no governed waivers in {rt.config.path(rt.config.waivers)} (at {rfc3339(utc_now())})")
