"""`readypolicy eval`: decide lanes for modules, record the decisions, exit 0/1/2."""

from __future__ import annotations

import fcntl
import functools
import os
import string
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from readypolicy.audit.trail import log_waivers
from readypolicy.canonical import canonical_bytes, rfc3339, utc_now
from readypolicy.cli.context import (
    EXIT_NOT_READY,
    EXIT_READY,
    environment_revision,
    fail_closed,
    note,
    runtime,
    warn,
    write_chunks,
    write_output,
)
from readypolicy.decision.ladder import LadderTally, describe
from readypolicy.decision.record import to_row
from readypolicy.evaluate import Subject, SubjectError, evaluate, resolve_subject, target_lanes
from readypolicy.policy.lock import LOCK_NAME, locked_policy
from readypolicy.policy.waivers import lane_lifetimes
from readypolicy.report.locations import store_locator
from readypolicy.report.markdown import MarkdownFormat, append_step_summary
from readypolicy.report.registry import FORMATS, get_format
from readypolicy.runtime import Runtime
from readypolicy.store.interface import StoreError
from readypolicy.waivers.gate import configured_waivers

if TYPE_CHECKING:
    from readypolicy.signing import Signer


def _lanes(rt: Runtime, requested: Sequence[str]) -> list[str] | None:
    """The lanes asked for; None when none was named, meaning each module's target lane and those below."""
    if not requested:
        return None
    if "all" in requested:
        return list(rt.lanes)
    unknown = [lane for lane in requested if lane not in rt.lanes]
    if unknown:
        raise click.BadParameter(f"unknown lane(s) {', '.join(unknown)}; lanes: {', '.join(rt.lanes)}")
    return list(requested)


def _subjects(rt: Runtime, modules: Sequence[str], revision: str | None, every: bool) -> list[Subject]:
    """Who is decided at which revision; a named revision is never swapped for another one.

    One module: `--revision`, else $READYPOLICY_REVISION or the CI's commit variable, else the
    revision ingested last (said on stderr). `--all`: `--revision` for every module, else each
    module's revision ingested last (a fleet's modules are built at different commits).
    """
    if every and modules:
        raise click.UsageError("--all evaluates every module in the store; drop --module")
    if not every and not modules:
        raise click.UsageError("give --module M (repeatable) or --all")
    store = rt.store
    if every:
        modules = store.modules()
        if not modules:
            raise SubjectError(f"{store.url} holds no evidence: --all has no module to decide")
    named = (revision, "--revision") if revision is not None else None if every else environment_revision()
    if named is not None:
        return [resolve_subject(store, m, named[0], named[1]) for m in modules]
    subjects = [resolve_subject(store, m, None) for m in modules]
    if every:
        chosen = f"each of the {len(subjects)} module(s) at its revision ingested last"
    else:
        chosen = ", ".join(f"{s.module} at revision {s.revision}" for s in subjects) + ", the one ingested last"
    note(f"no --revision, $READYPOLICY_REVISION or CI commit variable: deciding {chosen}; pass --revision")
    return subjects


def run_evaluations(
    rt: Runtime, lanes: Sequence[str], subjects: Sequence[Subject], bundle: Path | None, pack: str | None,
    record: bool, progress: bool, locked: bool = False, server: str | None = None,
    per_lane: Mapping[str, Sequence[Subject]] | None = None,
) -> Iterator[dict[str, Any]]:
    """Evaluate every lane for every subject, storing and yielding each decision as it is made.

    `per_lane` narrows which subjects a lane decides (each module up to its target lane).

    Nothing is kept once yielded, so a fleet of any size runs in flat memory.

    With `locked`, each lane is decided by the bundle the lock approved for it; every lane's bundle
    is checked against the lock before anything is evaluated, so a bad lock records nothing.
    """
    now = rfc3339(utc_now())
    if locked:
        lock_path = rt.config.path(rt.config.bundles) / LOCK_NAME
        approvers = rt.config.policy_approver_keys()
        policies = {lane: locked_policy(lock_path, pack or rt.config.pack, lane, approvers) for lane in lanes}
    else:
        policies = dict.fromkeys(lanes, rt.policy(pack=pack, bundle=bundle))
    waivers = configured_waivers(rt.config, now, lane_lifetimes(policies))
    for message in waivers.warnings:
        warn(message)
    engine = rt.engine(server)
    plan = {lane: list(per_lane.get(lane, ()) if per_lane is not None else subjects) for lane in lanes}
    total = sum(len(chosen) for chosen in plan.values())
    recorded = 0
    with click.progressbar(length=total, label="evaluating", file=sys.stderr) if progress else _NoBar() as bar:
        for lane in lanes:
            for evaluation in evaluate(
                store=rt.store, engine=engine, policy=policies[lane], cache_dir=rt.cache_dir, lane=lane,
                subjects=plan[lane], now=now, waivers=waivers.entries, batch_size=rt.config.batch_size,
                workers=rt.config.workers,
            ):
                if record:
                    try:
                        rt.store.put_decision(to_row(evaluation.record), rt.config.actor)
                        recorded += 1
                        log_waivers(rt.store, evaluation.record, rt.config.actor)
                    except StoreError as exc:  # say what earlier commits of this run did store
                        if recorded:
                            raise StoreError(f"{exc}; {recorded} decision(s) of this run were recorded") from exc
                        raise
                bar.update(1)
                yield evaluation.record


