"""Build the embedded demo models in assets/models/ from nothing but the repository.

``python -m training demo`` trains, on a CPU in minutes:

1. a byte-level BPE tokenizer that spells every character of jieba's dictionary, its
   Traditional forms (OpenCC) and the sample data as one token, with merges learned from the
   sample training data, the prompts and the lexicons (:mod:`training.demo.tokenizer`);
2. a tiny Qwen2 model (head_dim 64, which vLLM's CPU attention accepts; 4,096-token context)
   warm-started by a short supervised pass on ``assets/data/sample_train.tsv``. A quarter of
   its targets are ``答案：X`` then ``理由：...``; the rest answer at the end or name the option
   by its wording (:data:`STYLE_MIX`), like an instruct model that usually ignores the
   requested format -> ``demo-base`` (:mod:`training.demo.warmup`);
3. a GRPO run with the ``default`` rewards preset through the same code path as
   ``python -m training grpo --config assets/configs/demo-cpu.yaml`` -> ``demo-grpo-adapter``
   (PEFT LoRA) and ``demo-grpo`` (the adapter merged into demo-base) (:mod:`training.demo.tuning`);
4. an evaluation of both models on the held-out ``sample_test`` questions, greedy (as
   ``python -m evals demo-report`` and the app show them) and sampled, recorded in
   ``assets/models/README.md`` and ``build-report.json`` (:mod:`training.demo.evaluate`).

Heavy libraries (torch, transformers, peft, trl) are imported inside the functions that use them.
"""

from training.demo.build import build
from training.demo.cli import main, make_parser
from training.demo.evaluate import ModelScore, evaluate_models, greedy_gain
from training.demo.files import dir_size_bytes, save_model_dir, write_text_atomic
from training.demo.settings import (
    ADAPTER_DIR,
    BASE_DIR,
    DATA_DIR,
    DEFAULT_CONFIG,
    DEFAULT_OUT,
    MERGED_DIR,
    MODEL_SHAPE,
    REPO_ROOT,
    SIZE_LIMIT_BYTES,
    DemoSettings,
    load_sample_data,
)
from training.demo.tokenizer import exam_characters, tokenizer_corpus, train_tokenizer
from training.demo.warmup import STYLE_MIX, styled_answer, supervised_examples

__all__ = [
    "ADAPTER_DIR",
    "BASE_DIR",
    "DATA_DIR",
    "DEFAULT_CONFIG",
    "DEFAULT_OUT",
    "MERGED_DIR",
    "MODEL_SHAPE",
    "REPO_ROOT",
    "SIZE_LIMIT_BYTES",
    "STYLE_MIX",
    "DemoSettings",
    "ModelScore",
    "build",
    "dir_size_bytes",
    "evaluate_models",
    "exam_characters",
    "greedy_gain",
    "load_sample_data",
    "main",
    "make_parser",
    "save_model_dir",
    "styled_answer",
    "supervised_examples",
    "tokenizer_corpus",
    "train_tokenizer",
    "write_text_atomic",
]
