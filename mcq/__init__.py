"""mcq: the domain layer of zhongli (question records, loading, prompt, answer extraction).

Light on purpose: no torch, vLLM or Gradio imports, so every other package can use it.
"""

from mcq.errors import DataError, UsageError
from mcq.extract import RULES, extract_answer
from mcq.fit import CUT_MARK, PromptTooLong, cut_middle, fit_question
from mcq.loaders import load_gold, load_test, load_train, read_gold, validate_file
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
from mcq.records import LETTERS, Question, format_answer, normalize_letter
from mcq.tables import canonical_column, read_table, row_id

__all__ = [
    "ANSWER_FORMAT_HINT",
    "CUT_MARK",
    "DEFAULT_PROMPT",
    "LETTERS",
    "PROMPT_DIR",
    "RULES",
    "SYSTEM_PROMPT",
    "DataError",
    "UsageError",
    "Example",
    "Prompt",
    "PromptTooLong",
    "Question",
    "build_messages",
    "canonical_column",
    "cut_middle",
    "extract_answer",
    "fit_question",
    "format_answer",
    "format_question",
    "list_prompts",
    "load_gold",
    "load_prompt",
    "load_test",
    "load_train",
    "normalize_letter",
    "read_gold",
    "read_table",
    "render_prompt",
    "row_id",
    "validate_file",
]