SIGN_DIR = Path(".readypolicy/decisions")
"""Default directory of signed decisions, relative to the project root."""


_FILE_SAFE = frozenset(string.ascii_letters + string.digits + "_.-")


def _file_part(text: str, safe: frozenset[str]) -> str:
    """Percent-encode (UTF-8) every character outside `safe`, `%` included: reversible, so no two names meet."""
    return "".join(ch if ch in safe else "".join(f"%{byte:02X}" for byte in ch.encode()) for ch in text)


def decision_path(directory: Path, module: str, lane: str) -> Path:
    """`<dir>/<module>.<lane>.decision.json`, both parts percent-encoded so that distinct subjects never share a file.

    `pay/x` and `pay_x` become `pay%2Fx` and `pay_x`; the lane also has its dots encoded, so the
    last dot before `.decision.json` always separates module from lane.
    """
    name = f"{_file_part(module, _FILE_SAFE)}.{_file_part(lane, _FILE_SAFE - {'.'})}"
    return directory / f"{name}.decision.json"


def write_signed(
    records: Sequence[dict[str, Any]], signer: Signer, directory: Path, subject_digest: str | None, vsa: bool,
) -> list[Path]:
    """Write `<module>.<lane>.decision.json` and its Sigstore bundle(s) per record; returns the paths.

    The names are what `readypolicy verify DECISION.json` looks for next to a decision, so a CI job
    can hand the directory to an auditor as it is. Each record is signed before anything is written,
    and its files are published together (`_publish_together`), so two runs sharing a directory
    never leave a decision of one beside a bundle of the other.
    """
    from readypolicy.signing import default_bundle_path, sign_decision, vsa_bundle_path, write_bundle

    written: list[Path] = []
    for record in records:
        path = decision_path(directory, record["subject"]["module"], record["lane"])
        bundle_path = default_bundle_path(path)
        bundles = [(bundle_path, sign_decision(record, signer, subject_digest))]
        if vsa:
            bundles.append((vsa_bundle_path(bundle_path), sign_decision(record, signer, subject_digest, vsa=True)))
        # The canonical (RFC 8785) bytes, no newline: their sha256 is the statement's subject, so
        # `cosign verify-blob-attestation` checks this very file as the blob.
        writers: list[tuple[Path, Callable[[Path], object]]] = [
            (path, functools.partial(_write_bytes, canonical_bytes(record)))
        ]
        writers += [(target, functools.partial(write_bundle, bundle)) for target, bundle in bundles]
        _publish_together(directory, writers)
        written += [path, *(target for target, _bundle in bundles)]
    return written


def _write_bytes(data: bytes, path: Path) -> None:
    path.write_bytes(data)


def _publish_together(directory: Path, writers: Sequence[tuple[Path, Callable[[Path], object]]]) -> None:
    """Write each file under a name no other process uses, then rename them all holding a lock on the directory.

    Each file appears whole, and the set of them appears as one: a concurrent run renames its own
    set before or after this one, never in between.
    """
    directory.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[Path, Path]] = []
    try:
        for target, write in writers:
            handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
            os.close(handle)
            staged.append((Path(name), target))
            write(Path(name))
        lock = os.open(directory, os.O_RDONLY)  # the directory itself is the lock: no lock file among the signed ones
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            for temporary, target in staged:
                os.replace(temporary, target)
        finally:
            os.close(lock)
    finally:
        for temporary, _target in staged:
            temporary.unlink(missing_ok=True)


