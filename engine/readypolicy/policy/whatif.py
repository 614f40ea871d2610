"""What-if: how stored decisions would change if one policy set replaced another.

Before a policy change is approved, its reviewers need its effect, not its diff: which modules
would stop (or start) being allowed into which lane, and which checks change status. Both policy
sets are evaluated over the latest stored revision of every module, with the same evidence,
waivers and evaluation time, through evaluate()'s batched engine path (one OPA process per policy
per batch, never one per module). A policy set comes from a built bundle file or from a git
revision of the pack, materialized from git's own blobs into a temporary directory.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from readypolicy.engines.interface import RegoEngine
from readypolicy.evaluate import Subject, evaluate
from readypolicy.policy.bundle_read import read_bundle
from readypolicy.policy.interface import PolicyError, PolicySet
from readypolicy.policy.pack import load_pack
from readypolicy.records import DecisionRecord
from readypolicy.store.interface import Store

GIT_TIMEOUT_S = 60.0


class RevisionError(PolicyError):
    """A policy revision names neither a bundle file nor a git revision that holds the pack."""


@dataclass(frozen=True)
class Flip:
    """A decision whose outcome differs between the two policy sets."""

    module: str
    """Module."""
    revision: str
    """Module revision whose evidence was used (the latest stored)."""
    lane: str
    """Lane decided."""
    before: bool
    """`allow` under the base policy."""
    after: bool
    """`allow` under the head policy."""


@dataclass(frozen=True)
class CheckChange:
    """A check whose status differs between the two policy sets for one decision."""

    module: str
    """Module."""
    revision: str
    """Module revision."""
    lane: str
    """Lane decided."""
    check: str
    """Check id."""
    before: str | None
    """Status under the base policy (None: the check did not exist)."""
    after: str | None
    """Status under the head policy (None: the check no longer exists)."""


@dataclass(frozen=True)
class WhatIf:
    """The effect of replacing `base` with `head` on every stored module."""

    base: PolicySet
    """The policy in force (or proposed as the starting point)."""
    head: PolicySet
    """The proposed policy."""
    base_label: str
    """How the user named the base (a git revision or bundle path)."""
    head_label: str
    """How the user named the head."""
    lanes: tuple[str, ...]
    """Lanes re-decided."""
    subjects: int
    """Module revisions re-decided per lane."""
    flips: tuple[Flip, ...]
    """Decisions whose `allow` changes."""
    check_changes: tuple[CheckChange, ...]
    """Check statuses that change (including in decisions that do not flip)."""

    @property
    def decisions(self) -> int:
        """Decisions compared (subjects times lanes)."""
        return self.subjects * len(self.lanes)

    @property
    def per_check(self) -> Counter[tuple[str, str | None, str | None]]:
        """(check, before, after) → how many decisions change that way."""
        return Counter((c.check, c.before, c.after) for c in self.check_changes)


def _git(top: Path, *args: str, stdin: bytes | None = None) -> bytes:
    try:
        done = subprocess.run(
            ["git", "-C", str(top), *args], input=stdin, capture_output=True, timeout=GIT_TIMEOUT_S, check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RevisionError(f"cannot run git in {top}: {exc}") from exc
    if done.returncode != 0:
        message = " ".join(done.stderr.decode("utf-8", errors="replace").split())[:300]
        raise RevisionError(f"git {' '.join(args[:2])} in {top} failed: {message}")
    return done.stdout


def _blobs(top: Path, commit: str) -> list[tuple[str, str, str]]:
    """(mode, object id, path) of every file and link of the commit's tree (submodules have no blob)."""
    entries = []
    for record in _git(top, "ls-tree", "-r", "-z", "--full-tree", commit).split(b"\0"):
        if record:
            meta, _, path = record.partition(b"\t")
            mode, kind, oid = meta.decode().split(" ")
            if kind == "blob":
                entries.append((mode, oid, os.fsdecode(path)))
    return entries


