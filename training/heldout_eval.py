"""Held-out accuracy while a GRPO run trains (the questions: :mod:`training.heldout`).

Every ``eval_steps`` optimizer steps (TRL's own key; without it, every ``logging_steps``) and
once at the end, :class:`HeldOutEval` answers the held-out questions greedily with the policy
as it is at that step, on the training device, through the path ``python -m inference
generate`` takes: the prompt asset (``prompt``/``system_prompt``), the prompt fitted to the
model's context (:func:`inference.context.fit_conversations`), the transformers backend's
``chat`` (here over the model in memory) and the rewards preset's scoring, which extracts the
letter (``mcq.extract_answer``). The constrained re-ask is off: an answer without a letter
counts as wrong, since the re-ask would hide what the policy writes.

The numbers go through ``trainer.log`` (so TRL's loggers, ``trainer_state.json`` and every
``on_log`` callback get them) and one line to the run log. The best step by held-out accuracy
(the earliest on a tie) is kept in ``zhongli_run.json`` as ``best_checkpoint``: ``path`` is the
first checkpoint saved at or after that step (evaluation runs before the step's save, so a
save at the same step holds exactly the evaluated weights), or the run folder itself (the final
save) when no checkpoint follows it.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import mcq
from training.heldout import heldout_metrics
from training.runlog import log, record_best_checkpoint

__all__ = ["HeldOutEval", "answer_heldout", "heldout_callback"]


def answer_heldout(
    backend: Any,
    questions: list[mcq.Question],
    prompt: mcq.Prompt | str | None,
    preset: Any,
    *,
    max_new_tokens: int,
    system_prompt: str | None = None,
) -> tuple[list[str], list[Any]]:
    """Greedy answers to ``questions`` and their reward breakdowns (letter and rule included).

    The same steps as ``inference generate`` without the constrained re-ask: messages from the
    prompt variant, fitted to the backend's context, generated at temperature 0, scored by
    ``preset`` (``rewards.scoring.score_batch``, which extracts each letter).
    """
    import rewards
    from inference.context import fit_conversations
    from rewards.scoring import score_batch

    own = {} if system_prompt is None else {"system_prompt": system_prompt}
    conversations, _ = fit_conversations(
        backend, questions, prompt, max_new_tokens=max_new_tokens, **own
    )
    generations = backend.chat(conversations, temperature=0.0, max_new_tokens=max_new_tokens, n=1)
    texts = [gens[0].text for gens in generations]
    samples = [
        replace(rewards.Sample.from_question(q), prompt=conversation)
        for q, conversation in zip(questions, conversations, strict=True)
    ]
    return texts, score_batch(texts, samples, preset)


def _callback_base():
    from transformers import TrainerCallback

    return TrainerCallback


class HeldOutEval(_callback_base()):
    """Evaluate the held-out questions during training (see the module docstring).

    Attributes:
        history: ``(step, metrics)`` of every evaluation in this process.
        best: ``{"step", "path", "eval_accuracy"}`` of the best step so far (``path`` None
            until a checkpoint at or after it is saved), or None.
    """

    def __init__(
        self,
        trainer: Any,
        questions: list[mcq.Question],
        *,
        prompt: mcq.Prompt | str | None,
        preset: Any,
        max_new_tokens: int,
        system_prompt: str | None = None,
        batch_size: int = 16,
    ):
        self.trainer = trainer
        self.questions = questions
        self.prompt = prompt
        self.preset = preset
        self.max_new_tokens = max_new_tokens
        self.system_prompt = system_prompt
        self.batch_size = batch_size
        self.history: list[tuple[int, dict[str, float]]] = []
        self.best: dict[str, Any] | None = None
        self.run_dir = Path(trainer.args.output_dir)

    # -- trainer events ---------------------------------------------------------------------

    def on_train_begin(self, args, state, control, **kwargs):
        self.best = _recorded_best(self.run_dir)  # a resumed run keeps its earlier best
        return control

    def on_step_end(self, args, state, control, **kwargs):
        every = state.eval_steps if args.eval_steps is not None else state.logging_steps
        if every and state.global_step % every == 0:
            self.evaluate(state)
        return control

    def on_save(self, args, state, control, **kwargs):
        best = self.best
        if best and best["path"] is None and state.global_step >= best["step"]:
            best["path"] = str(self.run_dir / f"checkpoint-{state.global_step}")
            self._write_best(state)
        return control

    def on_train_end(self, args, state, control, **kwargs):
        if not self.history or self.history[-1][0] != state.global_step:
            self.evaluate(state)
        best = self.best
        if best and best["path"] is None:
            saved = self.run_dir / f"checkpoint-{best['step']}"
            best["path"] = str(saved if saved.is_dir() else self.run_dir)  # else the final save
            self._write_best(state)
        return control

    # -- evaluation -------------------------------------------------------------------------

    def evaluate(self, state: Any) -> dict[str, float]:
        """Answer the held-out questions with the current policy; log and keep the best."""
        import torch
        from trl.models import unwrap_model_for_generation

        from inference.backends.transformers import TransformersBackend

        trainer = self.trainer
        started = time.perf_counter()
        was_training = trainer.model.training
        trainer.model.eval()
        try:
            with (
                unwrap_model_for_generation(
                    trainer.model_wrapped,
                    trainer.accelerator,
                    gather_deepspeed3_params=trainer.args.ds3_gather_for_generation,
                    gradient_checkpointing_kwargs=trainer.args.gradient_checkpointing_kwargs,
                ) as policy,
                torch.no_grad(),
            ):
                backend = TransformersBackend.from_loaded(
                    policy, trainer.processing_class, batch_size=self.batch_size
                )
                _, breakdowns = answer_heldout(
                    backend,
                    self.questions,
                    self.prompt,
                    self.preset,
                    max_new_tokens=self.max_new_tokens,
                    system_prompt=self.system_prompt,
                )
            metrics = heldout_metrics(
                [(b.answer, b.answer_rule) for b in breakdowns],
                [q.correct_answer for q in self.questions],
                {name: [b.components.get(name) for b in breakdowns] for name in _names(breakdowns)},
            )
            # In eval mode TRL's log() leaves the training metrics it is gathering alone; the
            # callback handler's on_log clears should_log, which this step's own log still needs.
            should_log = trainer.control.should_log
            trainer.log(dict(metrics))
            trainer.control.should_log = should_log
        finally:
            if was_training:
                trainer.model.train()
        step = state.global_step
        self.history.append((step, metrics))
        improved = self.best is None or metrics["eval/accuracy"] > self.best["eval_accuracy"]
        if improved:
            self.best = {"step": step, "path": None, "eval_accuracy": metrics["eval/accuracy"]}
        if state.is_world_process_zero:
            log.info(
                "%s (%.1f s)", describe(step, metrics, self.best), time.perf_counter() - started
            )
            if improved:
                self._write_best(state)
        return metrics

    def _write_best(self, state: Any) -> None:
        if state.is_world_process_zero and self.best is not None:
            record_best_checkpoint(self.run_dir, self.best)


def describe(step: int, metrics: dict[str, float], best: dict[str, Any] | None) -> str:
    """The run-log line of one evaluation.

    Example:
        >>> m = {"eval/accuracy": 0.5, "eval/accuracy_ci_low": 0.2, "eval/accuracy_ci_high": 0.8,
        ...      "eval/n": 10.0, "eval/no_letter": 0.1, "eval/ambiguous": 0.0, "eval/letter/A": 0.9}
        >>> describe(4, m, {"step": 2, "eval_accuracy": 0.6})
        'held-out at step 4: accuracy 0.500 [0.200, 0.800] on 10 questions; no letter 10%, ambiguous 0%; letters A 90%; best 0.600 at step 2'
    """
    letters = " ".join(
        f"{x} {metrics[f'eval/letter/{x}']:.0%}"
        for x in mcq.LETTERS
        if f"eval/letter/{x}" in metrics
    )
    text = (
        f"held-out at step {step}: accuracy {metrics['eval/accuracy']:.3f} "
        f"[{metrics['eval/accuracy_ci_low']:.3f}, {metrics['eval/accuracy_ci_high']:.3f}] on "
        f"{int(metrics['eval/n'])} questions; no letter {metrics['eval/no_letter']:.0%}, "
        f"ambiguous {metrics['eval/ambiguous']:.0%}; letters {letters}"
    )
    if best is not None:
        text += f"; best {best['eval_accuracy']:.3f} at step {best['step']}"
    return text


def heldout_callback(
    trainer: Any, questions: list[mcq.Question], script_args: Any, training_args: Any
) -> HeldOutEval | None:
    """The evaluation a run's arguments ask for, or None when no question is held out."""
    if not questions:
        return None
    import rewards

    tokens = getattr(script_args, "eval_max_new_tokens", None)
    return HeldOutEval(
        trainer,
        questions,
        prompt=mcq.load_prompt(script_args.prompt),
        preset=rewards.load_preset(script_args.reward_preset),
        max_new_tokens=tokens or training_args.max_completion_length or 256,
        system_prompt=script_args.system_prompt,
        batch_size=training_args.per_device_eval_batch_size,
    )


def _names(breakdowns: list[Any]) -> list[str]:
    return list(dict.fromkeys(name for b in breakdowns for name in b.components))


def _recorded_best(run_dir: Path) -> dict[str, Any] | None:
    from training.checkpoints import read_run_info

    best = (read_run_info(run_dir) or {}).get("best_checkpoint")
    return dict(best) if isinstance(best, dict) and "eval_accuracy" in best else None