class _NoBar:
    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, _n: int) -> None:
        return None


@click.command("eval")
@click.option("--lane", "-l", "lanes", multiple=True,
              help="Lane to decide (repeatable, or 'all'; default: each module's target lane and the lanes below it).")
@click.option("--module", "-m", "modules", multiple=True, help="Module (repeatable).")
@click.option("--all", "every", is_flag=True, help="Every module in the store (fleet mode, batched).")
@click.option("--revision", "-r",
              help="Revision (default: $READYPOLICY_REVISION or the CI's commit variable; else the one ingested last, "
                   "with a note). With --all: every module at this revision.")
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
@click.option("--timestamp-url", help="With --sign --key: RFC 3161 timestamp authority URL for a trusted signing "
              "time. Env: READYPOLICY_TIMESTAMP_URL.")
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
    trust_config: Path | None, timestamp_url: str | None, subject_digest: str | None, vsa: bool, sign_dir: Path | None,
) -> None:
    """Decide whether modules are ready for lanes. Exit 0 ready, 1 not ready, 2 error."""
    rt = runtime(ctx)
    requested = _lanes(rt, lanes)
    subjects = _subjects(rt, modules, revision, every)
    per_lane: dict[str, list[Subject]] | None = None
    if requested is None:  # each module up to the target lane its manifest names
        per_lane = {lane: [] for lane in rt.lanes}
        for subject in subjects:
            for lane in target_lanes(rt.store, subject, rt.lanes):
                per_lane[lane].append(subject)
    chosen = requested if requested is not None else [lane for lane in rt.lanes if per_lane and per_lane[lane]]
    progress = every and sys.stderr.isatty()
    if locked and bundle:
        raise click.UsageError("--locked uses the approved bundles; drop --bundle")
    if (engine_name == "opa-server") != (server is not None):
        raise click.UsageError("--engine opa-server and --server URL go together")
    if not sign_decisions and (key or identity_token or trust_config or timestamp_url or subject_digest or vsa or sign_dir):
        raise click.UsageError(
            "--key, --identity-token, --trust-config, --timestamp-url, --subject-digest, --vsa and --sign-dir need --sign"
        )
    if subject_digest and len(subjects) != 1:
        raise click.UsageError("--subject-digest names one module's artifact; evaluate one module with it")
    # The signer is ready (key read, passphrase given) before anything is decided or recorded.
    signer = None
    if sign_decisions:
        from readypolicy.cli.sign import signer_from_options  # the signing stack loads only when used

        configured_tsa = rt.config.timestamp_url if key is not None else None  # the setting is for key-based signing
        signer = signer_from_options(key, identity_token, trust_config, timestamp_url or configured_tsa)
    directory = sign_dir or rt.config.path(SIGN_DIR)
    verdicts: list[bool] = []
    ladders = LadderTally(rt.lanes, rt.store)

    def decided() -> Iterator[dict[str, Any]]:
        for record in run_evaluations(
            rt, chosen, subjects, bundle, pack, record=not no_record, progress=progress, locked=locked, server=server,
            per_lane=per_lane,
        ):
            if signer is not None:
                for path in write_signed([record], signer, directory, subject_digest, vsa):
                    click.echo(f"signed: {path}", err=True)
            verdicts.append(bool(record["allow"]))
            ladders.add(record)
            yield record

    def ladder_table() -> Iterator[str]:
        """Run after every decision was streamed (chained after them): each module's ladder."""
        yield "\nwhy not the next lane:\n" + "\n".join(f"  {describe(ladder)}" for ladder in ladders.ladders())

    if fmt == MarkdownFormat.name:
        text = get_format(fmt).render(list(decided()))
        text += "\n\n### Why not the next lane\n\n" + "\n".join(f"- {describe(lad)}" for lad in ladders.ladders())
        write_output(text, output)
        append_step_summary(text)
    else:
        chunks: Iterable[str] = get_format(fmt, store_locator(rt.store)).stream(decided())
        if fmt == "table":  # the human format ends with each module's ladder; machine formats stay as they were
            chunks = chain(chunks, ladder_table())
        write_chunks(chunks, output)
    if not verdicts:  # a gate that decided nothing never says READY
        raise SubjectError("nothing was decided: no module and lane to evaluate")
    ctx.exit(EXIT_READY if all(verdicts) else EXIT_NOT_READY)