def materialize(top: Path, commit: str, work: Path) -> None:
    """Write the commit's tree into `work` byte for byte as git stores it.

    Not `git archive`: it applies the commit's own `.gitattributes`, so a file marked `export-ignore`
    (or rewritten by `export-subst`, `eol`, `ident`) would be left out of the policy compared here while
    every checkout, `policy build` and `eval` include it: the what-if would say "nothing would change"
    for a rule that flips decisions.
    """
    entries = _blobs(top, commit)
    output = _git(top, "cat-file", "--batch", stdin="".join(f"{oid}\n" for _, oid, _ in entries).encode())
    offset = 0
    for mode, oid, path in entries:
        header_end = output.index(b"\n", offset)
        header = output[offset:header_end].decode().split(" ")
        if header[0] != oid or len(header) != 3:
            raise RevisionError(f"{commit}: git cat-file did not return {path} ({oid})")
        content = output[header_end + 1:header_end + 1 + int(header[2])]
        offset = header_end + 2 + int(header[2])
        target = work / path
        if Path(path).is_absolute() or ".." in Path(path).parts:
            raise RevisionError(f"{commit}: {path} leads outside the tree")
        target.parent.mkdir(parents=True, exist_ok=True)
        if mode == "120000":
            link = os.fsdecode(content)
            if os.path.isabs(link) or work.resolve() not in (target.parent / link).resolve().parents:
                raise RevisionError(f"{commit}: {path} is a link out of the tree ({link})")
            target.symlink_to(link)
        else:
            target.write_bytes(content)


def pack_at_revision(revision: str, pack_directory: Path) -> PolicySet:
    """The pack at `pack_directory` as it was at git `revision` (materialized in a temporary directory)."""
    directory = pack_directory.resolve()
    top = Path(_git(directory, "rev-parse", "--show-toplevel").decode().strip())
    relative = directory.relative_to(top).as_posix()
    commit = _git(top, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}").decode().strip()
    with tempfile.TemporaryDirectory(prefix="readypolicy-rev-") as work:
        # The whole tree at that commit: a pack's sources may live outside its directory (../../lib).
        try:
            materialize(top, commit, Path(work))
        except (OSError, ValueError) as exc:
            raise RevisionError(f"{revision}: cannot unpack {relative} from git: {exc}") from exc
        try:
            policy = load_pack(Path(work) / relative)
        except PolicyError as exc:
            raise RevisionError(f"{revision}: {relative} is not a policy pack there: {exc}") from exc
    return dataclasses.replace(policy, origin=Path(f"{revision}:{relative}"))


def resolve_policy(spec: str, pack_directory: Path) -> PolicySet:
    """A built bundle when `spec` is a file, else the pack at git revision `spec`."""
    path = Path(spec)
    if path.is_file():
        return read_bundle(path)
    return pack_at_revision(spec, pack_directory)


def _compare(lane: str, before: DecisionRecord, after: DecisionRecord) -> tuple[list[Flip], list[CheckChange]]:
    module, revision = before["subject"]["module"], before["subject"]["revision"]
    flips = [Flip(module, revision, lane, before["allow"], after["allow"])] if before["allow"] != after["allow"] else []
    was = {c["id"]: c["status"] for c in before["checks"]}
    now = {c["id"]: c["status"] for c in after["checks"]}
    changes = [
        CheckChange(module, revision, lane, check, was.get(check), now.get(check))
        for check in sorted(was.keys() | now.keys())
        if was.get(check) != now.get(check)
    ]
    return flips, changes


def what_if(
    *,
    store: Store,
    engine: RegoEngine,
    base: tuple[str, PolicySet],
    head: tuple[str, PolicySet],
    lanes: Sequence[str],
    cache_dir: Path,
    now: str,
    waivers: Sequence[dict[str, Any]] = (),
    batch_size: int = 500,
) -> WhatIf:
    """Re-decide the latest revision of every stored module under both policies and compare."""
    (base_label, base_policy), (head_label, head_policy) = base, head
    subjects = [Subject(m, r) for m in store.modules() if (r := store.latest_revision(m)) is not None]
    flips: list[Flip] = []
    changes: list[CheckChange] = []
    if base_policy.digest != head_policy.digest:
        for lane in lanes:
            common: dict[str, Any] = {"store": store, "engine": engine, "cache_dir": cache_dir, "lane": lane,
                                      "subjects": subjects, "now": now, "waivers": waivers, "batch_size": batch_size}
            for old, new in zip(evaluate(policy=base_policy, **common), evaluate(policy=head_policy, **common), strict=True):
                found_flips, found_changes = _compare(lane, old.record, new.record)
                flips.extend(found_flips)
                changes.extend(found_changes)
    return WhatIf(base_policy, head_policy, base_label, head_label, tuple(lanes), len(subjects), tuple(flips), tuple(changes))
