"""``python -m training rm``: train a reward model on preference pairs with TRL's ``RewardTrainer``.

Run as ``python -m training rm --config assets/configs/rm-demo-cpu.yaml [--key value ...]``.
Three argument groups are parsed together by TRL's parser, as for ``training grpo``:
:class:`ScriptArguments` (data), TRL's ``RewardConfig`` and ``ModelConfig`` (base model, LoRA).

The model is ``AutoModelForSequenceClassification`` with one output (``num_labels=1``) on top
of any causal-LM checkpoint or hub id; it learns to score the chosen answer of each pair above
the rejected one (the Bradley-Terry loss). A share of the pairs (``eval_share``, whole
questions at a time) is held out; the pairwise accuracy on it is logged at the end and written
to ``rm_eval.json`` in the run folder, and the held-out pairs themselves to
``heldout_pairs.jsonl`` (a pairs file, for ``python -m evals rewards --pairs``). The run folder
is then a model that a rewards preset can name: ``settings: {rm: {reward_model: RUN_DIR}}``
(see :mod:`rewards.learned`).
A second run with the same ``output_dir`` continues from the newest complete checkpoint.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcq.errors import UsageError
from mcq.files import encoding_field, set_input_encoding, write_atomic
from mcq.sources import source_exists
from training.checkpoints import resume_field
from training.grpo import check_training_args
from training.recipe_cli import RecipeCommand
from training.runlog import local_model_path, log, logged_run, start_segment
from training.trajectory import check_resume, rm_trajectory

__all__ = [
    "EVAL_FILE",
    "ScriptArguments",
    "arguments_from",
    "main",
    "make_parser",
    "train",
]

HELP = "reward-model training on preference pairs (--config RECIPE.yaml [--key value ...])"
DESCRIPTION = (
    "Train a reward model (TRL's RewardTrainer, a one-output sequence classifier) on preference "
    "pairs. Options come from --config RECIPE.yaml, then from the command line (--key value)."
)
EPILOG = """\
examples:
  python -m training rm --config assets/configs/rm-demo-cpu.yaml
  python -m training rm --config assets/configs/rm-demo-cpu.yaml --max_steps 5 \\
      --output_dir runs/rm-trial
  python -m training rm --config assets/configs/rm-demo-cpu.yaml \\
      --dataset_path assets/data/labelled_answers.csv --pairs_from_labels good
  python -m rewards score --input completions.jsonl --preset my-rm-preset.yaml
  python -m training curves --input runs/rm-demo
