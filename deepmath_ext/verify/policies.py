"""The registry of grading policies: `strict` (ours, the default) and the reference research code's rules.

A policy's `decide` is its in-process part: it finds what the policy grades and settles the cheap cases
(a format failure, an answer equal as a string or a number). Everything else becomes a `WorkerCheck` that a
verifier worker runs under the pool's deadline, memoisation and status accounting (see docs/verifier.md).
Third-party policies are `Policy` objects registered in the `deepmath.rewards` entry-point group, or named
by `pkg://module:attribute`; the pool needs no change for them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from deepmath_ext import extensions
from deepmath_ext.verify.executor import WorkerCheck
from deepmath_ext.verify.pipeline import decide_response
from deepmath_ext.verify.status import Grade

DEFAULT_POLICY = "strict"
Decision = Grade | WorkerCheck


@dataclass(frozen=True)
class Policy:
    """A named grading rule; `decide(response, gold, require_think, olympiad_judge)` is its in-process part,
    returning a `Grade` or a `WorkerCheck`."""

    name: str
    decide: Callable[[str, str, bool, bool], Decision]


def _strict(response: str, gold: str, require_think: bool, olympiad_judge: bool) -> Decision:
    """deepmath's verifier: the last box after the last </think>, exact first, no tolerance."""
    return decide_response(response, gold, require_think)


def _reference_policy(name: str) -> Callable[[str, str, bool, bool], Decision]:
    """A reference policy's `decide`, imported from `reference_policies` at its first call: a fifth of the
    verifier's import time that a `strict` grader never needs."""

    def decide(response: str, gold: str, require_think: bool, olympiad_judge: bool) -> Decision:
        import deepmath_ext.verify.reference_policies as reference_policies

        return getattr(reference_policies, name)(response, gold, require_think, olympiad_judge)

    return decide


POLICIES: dict[str, Policy] = {
    policy.name: policy
    for policy in (
        Policy("strict", _strict),
        Policy("reference", _reference_policy("reference")),
        Policy("reference-single-box", _reference_policy("reference_single_box")),
        Policy("reference-eval", _reference_policy("reference_eval")),
    )
}
POLICY_NAMES = tuple(POLICIES)


def _is_policy(name: str) -> bool:
    try:
        return isinstance(extensions.load_object(name), Policy)
    except extensions.ExtensionError:  # a broken plug-in: naming it in a recipe or option reports why
        return False


def installed_policy_names() -> tuple[str, ...]:
    """The entry points of the `deepmath.rewards` group that are grading policies (terms share the group)."""
    return tuple(name for name in extensions.entry_point_names() if name not in POLICIES and _is_policy(name))


def policy_names() -> tuple[str, ...]:
    """Every policy a name selects: the built-ins, then the installed entry-point policies."""
    return (*POLICY_NAMES, *installed_policy_names())


def get_policy(name: str) -> Policy:
    """A built-in policy, a `Policy` entry point of `deepmath.rewards`, or `pkg://module:attribute`;
    an unknown name is an error listing the known ones."""
    if isinstance(name, str) and name in POLICIES:
        return POLICIES[name]
    known = isinstance(name, str) and (
        extensions.is_module_path(name) or name in extensions.entry_point_names()
    )
    if not known:
        raise ValueError(
            f"unknown grading policy {name!r}; known policies: {', '.join(policy_names())}, "
            "or pkg://module:attribute"
        )
    policy = extensions.load_object(name)  # a broken plug-in's error names it
    if not isinstance(policy, Policy):
        raise ValueError(f"grading policy {name!r} is a {type(policy).__name__}, not a Policy")
    return policy
