"""The registry of reward terms: named plain functions that a recipe combines with weights.

A term is `fn(response, gold, extra_info, settings)`, sync or async, returning a number or a mapping with
`score` plus the `reward_extra_info` keys the term declared. `reward_term(keys=..., settings=...)` declares
them (a dataclass of settings, so misspelt keys are refused per term); an undecorated function adds no keys and
takes no settings. A term that needs to know whether the answer is correct awaits `sample_grade()`: one grade
per sample, under the recipe's grading keys, shared by every term.

Names resolve to the built-ins (`deepmath_ext.reward.builtin_terms`), then entry points of the
`deepmath.rewards` group, then `pkg://module:function` paths (see `deepmath_ext.extensions`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from deepmath_ext import extensions
from deepmath_ext.verify import Grade

TERM_ATTRIBUTE = "deepmath_term"


@dataclass(frozen=True)
class Term:
    """A named reward term: its function, the extra keys it adds and its settings class (None: no settings)."""

    name: str
    function: Callable[..., Any]
    keys: tuple[str, ...] = ()
    settings: type | None = None

    def parse_settings(self, raw: Mapping[str, Any] | None, where: str) -> Any:
        """The term's settings object; an unknown key is an error naming it and listing the known ones."""
        raw = dict(raw or {})
        if self.settings is None:
            if raw:
                raise ValueError(f"{where}: term {self.name!r} takes no settings, got {sorted(raw)}")
            return None
        known = {field.name for field in dataclasses.fields(self.settings)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ValueError(f"unknown key(s) {unknown} in {where}; known keys: {sorted(known)}")
        return self.settings(**raw)

    async def evaluate(
        self, response: str, gold: str, extra_info: Mapping[str, Any], settings: Any
    ) -> tuple[float, dict[str, Any]]:
        """(score, extra keys) of one sample; sync functions run in a thread (the reward loop never blocks)."""
        if inspect.iscoroutinefunction(self.function):
            value = await self.function(response, gold, extra_info, settings)
        else:
            value = await asyncio.to_thread(self.function, response, gold, extra_info, settings)
        if not isinstance(value, Mapping):
            return float(value), {}
        extras = {key: item for key, item in value.items() if key != "score"}
        if "score" not in value or set(extras) != set(self.keys):
            raise ValueError(
                f"reward term {self.name!r} returned keys {sorted(value)}; it declares score + {list(self.keys)}"
            )
        return float(value["score"]), {key: extras[key] for key in self.keys}


def reward_term(
    *, keys: tuple[str, ...] = (), settings: type | None = None, name: str | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a function a reward term (it stays a plain function): the keys it adds, its settings dataclass."""

    def declare(function: Callable[..., Any]) -> Callable[..., Any]:
        setattr(function, TERM_ATTRIBUTE, Term(name or function.__name__, function, tuple(keys), settings))
        return function

    return declare


BUILTIN_TERMS: dict[str, Term] = {}


def register_term(function: Callable[..., Any]) -> Callable[..., Any]:
    """Add a `reward_term`-declared function to the built-ins under its name."""
    term = getattr(function, TERM_ATTRIBUTE)
    BUILTIN_TERMS[term.name] = term
    return function


def get_term(reference: str) -> Term:
    """The term a recipe names: a built-in, an entry point of `deepmath.rewards`, or `pkg://module:fn`."""
    # The built-ins are registered by the package's import of `score` (which imports `builtin_terms`).
    if reference in BUILTIN_TERMS:
        return BUILTIN_TERMS[reference]
    try:
        function = extensions.load_object(reference)
    except extensions.ExtensionError as error:
        raise ValueError(
            f"unknown reward term {reference!r} ({error}); built-in terms: {sorted(BUILTIN_TERMS)}, "
            f"installed: {extensions.entry_point_names() or 'none'}"
        ) from None
    if not callable(function):
        raise ValueError(f"reward term {reference!r} is a {type(function).__name__}, not a function")
    declared = getattr(function, TERM_ATTRIBUTE, None)
    # The recipe's name for the term is the one its settings sit under.
    return dataclasses.replace(declared, name=reference) if declared else Term(reference, function)


# The grade of the sample being scored, computed at most once (set by `compute_score` for each sample).
_SAMPLE_GRADE: ContextVar[Callable[[], Awaitable[Grade]]] = ContextVar("deepmath_sample_grade")


async def sample_grade() -> Grade:
    """The verifier's grade of the response being scored, under the recipe's grading keys (policy, ...)."""
    try:
        grade = _SAMPLE_GRADE.get()
    except LookupError:
        raise RuntimeError("sample_grade() is only available inside deepmath's compute_score") from None
    return await grade()
