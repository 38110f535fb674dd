"""inference: batched answer generation (vLLM, transformers), submissions, an OpenAI server.

``inference.generate(settings, questions, output_dir)`` answers questions with the settings of
a :class:`GenerationSettings` and writes submission.csv, detailed_results.csv and run.json
(:mod:`inference.generation`); ``inference.backends.get_backend`` loads a model once per
process; ``python -m inference generate | merge | serve`` are the command lines. Nothing heavy
(torch, vLLM) is imported here.

Example:
    >>> settings = GenerationSettings(model="assets/models/demo-grpo", max_new_tokens=96)
    >>> settings.backend, settings.samples
    ('auto', 1)
"""

from inference.generation import GenerationSettings, GenerationSummary, generate

__all__ = ["GenerationSettings", "GenerationSummary", "generate"]
