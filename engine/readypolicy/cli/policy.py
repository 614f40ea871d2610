"""`readypolicy policy ...`: the policy author's loop — test, fmt, check, build, approve, lock, explain.

Each command is a thin shell over the library (policy.test_runner, lint, bundle_build, lock,
explain). Exit codes follow the CLI contract: 0 clean, 1 the author has something to fix (failing
tests, coverage under the floor, unformatted files, compile problems, a lock mismatch), 2 the tool
could not do its job.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from readypolicy.canonical import rfc3339, utc_now
from readypolicy.cli.context import EXIT_NOT_READY, fail_closed, runtime, warn
from readypolicy.decision.catalog import pack_lifetimes
from readypolicy.drift.golden import golden_message, pack_cases, update_cases
from readypolicy.drift.interface import DriftError
from readypolicy.policy.annotations import AnnotationProblem, annotation_problems
from readypolicy.policy.approval import approval_path
from readypolicy.policy.bundle_build import build_bundle
from readypolicy.policy.bundle_holder import bundle_holder
from readypolicy.policy.current_build import current_build
from readypolicy.policy.explain import explain, render_text, to_json
from readypolicy.policy.interface import PolicyError, PolicySet
from readypolicy.policy.lint import CheckProblem, check_sources, format_sources, unformatted
from readypolicy.policy.lock import LOCK_NAME, approve, read_lock, verify
from readypolicy.policy.source_tree import display_path
from readypolicy.policy.test_runner import run_golden, run_tests
from readypolicy.runtime import Runtime
from readypolicy.waivers.gate import configured_waivers

PACK_OPTION = click.option("--pack", help="Policy pack name or directory (default from config).")


def _lock_path(rt: Runtime) -> Path:
    return rt.config.path(rt.config.bundles) / LOCK_NAME


@click.group("policy")
def policy_group() -> None:
    """Author policy packs: test, format, check, build, approve and explain."""


@policy_group.command("test")
@PACK_OPTION
@click.option("--coverage-floor", type=float, help="Minimum line coverage %% of policy files (default: config coverage_floor).")
@click.option("--verbose", "-v", is_flag=True, help="List failing tests with their errors, and per-file coverage.")
@click.pass_context
@fail_closed
def test_command(ctx: click.Context, pack: str | None, coverage_floor: float | None, verbose: bool) -> None:
    """Run the pack's Rego tests with coverage and its golden cases; exit 1 on a failure or coverage under the floor."""
    rt = runtime(ctx)
    policy = rt.policy(pack=pack)
    floor = rt.config.coverage_floor if coverage_floor is None else coverage_floor
    report = run_tests(rt.opa(), policy)
    counts = report.counts
    click.echo(f"pack {policy.pack} {policy.version}: {counts['pass']} passed, {counts['fail']} failed, "
               f"{counts['error']} errors, {counts['skip']} skipped")
    for case in report.failed if verbose else ():
        click.echo(f"  {case.status.upper():<5} {case.name}  ({case.location})")
        if case.message:
            click.echo(f"        {case.message}")
    if report.failed and not verbose:
        click.echo("  failing: " + ", ".join(case.name for case in report.failed) + "  (-v for details)")
    coverage = report.coverage
    if coverage is None:
        click.echo("coverage: not measured (tests failed)")
    else:
        click.echo(f"coverage: {coverage:.2f}% of policy lines (floor {floor:g}%)")
        for item in report.files if verbose else ():
            rows = ",".join(map(str, item.not_covered_rows[:20])) + ("..." if len(item.not_covered_rows) > 20 else "")
            click.echo(f"  {item.percent:6.2f}%  {item.path}" + (f"  not covered: {rows}" if rows else ""))
    if not report.cases:
        warn(f"pack {policy.pack} has no tests (add *_test.rego files beside the policies)")
    golden_failed = _run_golden_cases(rt, policy)
    if report.failed or coverage is None or coverage < floor or golden_failed:
        ctx.exit(EXIT_NOT_READY)


def _run_golden_cases(rt: Runtime, policy: PolicySet) -> bool:
    """Decide the pack's golden cases with its sources and print each one that moved; True if any did."""
    golden = run_golden(policy, rt.engine(), rt.cache_dir)
    if golden is None or not golden.checked:
        warn(f"pack {policy.pack} has no golden cases (pack.yaml golden: a directory of *.json cases)")
        return False
    for line in golden.checked:
        click.echo(line)
    for difference in golden.differences:
        click.echo(f"  FAIL  {golden_message(difference)}")
    return bool(golden.differences)


