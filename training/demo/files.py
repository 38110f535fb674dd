"""Atomic saves of model folders and text files, and folder sizes."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from training.demo.settings import TOKENIZER_FILES


def save_model_dir(model, tokenizer, out_dir: Path, *, dtype: str = "bfloat16") -> None:
    """Save ``model`` (cast to ``dtype``, safetensors) and its tokenizer to ``out_dir`` atomically.

    ``tokenizer`` is a tokenizer object, or a model folder whose tokenizer files are copied
    byte for byte. Everything is written to a scratch sibling folder first and then swapped
    in, so a reader never sees a half-written model and a failed save leaves the previous one
    untouched.
    """
    import torch

    tmp = scratch_dir(out_dir)
    try:
        model.to(getattr(torch, dtype)).save_pretrained(tmp, safe_serialization=True)
        if isinstance(tokenizer, str | os.PathLike):
            for name in TOKENIZER_FILES:
                if (Path(tokenizer) / name).is_file():
                    shutil.copy2(Path(tokenizer) / name, tmp / name)
        else:
            tokenizer.save_pretrained(tmp)
            _name_tokenizer_class(tmp / "tokenizer_config.json")
        swap_dir(tmp, out_dir)
    finally:
        model.to(torch.float32)
        shutil.rmtree(tmp, ignore_errors=True)


def _name_tokenizer_class(config_path: Path) -> None:
    """Record ``Qwen2Tokenizer`` as the class: transformers 4 and 5 (and so vLLM) load it alike.

    transformers 5 loads a qwen2 model's tokenizer as Qwen2Tokenizer whatever the file says;
    naming it lets transformers 4 find the same class instead of failing on ``TokenizersBackend``.
    """
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["tokenizer_class"] = "Qwen2Tokenizer"
    config_path.write_text(
        json.dumps(config, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )


def scratch_dir(out_dir: Path) -> Path:
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))


def swap_dir(new: Path, target: Path) -> None:
    """Replace folder ``target`` by ``new`` (readable by all; the old one is removed last)."""
    for path in [new, *new.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
    os.replace(new, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def dir_size_bytes(path: Path) -> int:
    """Total size of the regular files under ``path``, hidden scratch folders excluded."""
    return sum(
        p.stat().st_size
        for p in Path(path).rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
    )


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
