"""``generate(settings, questions, output_dir)``: one generation run, checked, resumable.

Every check happens before anything is written (:func:`plan`); then the questions not yet in
detailed_results.csv are answered chunk by chunk (in this process, or by data-parallel worker
processes, :mod:`inference.generation.parallel`), and the finished files are written in input
order (:func:`finalize`).
"""

from __future__ import annotations

import shutil
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mcq
from inference.generation.results import (
    BASE_COLUMNS,
    CONSTRAINED,
    DETAILED,
    EXTRACTED,
    MANIFEST,
    PROVENANCE,
    TRUNCATED,
    append_rows,
    check_manifest,
    csv_text,
    read_detailed_results,
    submission_name,
    write_manifest,
    write_submission,
)
from inference.generation.settings import (
    DEFAULT_SAMPLING_TEMPERATURE,
    GenerationSettings,
    RunManifest,
    adapter_ref,
    fingerprint,
    folder_fingerprints,
    model_ref,
    part_label,
    part_range,
)
from mcq import LETTERS, Question
from mcq.errors import UsageError
from mcq.files import check_output_folder, refuse_overwrite, write_atomic

if TYPE_CHECKING:
    from tqdm import tqdm

    from inference.generation.answering import Answerer
    from rewards import Preset

__all__ = ["GenerationSummary", "Plan", "generate", "plan"]

#: Where data-parallel workers keep their own results until the run is finished.
SHARDS = ".shards"


@dataclass
class Plan:
    """A checked run: what to answer, where, and what an earlier run already answered."""

    request: GenerationSettings
    settings: RunManifest
    questions: list[Question]
    columns: list[str]
    components: list[str]
    preset: Preset
    prompt: mcq.Prompt
    out: Path
    #: The questions as given (before ``part`` took its slice): what workers receive.
    whole_input: list[Question] = field(default_factory=list)
    done: dict[str, list[str]] = field(default_factory=dict)
    rank: int = 0
    size: int = 1
    tokens: int = 0
    seconds: float = 0.0

    @property
    def detailed(self) -> Path:
        return self.out / DETAILED

    @property
    def submission(self) -> Path:
        return self.out / submission_name(self.settings.part)

    @property
    def todo(self) -> list[Question]:
        return [q for q in self.questions if q.id not in self.done]

    def chunks(self) -> Iterable[list[Question]]:
        """Fixed input slices not done yet; a data-parallel worker takes every size-th one."""
        step = self.settings.chunk_size
        for index, start in enumerate(range(0, len(self.questions), step)):
            if index % self.size != self.rank:
                continue
            chunk = [q for q in self.questions[start : start + step] if q.id not in self.done]
            if chunk:
                yield chunk


@dataclass(frozen=True)
class GenerationSummary:
    """What a finished run wrote and what it cost (``generated_tokens`` 0: all resumed)."""

    submission: Path
    detailed: Path
    questions: int
    shortened: int
    generated_tokens: int
    seconds: float


def generate(
    settings: GenerationSettings,
    questions: Sequence[Question],
    output_dir: str | Path,
    *,
    inputs: Sequence[str | Path] = (),
) -> GenerationSummary:
    """Answer ``questions`` into ``output_dir``; returns what was written (and prints it).

    Writes ``submission.csv`` (``submission.part-K-of-N.csv`` for a part), ``detailed_results.csv``
    and ``run.json``; resumes a folder that an earlier run with the same settings left.
    ``inputs`` are files the outputs must not overwrite (the command line passes ``--input``).

    Raises:
        mcq.errors.UsageError: a setting, the questions or the folder cannot be used (nothing
            is written then), or a data-parallel worker failed (what it finished is kept).
    """
    checked = plan(settings, questions, output_dir, inputs=inputs)
    if settings.data_parallel_size > 1 and checked.todo:
        from inference.generation.parallel import run_data_parallel

        run_data_parallel(checked)
    elif checked.todo:
        answerer = make_answerer(checked)
        answerer.check_room()  # before anything is written
        prepare_output(checked)
        with progress(checked) as bar:
            for chunk in checked.chunks():
                new_rows = answerer.rows(chunk)
                append_rows(checked.detailed, new_rows)
                for row in new_rows:
                    checked.done[row[0]] = row
                bar.update(len(chunk))
        checked.tokens = answerer.generated_tokens
        checked.seconds = answerer.generation_seconds
    return finalize(checked)


