"""mcq: the domain layer of zhongli (question records, loading, prompt, answer extraction).

Light on purpose: no torch, vLLM or Gradio imports, so every other package can use it.
"""

from mcq.extract import RULES, extract_answer
from mcq.loaders import DataError, canonical_column, load_test, load_train, validate_file
from mcq.prompt import (
    ANSWER_FORMAT_HINT,
    SYSTEM_PROMPT,
    build_messages,
    format_question,
    render_prompt,
)
from mcq.records import LETTERS, Question

__all__ = [
    "ANSWER_FORMAT_HINT",
    "LETTERS",
    "RULES",
    "SYSTEM_PROMPT",
    "DataError",
    "Question",
    "build_messages",
    "canonical_column",
    "extract_answer",
    "format_question",
    "load_test",
    "load_train",
    "render_prompt",
    "validate_file",
]
