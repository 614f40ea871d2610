"""Whether a file could end up in a commit: inside a git work tree and not git-ignored.

A private key written inside a work tree is one `git add -A` away from being published, so
`keygen` warns and `doctor` fails on one. The work tree is found from the file system alone (a
`.git` directory, or the `.git` file of a linked work tree or submodule); whether the file is
ignored is asked of git itself (`git check-ignore`), and when git cannot answer the file counts as
exposed: a warning too many is cheaper than a leaked key.
"""

from __future__ import annotations

import subprocess
from pathlib import Path


def git_work_tree(path: Path) -> Path | None:
    """The top of the git work tree holding `path` (a file that may not exist yet), or None."""
    start = path.absolute()
    for directory in (start, *start.parents):
        if (directory / ".git").exists():
            return directory
    return None


def git_ignored(tree: Path, path: Path) -> bool:
    """Whether git would leave the file out of `git add -A` (False when git cannot say)."""
    try:
        done = subprocess.run(
            ["git", "-C", str(tree), "check-ignore", "-q", "--", str(path.absolute())],
            capture_output=True, timeout=30, check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def committable_in(path: Path) -> Path | None:
    """The work tree `path` could be committed to (inside it and not ignored), or None."""
    tree = git_work_tree(path)
    if tree is None or git_ignored(tree, path):
        return None
    return tree
