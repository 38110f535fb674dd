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

import argparse
import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mcq
from mcq.errors import UsageError
from mcq.files import check_output_folder, encoding_field, set_input_encoding, write_atomic
from mcq.sources import source_exists
from training.checkpoints import checkpoint_step
from training.runlog import (
    RUN_INFO,
    find_resume_point,
    fmt,
    local_model_path,
    log,
    one_line,
    outcome_log,
    record_segments,
    start_run_log,
    stop_run_log,
)
from training.trajectory import check_resume, next_segments, rm_trajectory

__all__ = [
    "EVAL_FILE",
    "ScriptArguments",
    "arguments_from",
    "main",
    "make_parser",
    "train",
]

PROG = "python -m training rm"
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
    resume: bool = field(
        default=True,
        metadata={
            "help": "Continue from the newest complete checkpoint in output_dir. With false, an "
            "output_dir that already has checkpoints is refused rather than overwritten."
        },
    )
    resume_with_changes: bool = field(
        default=False,
        metadata={
            "help": "Resume even though the pairs, base model or optimisation settings differ "
            "from the run's; zhongli_run.json records the continuation as a new segment. "
            "Without it such a resume is refused."
        },
    )


# --- command line ------------------------------------------------------------------------------


def make_parser(subparsers: Any | None = None):
    """TRL's parser over (ScriptArguments, RewardConfig, ModelConfig), taking ``--config``.

    As a subcommand its TRL options are filled in only when ``rm`` is parsed or asked for
    ``--help`` (importing TRL takes seconds), as for ``training grpo``.
    """
    if subparsers is None:
        return _recipe_parser(prog=PROG)
    from training.recipe_cli import add_deferred

    parser = add_deferred(subparsers, "rm", help=HELP, build=_recipe_parser)
    parser.set_defaults(func=main)
    return parser


def _recipe_parser(prog: str):
    from trl import ModelConfig

    from training.grpo_trainer import RecipeParser
    from training.rm_trainer import RewardTrainingConfig

    return RecipeParser(
        (ScriptArguments, RewardTrainingConfig, ModelConfig),
        prog=prog,
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def main(args: argparse.Namespace) -> int:
    """Train from the parsed namespace (recipe values and overrides already merged)."""
    script_args, training_args, model_args = arguments_from(args)
    train(script_args, training_args, model_args, recipe=getattr(args, "config", None))
    return 0


def arguments_from(args: argparse.Namespace) -> tuple[Any, Any, Any]:
    """The namespace as (ScriptArguments, RewardTrainingConfig, ModelConfig), validated."""
    from trl import ModelConfig

    from training.rm_trainer import RewardTrainingConfig

    values = vars(args)
    built = []
    for kind in (ScriptArguments, RewardTrainingConfig, ModelConfig):
        names = {f.name for f in dataclasses.fields(kind) if f.init}
        try:
            built.append(kind(**{k: v for k, v in values.items() if k in names}))
        except ValueError as err:
            raise UsageError(one_line(err)) from None
    return tuple(built)  # type: ignore[return-value]


# --- the run -----------------------------------------------------------------------------------


def train(
    script_args: ScriptArguments,
    training_args: Any,
    model_args: Any,
    *,
    recipe: str | None = None,
) -> Path:
    """Train, save, and score the held-out pairs; returns the run folder.

    Reads top to bottom: checks → run log → pairs → resume point → trainer → train → save →
    held-out accuracy. Raises :class:`UsageError` (or ``mcq.DataError``) for user mistakes.
    """
    from training.grpo_trainer import save_final
    from training.rm_trainer import build_trainer, pairwise_accuracy

    check_arguments(script_args, training_args, model_args)
    model_args.model_name_or_path = local_model_path(model_args.model_name_or_path)
    run_dir = Path(training_args.output_dir)
    main_process = training_args.process_index == 0
    trajectory = rm_trajectory(script_args, training_args, model_args)
    record = check_resume(run_dir, trajectory, script_args, training_args)  # reads only
    if main_process:
        run_dir.mkdir(parents=True, exist_ok=True)
    log_handler = start_run_log(run_dir, main_process, training_args)
    try:
        train_pairs, eval_pairs = load_data(script_args)
        resume_from = find_resume_point(run_dir, script_args, training_args)
        if main_process:
            segments = next_segments(record, trajectory, checkpoint_step(resume_from))
            write_run_info(run_dir, script_args, training_args, model_args, recipe, segments)
        trainer = build_trainer(train_pairs, eval_pairs, training_args, model_args)

        started = time.perf_counter()
        result = trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
        log.info(
            "training finished at global step %d in %.1f s (train_loss %s)",
            trainer.state.global_step,
            time.perf_counter() - started,
            fmt(result.training_loss),
        )
        save_final(trainer, run_dir)
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
    except (UsageError, mcq.DataError) as err:
        outcome_log.error("run stopped: %s", err)
        raise
    except BaseException as err:
        outcome_log.error("run failed: %s", one_line(err) if str(err) else err.__class__.__name__)
        raise
    finally:
        stop_run_log(log_handler)


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
    if training_args.max_steps == 0 or training_args.max_steps < -1:
        raise UsageError(
            f"max_steps must be a positive number of steps, or -1 to train num_train_epochs "
            f"(got {training_args.max_steps})"
        )
    check_output_folder(training_args.output_dir, "--output_dir")


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


def write_run_info(
    run_dir: Path,
    script_args: Any,
    training_args: Any,
    model_args: Any,
    recipe: str | None,
    segments: list[dict[str, Any]] | None = None,
) -> None:
    """Save the resolved configuration as ``zhongli_run.json`` (what ``training push`` reads),
    with every start's settings and provenance in ``segments`` (:mod:`training.trajectory`)."""
    for level, note in getattr(training_args, "device_notes", []):
        log.log(level, "%s", note)
    log.info("recipe: %s", recipe or "(none, command line only)")
    info = {
        "kind": "reward_model",
        "base_model": model_args.model_name_or_path,
        "recipe": recipe,
        "dataset": script_args.dataset_path,
        "world_size": training_args.world_size,
        "script_args": dataclasses.asdict(script_args),
        "model_args": dataclasses.asdict(model_args),
        "training_args": json.loads(training_args.to_json_string()),
        **record_segments(segments),
    }
    write_atomic(run_dir / RUN_INFO, json.dumps(info, ensure_ascii=False, indent=2, default=str))