def plan(
    request: GenerationSettings,
    questions: Sequence[Question],
    output_dir: str | Path,
    *,
    inputs: Sequence[str | Path] = (),
    rank: int = 0,
    size: int = 1,
) -> Plan:
    """Validate everything and read what an earlier run left; writes nothing."""
    import rewards

    backend, model, adapter = check_request(request)
    weights_fp, tokenizer_fp = folder_fingerprints(model, adapter)

    where = f"{inputs[0]}" if inputs else "the input"
    if not questions:
        raise UsageError(f"{where}: no questions")
    input_fingerprint = fingerprint(questions)
    whole_input = questions = list(questions)
    if request.part:
        k, n = request.part
        if n > len(questions):
            raise UsageError(
                f"--part {k}/{n}: {where} has {len(questions)} questions, too few for "
                f"{n} parts; use at most {len(questions)}"
            )
        start, stop = part_range(len(questions), k, n)
        questions = questions[start:stop]
    try:
        preset = rewards.load_preset(request.preset)
    except UsageError:
        raise  # names the preset already
    except (KeyError, ValueError, FileNotFoundError, OSError) as err:
        raise UsageError(f"--preset {request.preset}: {err}") from err
    components = list(preset.weights)
    prompt = mcq.load_prompt(request.prompt)  # its errors name the prompt
    temperature = request.temperature
    if temperature is None:
        temperature = DEFAULT_SAMPLING_TEMPERATURE if request.samples > 1 else 0.0
    settings = RunManifest(
        model=model,
        adapter=adapter,
        backend=backend,
        samples=request.samples,
        temperature=temperature,
        max_new_tokens=request.max_new_tokens,
        constrained=request.constrained,
        seed=request.seed,
        preset=preset.name,
        prompt=prompt.name,
        prompt_fingerprint=prompt.fingerprint,
        chunk_size=request.chunk_size,
        input_fingerprint=input_fingerprint,
        engine_args=tuple(sorted(dict(request.engine_args).items())),
        weights_fingerprint=weights_fp,
        tokenizer_fingerprint=tokenizer_fp,
        part=part_label(request.part),
    )
    columns = [*BASE_COLUMNS, *components, "total", TRUNCATED]
    columns += ["votes"] if request.samples > 1 else []

    out = check_output_folder(output_dir, "--output-dir")
    for name in (submission_name(settings.part), DETAILED, MANIFEST):
        refuse_overwrite(out / name, list(inputs))
    checked = Plan(
        request,
        settings,
        questions,
        columns,
        components,
        preset,
        prompt,
        out,
        whole_input=whole_input,
        rank=rank,
        size=size,
    )
    check_manifest(out / MANIFEST, settings)

    ids = {q.id for q in questions}
    sources = [out / DETAILED]
    if size == 1:
        sources += sorted((out / SHARDS).glob(f"*/{DETAILED}"))
    else:
        sources.append(shard_dir(out, rank) / DETAILED)
    for source in sources:
        if source.is_file():
            check_manifest(source.parent / MANIFEST, settings, required=True)
            rows, _ = read_detailed_results(source, columns)
            stray = [qid for qid in rows if qid not in ids]
            if stray:
                part = f"part {settings.part} of " if settings.part else ""
                raise UsageError(
                    f"{source} has results for ids not in {part}{where} "
                    f"(e.g. {stray[0]!r}): use another --output-dir"
                )
            for qid, row in rows.items():
                checked.done.setdefault(qid, row)
    return checked


