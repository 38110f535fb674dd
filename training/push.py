"""``python -m training push``: upload a run's adapter (or a merged model) with a model card.

The card names the base model, the recipe and its main hyper-parameters, the rewards preset
with its components and weights, and the final logged metrics. ``--dry-run`` writes the card
and the list of files that would be uploaded, and touches no network.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from mcq.cli import CommandFailed, command_parser
from mcq.errors import UsageError
from mcq.files import check_output_folder, write_atomic
from mcq.paths import REPO_ROOT
from training.checkpoints import read_run_info

__all__ = ["files_to_upload", "main", "make_parser", "model_card", "push"]

EPILOG = """\
examples:
  python -m training push --input runs/qwen2.5-7b-qlora --repo-id me/zhongli-qwen2.5-7b --dry-run
  python -m training push --input runs/qwen2.5-7b-merged --repo-id me/zhongli-qwen2.5-7b-merged --private
A real push needs a Hugging Face token (`hf auth login` or HF_TOKEN).
--dry-run writes README.md (the card) and files.txt to --output-dir (default RUN/push-preview).
"""

PREVIEW_DIR = "push-preview"
# Run-folder contents that are not part of the published model.
_SKIP_DIRS = {PREVIEW_DIR, "incomplete-checkpoints", "runs", ".final.tmp"}
_SKIP_FILES = {"README.md", "training.log", "training_args.bin"}
_CARD_ARGS = (
    "learning_rate",
    "per_device_train_batch_size",
    "gradient_accumulation_steps",
    "num_train_epochs",
    "max_steps",
    "num_generations",
    "max_completion_length",
    "temperature",
    "beta",
    "loss_type",
    "scale_rewards",
    "epsilon",
    "bf16",
    "use_vllm",
    "seed",
)
_MODEL_ARGS = (
    "lora_r",
    "lora_alpha",
    "lora_dropout",
    "lora_target_modules",
    "load_in_4bit",
    "bnb_4bit_quant_type",
    "use_bnb_nested_quant",
)


def files_to_upload(folder: str | Path) -> list[Path]:
    """Files of ``folder`` that make up the model: no checkpoints, logs, scratch or hidden files."""
    folder = Path(folder)
    chosen = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        top = rel.parts[0]
        if (
            not path.is_file()
            or top.startswith(".")
            or top.startswith("checkpoint-")
            or top in _SKIP_DIRS
        ):
            continue
        if len(rel.parts) == 1 and (rel.name in _SKIP_FILES or rel.name.endswith(".tmp")):
            continue
        chosen.append(rel)
    return chosen


def model_card(folder: str | Path, repo_id: str) -> str:
    """The model card (README.md) for ``folder`` published as ``repo_id``."""
    folder = Path(folder)
    info = read_run_info(folder) or {}
    adapter = _read_json(folder / "adapter_config.json")
    base = info.get("base_model") or (adapter or {}).get("base_model_name_or_path") or "unknown"
    is_adapter = adapter is not None
    metrics, step = _final_metrics(folder)

    lines = ["---"]
    if base != "unknown" and not Path(base).exists():
        lines.append(f"base_model: {base}")
    lines += [
        f"library_name: {'peft' if is_adapter else 'transformers'}",
        "pipeline_tag: text-generation",
        "language:",
        "- zh",
        "tags:",
        "- zhongli",
        "- grpo",
        "- trl",
    ]
    if is_adapter:
        lines.append("- lora")
    lines += ["---", "", f"# {repo_id}", ""]
    kind = "A LoRA adapter" if is_adapter else "A model"
    lines += [
        f"{kind} trained with GRPO (TRL) by zhongli to answer multiple-choice questions on civic "
        "and political topics with `答案：X` followed by neutral, reasoned `理由：...`.",
        "",
        "## Training",
        "",
        f"- Base model: `{_shown_path(base)}`",
        f"- Recipe: `{info.get('recipe') or 'not recorded'}`",
        f"- Training data: `{Path(info['dataset']).name if info.get('dataset') else 'not recorded'}`",
    ]
    lines += _preset_lines(info.get("reward_preset"))
    training_args = info.get("training_args", {})
    model_args = info.get("model_args", {})
    settings = [(k, training_args[k]) for k in _CARD_ARGS if k in training_args]
    settings += [
        (k, model_args[k])
        for k in _MODEL_ARGS
        if k in model_args and (is_adapter or "lora" not in k)
    ]
    if settings:
        lines += ["", "| setting | value |", "| --- | --- |"]
        lines += [f"| `{key}` | `{value}` |" for key, value in settings]

    lines += ["", "## Final metrics", ""]
    if metrics:
        lines.append(f"Last logged values (step {step}):")
        lines += ["", "| metric | value |", "| --- | --- |"]
        lines += [f"| `{key}` | {value:.4g} |" for key, value in metrics.items()]
    else:
        lines.append("No trainer_state.json was found, so no metrics are reported.")

    lines += ["", "## Use", "", "```python"]
    if is_adapter:
        lines += [
            "from peft import AutoPeftModelForCausalLM",
            "from transformers import AutoTokenizer",
            "",
            f'model = AutoPeftModelForCausalLM.from_pretrained("{repo_id}")',
            f'tokenizer = AutoTokenizer.from_pretrained("{repo_id}")',
        ]
    else:
        lines += [
            "from vllm import LLM",
            "",
            f'llm = LLM("{repo_id}")',
        ]
    lines += ["```", ""]
    if is_adapter:
        lines += [
            "For vLLM, merge it first: `python -m training merge --adapter DIR --out MERGED`.",
            "",
        ]
    return "\n".join(lines)


def push(
    folder: str | Path,
    repo_id: str,
    *,
    private: bool = False,
    dry_run: bool = False,
    out: str | Path | None = None,
) -> tuple[Path | None, list[Path]]:
    """Write or upload the card and files; returns (preview folder or None, uploaded files)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"{folder}: not a folder")
    _check_repo_id(repo_id)
    files = files_to_upload(folder)
    weights = [
        f for f in files if f.suffix in (".safetensors", ".bin") or f.name.endswith(".index.json")
    ]
    if not weights:
        raise UsageError(f"{folder}: no model or adapter weights to push (train or merge first)")
    card = model_card(folder, repo_id)
    if dry_run:
        preview = Path(out) if out else folder / PREVIEW_DIR
        check_output_folder(preview, "--output-dir")
        preview.mkdir(parents=True, exist_ok=True)
        write_atomic(preview / "README.md", card)
        listing = [f"{rel}\t{(folder / rel).stat().st_size}" for rel in files] + [
            "README.md\t(generated)"
        ]
        write_atomic(preview / "files.txt", "\n".join(listing) + "\n")
        return preview, files

    from huggingface_hub import HfApi

    api = HfApi()
    try:
        api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
        api.upload_folder(
            folder_path=str(folder),
            repo_id=repo_id,
            allow_patterns=[str(rel) for rel in files],
            commit_message="Upload zhongli GRPO model",
        )
        api.upload_file(
            path_or_fileobj=card.encode("utf-8"), path_in_repo="README.md", repo_id=repo_id
        )
    except Exception as err:  # hub, auth and network errors come in many types
        first = (str(err).strip().splitlines() or [err.__class__.__name__])[0]
        raise PushFailed(f"push to {repo_id} failed: {first}") from None
    return None, files


