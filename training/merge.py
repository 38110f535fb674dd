"""``python -m training merge``: fold a LoRA adapter into its base model for vLLM and transformers.

The merged folder holds ``config.json``, safetensors weights, the generation config and the
tokenizer (with its chat template), so ``vllm.LLM(DIR)`` and
``AutoModelForCausalLM.from_pretrained(DIR)`` both load it. It is written to a scratch folder
beside ``--output-dir`` and moved into place at the end: an interrupted merge leaves nothing behind.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

from mcq.cli import command_parser
from mcq.errors import UsageError
from mcq.files import check_output_folder

__all__ = ["adapter_base", "main", "make_parser", "merge_adapter"]

log = logging.getLogger(__name__)

EPILOG = """\
examples:
  python -m training merge --adapter runs/qwen2.5-7b-qlora --output-dir runs/qwen2.5-7b-merged
  python -m training merge --base assets/models/demo-base \\
      --adapter assets/models/demo-grpo-adapter --output-dir /tmp/demo-merged --overwrite
--base defaults to the base model named in the adapter's adapter_config.json.
"""

_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json")


def adapter_base(adapter: str | Path) -> str | None:
    """The base model recorded in ``adapter/adapter_config.json``, if any."""
    config = Path(adapter) / "adapter_config.json"
    try:
        return json.loads(config.read_text(encoding="utf-8")).get("base_model_name_or_path")
    except (OSError, ValueError):
        return None


def merge_adapter(
    adapter: str | Path,
    out: str | Path,
    base: str | None = None,
    *,
    dtype: str = "auto",
    overwrite: bool = False,
) -> Path:
    """Merge ``adapter`` into ``base`` and save model + tokenizer to ``out``; returns ``out``."""
    adapter, out = Path(adapter), Path(out)
    if not (adapter / "adapter_config.json").is_file():
        raise UsageError(f"{adapter}: not a PEFT adapter folder (no adapter_config.json)")
    base = base or adapter_base(adapter)
    if not base:
        raise UsageError(f"{adapter}: adapter_config.json names no base model; pass --base")
    check_output_folder(out, "--output-dir")
    for given, flag in ((adapter, "--adapter"), (base, "--base")):
        if Path(given).exists() and out.resolve() == Path(given).resolve():
            raise UsageError(
                f"--output-dir {out}: is the {flag} folder itself; choose another folder"
            )
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise UsageError(
            f"{out} already exists and is not empty; pass --overwrite or choose another --output-dir"
        )

    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch_dtype = "auto" if dtype == "auto" else getattr(torch, dtype)
    try:
        model = AutoModelForCausalLM.from_pretrained(base, dtype=torch_dtype)
    except OSError as err:
        raise UsageError(f"cannot load base model {base}: {str(err).splitlines()[0]}") from None
    model = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload(progressbar=True)
    has_tokenizer = any((adapter / name).is_file() for name in _TOKENIZER_FILES)
    tokenizer = AutoTokenizer.from_pretrained(str(adapter) if has_tokenizer else base)

    out.parent.mkdir(parents=True, exist_ok=True)
    scratch = out.parent / f".{out.name}.merging-{os.getpid()}"
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        model.save_pretrained(scratch)
        tokenizer.save_pretrained(scratch)
        _replace_dir(scratch, out)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    log.info("merged %s into %s -> %s", adapter, base, out)
    return out


def _replace_dir(new: Path, target: Path) -> None:
    """Move ``new`` to ``target``; an existing ``target`` is removed only after the move."""
    if not target.exists():
        os.replace(new, target)
        return
    old = target.parent / f".{target.name}.old-{os.getpid()}"
    os.replace(target, old)
    os.replace(new, target)
    shutil.rmtree(old)


def make_parser(subparsers: Any | None = None) -> argparse.ArgumentParser:
    """The ``merge`` parser (``--out`` is the old, hidden spelling of ``--output-dir``)."""
    parser = command_parser(
        subparsers,
        "merge",
        help="merge a LoRA adapter into its base model (for vLLM)",
        description="Merge a LoRA adapter into its base model and save model + tokenizer.",
        epilog=EPILOG,
        prog="python -m training merge",
    )
    parser.add_argument(
        "--adapter", required=True, help="PEFT adapter folder (a training run folder works)"
    )
    parser.add_argument(
        "--base", help="base model (hub id or folder); default: from adapter_config.json"
    )
    parser.add_argument(
        "--output-dir", dest="output_dir", help="folder to write the merged model to"
    )
    parser.add_argument("--out", "--output_dir", dest="output_dir", help=argparse.SUPPRESS)
    parser.add_argument(
        "--dtype",
        choices=("auto", "bfloat16", "float16", "float32"),
        default="auto",
        help="dtype of the merged weights (default: the base model's)",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace --output-dir if it exists"
    )
    parser.set_defaults(func=main)
    return parser


def main(args: argparse.Namespace) -> int:
    """Merge and print where the model went."""
    if not args.output_dir:
        raise UsageError("--output-dir is required (the folder for the merged model)")
    out = merge_adapter(
        args.adapter, args.output_dir, args.base, dtype=args.dtype, overwrite=args.overwrite
    )
    print(f"merged model written to {out}")
    return 0