def check_request(request: GenerationSettings) -> tuple[str, str, str | None]:
    """Check the settings that need no questions; returns the backend, model and adapter.

    The backend is resolved (``auto`` -> ``vllm`` or ``transformers``), the model and adapter
    made absolute when they are local folders. Raises :class:`UsageError` for a bad one.
    """
    from inference.backends import resolve_backend_name, vllm_available

    if request.constrained and request.samples > 1:
        raise UsageError(
            "--constrained gives one pick per question; drop --samples or --constrained"
        )
    if request.samples > 1 and request.temperature == 0:
        raise UsageError("--samples > 1 needs --temperature above 0 (greedy samples are all alike)")
    for name in ("samples", "max_new_tokens", "chunk_size", "tensor_parallel_size"):
        if getattr(request, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1")
    try:
        backend = resolve_backend_name(request.backend)
    except ValueError as err:
        raise UsageError(f"--backend: {err}") from None
    if backend == "vllm" and not vllm_available():
        raise UsageError(
            "--backend vllm: vLLM is not installed (pip install vllm, or --backend transformers)"
        )
    if backend == "transformers" and request.tensor_parallel_size > 1:
        raise UsageError("--tensor-parallel-size needs --backend vllm")
    return backend, model_ref(request.model), adapter_ref(request.adapter)


def shard_dir(out: Path, rank: int) -> Path:
    """The folder of data-parallel worker ``rank`` inside the output folder."""
    return out / SHARDS / f"rank-{rank}"


def prepare_output(checked: Plan, folder: Path | None = None) -> Path:
    """Create the folder, run.json and a detailed results file with whole rows only."""
    folder = folder or checked.out
    folder.mkdir(parents=True, exist_ok=True)
    manifest = folder / MANIFEST
    if not manifest.is_file():
        write_manifest(
            manifest, checked.settings.manifest() | {PROVENANCE: run_provenance(checked)}
        )
    detailed = folder / DETAILED
    if not detailed.is_file():
        write_atomic(detailed, csv_text([checked.columns]))
    else:
        rows, torn = read_detailed_results(detailed, checked.columns)
        if torn:  # a kill cut a chunk short: keep the whole rows before it
            write_atomic(detailed, csv_text([checked.columns, *rows.values()]))
    return detailed


def run_provenance(checked: Plan) -> dict[str, Any]:
    """Code and library versions, preset and lexicon hashes, the model's (and adapter's) identity.

    Written into run.json beside the settings; not compared when a run resumes.
    """
    from mcq.provenance import provenance

    s = checked.settings
    return provenance(preset=checked.preset, models={"model": s.model, "adapter": s.adapter})


def make_answerer(checked: Plan) -> Answerer:
    """Load the model (cached per process) and wrap it with the run's settings."""
    from inference.backends import get_backend
    from inference.generation.answering import Answerer

    s = checked.settings
    backend = get_backend(
        s.model, adapter=s.adapter, backend=s.backend, **checked.request.engine_kwargs()
    )
    return Answerer(backend, s, checked.preset, checked.components, checked.prompt)


def progress(checked: Plan) -> tqdm:
    """The progress bar of a run (starts at the questions already answered)."""
    from tqdm import tqdm

    return tqdm(
        total=len(checked.questions),
        initial=len(checked.done),
        unit="q",
        desc="generate",
        dynamic_ncols=True,
    )


def finalize(checked: Plan) -> GenerationSummary:
    """Rewrite detailed results in input order, write the submission, print the summary."""
    prepare_output(checked)
    missing = [q.id for q in checked.questions if q.id not in checked.done]
    if missing:
        raise RuntimeError(f"{len(missing)} questions have no result (first: {missing[0]})")
    ordered = [checked.done[q.id] for q in checked.questions]
    write_atomic(checked.detailed, csv_text([checked.columns, *ordered]))
    write_submission(checked.submission, [(row[0], row[1]) for row in ordered])
    shards = checked.out / SHARDS
    if shards.is_dir():
        shutil.rmtree(shards)
    print(_summary(checked, ordered))
    shortened = _shortened(checked, ordered)
    if shortened:
        print(
            f"warning: {shortened} of {len(ordered)} prompts were longer than the model's context "
            f"allows and were shortened in the middle (marked {mcq.CUT_MARK}); they have "
            f"{TRUNCATED}=true in {DETAILED}",
            file=sys.stderr,
        )
    return GenerationSummary(
        submission=checked.submission,
        detailed=checked.detailed,
        questions=len(ordered),
        shortened=shortened,
        generated_tokens=checked.tokens,
        seconds=checked.seconds,
    )


def _shortened(checked: Plan, rows: list[list[str]]) -> int:
    column = checked.columns.index(TRUNCATED)
    return sum(row[column] == "true" for row in rows)


def _summary(checked: Plan, rows: list[list[str]]) -> str:
    total = len(rows)
    letters = Counter(row[1] for row in rows)
    sources = Counter(row[2] for row in rows)
    lines = [
        f"wrote {checked.submission} and {checked.detailed}: {total} rows",
        "answers: " + "  ".join(f"{x} {letters[x]} ({letters[x] / total:.0%})" for x in LETTERS),
        f"extracted {sources[EXTRACTED]} ({sources[EXTRACTED] / total:.0%}), "
        f"constrained {sources[CONSTRAINED]} ({sources[CONSTRAINED] / total:.0%})",
        f"prompts shortened to fit the context: {_shortened(checked, rows)}",
    ]
    if checked.tokens:
        rate = checked.tokens / checked.seconds if checked.seconds else 0.0
        lines.append(
            f"generated {checked.tokens} tokens in {checked.seconds:.1f} s: {rate:.1f} tokens/s"
        )
    else:
        lines.append("nothing left to generate (all ids were already in detailed_results.csv)")
    return "\n".join(lines)
