"""mcq: the domain layer of zhongli (question records, loading, prompt, answer extraction).

Light on purpose: no torch, vLLM or Gradio imports, so every other package can use it.
"""

from mcq.extract import RULES, extract_answer
from mcq.fit import CUT_MARK, PromptTooLong, cut_middle, fit_question
from mcq.loaders import DataError, canonical_column, load_test, load_train, validate_file
from mcq.prompt import (
    ANSWER_FORMAT_HINT,
    DEFAULT_PROMPT,
    PROMPT_DIR,
    SYSTEM_PROMPT,
    Example,
    Prompt,
    build_messages,
    format_question,
    list_prompts,
    load_prompt,
    render_prompt,
)
from mcq.records import LETTERS, Question

__all__ = [
    "ANSWER_FORMAT_HINT",
    "CUT_MARK",
    "DEFAULT_PROMPT",
    "LETTERS",
    "PROMPT_DIR",
    "RULES",
    "SYSTEM_PROMPT",
    "DataError",
    "Example",
    "Prompt",
    "PromptTooLong",
    "Question",
    "build_messages",
    "canonical_column",
    "cut_middle",
    "extract_answer",
    "fit_question",
    "format_question",
    "list_prompts",
    "load_prompt",
    "load_test",
    "load_train",
    "render_prompt",
    "validate_file",
]
