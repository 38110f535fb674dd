"""Answering one chunk of questions: generate, extract, score, vote, re-ask the undecided.

For every question: ask the model (``mcq.build_messages`` with the prompt variant, fitted to
the context by :mod:`inference.context`), score the answers with the rewards preset (a chunk's
answers in one batch per component), which also extracts each letter (``mcq.extract_answer``),
and, where no letter can be extracted, ask again with the answer constrained to A-D
(``answer_source=constrained``). With several samples the majority letter wins; a tie goes to
the letter whose best answer has the highest total reward.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import mcq
from inference.backends import Backend, Generation
from inference.generation.fingerprints import question_seed
from inference.generation.results import CONSTRAINED, EXTRACTED, format_score
from inference.generation.settings import GenerationSettings
from mcq import LETTERS, Question
from mcq.errors import UsageError

if TYPE_CHECKING:
    from rewards import Breakdown, Preset

__all__ = ["Answerer", "Scored", "decide"]


@dataclass
class Scored:
    """One sampled answer: its text, extracted letter (or None) and reward breakdown."""

    text: str
    letter: str | None
    breakdown: Breakdown


def decide(samples: list[Scored]) -> tuple[Scored, str | None, str]:
    """Pick the answer: majority letter, ties by best total, then earliest sample.

    Returns the representative sample, its letter (None when no sample has one) and the
    ``votes`` summary.
    """
    counts = Counter(s.letter for s in samples if s.letter)
    none = sum(1 for s in samples if not s.letter)
    votes = ";".join(
        [f"{x}={counts[x]}" for x in LETTERS if counts[x]] + ([f"none={none}"] if none else [])
    )

    def best(candidates: list[Scored]) -> Scored:
        # Highest total; the earliest sample wins a tie (max keeps the first maximum).
        return max(candidates, key=lambda s: s.breakdown.total)

    if not counts:
        return best(samples), None, votes
    top = max(counts.values())
    tied = [x for x in LETTERS if counts[x] == top]
    winners = [best([s for s in samples if s.letter == x]) for x in tied]
    chosen = max(winners, key=lambda s: s.breakdown.total)
    return chosen, chosen.letter, votes


class Answerer:
    """Answers chunks of questions with one backend and one preset."""

    def __init__(
        self,
        backend: Backend,
        settings: GenerationSettings,
        preset: Preset,
        components: list[str],
        prompt: mcq.Prompt,
    ):
        self.backend = backend
        self.settings = settings
        self.preset = preset
        self.prompt = prompt
        self.components = components
        self.generated_tokens = 0
        self.generation_seconds = 0.0

    def check_room(self) -> None:
        """Raise :class:`UsageError` when no question could fit beside the new tokens."""
        from inference.context import prompt_budget, shortest_prompt_tokens

        s = self.settings
        new_tokens = 0 if s.constrained else s.max_new_tokens
        budget = prompt_budget(self.backend, new_tokens)
        if budget is None:
            return
        needed = shortest_prompt_tokens(self.backend, self.prompt)
        if needed > budget:
            context = self.backend.max_model_len
            raise UsageError(
                f"the model's context is {context} tokens; with --max-new-tokens {new_tokens} "
                f"a prompt may take {budget}, but prompt {self.prompt.name!r} needs {needed} "
                "before any question: lower --max-new-tokens or raise the context "
                "(--engine-arg max_model_len=N)"
            )

    def rows(self, questions: list[Question]) -> list[list[str]]:
        """The detailed_results.csv rows of ``questions``, in their order."""
        import rewards
        from inference.context import fit_conversations
        from rewards.scoring import score_batch

        s = self.settings
        conversations, truncated = fit_conversations(
            self.backend,
            questions,
            self.prompt,
            max_new_tokens=0 if s.constrained else s.max_new_tokens,
        )
        # Every chunk starts from an empty prefix cache, resumed or not: same numerics.
        self.backend.reset_prefix_cache()
        started = time.perf_counter()
        if s.constrained:
            letters = self.backend.choose(conversations)
            generations = [[Generation(letter, 1)] for letter in letters]
        else:
            generations = self.backend.chat(
                conversations,
                max_new_tokens=s.max_new_tokens,
                n=s.samples,
                seed=[question_seed(s.seed, q.id) for q in questions],
                **s.sampling_kwargs(),
            )
        self.generation_seconds += time.perf_counter() - started
        self.generated_tokens += sum(g.num_tokens for gens in generations for g in gens)

        # Every answer of the chunk in one batch per component (a reward model's forward passes),
        # a reward model reading each after the conversation the model was asked.
        texts = [g.text for gens in generations for g in gens]
        samples = [
            replace(rewards.Sample.from_question(q), prompt=conversation)
            for q, conversation, gens in zip(questions, conversations, generations, strict=True)
            for _ in gens
        ]
        breakdowns = score_batch(texts, samples, self.preset)
        decided, start = [], 0
        for gens in generations:
            mine = breakdowns[start : start + len(gens)]
            start += len(gens)
            decided.append(
                decide([Scored(g.text, b.answer, b) for g, b in zip(gens, mine, strict=True)])
            )

        missing = [i for i, (_, letter, _) in enumerate(decided) if letter is None]
        constrained: dict[int, str] = {}
        if s.constrained:
            constrained = {i: generations[i][0].text for i in range(len(questions))}
        elif missing:
            picks = self.backend.choose([conversations[i] for i in missing])
            constrained = dict(zip(missing, picks, strict=True))

        rows = []
        for i, (q, (sample, letter, votes)) in enumerate(zip(questions, decided, strict=True)):
            source = CONSTRAINED if i in constrained else EXTRACTED
            answer = constrained.get(i, letter)
            row = [q.id, answer, source, sample.text]
            row += [format_score(sample.breakdown.components.get(name)) for name in self.components]
            row.append(format_score(sample.breakdown.total))
            row.append("true" if truncated[i] else "false")
            if s.samples > 1:
                row.append(votes)
            rows.append(row)
        return rows