@policy_group.group("golden")
def golden_group() -> None:
    """Golden cases: full inputs with the outcome the pack must give them."""


@golden_group.command("update")
@PACK_OPTION
@click.pass_context
@fail_closed
def golden_update_command(ctx: click.Context, pack: str | None) -> None:
    """Rewrite every golden case's expected outcome with what the pack's sources decide now.

    Run it after a reviewed policy change, and review the rewritten files like code: the diff is
    the behaviour change.
    """
    rt = runtime(ctx)
    policy = rt.policy(pack=pack)
    try:
        cases = pack_cases(policy.origin)
        changed = update_cases(cases, policy, rt.engine(), rt.cache_dir)
    except DriftError as exc:
        raise PolicyError(str(exc)) from exc
    for name in changed:
        click.echo(f"updated {name}")
    click.echo(f"pack {policy.pack}: {len(changed)} of {len(cases)} golden case(s) changed")


@policy_group.command("fmt")
@PACK_OPTION
@click.option("--check", "check_only", is_flag=True, help="Only list unformatted files; exit 1 if there are any.")
@click.pass_context
@fail_closed
def fmt_command(ctx: click.Context, pack: str | None, check_only: bool) -> None:
    """Format the pack's Rego sources with `opa fmt` (tests included)."""
    rt = runtime(ctx)
    policy = rt.policy(pack=pack)
    files = unformatted(rt.opa(), policy) if check_only else format_sources(rt.opa(), policy)
    for path in files:
        click.echo(f"{'unformatted' if check_only else 'formatted'}: {display_path(path)}")
    if check_only and files:
        click.echo(f"{len(files)} file(s) need `readypolicy policy fmt`", err=True)
        ctx.exit(EXIT_NOT_READY)


@policy_group.command("check")
@PACK_OPTION
@click.pass_context
@fail_closed
def check_command(ctx: click.Context, pack: str | None) -> None:
    """Compile the pack with `opa check --strict` against the restricted capabilities, and hold its catalog to
    the check rules' METADATA annotations."""
    rt = runtime(ctx)
    policy = rt.policy(pack=pack)
    problems: list[CheckProblem | AnnotationProblem] = [*check_sources(rt.opa(), policy)]
    if not problems:  # opa inspect needs sources that compile
        problems.extend(annotation_problems(rt.opa(), policy))
    for problem in problems:
        click.echo(str(problem))
    if problems:
        click.echo(f"pack {policy.pack}: {len(problems)} problem(s)", err=True)
        ctx.exit(EXIT_NOT_READY)
    click.echo(f"pack {policy.pack} {policy.version}: ok ({len(policy.files)} files, strict, restricted capabilities, "
               "catalog agrees with the check annotations)")


@policy_group.command("build")
@PACK_OPTION
@click.option("--signing-key", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="Also carry OPA's own signature (.signatures.json, ES256) made with this PEM private key, so "
                   "`opa run --verification-key PUB --signing-alg ES256` accepts the bundle.")
@click.pass_context
@fail_closed
def build_command(ctx: click.Context, pack: str | None, signing_key: Path | None) -> None:
    """Compile-check and write bundles/<pack>-<version>-<digest prefix>.tar.gz (reproducible byte for byte unless signed).

    A bundle file a lock entry or a stored decision refers to is never overwritten.
    """
    rt = runtime(ctx)
    policy = rt.policy(pack=pack)
    key_pem = None
    if signing_key is not None:
        from readypolicy.cli.sign import unencrypted_key_pem  # the signing stack loads only when used

        key_pem = unencrypted_key_pem(signing_key)
    holder = bundle_holder(_lock_path(rt), lambda: rt.store)
    path, sha256 = build_bundle(policy, rt.opa(), rt.config.path(rt.config.bundles), key_pem, holder)
    click.echo(f"bundle   {display_path(path)} ({path.stat().st_size} bytes, {len(policy.files)} files)")
    click.echo(f"revision {policy.revision}")
    click.echo(f"sha256   {sha256}")
    click.echo(f"digest   {policy.digest}")


