"""GRPO on demo-base with :func:`training.grpo.train` (the demo recipe), then the adapter merge."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from training.demo.files import save_model_dir, scratch_dir, swap_dir
from training.demo.settings import TOKENIZER_FILES, DemoSettings


def grpo_values(settings: DemoSettings, base_dir: Path, run_dir: Path) -> dict[str, Any]:
    """The recipe options the demo sets on top of its recipe to train the adapter on ``base_dir``."""
    values: dict[str, Any] = {
        "model_name_or_path": str(base_dir),
        "dataset_path": str(settings.train),
        "output_dir": str(run_dir),
        "seed": settings.seed,
        "data_seed": settings.seed,
    }
    if settings.grpo_steps is not None:
        values["max_steps"] = settings.grpo_steps
    return values


def recipe_value(config: Path, key: str, default: Any = None) -> Any:
    """One setting of a YAML recipe (``default`` when the recipe does not set it)."""
    import yaml

    data = yaml.safe_load(Path(config).read_text(encoding="utf-8")) or {}
    return data.get(key, default)


def run_grpo(settings: DemoSettings, base_dir: Path, run_dir: Path) -> Path:
    """Train the LoRA adapter with :func:`training.grpo.train` on the demo recipe; return the run folder.

    ``settings.grpo_overrides`` (``--key value`` strings from ``--grpo-arg``) win over the demo's
    own values.
    """
    from training import grpo

    values = grpo_values(settings, base_dir, run_dir)
    shown = " ".join([f"--{k} {v}" for k, v in values.items()] + list(settings.grpo_overrides))
    print(f"[demo] training grpo --config {settings.config} {shown}", file=sys.stderr, flush=True)
    arguments = grpo.recipe_arguments(settings.config, settings.grpo_overrides, **values)
    return grpo.train(*arguments, recipe=str(settings.config))


def save_adapter(run_dir: Path, out_dir: Path, base_ref: str, tokenizer_dir: Path) -> None:
    """Copy the adapter files of a GRPO run folder to ``out_dir`` (atomically).

    ``base_model_name_or_path`` is set to ``base_ref`` (repo-relative, as zhongli runs from the
    repository root) so the adapter names the committed base rather than a scratch folder.
    """
    tmp = scratch_dir(out_dir)
    try:
        for name in ("adapter_config.json", "adapter_model.safetensors"):
            shutil.copy2(run_dir / name, tmp / name)
        for name in TOKENIZER_FILES:  # the base's tokenizer, so the folder is self-contained
            if (Path(tokenizer_dir) / name).is_file():
                shutil.copy2(Path(tokenizer_dir) / name, tmp / name)
        config_path = tmp / "adapter_config.json"
        config = json.loads(config_path.read_text(encoding="utf-8"))
        config["base_model_name_or_path"] = base_ref
        config["target_modules"] = sorted(
            config["target_modules"]
        )  # PEFT keeps a set: fix the order
        config_path.write_text(
            json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        swap_dir(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def merge_adapter(
    base_dir: Path, adapter_dir: Path, out_dir: Path, *, dtype: str = "bfloat16"
) -> None:
    """Merge the adapter into its base with ``python -m training merge``'s code, then store as ``dtype``.

    The merge runs in float32 (LoRA deltas are small next to the weights; merging in bfloat16
    would round part of them away), and only the result is cast for storage.
    """
    import torch
    from transformers import AutoModelForCausalLM

    from training import merge

    scratch = Path(tempfile.mkdtemp(prefix=".merge-", dir=Path(out_dir).parent))
    try:
        merge.merge_adapter(adapter_dir, scratch / "fp32", str(base_dir), dtype="float32")
        model = AutoModelForCausalLM.from_pretrained(scratch / "fp32", dtype=torch.float32)
        save_model_dir(model, Path(base_dir), out_dir, dtype=dtype)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
