"""The demo tokenizer: byte-level BPE that spells every exam character as one token."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import mcq
from training.demo.settings import (
    IM_END,
    IM_START,
    LEXICON_DIR,
    MODEL_SHAPE,
    PAD_TOKEN,
    SPECIAL_TOKENS,
    DemoSettings,
)
from training.demo.warmup import STYLE_MIX, styled_answer

# ChatML as Qwen2 writes it, without Qwen's default system prompt (mcq supplies its own).
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)


# Qwen2's pre-tokenizer split. transformers loads any qwen2-typed model's tokenizer as
# Qwen2Tokenizer, which installs this split, so training with it keeps ids identical everywhere.
QWEN2_SPLIT_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)


def tokenizer_corpus(train: Sequence[mcq.Question]) -> list[str]:
    """Texts the tokenizer learns its merges from: prompts, reference answers, lexicon terms.

    The prompts are mcq's chat messages (every shipped prompt variant's wording included), so
    the tokenizer follows prompt changes. Each text also appears converted to Simplified
    Chinese (OpenCC), so users typing either script get sensible tokens.
    """
    import opencc

    texts: list[str] = []
    for prompt in mcq.list_prompts():
        texts += [prompt.system or "", prompt.answer_format]
        if prompt.example is not None:
            texts += [mcq.format_question(prompt.example.question, prompt), prompt.example.answer]
    texts += [m["content"] for q in train for m in mcq.build_messages(q)]
    texts += [styled_answer(q, style) for q in train if q.correct_answer for style, _ in STYLE_MIX]
    texts += lexicon_terms()
    texts = [t for t in texts if t]
    to_simplified = opencc.OpenCC("t2s")
    return texts + [to_simplified.convert(t) for t in texts]


def lexicon_terms() -> list[str]:
    """Every term of the shipped neutrality lexicons (comments and blank lines left out)."""
    terms = []
    for lexicon in sorted(LEXICON_DIR.glob("*.txt")):
        lines = lexicon.read_text(encoding="utf-8").splitlines()
        terms += [ln.split("#", 1)[0].strip() for ln in lines if ln.split("#", 1)[0].strip()]
    return terms


def exam_characters(extra_texts: Iterable[str] = ()) -> list[str]:
    """Every character the demo tokenizer keeps as one token, sorted by code point.

    jieba's own dictionary (``jieba/dict.txt``: about 350,000 Simplified words, 12,010
    distinct CJK characters), each word and character also converted to Traditional with
    OpenCC (``s2t``, and ``s2tw`` for Taiwan's variants), plus every character of
    ``extra_texts`` (the sample data and the prompt texts). Those cover practically every
    character of a real Traditional or Simplified exam.
    """
    import unicodedata
    from importlib.resources import files

    import opencc

    words = [
        line.split(" ", 1)[0]
        for line in (files("jieba") / "dict.txt").read_text(encoding="utf-8").splitlines()
    ]
    chars = {c for w in words for c in w}
    converters = [opencc.OpenCC(name) for name in ("s2t", "s2tw")]
    for convert in converters:
        chars |= {c for ch in sorted(chars) for c in convert.convert(ch)}
        chars |= {c for w in words for c in convert.convert(w)}
    for text in extra_texts:
        chars |= set(unicodedata.normalize("NFC", text))
    # Multi-byte characters only: ASCII is a single byte (a base token) anyway; no controls.
    return sorted(c for c in chars if ord(c) > 0x7F and unicodedata.category(c)[0] not in "CZ")


def sample_texts(settings: DemoSettings) -> list[str]:
    """The raw text of the sample data, the prompt variants and the lexicons (for characters)."""
    paths = [settings.train, settings.test, *sorted(mcq.PROMPT_DIR.glob("*.yaml"))]
    paths += sorted(LEXICON_DIR.glob("*.txt"))
    return [Path(p).read_text(encoding="utf-8-sig") for p in paths]


def train_tokenizer(texts: Iterable[str], characters: Sequence[str] = (), merges: int = 3000):
    """A byte-level BPE tokenizer that knows every one of ``characters`` as one token.

    Byte-level means every string in any script still encodes (an unknown character falls
    back to its UTF-8 bytes). The merges come in two ranks:

    1. character merges, built, not learned: for each of ``characters``, its bytes joined
       left to right (``b1 b2 -> b1b2``, ``b1b2 b3 -> b1b2b3``). They rank before every other
       merge and only ever join bytes of one character (UTF-8 lead bytes never follow a
       character's last byte), so each such character always ends up one token;
    2. ``merges`` merges learned by BPE on ``texts`` over whole characters (the same split
       and normalizer, without the byte mapping), then written in the byte alphabet.

    The result has the ChatML special tokens, ``<|im_end|>`` as eos, ``<|endoftext|>`` as
    pad, Qwen2's normalizer and pre-tokenizer, and :data:`CHAT_TEMPLATE`.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    split = pre_tokenizers.Split(Regex(QWEN2_SPLIT_REGEX), behavior="isolated", invert=False)
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)

    def in_bytes(text: str) -> str:
        return "".join(piece for piece, _ in byte_level.pre_tokenize_str(text))

    # 2. merges over whole characters, learned from the sample corpus.
    learner = Tokenizer(models.BPE())
    learner.normalizer = normalizers.NFC()
    learner.pre_tokenizer = split
    learner.train_from_iterator(
        list(texts), trainers.BpeTrainer(vocab_size=1_000_000, min_frequency=2, show_progress=False)
    )
    learned = json.loads(learner.to_str())["model"]["merges"][:merges]

    # 1. character merges, shortest prefixes first.
    spelled = [in_bytes(c) for c in sorted(set(characters))]
    char_merges = [(s[: i - 1], s[i - 1]) for i in range(2, 5) for s in spelled if len(s) >= i]
    vocab: dict[str, int] = {}
    for token in [*SPECIAL_TOKENS, *sorted(pre_tokenizers.ByteLevel.alphabet())]:
        vocab.setdefault(token, len(vocab))
    all_merges: list[tuple[str, str]] = []
    for left, right in [*char_merges, *((in_bytes(a), in_bytes(b)) for a, b in learned)]:
        if left + right not in vocab:
            vocab[left + right] = len(vocab)
            all_merges.append((left, right))

    tok = Tokenizer(models.BPE(vocab=vocab, merges=all_merges))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([split, byte_level])
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(list(SPECIAL_TOKENS))
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token=IM_END,
        pad_token=PAD_TOKEN,
        additional_special_tokens=[IM_START],
        model_max_length=MODEL_SHAPE["max_position_embeddings"],
        padding_side="left",
    )
    wrapped.chat_template = CHAT_TEMPLATE
    return wrapped
