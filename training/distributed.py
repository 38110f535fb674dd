"""Several processes, one run: how many train, who writes, and the batch arithmetic GRPO needs.

``accelerate launch`` (and ``torchrun``) start one Python process per device and tell each its
place through the environment (``WORLD_SIZE``, ``RANK``) before any code runs, so the checks
here work before torch is imported. Every process runs the same ``python -m training grpo``;
only the main process (rank 0) writes the run log, ``zhongli_run.json``, the final model and
moves broken checkpoints aside. (Hugging Face's ``Trainer`` saves checkpoints from rank 0 too,
apart from one ``rng_state_<rank>.pth`` per process, which a resume needs.)

Example:
    >>> check_batch_arithmetic(per_device=4, processes=2, num_generations=8)
    >>> check_batch_arithmetic(per_device=3, processes=2, num_generations=4)
    Traceback (most recent call last):
    ...
    mcq.errors.UsageError: per_device_train_batch_size 3 × 2 processes × 1 steps_per_generation = 6 completions per generation batch, not a multiple of num_generations 4 (a batch must hold whole groups): use per_device_train_batch_size 2 (or change num_generations)
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any, TypeVar

from mcq.errors import UsageError

T = TypeVar("T")

__all__ = [
    "check_batch_arithmetic",
    "decided_by_main",
    "describe_world",
    "is_main_process",
    "process_index",
    "sharding",
    "world_size",
]


def world_size() -> int:
    """Number of training processes (1 without a launcher)."""
    return int(os.environ.get("WORLD_SIZE", "1") or 1)


def process_index() -> int:
    """This process's global rank (0 without a launcher)."""
    return int(os.environ.get("RANK", "0") or 0)


def is_main_process() -> bool:
    """Whether this process is the one that writes the run's files."""
    return process_index() == 0


def describe_world(processes: int, device: Any, sharding: str | None = None) -> str:
    """The run log's line about who trains.

    Example:
        >>> describe_world(2, "cpu")
        '2 processes (world size 2), cpu'
        >>> describe_world(1, "cuda", "DeepSpeed ZeRO-3")
        '1 process (world size 1), cuda, DeepSpeed ZeRO-3'
    """
    noun = "process" if processes == 1 else "processes"
    return f"{processes} {noun} (world size {processes}), {device}" + (
        f", {sharding}" if sharding else ""
    )


def sharding() -> str | None:
    """DeepSpeed ZeRO-N or FSDP when ``accelerate launch`` was given such a config, else None.

    Example:
        >>> saved = dict(os.environ)
        >>> os.environ.update(ACCELERATE_USE_DEEPSPEED="true", ACCELERATE_DEEPSPEED_ZERO_STAGE="3")
        >>> sharding()
        'DeepSpeed ZeRO-3'
        >>> os.environ.clear(); os.environ.update(saved)
    """
    if os.environ.get("ACCELERATE_USE_DEEPSPEED", "").lower() == "true":
        return f"DeepSpeed ZeRO-{os.environ.get('ACCELERATE_DEEPSPEED_ZERO_STAGE', '?')}"
    if os.environ.get("ACCELERATE_USE_FSDP", "").lower() == "true":
        return f"FSDP {os.environ.get('FSDP_VERSION', '1')}"
    return None


def check_batch_arithmetic(
    per_device: int,
    processes: int,
    num_generations: int,
    *,
    steps_per_generation: int | None = None,
    generation_batch_size: int | None = None,
    gradient_accumulation_steps: int = 1,
) -> None:
    """Raise one :class:`UsageError` when the batch cannot hold whole groups of completions.

    GRPO compares the ``num_generations`` answers to one question with each other, so a
    generation batch (``per_device × processes × steps_per_generation`` completions, the
    latter ``gradient_accumulation_steps`` unless set) must be a multiple of
    ``num_generations``. TRL checks the same later, in words that do not say which knob to turn.
    """
    if num_generations < 2:
        raise UsageError(
            f"num_generations must be at least 2 (a group to compare), not {num_generations}"
        )
    if per_device < 1:
        raise UsageError(f"per_device_train_batch_size must be at least 1, not {per_device}")
    global_batch = per_device * processes
    if generation_batch_size is not None:
        if steps_per_generation is not None:
            raise UsageError("set generation_batch_size or steps_per_generation, not both")
        if generation_batch_size % global_batch:
            raise UsageError(
                f"generation_batch_size {generation_batch_size} must be a multiple of "
                f"per_device_train_batch_size {per_device} × {processes} processes = {global_batch}"
            )
        total, how = generation_batch_size, f"generation_batch_size {generation_batch_size}"
    else:
        steps = steps_per_generation or gradient_accumulation_steps
        total = global_batch * steps
        how = (
            f"per_device_train_batch_size {per_device} × {processes} "
            f"{'process' if processes == 1 else 'processes'} × {steps} steps_per_generation = "
            f"{total} completions per generation batch"
        )
    if total % num_generations:
        hint = ""
        if generation_batch_size is None:
            steps = steps_per_generation or gradient_accumulation_steps
            step = num_generations // math.gcd(num_generations, processes * steps)
            hint = f": use per_device_train_batch_size {step * max(1, per_device // step)}"
            hint += " (or change num_generations)"
        raise UsageError(
            f"{how}, not a multiple of num_generations {num_generations} "
            f"(a batch must hold whole groups){hint}"
        )


def decided_by_main(decide: Callable[[], T], processes: int) -> T:
    """Run ``decide()`` on the main process only and give its answer to every process.

    A :class:`UsageError` raised there is raised on every process, so none waits for the
    others forever. Needs the process group (``training_args.device`` sets it up).

    Example:
        >>> decided_by_main(lambda: "checkpoint-4", processes=1)
        'checkpoint-4'
    """
    answer: list[Any] = [None]
    if is_main_process():
        try:
            answer = [("ok", decide())]
        except UsageError as err:
            answer = [("error", str(err))]
    if processes > 1:
        from accelerate.utils import broadcast_object_list

        broadcast_object_list(answer, from_process=0)
    kind, value = answer[0]
    if kind == "error":
        raise UsageError(value)
    return value
