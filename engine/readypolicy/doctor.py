"""`readypolicy doctor`: is this machine able to give a verdict, and if not, what to do about it.

A CI job that fails with exit 2 on its first `eval` should not need a debugging session: each
finding names what was checked, what was found and one line that fixes it. Checks are independent
(a missing OPA does not hide a broken store) and every one runs the real thing: the real OPA
binary compiles the real pack under the restricted capabilities, the real store is opened
read-only, key files are parsed.
"""

from __future__ import annotations

import json
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from readypolicy.config import CONFIG_NAME
from readypolicy.engines.locate import INSTALL_HINT
from readypolicy.errors import ReadyPolicyError
from readypolicy.policy.lint import check_sources
from readypolicy.runtime import Runtime
from readypolicy.signing.keys import is_encrypted, load_public_key
from readypolicy.worktree import committable_in, git_work_tree

MIN_OPA = (1, 0, 0)
"""Oldest OPA the shipped packs are written for (Rego v1 syntax, `nondeterministic` builtin flags)."""


@dataclass(frozen=True)
class Finding:
    """The outcome of one check."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    """One line that resolves the problem (empty when ok)."""


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.lstrip("v").split("-")[0].split(".")[:3]:
        if not piece.isdigit():
            raise ValueError(f"not a release version: {text!r}")
        parts.append(int(piece))
    return tuple(parts)


def check_config(rt: Runtime) -> Finding:
    """Which configuration is in effect, and whether the policy pack it names loads."""
    source = rt.config.root / CONFIG_NAME
    origin = str(source) if source.is_file() else f"defaults (no {CONFIG_NAME} in {rt.config.root})"
    policy = rt.policy()
    return Finding("config", True, f"{origin}; pack {policy.pack} {policy.version} ({len(policy.files)} files)")


def check_opa(rt: Runtime) -> Finding:
    """OPA is found, runs, and is recent enough."""
    opa = rt.opa()
    version = opa.version
    try:
        too_old = _version_tuple(version) < MIN_OPA
    except ValueError:
        too_old = True
    floor = ".".join(map(str, MIN_OPA))
    if too_old:
        return Finding("opa", False, f"{opa.path} is OPA {version}; readypolicy needs {floor} or later", INSTALL_HINT)
    return Finding("opa", True, f"OPA {version} at {opa.path} (needs >= {floor})")


def check_capabilities(rt: Runtime) -> Finding:
    """The pack compiles under the restricted capabilities of this OPA (no network, clock or randomness)."""
    opa = rt.opa()
    policy = rt.policy()
    builtins = len(json.loads(opa.capabilities_file.read_text(encoding="utf-8"))["builtins"])
    problems = check_sources(opa, policy)
    if problems:
        return Finding(
            "capabilities", False, f"pack {policy.pack} does not compile under this OPA's restricted capabilities: "
            f"{problems[0]} ({len(problems)} problem(s))", "run `readypolicy policy check` and fix what it names",
        )
    return Finding("capabilities", True, f"pack {policy.pack} compiles with --strict under {builtins} allowed builtins")


def check_store(rt: Runtime) -> Finding:
    """The store exists and answers (opened read-only: doctor never creates one)."""
    modules = rt.store.modules()
    return Finding("store", True, f"{_redacted(rt.config.store_url())}: {len(modules)} module(s) with evidence")


def _redacted(url: str) -> str:
    """A store URL without its password."""
    scheme, sep, rest = url.partition("://")
    if sep and "@" in rest:
        credentials, _, host = rest.rpartition("@")
        user = credentials.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url


def check_key(path: Path) -> Finding:
    """A private key (and its `.pub`): parseable, encrypted, private to its owner, not about to be committed."""
    name = f"key {path}"
    if not path.is_file():
        return Finding(name, False, "no such file", "run `readypolicy keygen --prefix PREFIX` or pass the right --key")
    if not is_encrypted(path):
        return Finding(name, False, "private key is stored without a passphrase",
                       "create an encrypted one with `readypolicy keygen` (READYPOLICY_KEY_PASSWORD)")
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        return Finding(name, False, f"readable by others (mode {mode:04o})", f"chmod 600 {path}")
    exposed = committable_in(path)
    if exposed is not None:
        return Finding(name, False, f"inside the git work tree {exposed} and not git-ignored",
                       "add `*.key` to .gitignore, or move the key out of the repository")
    tree = git_work_tree(path)
    public = path.with_suffix(".pub")
    if public.is_file():
        load_public_key(public)
    where = f"in work tree {tree}, git-ignored" if tree is not None else "outside any git work tree"
    return Finding(name, True, f"encrypted, mode {mode:04o}, {where}" + (f"; {public.name} loads" if public.is_file() else ""))


def _guarded(name: str, check: Callable[[], Finding], fix: str) -> Finding:
    """Run one check; an error becomes a failed finding with the fix, never an abort of the others."""
    try:
        return check()
    except ReadyPolicyError as exc:
        return Finding(name, False, " ".join(str(exc).split()), fix)


def diagnose(rt: Runtime, keys: Sequence[Path]) -> list[Finding]:
    """Every finding, in the order a person would fix them."""
    findings = [
        _guarded("config", lambda: check_config(rt), f"check {CONFIG_NAME} and READYPOLICY_* (policies, pack)"),
        _guarded("opa", lambda: check_opa(rt), INSTALL_HINT),
        _guarded("capabilities", lambda: check_capabilities(rt), "run `readypolicy policy check` and fix what it names"),
        _guarded("store", lambda: check_store(rt),
                 "ingest evidence first (`readypolicy ingest` creates the store) or point --store / READYPOLICY_STORE at it"),
    ]
    for key in keys:
        findings.append(_guarded(f"key {key}", partial(check_key, key), "regenerate it with `readypolicy keygen`"))
    if not keys:
        findings.append(Finding("keys", True, "no private key given or found in the project root (keyless signing needs none)"))
    return findings
