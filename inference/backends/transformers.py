"""The transformers backend: a causal LM (+ a PEFT adapter) on torch, the fallback of vLLM."""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from inference.backends.base import (
    Conversation,
    Generation,
    answer_conversation,
    per_conversation_seeds,
    prompt_lengths,
)
from mcq import LETTERS

if TYPE_CHECKING:
    import torch
    from transformers import BatchEncoding, GenerationConfig

__all__ = ["TransformersBackend"]


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
        tokenizer = AutoTokenizer.from_pretrained(model)
        lm = AutoModelForCausalLM.from_pretrained(model, dtype=torch_dtype).to(self.device)
        if adapter is not None:
            from peft import PeftModel

            lm = PeftModel.from_pretrained(lm, adapter)
        self._attach(lm.eval(), tokenizer, max_model_len)

    @classmethod
    def from_loaded(
        cls, lm: Any, tokenizer: Any, *, batch_size: int = 16, max_model_len: int | None = None
    ) -> TransformersBackend:
        """A backend over a model already in memory (a policy being trained, with its adapter
        active), on the model's device. The caller puts it in eval mode and back."""
        backend = cls.__new__(cls)
        backend.model, backend.adapter, backend.batch_size = None, None, batch_size
        backend.device = next(lm.parameters()).device
        backend._attach(lm, tokenizer, max_model_len)
        return backend

    def _attach(self, lm: Any, tokenizer: Any, max_model_len: int | None) -> None:
        self.tokenizer = tokenizer
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.lm = lm
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

    def prompt_lengths(self, conversations: Sequence[Conversation]) -> list[int]:
        """Prompt tokens of each conversation under the model's chat template."""
        return prompt_lengths(self.tokenizer, conversations)

    def _render(self, conversation: Conversation, *, answer_prefix: bool = False) -> str:
        if answer_prefix:
            return self.tokenizer.apply_chat_template(
                answer_conversation(conversation), tokenize=False, continue_final_message=True
            )
        return self.tokenizer.apply_chat_template(
            conversation, tokenize=False, add_generation_prompt=True
        )

    def _encode(self, prompts: list[str]) -> BatchEncoding:
        batch = self.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        return batch.to(self.device)

    def _adapter_context(self, use: bool) -> contextlib.AbstractContextManager[object]:
        if self.adapter is not None and not use:
            return self.lm.disable_adapter()
        return contextlib.nullcontext()

    def _generation_config(
        self, max_new_tokens: int, ignore_eos: bool, streamer: bool = False
    ) -> GenerationConfig:
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
        """Generate ``n`` answers per conversation (see the class docstring for sampling)."""
        import torch

        seeds = per_conversation_seeds(seed, len(conversations))
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
                        _SeededSampling([s for _, s in part], temperature, self.device, top_p)
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
        conversations: Sequence[Conversation],
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
        messages: Conversation,
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
            def __call__(
                self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs: Any
            ) -> torch.Tensor:
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

    def reset_prefix_cache(self) -> None:
        """Nothing to do: every ``generate`` call starts from an empty cache."""

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

    def __init__(
        self,
        seeds: Sequence[int | None],
        temperature: float,
        device: torch.device,
        top_p: float = 1.0,
    ) -> None:
        import torch
        from transformers import TopPLogitsWarper

        self.temperature = temperature
        self.top_p = TopPLogitsWarper(top_p) if top_p < 1.0 else None
        self.generators = []
        for seed in seeds:
            generator = torch.Generator(device=device)
            if seed is None:
                generator.seed()
            else:
                generator.manual_seed(seed)
            self.generators.append(generator)

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        import torch

        logits = scores.float() / self.temperature
        if self.top_p is not None:  # the nucleus, as vLLM's top_p keeps it
            logits = self.top_p(input_ids, logits)
        probs = torch.softmax(logits, dim=-1)
        picks = torch.stack(
            [torch.multinomial(probs[i], 1, generator=g) for i, g in enumerate(self.generators)]
        )
        masked = torch.full_like(scores, float("-inf"))
        return masked.scatter(1, picks, 0.0)