Rerunning with the same --output_dir resumes from the newest complete checkpoint (other pairs,
another base or other optimisation settings are refused unless --resume_with_changes true). A preset
uses the result as  settings: {rm: {reward_model: runs/rm-demo}}  with rm listed in components.
The run folder holds rm_eval.json (held-out pairwise accuracy) and heldout_pairs.jsonl (those
pairs, for python -m evals rewards --pairs).
"""

#: Held-out pairwise accuracy, written into the run folder at the end of training.
EVAL_FILE = "rm_eval.json"
#: The held-out pairs, as a pairs file ``python -m evals rewards --pairs`` reads.
HELDOUT_FILE = "heldout_pairs.jsonl"


@dataclass
class ScriptArguments:
    """Data and run-control arguments of ``python -m training rm``."""

    dataset_path: str | None = field(
        default=None,
        metadata={
            "help": "Preference pairs (JSONL/CSV/TSV: chosen, rejected as texts or message "
            "lists[, prompt, id, question, options, subset]), "
            "or labelled texts with --pairs_from_labels; JSON, Parquet, a save_to_disk folder "
            "or hf:NAME[:CONFIG]:SPLIT too."
        },
    )
    encoding: str | None = encoding_field()
    pairs_from_labels: str | None = field(
        default=None,
        metadata={
            "help": "Make pairs from labelled texts: the binary label COLUMN (1/0, true/false, "
            "good/bad). A good text is paired with a bad one answering the same question "
            "(question_id, else question text), else with a random bad one (seeded)."
        },
    )
    eval_share: float = field(
        default=0.1,
        metadata={
            "help": "Share of the pairs held out (whole questions) for the pairwise accuracy "
            "reported at the end, in [0, 1); 0 holds nothing out."
        },
    )
    dataset_seed: int = field(
        default=42,
        metadata={"help": "Seed of the held-out split and of --pairs_from_labels pairing."},
    )
    max_samples: int | None = field(
        default=None,
        metadata={"help": "Keep at most this many training pairs, for a quick trial."},
    )
    skip_invalid: bool = field(
        default=False,
        metadata={"help": "Drop bad rows (and say how many) instead of stopping."},
    )
    score_batch_size: int = field(
        default=32,
        metadata={"help": "Pairs per forward pass when the held-out pairs are scored."},
    )
    resume: bool = resume_field()
    resume_with_changes: bool = field(
        default=False,
        metadata={
            "help": "Resume even though the pairs, base model or optimisation settings differ "
            "from the run's; zhongli_run.json records the continuation as a new segment. "
            "Without it such a resume is refused."
        },
    )


# --- command line ------------------------------------------------------------------------------

COMMAND = RecipeCommand(
    "rm", HELP, DESCRIPTION, EPILOG, config="training.rm_trainer:RewardTrainingConfig"
)
#: TRL's parser over (ScriptArguments, RewardTrainingConfig, ModelConfig), taking ``--config``.
make_parser, main, arguments_from = COMMAND.make_parser, COMMAND.main, COMMAND.arguments_from


# --- the run -----------------------------------------------------------------------------------


def train(
    script_args: ScriptArguments, training_args: Any, model_args: Any, *, recipe: str | None = None
) -> Path:
    """Train, save, and score the held-out pairs; returns the run folder.

    Reads top to bottom: checks → run log → pairs → resume point → trainer → train → save →
    held-out accuracy. Raises :class:`UsageError` (or ``mcq.DataError``) for user mistakes.
    """
    from training.grpo_trainer import train_and_save
    from training.rm_trainer import build_trainer, pairwise_accuracy

    check_arguments(script_args, training_args, model_args)
    model_args.model_name_or_path = local_model_path(model_args.model_name_or_path)
    run_dir = Path(training_args.output_dir)
    trajectory = rm_trajectory(script_args, training_args, model_args)
    record = check_resume(run_dir, trajectory, script_args, training_args)  # reads only
    with logged_run(run_dir, training_args) as main_process:
        train_pairs, eval_pairs = load_data(script_args)
        args = (script_args, training_args, model_args)
        resume_from = start_segment(
            run_dir, record, trajectory, args, recipe, main_process, kind="reward_model"
        )
        trainer = build_trainer(train_pairs, eval_pairs, training_args, model_args)
        train_and_save(trainer, run_dir, resume_from)
        if eval_pairs and main_process:
            found = pairwise_accuracy(trainer, eval_pairs, script_args.score_batch_size)
            found["heldout_file"] = HELDOUT_FILE
            found["provenance"] = trajectory.provenance
            write_atomic(
                run_dir / EVAL_FILE, json.dumps(found, indent=2, ensure_ascii=False) + "\n"
            )
            held = (json.dumps(p["source"], ensure_ascii=False) + "\n" for p in eval_pairs)
            write_atomic(run_dir / HELDOUT_FILE, "".join(held))
            log.info(
                "held-out pairwise accuracy %.3f (95%% CI %.3f-%.3f, ties %.3f) on %d pairs: %s",
                found["accuracy"],
                *found["ci"],
                found["ties"],
                found["n"],
                run_dir / EVAL_FILE,
            )
    return run_dir


def check_arguments(script_args: ScriptArguments, training_args: Any, model_args: Any) -> None:
    """Raise :class:`UsageError` for a missing model or data file, or a setting that cannot work."""
    if not model_args.model_name_or_path:
        raise UsageError("model_name_or_path is required (a hub id or a local model folder)")
    model = str(model_args.model_name_or_path)
    if model.startswith((".", "/", "~")) and not Path(model).expanduser().is_dir():
        raise UsageError(f"model_name_or_path {model}: folder not found")
    if not script_args.dataset_path:
        raise UsageError("dataset_path is required (preference pairs, or labelled texts)")
    if not source_exists(script_args.dataset_path):
        raise UsageError(f"{script_args.dataset_path}: file not found")
    if not 0 <= script_args.eval_share < 1:
        raise UsageError(f"eval_share must be in [0, 1), not {script_args.eval_share}")
    if script_args.max_samples is not None and script_args.max_samples < 1:
        raise UsageError(f"max_samples must be at least 1, not {script_args.max_samples}")
    if script_args.score_batch_size < 1:
        raise UsageError(f"score_batch_size must be at least 1, not {script_args.score_batch_size}")
    check_training_args(training_args, "--output_dir")


def load_data(script_args: ScriptArguments) -> tuple[list, list]:
    """The training and held-out pairs (see :mod:`training.rm_data`)."""
    from training.rm_data import load_pairs, pairs_from_labels, split_pairs

    path = script_args.dataset_path
    set_input_encoding(script_args.encoding)
    if script_args.pairs_from_labels:
        pairs = pairs_from_labels(
            path,
            script_args.pairs_from_labels,
            seed=script_args.dataset_seed,
            skip_invalid=script_args.skip_invalid,
        )
    else:
        pairs = load_pairs(path, skip_invalid=script_args.skip_invalid)
    train_pairs, eval_pairs = split_pairs(pairs, script_args.eval_share, script_args.dataset_seed)
    if script_args.max_samples is not None:
        train_pairs = train_pairs[: script_args.max_samples]
    log.info(
        "data: %s gives %d pairs%s; training on %d, holding out %d (eval_share %s, seed %d)",
        path,
        len(pairs),
        f" (from labels in {script_args.pairs_from_labels!r})"
        if script_args.pairs_from_labels
        else "",
        len(train_pairs),
        len(eval_pairs),
        script_args.eval_share,
        script_args.dataset_seed,
    )
    return train_pairs, eval_pairs
