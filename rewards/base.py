"""What a reward component is: :class:`Sample` (what it knows of the question), :class:`Scored`
(a score with its explanation) and :class:`Component` (one function, per completion or per
batch, run with the checks every score gets). :mod:`rewards.registry` registers and finds them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import mcq

__all__ = ["Component", "Sample", "Scored"]


@dataclass
class Sample:
    """What a component may know about the question a completion answers (all optional).

    Attributes:
        id: The question id.
        question: The question text.
        options: Option texts keyed ``"A"``..``"D"``.
        correct_answer: The gold letter, when known.
        prompt: What the answer replies to, when known: a text or chat messages (the policy's
            prompt in GRPO, a pairs file's ``prompt``); a reward model reads it before the answer.
    """

    id: str | None = None
    question: str | None = None
    options: dict[str, str] | None = None
    correct_answer: str | None = None
    prompt: str | list[dict[str, Any]] | None = None

    @classmethod
    def from_question(cls, q: mcq.Question) -> Sample:
        """Build a sample from an :class:`mcq.Question`.

        Example:
            >>> q = mcq.Question(id="q1", question="?", options=dict(zip("ABCD", "甲乙丙丁")),
            ...                  correct_answer="B")
            >>> Sample.from_question(q).correct_answer
            'B'
        """
        return cls(
            id=q.id,
            question=q.question,
            options=dict(q.options),
            correct_answer=q.correct_answer,
        )


class Scored(NamedTuple):
    """One completion's score and what it was found from (what ``rewards explain`` shows).

    Example:
        >>> value, details = Scored(1.0, {"letter": "B"})
        >>> value, details["letter"]
        (1.0, 'B')
    """

    score: float | None
    details: dict[str, Any]


ComponentFunc = Callable[..., "float | None | Scored"]
BatchFunc = Callable[..., Sequence["float | None | Scored"]]


@dataclass(frozen=True)
class Component:
    """A registered reward component.

    Attributes:
        name: The registry key, the column name in scored files, and TRL's metric name.
        description: One line for ``python -m rewards list`` and the app.
        func: ``(completion, sample, **settings) -> float | None | Scored``, per completion.
        source: ``"builtin"``, the dotted path the component was loaded from, or
            ``"factory:<key>"`` for one built from settings.
        batch: ``(completions, samples, **settings) -> list[float | None | Scored]``, one
            value per completion; :meth:`run_batch` prefers it to calling ``func`` per item.
            A component has ``func``, ``batch`` or both.
        progress_chunk: Completions per call when scoring shows a progress bar; a slow
            component (a model, a remote judge) sets a small one so the bar moves. ``None``:
            :data:`rewards.scoring.PROGRESS_CHUNK`.
        check: Optional ``() -> str | None``, a cheap test that the component can score at
            all (an LLM judge asks its endpoint): ``None`` when it can, else one line why.
            :func:`rewards.scoring.preflight` calls it once before a command's work.
        applies: Optional ``(sample) -> bool``: whether the component is meant to score the
            sample (correctness: only with a gold letter). ``None``: every sample. A component
            that scores none of the samples it applies to is *unscored*
            (:func:`rewards.scoring.unscored`).
        paths: The settings whose values are file paths (a preset reads them relative to
            its own file).
    """

    name: str
    description: str
    func: ComponentFunc | None = field(default=None, repr=False)
    source: str = "builtin"
    batch: BatchFunc | None = field(default=None, repr=False)
    progress_chunk: int | None = None
    check: Callable[[], str | None] | None = field(default=None, repr=False)
    applies: Callable[[Sample], bool] | None = field(default=None, repr=False)
    paths: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.func is None and self.batch is None:
            raise ValueError(f"reward component {self.name!r} needs a func or a batch function")

    @property
    def is_plugin(self) -> bool:
        """Whether the component is user code loaded by dotted path (not built in, no factory)."""
        return self.source != "builtin" and not self.source.startswith("factory:")

    def run(
        self,
        completion: str,
        sample: Sample,
        settings: Mapping[str, Any] | None = None,
        *,
        row: int = 1,
    ) -> Scored:
        """Score one completion: its :class:`Scored` (the score checked to be in [0, 1]).

        A plugin that raises (or returns something that is not a score) ends in one
        :class:`mcq.errors.UsageError` naming the component, the row (its id, else ``row``,
        the row number) and the error.
        """
        return self.run_batch([completion], [sample], settings, first_row=row)[0]

    def run_batch(
        self,
        completions: Sequence[str],
        samples: Sequence[Sample],
        settings: Mapping[str, Any] | None = None,
        *,
        first_row: int = 1,
    ) -> list[Scored]:
        """Score many completions: one :class:`Scored` each, through ``batch`` when set.

        ``first_row`` is the number of the first completion, for errors that name a row.

        Example:
            >>> comp = Component("long", "1.0 when long.",
            ...                  batch=lambda cs, ss: [float(len(c) > 3) for c in cs])
            >>> [tuple(found) for found in comp.run_batch(["答案：A。理由", "A"], [Sample()] * 2)]
            [(1.0, {}), (0.0, {})]
        """
        settings = settings or {}
        if self.batch is None or len(completions) == 1:
            where = [_where(s, first_row + i) for i, s in enumerate(samples)]
        else:
            where = [f"the rows {first_row}-{first_row + len(completions) - 1}"]
        if self.batch is None:
            found = []
            for text, sample, place in zip(completions, samples, where, strict=True):
                with self._errors_named(place):
                    found.append(self._checked(self.func(text, sample, **settings)))  # type: ignore[misc]
            return found
        with self._errors_named(where[0]):
            values = list(self.batch(list(completions), list(samples), **settings))
            if len(values) != len(completions):
                raise _NotAScore(
                    f"returned {len(values)} scores for {len(completions)} completions"
                )
            return [self._checked(value) for value in values]

    @contextmanager
    def _errors_named(self, where: str) -> Iterator[None]:
        """A plugin's exception, or a value that is not a score, as one line naming the
        component, ``where`` (the row) and the error; a built-in's bug stays a traceback."""
        try:
            yield
        except mcq.UsageError:
            raise
        except Exception as err:
            if not (self.is_plugin or isinstance(err, _NotAScore)):
                raise
            text = " ".join(str(err).split())[:300] or "no message"
            if not isinstance(err, _NotAScore):
                text = f"{type(err).__name__}: {text}"
            raise mcq.UsageError(
                f"reward component {self.name!r} ({self.source}) failed on {where}: {text}"
            ) from err

    def _checked(self, value: Any) -> Scored:
        value, details = value if isinstance(value, tuple) else (value, {})
        if value is None:
            return Scored(None, details)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
            raise _NotAScore(
                f"returned {value!r}; a component must return a number in [0, 1] or None"
            )
        return Scored(float(value), details)


def _where(sample: Sample | None, row: int) -> str:
    return f"id {sample.id}" if getattr(sample, "id", None) else f"row {row}"


class _NotAScore(ValueError):
    """A component's return value is not a score (or not one per completion)."""