class PushFailed(CommandFailed):
    """The hub refused or could not be reached; ``str(err)`` is one line (exit code 1)."""


def make_parser(subparsers: Any | None = None) -> argparse.ArgumentParser:
    """The ``push`` parser; the folder may also be given as the old positional argument."""
    parser = command_parser(
        subparsers,
        "push",
        help="upload a run or merged model to the hub with a generated model card",
        description=__doc__.splitlines()[0].split(": ", 1)[1],
        epilog=EPILOG,
        prog="python -m training push",
    )
    parser.add_argument(
        "--input", metavar="RUN_OR_MODEL", help="training run folder or merged model folder"
    )
    parser.add_argument("folder", nargs="?", help=argparse.SUPPRESS)
    parser.add_argument("--repo-id", required=True, help="hub repository, e.g. user/zhongli-qwen")
    parser.add_argument("--private", action="store_true", help="create the repository as private")
    parser.add_argument(
        "--dry-run", action="store_true", help="write the card and file list; no network"
    )
    parser.add_argument(
        "--output-dir",
        dest="output_dir",
        help=f"where --dry-run writes (default: RUN_OR_MODEL/{PREVIEW_DIR})",
    )
    parser.add_argument("--out", "--output_dir", dest="output_dir", help=argparse.SUPPRESS)
    parser.set_defaults(func=main)
    return parser


def main(args: argparse.Namespace) -> int:
    """Push (or preview); exit 1 with one line when the hub push fails."""
    folder = args.input or args.folder
    if not folder or (args.input and args.folder and args.input != args.folder):
        raise UsageError("give the run or model folder once (--input RUN_OR_MODEL)")
    preview, files = push(  # PushFailed: one line, exit 1 (mcq.cli.run_command)
        folder, args.repo_id, private=args.private, dry_run=args.dry_run, out=args.output_dir
    )
    if preview is not None:
        print(f"dry run: card and list of {len(files)} files written to {preview}")
    else:
        print(
            f"pushed {len(files)} files and the model card to https://huggingface.co/{args.repo_id}"
        )
    return 0


def _check_repo_id(repo_id: str) -> None:
    """Hub rules (huggingface_hub's own check): ``name`` or ``owner/name``, no ``..``."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(repo_id)
    except HFValidationError:
        raise UsageError(
            f"--repo-id {repo_id!r} is not a repository name, e.g. user/zhongli-qwen"
        ) from None


def _preset_lines(name: str | None) -> list[str]:
    if not name:
        return ["- Reward preset: not recorded"]
    try:
        import rewards

        preset = rewards.load_preset(name)
    except Exception:  # the preset may live on another machine; the name is still worth showing
        return [f"- Reward preset: `{name}`"]
    weights = ", ".join(f"{component} {weight:g}" for component, weight in preset.weights.items())
    return [f"- Reward preset: `{preset.name}` — {preset.description} (weights: {weights})"]


def _final_metrics(folder: Path) -> tuple[dict[str, float], int | None]:
    state = _read_json(folder / "trainer_state.json")
    if state is None:
        try:
            from training.curves import find_trainer_state

            state = _read_json(find_trainer_state(folder))
        except UsageError:
            return {}, None
    latest: dict[str, float] = {}
    for entry in (state or {}).get("log_history", []):
        for key, value in entry.items():
            if key in ("step", "epoch") or key.startswith("train_"):
                continue
            try:
                latest[key] = float(value)
            except (TypeError, ValueError):
                continue
    wanted = ["reward", "reward_std", "loss", "kl", "completions/mean_length"]
    keys = [k for k in wanted if k in latest] + sorted(
        k for k in latest if k.startswith("rewards/") and k.endswith("/mean")
    )
    return {k: latest[k] for k in keys}, (state or {}).get("global_step")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _shown_path(base: str) -> str:
    """A local base folder as a reader can place it (repository-relative, else its name); a
    hub id unchanged. Runs record local bases absolute, which would leak the trainer's home."""
    path = Path(base)
    if not path.is_absolute():
        return base
    try:
        return path.relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return path.name
