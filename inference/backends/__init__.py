"""Generation backends: vLLM (batched, fast) and transformers (fallback), one interface.

``get_backend(model, adapter=..., backend=...)`` returns a :class:`Backend` and caches it per
process, so tests, the CLI and the app share one loaded model. Every method takes chat
conversations built by :func:`mcq.build_messages`:

- ``chat(conversations, temperature=, top_p=, max_new_tokens=, n=, seed=, lora=)`` -> one list of
  :class:`Generation` per conversation;
- ``choose(conversations, choices=("A", "B", "C", "D"))`` -> one letter per conversation, the
  model's pick when it may only write one of ``choices`` right after ``答案：`` (vLLM: structured
  output ``choice``; transformers: the highest logit among the choices' first tokens);
- ``stream_chat(messages, temperature=, max_new_tokens=, use_adapter=)`` -> yields the growing
  text of one answer (the app streams it);
- ``prompt_lengths(conversations)`` -> the prompt tokens of each conversation, measured with the
  model's own tokenizer and chat template, to compare with ``max_model_len`` (the context: vLLM's
  ``max_model_len``; transformers: ``max_position_embeddings``, or a smaller ``max_model_len``
  given to it). ``inference.context`` fits over-long questions with them.

One module per backend: :mod:`inference.backends.vllm` (batched, structured output, real
streaming; how it runs on a CPU is said there) and :mod:`inference.backends.transformers`;
:mod:`inference.backends.base` holds the :class:`Backend` contract both fulfil. Heavy
libraries are imported inside functions.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from typing import Any

from inference.backends.base import (
    ANSWER_PREFIX,
    MAX_VLLM_ENGINES,
    Backend,
    Conversation,
    Generation,
    freeze,
    local_or_hub,
    on_cuda,
)
from inference.backends.transformers import TransformersBackend
from inference.backends.vllm import CPU_KV_CACHE_BYTES, CPU_MAX_MODEL_LEN, VLLMBackend

__all__ = [
    "ANSWER_PREFIX",
    "CPU_KV_CACHE_BYTES",
    "CPU_MAX_MODEL_LEN",
    "MAX_VLLM_ENGINES",
    "Backend",
    "Conversation",
    "Generation",
    "TransformersBackend",
    "VLLMBackend",
    "clear_cache",
    "get_backend",
    "on_cuda",
    "resolve_backend_name",
    "vllm_available",
]

_CACHE: dict[tuple, Backend] = {}
_CACHE_LOCK = threading.Lock()


def get_backend(
    model: str | os.PathLike[str],
    *,
    adapter: str | os.PathLike[str] | None = None,
    backend: str = "auto",
    **engine_kwargs: Any,
) -> Backend:
    """Return a loaded backend for ``model`` (+ a LoRA ``adapter``), cached per process.

    Args:
        model: A local model folder or a hub id (the merged model, or the adapter's base).
        adapter: A PEFT LoRA adapter folder applied on top of ``model``; ``chat(lora=False)``
            and ``stream_chat(use_adapter=False)`` answer with the bare base model.
        backend: ``"vllm"``, ``"transformers"`` or ``"auto"`` (vLLM when it is installed).
        **engine_kwargs: vLLM: any ``vllm.LLM`` argument (``tensor_parallel_size``,
            ``max_model_len``, ``gpu_memory_utilization``, ...). transformers: ``device``,
            ``dtype``, ``batch_size``, ``max_model_len`` (a context shorter than the model's).

    The cache key is every argument. At most :data:`MAX_VLLM_ENGINES` vLLM engines live at
    once: asking for another closes the least recently used one (a closed backend raises a
    clear error if it is used again). Engines must share the GPU, so give each one a
    ``gpu_memory_utilization`` share when you load two.
    """
    kind = resolve_backend_name(backend)
    model = local_or_hub(model)
    adapter = None if adapter is None else local_or_hub(adapter)
    key = (kind, model, adapter, freeze(engine_kwargs))
    with _CACHE_LOCK:
        cached = _CACHE.pop(key, None)
        if cached is not None:
            _CACHE[key] = cached  # most recently used last
            return cached
        if kind == "vllm":
            engines = [k for k in _CACHE if k[0] == "vllm"]
            for old_key in engines[: max(0, len(engines) - MAX_VLLM_ENGINES + 1)]:
                _CACHE.pop(old_key).close()
            created: Backend = VLLMBackend(model, adapter=adapter, **engine_kwargs)
        else:
            created = TransformersBackend(model, adapter=adapter, **engine_kwargs)
        _CACHE[key] = created
        return created


def clear_cache() -> None:
    """Close and forget every cached backend (frees the memory their models hold)."""
    with _CACHE_LOCK:
        while _CACHE:
            _CACHE.popitem()[1].close()


def resolve_backend_name(backend: str) -> str:
    """Map ``"auto"`` to ``"vllm"`` when vLLM is importable, else ``"transformers"``."""
    if backend == "auto":
        return "vllm" if vllm_available() else "transformers"
    if backend not in ("vllm", "transformers"):
        raise ValueError(f"unknown backend {backend!r}: use vllm, transformers or auto")
    return backend


def vllm_available() -> bool:
    """True when the ``vllm`` package (CUDA or CPU build) is installed."""
    return importlib.util.find_spec("vllm") is not None
