"""Fingerprints that tell whether a resumed run is the same run: input, weights, tokenizer.

Also each question's sampling seed, which depends on the run's seed and the question's id only,
so a resumed or data-parallel run draws the same samples as one uninterrupted process.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from mcq import LETTERS, Question

__all__ = ["fingerprint", "folder_fingerprints", "question_seed"]


#: Files whose bytes decide how text becomes tokens and back.
_TOKENIZER_FILES = (
    "tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "chat_template.json",
    "vocab.json", "merges.txt", "tokenizer.model", "special_tokens_map.json",
    "added_tokens.json", "generation_config.json",
)  # fmt: skip
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".gguf")


def folder_fingerprints(*folders: str | None) -> tuple[str, str]:
    """``(weights, tokenizer)`` fingerprints of local model/adapter folders, for resume checks.

    Weights: the bytes of ``config.json``/``adapter_config.json`` and every weight file's name,
    size and modification time (hashing gigabytes of weights would take minutes). Tokenizer:
    the bytes of the tokenizer and chat-template files. A hub id counts as its name only.
    """
    weights, tokenizer = hashlib.sha256(), hashlib.sha256()
    for ref in folders:
        if ref is None:
            continue
        folder = Path(ref)
        if not folder.is_dir():
            weights.update(f"hub:{ref}\x1e".encode())
            continue
        for path in sorted(folder.iterdir()):
            if not path.is_file():
                continue
            if path.name in ("config.json", "adapter_config.json"):
                weights.update(path.name.encode() + b"\x1f" + path.read_bytes() + b"\x1e")
            elif path.suffix in _WEIGHT_SUFFIXES:
                info = path.stat()
                weights.update(f"{path.name}\x1f{info.st_size}\x1f{info.st_mtime_ns}\x1e".encode())
            elif path.name in _TOKENIZER_FILES:
                tokenizer.update(path.name.encode() + b"\x1f" + path.read_bytes() + b"\x1e")
    return weights.hexdigest()[:16], tokenizer.hexdigest()[:16]


def question_seed(seed: int, question_id: str) -> int:
    """The sampling seed of one question: from the run's seed and the id, not the batch.

    Example:
        >>> question_seed(0, "q001") == question_seed(0, "q001") != question_seed(1, "q001")
        True
    """
    digest = hashlib.sha256(f"{seed}\x00{question_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 2


def fingerprint(questions: Sequence[Question]) -> str:
    """A hash of the questions' ids, texts and options: resuming needs the same input."""
    h = hashlib.sha256()
    for q in questions:
        for part in (q.id, q.question, *(q.options.get(letter, "") for letter in LETTERS)):
            h.update(part.encode())
            h.update(b"\x1f")
        h.update(b"\x1e")
    return h.hexdigest()[:16]
