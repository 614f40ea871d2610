"""Rego tests must test the policy that is built, not one only they can see.

`policy test` and `policy check` load a pack's `_test.rego` files beside its policy modules, while a
built bundle (and so `eval`) leaves them out. A test file that declares a policy package (a "fixture"
`doc_bytes_min := 1` in `package readiness.lib`), or a test-only package a policy module reads, gives
the policy a rule under test that is undefined in every real decision: the tests pass, coverage reads
100%, and the bundle decides otherwise (a check's failing branch that compares with the missing rule
never fires). So a test file's package must be its own: neither a policy module's package nor nested
with one, and no policy module may name it.
"""

from __future__ import annotations

from readypolicy.engines.opa_binary import OpaBinary
from readypolicy.engines.opa_parse import parse_module
from readypolicy.policy.interface import PolicySet
from readypolicy.policy.rego_index import RegoIndex
from readypolicy.policy.source_tree import display_path, rego_sources


def _nested(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Whether one path equals the other or lies below it (segment by segment)."""
    shorter = min(len(a), len(b))
    return a[:shorter] == b[:shorter]


def test_isolation_problems(opa: OpaBinary, policy: PolicySet) -> list[tuple[str, str]]:
    """(file, problem) for every test file whose rules a policy module (or its package) would see only under test."""
    index = RegoIndex.of(opa, policy)
    policy_packages = {tuple(index.package_of(path).split(".")) for path in index.modules}
    problems: list[tuple[str, str]] = []
    test_packages: dict[tuple[str, ...], str] = {}
    for source in rego_sources(policy.origin):
        if not source.name.endswith("_test.rego"):
            continue
        module = parse_module(opa, source.name, source.read_bytes())
        package = tuple(str(term["value"]) for term in module["package"]["path"])
        shared = sorted(".".join(p) for p in policy_packages if _nested(p, package))
        if shared:
            problems.append((
                display_path(source), f"test file declares package {'.'.join(package)}, which shares {shared[0]} with "
                "the policy modules; its rules would exist under `policy test` and not in the built bundle "
                "(declare a package of its own, e.g. <package>_test)",
            ))
        else:
            test_packages.setdefault(package, display_path(source))
    for path in sorted(index.modules):
        for reference in sorted(index.data_references(path)):
            for package, test_file in test_packages.items():
                if _nested(reference, package):
                    problems.append((
                        path, f"policy module reads {'.'.join(reference)}, under test package {'.'.join(package)} "
                        f"({test_file}), which the built bundle leaves out",
                    ))
    return problems
