"""A checked generation run (:class:`Plan`): what to answer, where, and what is already done.

:func:`plan` validates the questions, preset, prompt and output folder for resolved settings
and reads what an earlier run left in the folder; it writes nothing. The rest of this module
is what both the main process and data-parallel workers (:mod:`inference.generation.parallel`)
do with a plan: create the folder and run.json, load the model, show progress.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mcq
from inference.generation.fingerprints import fingerprint
from inference.generation.results import (
    BASE_COLUMNS,
    DETAILED,
    MANIFEST,
    PROVENANCE,
    TRUNCATED,
    check_manifest,
    csv_text,
    read_detailed_results,
    submission_name,
    write_manifest,
)
from inference.generation.settings import (
    GenerationSettings,
    part_label,
    part_range,
    run_manifest,
)
from mcq import Question
from mcq.errors import UsageError
from mcq.files import check_output_folder, refuse_overwrite, write_atomic

if TYPE_CHECKING:
    from tqdm import tqdm

    from inference.generation.answering import Answerer
    from rewards import Preset

__all__ = ["Plan", "make_answerer", "plan", "prepare_output", "progress", "read_results"]


@dataclass
class Plan:
    """A checked run: resolved settings, what to answer, where, and what is already answered."""

    settings: GenerationSettings
    #: The run.json settings (``settings`` recorded, plus fingerprints).
    manifest: dict[str, Any]
    questions: list[Question]
    columns: list[str]
    components: list[str]
    preset: Preset
    prompt: mcq.Prompt
    out: Path
    #: Where the input was read from, for messages.
    where: str = "the input"
    #: The questions as given (before ``part`` took its slice): what workers receive.
    whole_input: list[Question] = field(default_factory=list)
    done: dict[str, list[str]] = field(default_factory=dict)
    tokens: int = 0
    seconds: float = 0.0

    @property
    def detailed(self) -> Path:
        return self.out / DETAILED

    @property
    def submission(self) -> Path:
        return self.out / submission_name(part_label(self.settings.part))

    @property
    def todo(self) -> list[Question]:
        return [q for q in self.questions if q.id not in self.done]

    def slices(self) -> list[list[Question]]:
        """The fixed input slices of ``chunk_size`` questions (done or not), in order."""
        step = self.settings.chunk_size
        return [self.questions[i : i + step] for i in range(0, len(self.questions), step)]

    def chunks(self, slices: Iterable[list[Question]] | None = None) -> Iterable[list[Question]]:
        """The questions not done yet of each slice (default: all), skipping finished slices."""
        for part in self.slices() if slices is None else slices:
            chunk = [q for q in part if q.id not in self.done]
            if chunk:
                yield chunk


def plan(
    settings: GenerationSettings,
    questions: Sequence[Question],
    output_dir: str | Path,
    *,
    inputs: Sequence[str | Path] = (),
) -> Plan:
    """Validate a run of resolved ``settings`` and read what an earlier run left; writes nothing.

    ``settings`` come from :func:`~inference.generation.settings.resolve` (which checks them).
    """
    import rewards

    where = f"{inputs[0]}" if inputs else "the input"
    if not questions:
        raise UsageError(f"{where}: no questions")
    whole_input = questions = list(questions)
    if settings.part:
        k, n = settings.part
        if n > len(questions):
            raise UsageError(
                f"--part {k}/{n}: {where} has {len(questions)} questions, too few for "
                f"{n} parts; use at most {len(questions)}"
            )
        start, stop = part_range(len(questions), k, n)
        questions = questions[start:stop]
    try:
        preset = rewards.load_preset(settings.preset)
    except UsageError:
        raise  # names the preset already
    except (KeyError, ValueError, FileNotFoundError, OSError) as err:
        raise UsageError(f"--preset {settings.preset}: {err}") from err
    components = list(preset.weights)
    prompt = mcq.load_prompt(settings.prompt)  # its errors name the prompt
    manifest = run_manifest(
        settings, preset=preset.name, prompt=prompt, input_fingerprint=fingerprint(whole_input)
    )
    columns = [*BASE_COLUMNS, *components, "total", TRUNCATED]
    columns += ["votes"] if settings.samples > 1 else []

    out = check_output_folder(output_dir, "--output-dir")
    for name in (submission_name(manifest["part"]), DETAILED, MANIFEST):
        refuse_overwrite(out / name, list(inputs))
    checked = Plan(
        settings,
        manifest,
        questions,
        columns,
        components,
        preset,
        prompt,
        out,
        where=where,
        whole_input=whole_input,
    )
    check_manifest(out / MANIFEST, manifest)
    read_results(checked, out)
    return checked


def read_results(checked: Plan, folder: Path) -> None:
    """Add the rows of ``folder``'s detailed results (if any) to ``checked.done``.

    Raises :class:`UsageError` when they came from another run or answer other questions.
    """
    source = folder / DETAILED
    if not source.is_file():
        return
    check_manifest(folder / MANIFEST, checked.manifest, required=True)
    rows, _ = read_detailed_results(source, checked.columns)
    ids = {q.id for q in checked.questions}
    stray = [qid for qid in rows if qid not in ids]
    if stray:
        part = f"part {checked.manifest['part']} of " if checked.settings.part else ""
        raise UsageError(
            f"{source} has results for ids not in {part}{checked.where} "
            f"(e.g. {stray[0]!r}): use another --output-dir"
        )
    for qid, row in rows.items():
        checked.done.setdefault(qid, row)


def prepare_output(checked: Plan, folder: Path | None = None) -> Path:
    """Create the folder, run.json and a detailed results file with whole rows only."""
    folder = folder or checked.out
    folder.mkdir(parents=True, exist_ok=True)
    manifest = folder / MANIFEST
    if not manifest.is_file():
        write_manifest(manifest, checked.manifest | {PROVENANCE: run_provenance(checked)})
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
    backend = get_backend(s.model, adapter=s.adapter, backend=s.backend, **s.engine_kwargs())
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
