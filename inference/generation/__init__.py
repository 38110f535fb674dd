"""Generation runs: answer a test file and write a competition submission.

``inference.generate(settings, questions, output_dir)`` (:func:`~inference.generation.run.generate`)
is the API; ``python -m inference generate`` (:mod:`inference.generation.cli`) builds its
:class:`GenerationSettings` from flags. The modules: :mod:`~inference.generation.settings` (the
request, its flags and run.json), :mod:`~inference.generation.fingerprints` (input, weights,
tokenizer, seeds), :mod:`~inference.generation.results` (the files),
:mod:`~inference.generation.answering` (one chunk: generate, extract, score, vote),
:mod:`~inference.generation.plan` (check, resume), :mod:`~inference.generation.run` (answer,
write) and :mod:`~inference.generation.parallel` (shards and data-parallel worker processes).

For every question: ask the model (``mcq.build_messages`` with the ``prompt`` variant),
extract the letter (``mcq.extract_answer``), score the answer with a rewards preset, and, where
no letter can be extracted, ask again with the answer constrained to A-D
(``answer_source=constrained``).
``samples=N`` (``--samples N``) draws N answers and keeps the majority letter (self-consistency); a tie goes
to the letter whose best answer has the highest total reward.

Outputs in the output folder (``--output-dir``):

- ``submission.csv``: ``id,answer``, every input id once, in input order (written atomically);
- ``detailed_results.csv``: ``id, answer, answer_source, response, <components>, total,
  prompt_truncated`` (+ ``votes`` with ``--samples`` > 1). ``prompt_truncated`` is ``true``
  where the prompt was longer than the model's context minus ``--max-new-tokens`` and was
  shortened in the middle of the question (``inference.context``); the summary counts them.
  The file grows chunk by chunk while the run goes on; the finished file is rewritten
  atomically in input order;
- ``run.json``: the settings the results depend on, checked when a run is resumed.

``part=(K, N)`` (``--part K/N``) answers only the K-th of N contiguous slices of the input (one machine's share
of a big test set): the folder is a normal output folder, except that its submission is named
``submission.part-K-of-N.csv`` (never mistaken for a whole one) and run.json records the part.
``python -m inference merge`` (:mod:`inference.merge`) checks and joins the N folders into one
submission.

Resuming: rerun with the same settings; ids already in ``detailed_results.csv`` are skipped. Chunks
are fixed slices of the input and every question's sampling seed comes from ``seed`` and its
id, so a resumed run writes the same files as an uninterrupted one. A kill loses at most the
chunk in progress.
"""

from inference.generation.fingerprints import fingerprint, question_seed
from inference.generation.results import (
    BASE_COLUMNS,
    DETAILED,
    MANIFEST,
    SUBMISSION,
    describe_changes,
    read_detailed_results,
    submission_name,
    write_submission,
)
from inference.generation.run import GenerationSummary, generate
from inference.generation.settings import GenerationSettings, parse_engine_args, part_range

__all__ = [
    "BASE_COLUMNS",
    "DETAILED",
    "MANIFEST",
    "SUBMISSION",
    "GenerationSettings",
    "GenerationSummary",
    "describe_changes",
    "fingerprint",
    "generate",
    "parse_engine_args",
    "part_range",
    "question_seed",
    "read_detailed_results",
    "submission_name",
    "write_submission",
]
