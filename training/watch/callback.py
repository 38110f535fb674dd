"""The hacking watch during GRPO: detectors over what the policy writes, at every logging step.

How it sees the completions: :meth:`HackingWatch.bind` wraps the trainer's
``_generate_and_score_completions`` (TRL 1.16) on that one trainer object. After each
training generation TRL has put the gathered batch in ``trainer._logs`` (``prompt``,
``completion``, ``rewards[<component>]``: the deques behind ``log_completions``, one
generation batch long, the same on every process); the wrapper copies that batch, plus the
rows' ``id``/``question``/options (gathered across processes), into the watch's buffer. So
every generation is seen exactly once, whatever ``logging_steps``, ``steps_per_generation``
or ``num_iterations`` are, without touching the reward functions or TRL's code.

At ``on_step_end`` of a logging step (``control.should_log``), the buffer goes through the
detectors and the run-level signals; the values are appended to TRL's own metric lists
(``trainer._metrics["train"]["watch/<name>"]``), so ``trainer.log`` averages them into the
step's logs: the console, ``trainer_state.json``'s ``log_history``, tensorboard/wandb and
``watch/metrics.jsonl``. A value crossing its threshold raises one alarm (once, until it falls
back): a warning in the run log and a line in ``watch/alarms.jsonl``; with ``halt_on_alarm``
the trainer saves a checkpoint and stops there. Every process computes the same values from
the same gathered batch, so all stop alike; only the main one writes.
"""

from __future__ import annotations

import math
import statistics
import time
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from mcq import LETTERS
from rewards.registry import Sample
from rewards.trl import completion_text
from training.runlog import log, one_line
from training.watch.detectors import DETECTORS, content_length, detect
from training.watch.record import WATCH_DIR, JsonLines
from training.watch.signals import (
    accuracy_drop,
    component_dominance,
    crossed,
    flat_groups,
    parse_thresholds,
)

__all__ = ["HackingWatch", "add_hacking_watch"]

#: Characters of a prompt or completion kept in the record.
KEPT_CHARS = 2000
#: Characters of an example completion quoted in the run log's alarm line.
LOGGED_CHARS = 160
#: Completions a logging step needs before its values can raise an alarm: shares of a handful
#: swing from 0 to 1 by chance (the values are logged all the same).
MIN_COMPLETIONS = 16


