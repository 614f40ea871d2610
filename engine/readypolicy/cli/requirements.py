"""`readypolicy requirements --lane L`: what evidence a lane needs before `eval` is worth running."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

from readypolicy.canonical import rfc3339, utc_now
from readypolicy.cli.context import fail_closed, runtime
from readypolicy.policy.rego_index import RegoIndex
from readypolicy.policy.requirements import Need, Requirements, requirements
from readypolicy.policy.rollout import rollout, upcoming_days, with_rollout
from readypolicy.waivers.gate import configured_waivers


def _value(value: Any) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list) else json.dumps(value)


def _need(need: Need) -> str:
    scopes = f" (scope {' or '.join(need.scopes)})" if need.scopes else ""
    formats = ", ".join(need.formats) or "no normalizer reads this kind"
    return f"{need.kind}{scopes}: {formats}"


def _setting(req: Requirements, name: str) -> str:
    value = next(t.value for t in req.thresholds if t.name == name)
    return f"{name}={_value(value)}"


def render_table(req: Requirements) -> str:
    """Plain text for a terminal."""
    lines = [f"{req.pack} {req.version}, lane {req.lane}: {len(req.checks)} check(s)", ""]
    width = max(len(c.id) for c in req.checks) if req.checks else 5
    for check in req.checks:
        lines.append(f"{check.id:<{width}}  {check.lane:<12} {check.title}")
        lines.extend(f"{'':<{width}}  {'':<12}   needs {_need(need)}" for need in check.needs)
        if check.thresholds:
            lines.append(f"{'':<{width}}  {'':<12}   thresholds {', '.join(_setting(req, n) for n in check.thresholds)}")
    lines += ["", f"thresholds in effect for {req.lane}:"]
    lines.extend(f"  {t.name:<32} {_value(t.value):<40} (set by {t.lane})" for t in req.thresholds)
    return "\n".join(lines)


def render_markdown(req: Requirements) -> str:
    """A page for a pull request or a wiki."""
    lines = [
        f"## {req.pack} {req.version}: what lane `{req.lane}` needs", "",
        "| check | from lane | evidence kind | scope | accepted formats | thresholds |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for check in req.checks:
        settings = ", ".join(f"`{_setting(req, n)}`" for n in check.thresholds) or "-"
        for need in check.needs:
            scopes = ", ".join(f"`{s}`" for s in need.scopes) or "any"
            formats = ", ".join(f"`{f}`" for f in need.formats) or "none"
            title = check.title.replace("|", "\\|")
            lines.append(f"| `{check.id}` {title} | {check.lane} | `{need.kind}` | {scopes} | {formats} | {settings} |")
    lines += ["", "| threshold | value | set by lane |", "| --- | --- | --- |"]
    lines.extend(f"| `{t.name}` | {_value(t.value)} | {t.lane} |" for t in req.thresholds)
    return "\n".join(lines)


RENDERERS: dict[str, Callable[[Requirements], str]] = {
    "table": render_table,
    "markdown": render_markdown,
    "json": lambda req: json.dumps(req.to_json(), indent=2, sort_keys=True),
}


@click.command("requirements")
@click.option("--lane", "-l", required=True, help="Lane to list (its checks include every lower lane's).")
@click.option("--pack", help="Policy pack (default from config).")
@click.option("--format", "fmt", type=click.Choice(sorted(RENDERERS)), default="table", show_default=True)
@click.pass_context
@fail_closed
def requirements_command(ctx: click.Context, lane: str, pack: str | None, fmt: str) -> None:
    """List per check of LANE the evidence kinds, scopes and accepted formats, and the lane's thresholds."""
    rt = runtime(ctx)
    policy = rt.policy(pack)
    index = RegoIndex.of(rt.opa(), policy)
    text = RENDERERS[fmt](requirements(policy, lane, lambda check: index.strings_reached(index.check_rules(check))))
    if not upcoming_days(policy, utc_now()):
        click.echo(text if fmt != "json" else with_rollout(text, [], fmt))
        return
    now = rfc3339(utc_now())
    ahead = rollout(store=rt.store, engine=rt.engine(), policy=policy, lanes=[lane], cache_dir=rt.cache_dir, now=now,
                    waivers=configured_waivers(rt.config, rt.store, now, None).entries, batch_size=rt.config.batch_size)
    click.echo(with_rollout(text, ahead, fmt))