@policy_group.command("approve")
@PACK_OPTION
@click.option("--lane", "-l", "lanes", multiple=True, help="Lane to approve the bundle for (repeatable; default all).")
@click.option("--bundle", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="Bundle to approve (default: the pack's current build in the bundles directory).")
@click.option("--key", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="Sign the approval with this PEM private key (passphrase from READYPOLICY_KEY_PASSWORD): "
                   "writes <bundle>.approval.sigstore.json, which policy_approvers checks.")
@click.pass_context
@fail_closed
def approve_command(ctx: click.Context, pack: str | None, lanes: tuple[str, ...], bundle: Path | None,
                    key: Path | None) -> None:
    """Pin a built bundle in bundles/lock.json for lanes, audit the approval, and with --key sign it."""
    rt = runtime(ctx)
    signer = None
    if key is not None:
        from readypolicy.cli.sign import signer_from_options  # the signing stack loads only when used

        signer = signer_from_options(key, None, None)
    if bundle is None:
        bundle, built = current_build(rt.policy(pack=pack), rt.config.path(rt.config.bundles))
    else:
        built = rt.policy(bundle=bundle)
    approved = approve(
        _lock_path(rt), bundle, list(lanes) or list(built.lanes), actor=rt.config.actor, now=rfc3339(utc_now()),
        store=rt.writable_store, signer=signer, approvers=rt.config.policy_approver_keys(),
    )
    for entry in approved.entries:
        click.echo(f"approved {entry.pack}/{entry.lane}: {entry.bundle} {entry.revision} {entry.sha256}")
    if signer is not None:
        click.echo(f"signed approval -> {display_path(approval_path(bundle))} (lanes: {', '.join(approved.signed_lanes)})")


@policy_group.group("lock")
def lock_group() -> None:
    """Inspect and verify bundles/lock.json."""


@lock_group.command("show")
@click.pass_context
@fail_closed
def lock_show_command(ctx: click.Context) -> None:
    """The approved bundle of every pack and lane."""
    for lanes in read_lock(_lock_path(runtime(ctx))).values():
        for e in lanes.values():
            click.echo(f"{e.pack}/{e.lane}: {e.bundle} {e.revision} {e.sha256} approved by {e.approved_by} at {e.approved_at}")


@lock_group.command("verify")
@click.pass_context
@fail_closed
def lock_verify_command(ctx: click.Context) -> None:
    """Check every locked bundle file against the lock (sha256 and policy digest); exit 1 on a mismatch."""
    results = verify(_lock_path(runtime(ctx)))
    for result in results:
        e = result.entry
        click.echo(f"{'ok' if result.problem is None else 'MISMATCH':<8} {e.pack}/{e.lane}: {e.bundle} {e.revision}"
                   + (f": {result.problem}" if result.problem else ""))
    if any(result.problem for result in results):
        ctx.exit(EXIT_NOT_READY)


@policy_group.command("explain")
@click.argument("check_id")
@click.option("--lane", "-l", required=True, help="Lane whose decision holds the check.")
@click.option("--module", "-m", required=True, help="Module.")
@click.option("--revision", "-r", help="Revision (default: the one ingested last).")
@PACK_OPTION
@click.option("--bundle", type=click.Path(path_type=Path, exists=True, dir_okay=False), help="Explain with a built bundle.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.pass_context
@fail_closed
def explain_command(
    ctx: click.Context, check_id: str, lane: str, module: str, revision: str | None, pack: str | None,
    bundle: Path | None, fmt: str,
) -> None:
    """Why CHECK_ID has its status: the rule, its result, the evidence it read, the thresholds in force."""
    rt = runtime(ctx)
    now = rfc3339(utc_now())
    policy = rt.policy(pack=pack, bundle=bundle)
    waivers = configured_waivers(rt.config, rt.store, now, pack_lifetimes(policy))
    explanation = explain(
        store=rt.store, engine=rt.engine(), opa=rt.opa(), policy=policy, cache_dir=rt.cache_dir,
        lane=lane, module=module, revision=revision, check_id=check_id, now=now, waivers=waivers.entries,
    )
    if fmt == "json":
        click.echo(json.dumps(to_json(explanation), indent=2, sort_keys=True))
    else:
        click.echo(render_text(explanation))


def _register_diff() -> None:
    """`policy diff` lives with drift detection, whose comparison code it shares."""
    from readypolicy.cli.drift import diff_command

    policy_group.add_command(diff_command)


_register_diff()