class HackingWatch(TrainerCallback):
    """Detector shares and run-level signals as ``watch/*`` logs, with alarms and a record.

    Args:
        thresholds: ``watch/<name>`` value above which an alarm is raised
            (:data:`training.watch.signals.DEFAULT_THRESHOLDS` and a recipe's overrides).
        sample: Completions written to ``completions.jsonl`` per logging step (flagged first).
        record_mb: Size at which ``completions.jsonl`` is rotated.
        halt: Save a checkpoint and stop at the first alarm.

    Attributes:
        enabled: Set false to pause the watch (the buffer is dropped; nothing is logged).
        min_completions: Completions a logging step needs before it can raise an alarm.
        alarms: ``(name, global step)`` of each alarm raised in this process.
    """

    def __init__(
        self,
        thresholds: dict[str, float] | None = None,
        *,
        sample: int = 16,
        record_mb: float = 20.0,
        halt: bool = False,
    ):
        self.thresholds = parse_thresholds(thresholds)
        self.sample = max(0, int(sample))
        self.record_bytes = int(record_mb * 1024 * 1024) if record_mb else None
        self.halt = bool(halt)
        self.enabled = True
        self.min_completions = MIN_COMPLETIONS
        self.alarms: list[tuple[str, int]] = []
        self._trainer: Any = None
        self._buffer: list[dict[str, Any]] = []
        self._above: dict[str, bool] = {}
        self._first_length: float | None = None
        self._last_reward: float | None = None
        self._evals: list[tuple[float, float | None]] = []  # (eval/accuracy, reward then)
        self._files: dict[str, JsonLines] = {}
        self._dominant: str | None = None  # the component behind component_dominance
        self._component_alarms = 0  # ComponentWatch alarms already copied to alarms.jsonl

    # ------------------------------------------------------------------ seeing completions
    def bind(self, trainer: Any) -> HackingWatch:
        """Watch ``trainer``'s generations (see the module docstring); returns ``self``."""
        self._trainer = trainer
        generate = trainer._generate_and_score_completions

        def watched(generation_batch: Any) -> Any:
            output = generate(generation_batch)
            if self.enabled and trainer.model.training:
                try:
                    self._take(generation_batch)
                except Exception as err:  # noqa: BLE001 - e.g. another TRL's _logs: watch off
                    self.enabled = False
                    log.warning(
                        "watch: off for this run, cannot read completions: %s", one_line(err)
                    )
            return output

        trainer._generate_and_score_completions = watched
        return self

    def _take(self, inputs: Any) -> None:
        trainer = self._trainer
        rows = [_question_of(x) for x in inputs] if isinstance(inputs, list) else []
        if trainer.accelerator.num_processes > 1:
            from accelerate.utils import gather_object

            rows = gather_object(rows)
        logs, n = trainer._logs, len(rows)
        completions = list(logs["completion"])[-n:] if n else []
        if not n or len(completions) != n:
            return  # not the batch shape this watch reads (nothing to align with)
        names = list(trainer.reward_func_names)
        self._buffer.append(
            {
                "rows": rows,
                "prompts": list(logs["prompt"])[-n:],
                "completions": [completion_text(c) for c in completions],
                "rewards": {k: [_number(v) for v in list(logs["rewards"][k])[-n:]] for k in names},
                "group": int(trainer.num_generations),
            }
        )

    # ------------------------------------------------------------------ a logging step
    def on_step_end(self, args, state, control, **kwargs):
        if not control.should_log:
            return control
        batches, self._buffer = self._buffer, []
        if not batches or not self.enabled or self._trainer is None:
            return control
        try:
            values, items = self._measure(batches)
        except Exception as err:  # noqa: BLE001 - a watch bug must not end a long run
            log.warning("watch: step %d not measured: %s", state.global_step, one_line(err))
            return control
        metrics = self._trainer._metrics["train"]
        for name, value in values.items():
            if value is not None:
                metrics[f"watch/{name}"].append(value)
        main = state.is_world_process_zero
        if main:
            self._file(args, "completions.jsonl", self.record_bytes).write(
                self._chosen(items, state.global_step)
            )
        if len(items) < self.min_completions:
            return control
        for name, value in values.items():
            past = crossed(name, value, self.thresholds[name])
            if past and not self._above.get(name):
                self._alarm(name, value, _example(name, items), args, state, control)
            self._above[name] = past
        return control

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not logs:
            return control
        accuracy = logs.get("eval/accuracy")
        if isinstance(accuracy, int | float) and not isinstance(accuracy, bool):
            self._evals.append((float(accuracy), self._last_reward))  # None: before any reward
        if state.is_world_process_zero:
            row = {"step": state.global_step, "time": round(time.time(), 3), **logs}
            self._file(args, "metrics.jsonl").write([row])
            self._record_component_alarms(args)
        return control

    def _record_component_alarms(self, args: Any) -> None:
        """ComponentWatch's alarms (a component that stopped scoring) into alarms.jsonl too."""
        from training.component_watch import ComponentWatch

        callbacks = self._trainer.callback_handler.callbacks if self._trainer else []
        for watch in (c for c in callbacks if isinstance(c, ComponentWatch)):
            new = watch.alarms[self._component_alarms :]
            self._component_alarms = len(watch.alarms)
            self._file(args, "alarms.jsonl").write(
                {
                    "step": step,
                    "detector": "component_unscored",
                    "value": float(watch.window),
                    "threshold": float(watch.window),
                    "message": f"reward component {name!r} scored no completion in the last "
                    f"{watch.window} logging steps",
                    "example": None,
                }
                for name, step in new
            )

    def _measure(self, batches: list[dict[str, Any]]) -> tuple[dict[str, float | None], list]:
        weights = dict(zip(self._trainer.reward_func_names, _weights(self._trainer), strict=True))
        items: list[dict[str, Any]] = []
        rewards: dict[str, list[float | None]] = {k: [] for k in weights}
        for batch in batches:
            group, texts = batch["group"], batch["completions"]
            lengths = [content_length(t) for t in texts]
            for i, text in enumerate(texts):
                row, start = batch["rows"][i], i - i % group
                scores = {k: batch["rewards"][k][i] for k in weights}
                found = [s for s in scores.values() if s is not None]
                total = sum(weights[k] * (s or 0.0) for k, s in scores.items()) if found else None
                prompt = _prompt_text(batch["prompts"][i])
                sample = Sample(id=row["id"], question=row["question"], options=row["options"])
                items.append(
                    {
                        "group": i // group,
                        "question_id": row["id"],
                        "prompt": _user_turn(batch["prompts"][i])[:KEPT_CHARS],
                        "completion": text[:KEPT_CHARS],
                        "rewards": scores,
                        "total": total,
                        "flags": detect(
                            text,
                            sample,
                            prompt=prompt,
                            group_lengths=lengths[start : start + group],
                        ),
                        "length": lengths[i],
                    }
                )
            for k in weights:
                rewards[k] += batch["rewards"][k]
        group = batches[0]["group"]
        values: dict[str, float | None] = {
            name: sum(name in it["flags"] for it in items) / len(items) for name in DETECTORS
        }
        values["component_dominance"], self._dominant = component_dominance(rewards, weights, group)
        values["flat_groups"] = flat_groups([it["total"] for it in items], group)
        mean_length = statistics.fmean(it["length"] for it in items)
        if self._first_length is None:
            self._first_length = mean_length
        values["length_drift"] = mean_length / self._first_length if self._first_length else None
        totals = [it["total"] for it in items if it["total"] is not None]
        self._last_reward = statistics.fmean(totals) if totals else self._last_reward
        if self._last_reward is not None:  # an evaluation before training: the first reward
            self._evals = [(a, self._last_reward if r is None else r) for a, r in self._evals]
        values["reward_up_accuracy_down"] = accuracy_drop(
            [(a, r) for a, r in self._evals if r is not None]
        )
        return values, items

    def _chosen(self, items: list[dict[str, Any]], step: int) -> list[dict[str, Any]]:
        """Up to ``sample`` items: flagged ones (up to half), then others spread evenly."""
        flagged = [it for it in items if it["flags"]][: max(1, self.sample // 2)]
        rest = [it for it in items if not it["flags"]]
        room = max(0, self.sample - len(flagged))
        spread = rest[:: max(1, math.ceil(len(rest) / room))][:room] if room else []
        chosen = (flagged + spread)[: self.sample]
        keys = ("group", "question_id", "prompt", "completion", "rewards", "total", "flags")
        return [{"step": step, **{k: it[k] for k in keys}} for it in chosen]

    def _alarm(self, name, value, example, args, state, control) -> None:
        step, threshold = state.global_step, self.thresholds[name]
        self.alarms.append((name, step))
        what = "share of completions flagged" if name in DETECTORS else "run-level signal"
        message = f"watch/{name} = {value:.3g} passed its threshold {threshold:g} ({what})"
        if name == "component_dominance" and self._dominant:
            message += f": reward differences within groups come from {self._dominant!r}"
        if state.is_world_process_zero:
            action = (
                "saving a checkpoint and stopping (halt_on_alarm)"
                if self.halt
                else "training goes on (halt_on_alarm stops it)"
            )
            quoted = (example or "").replace("\n", " ")[:LOGGED_CHARS]
            log.warning("alarm at step %d: %s; e.g. %r; %s", step, message, quoted, action)
            self._file(args, "alarms.jsonl").write(
                [
                    {
                        "step": step,
                        "detector": name,
                        "value": value,
                        "threshold": threshold,
                        "message": message,
                        "example": example,
                    }
                ]
            )
        if self.halt:
            control.should_save = True
            control.should_training_stop = True

    def _file(self, args: Any, name: str, max_bytes: int | None = None) -> JsonLines:
        if name not in self._files:
            self._files[name] = JsonLines(Path(args.output_dir) / WATCH_DIR / name, max_bytes)
        return self._files[name]


def add_hacking_watch(trainer: Any, script_args: Any) -> HackingWatch | None:
    """Bind and add the watch a run's script arguments ask for (``watch`` and its keys)."""
    if not getattr(script_args, "watch", True):
        return None
    watch = HackingWatch(
        getattr(script_args, "watch_thresholds", None),
        sample=getattr(script_args, "watch_sample", 16),
        record_mb=getattr(script_args, "watch_record_mb", 20.0),
        halt=getattr(script_args, "halt_on_alarm", False),
    ).bind(trainer)
    trainer.add_callback(watch)
    return watch


# ---------------------------------------------------------------------- helpers
def _question_of(row: Any) -> dict[str, Any]:
    get = row.get if isinstance(row, dict) else (lambda key, default=None: default)
    options = {k: str(get(f"option_{k}")) for k in LETTERS if get(f"option_{k}")}
    qid = get("id")
    return {
        "id": None if qid is None else str(qid),
        "question": get("question") or None,
        "options": options or None,
    }


def _number(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _weights(trainer: Any) -> list[float]:
    weights = trainer.reward_weights
    return [float(w) for w in (weights.tolist() if hasattr(weights, "tolist") else weights)]


def _turns(prompt: Any) -> list[dict[str, Any]]:
    if isinstance(prompt, list):
        return [m for m in prompt if isinstance(m, dict)]
    return [{"role": "user", "content": prompt}]


def _prompt_text(prompt: Any) -> str:
    """Every turn the model was shown, as one text (for prompt_copied)."""
    return "\n".join(completion_text(m.get("content") or "") for m in _turns(prompt))


def _user_turn(prompt: Any) -> str:
    """The last user turn: the question as the model was asked it."""
    users = [m for m in _turns(prompt) if m.get("role") == "user"]
    return completion_text((users[-1] if users else {}).get("content") or "")


def _example(name: str, items: list[dict[str, Any]]) -> str | None:
    """A completion that shows the alarm: one flagged, else the one the reward liked most
    (for length_drift, the longest)."""
    if name in DETECTORS:
        flagged = [it for it in items if name in it["flags"]]
        return flagged[0]["completion"] if flagged else None
    key = "length" if name == "length_drift" else "total"
    scored = [it for it in items if it[key] is not None]
    return max(scored, key=lambda it: it[key])["completion"] if scored else None
