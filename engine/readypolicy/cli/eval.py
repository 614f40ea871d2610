"""`readypolicy eval`: decide lanes for modules, record the decisions, exit 0/1/2."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from readypolicy.audit.trail import log_waivers
from readypolicy.canonical import rfc3339, utc_now
from readypolicy.cli.context import EXIT_NOT_READY, EXIT_READY, fail_closed, runtime, warn, write_chunks, write_output
from readypolicy.decision.record import to_row
from readypolicy.evaluate import Subject, evaluate, resolve_subject
from readypolicy.policy.lock import LOCK_NAME, locked_policy
from readypolicy.policy.waivers import load_waivers
from readypolicy.report.markdown import MarkdownFormat, append_step_summary
from readypolicy.report.registry import FORMATS, get_format
from readypolicy.runtime import Runtime

if TYPE_CHECKING:
    from readypolicy.signing import Signer


def _lanes(rt: Runtime, requested: Sequence[str]) -> list[str]:
    if not requested or "all" in requested:
        return list(rt.config.lanes)
    unknown = [lane for lane in requested if lane not in rt.config.lanes]
    if unknown:
        raise click.BadParameter(f"unknown lane(s) {', '.join(unknown)}; lanes: {', '.join(rt.config.lanes)}")
    return list(requested)


def _subjects(rt: Runtime, modules: Sequence[str], revision: str | None, every: bool) -> list[Subject]:
    if every:
        if modules or revision:
            raise click.UsageError("--all evaluates the latest revision of every module; drop --module/--revision")
        return [resolve_subject(rt.store, m, None) for m in rt.store.modules()]
    if not modules:
        raise click.UsageError("give --module M (repeatable) or --all")
    return [resolve_subject(rt.store, m, revision) for m in modules]


def run_evaluations(
    rt: Runtime, lanes: Sequence[str], subjects: Sequence[Subject], bundle: Path | None, pack: str | None,
    record: bool, progress: bool, locked: bool = False, server: str | None = None,
) -> Iterator[dict[str, Any]]:
    """Evaluate every lane for every subject, storing and yielding each decision as it is made.

    Nothing is kept once yielded, so a fleet of any size runs in flat memory.

    With `locked`, each lane is decided by the bundle the lock approved for it; every lane's bundle
    is checked against the lock before anything is evaluated, so a bad lock records nothing.
    """
    now = rfc3339(utc_now())
    if locked:
        lock_path = rt.config.path(rt.config.bundles) / LOCK_NAME
        policies = {lane: locked_policy(lock_path, pack or rt.config.pack, lane) for lane in lanes}
    else:
        policies = dict.fromkeys(lanes, rt.policy(pack=pack, bundle=bundle))
    waivers = load_waivers(rt.config.path(rt.config.waivers), now)
    for message in waivers.warnings:
        warn(message)
    engine = rt.engine(server)
    total = len(lanes) * len(subjects)
    with click.progressbar(length=total, label="evaluating", file=sys.stderr) if progress else _NoBar() as bar:
        for lane in lanes:
            for evaluation in evaluate(
                store=rt.store, engine=engine, policy=policies[lane], cache_dir=rt.cache_dir, lane=lane,
                subjects=subjects, now=now, waivers=waivers.entries, batch_size=rt.config.batch_size,
                workers=rt.config.workers,
            ):
                if record:
                    rt.store.put_decision(to_row(evaluation.record), rt.config.actor)
                    log_waivers(rt.store, evaluation.record, rt.config.actor)
                bar.update(1)
                yield evaluation.record


SIGN_DIR = Path(".readypolicy/decisions")
"""Default directory of signed decisions, relative to the project root."""


def decision_path(directory: Path, module: str, lane: str) -> Path:
    """`<dir>/<module>.<lane>.decision.json`, with characters a file name cannot safely hold replaced."""
    name = ".".join(re.sub(r"[^A-Za-z0-9_.-]", "_", part) for part in (module, lane))
    return directory / f"{name}.decision.json"


def write_signed(
    records: Sequence[dict[str, Any]], signer: Signer, directory: Path, subject_digest: str | None, vsa: bool,
) -> list[Path]:
    from readypolicy.signing import default_bundle_path, sign_decision, vsa_bundle_path, write_bundle

    """Write `<module>.<lane>.decision.json` and its Sigstore bundle(s) per record; returns the paths.

    The names are what `readypolicy verify DECISION.json` looks for next to a decision, so a CI job
    can hand the directory to an auditor as it is.
    """
    written: list[Path] = []
    for record in records:
        path = decision_path(directory, record["subject"]["module"], record["lane"])
        write_output(json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False), path)
        bundle_path = default_bundle_path(path)
        write_bundle(sign_decision(record, signer, subject_digest), bundle_path)
        written += [path, bundle_path]
        if vsa:
            vsa_path = vsa_bundle_path(bundle_path)
            write_bundle(sign_decision(record, signer, subject_digest, vsa=True), vsa_path)
            written.append(vsa_path)
    return written


class _NoBar:
    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, _n: int) -> None:
        return None


@click.command("eval")
@click.option("--lane", "-l", "lanes", multiple=True, help="Lane to decide (repeatable, or 'all'; default all).")
@click.option("--module", "-m", "modules", multiple=True, help="Module (repeatable).")
@click.option("--all", "every", is_flag=True, help="Every module in the store (fleet mode, batched).")
@click.option("--revision", "-r", help="Revision (default: the one ingested last).")
@click.option("--bundle", type=click.Path(path_type=Path, exists=True, dir_okay=False), help="Evaluate a built bundle.")
@click.option("--locked", is_flag=True, help="Decide each lane with the bundle bundles/lock.json approved for it.")
@click.option("--pack", help="Policy pack (default from config).")
@click.option("--engine", "engine_name", type=click.Choice(["opa", "opa-server"]), default="opa",
              help="opa: the OPA binary per batch; opa-server: a running `opa run --server` holding the same bundle.")
@click.option("--server", help="OPA server URL for --engine opa-server, e.g. http://127.0.0.1:8181.")
@click.option("--format", "fmt", type=click.Choice(sorted(FORMATS)), default="table")
@click.option("--output", "-o", type=click.Path(path_type=Path), help="Write the report to a file.")
@click.option("--no-record", is_flag=True, help="Do not store the decisions.")
@click.option("--sign", "sign_decisions", is_flag=True,
              help="Sign each decision: write SIGN_DIR/<module>.<lane>.decision.json and .sigstore.json.")
@click.option("--key", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="With --sign: PEM private key (passphrase from READYPOLICY_KEY_PASSWORD); default keyless.")
@click.option("--identity-token", help="With --sign: OIDC token for keyless signing.")
@click.option("--trust-config", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="With --sign: Sigstore client trust config of a private instance.")
@click.option("--subject-digest", help="With --sign: sha256:<hex> of the module artifact (one module only).")
@click.option("--vsa", is_flag=True, help="With --sign: also sign a SLSA Verification Summary.")
@click.option("--sign-dir", type=click.Path(file_okay=False, path_type=Path),
              help="With --sign: where decisions and bundles go (default .readypolicy/decisions).")
@click.pass_context
@fail_closed
def eval_command(
    ctx: click.Context, lanes: tuple[str, ...], modules: tuple[str, ...], every: bool, revision: str | None,
    bundle: Path | None, locked: bool, pack: str | None, engine_name: str, server: str | None, fmt: str,
    output: Path | None, no_record: bool, sign_decisions: bool, key: Path | None, identity_token: str | None,
    trust_config: Path | None, subject_digest: str | None, vsa: bool, sign_dir: Path | None,
) -> None:
    """Decide whether modules are ready for lanes. Exit 0 ready, 1 not ready, 2 error."""
    rt = runtime(ctx)
    chosen = _lanes(rt, lanes)
    subjects = _subjects(rt, modules, revision, every)
    progress = every and sys.stderr.isatty()
    if locked and bundle:
        raise click.UsageError("--locked uses the approved bundles; drop --bundle")
    if (engine_name == "opa-server") != (server is not None):
        raise click.UsageError("--engine opa-server and --server URL go together")
    if not sign_decisions and (key or identity_token or trust_config or subject_digest or vsa or sign_dir):
        raise click.UsageError("--key, --identity-token, --trust-config, --subject-digest, --vsa and --sign-dir need --sign")
    if subject_digest and len(subjects) != 1:
        raise click.UsageError("--subject-digest names one module's artifact; evaluate one module with it")
    # The signer is ready (key read, passphrase given) before anything is decided or recorded.
    signer = None
    if sign_decisions:
        from readypolicy.cli.sign import signer_from_options  # the signing stack loads only when used

        signer = signer_from_options(key, identity_token, trust_config)
    directory = sign_dir or rt.config.path(SIGN_DIR)
    verdicts: list[bool] = []

    def decided() -> Iterator[dict[str, Any]]:
        for record in run_evaluations(
            rt, chosen, subjects, bundle, pack, record=not no_record, progress=progress, locked=locked, server=server,
        ):
            if signer is not None:
                for path in write_signed([record], signer, directory, subject_digest, vsa):
                    click.echo(f"signed: {path}", err=True)
            verdicts.append(bool(record["allow"]))
            yield record

    if fmt == MarkdownFormat.name:
        text = get_format(fmt).render(list(decided()))
        write_output(text, output)
        append_step_summary(text)
    else:
        write_chunks(get_format(fmt).stream(decided()), output)
    ctx.exit(EXIT_READY if all(verdicts) else EXIT_NOT_READY)
