"""Data-parallel generation: one worker process per engine, each on its own GPUs.

The main process writes ``.shards/job.json`` in the output folder (the
:class:`~inference.generation.settings.GenerationSettings` as JSON and the questions) and
starts ``python -m inference.generation.parallel JOB RANK`` once per engine. Worker ``rank``
answers chunks ``rank, rank + size, ...`` into ``.shards/rank-<rank>/`` (its own run.json and
detailed_results.csv, plus a stats.json the main process reads for the progress bar). When all
have finished, the main process merges the shards and writes the usual files; a rerun after a
failure resumes from the shards. Everything about shards and workers is in this module.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from inference.generation.plan import (
    Plan,
    make_answerer,
    plan,
    prepare_output,
    progress,
    read_results,
)
from inference.generation.results import DETAILED, append_rows, csv_text, read_detailed_results
from inference.generation.settings import GenerationSettings
from mcq import Question
from mcq.cli import CommandFailed
from mcq.errors import UsageError
from mcq.files import write_atomic
from mcq.paths import REPO_ROOT

__all__ = [
    "WorkerFailed",
    "remove_shards",
    "resume_from_shards",
    "run_data_parallel",
    "run_worker",
    "shard_dir",
]

#: Where data-parallel workers keep their own results until the run is finished.
SHARDS = ".shards"
STATS = "stats.json"
JOB = "job.json"


def shard_dir(out: Path, rank: int) -> Path:
    """The folder of data-parallel worker ``rank`` inside the output folder."""
    return out / SHARDS / f"rank-{rank}"


def resume_from_shards(checked: Plan) -> None:
    """Count what the workers of an earlier, interrupted run finished as done (checked first)."""
    for folder in sorted((checked.out / SHARDS).glob("rank-*")):
        read_results(checked, folder)


def remove_shards(out: Path) -> None:
    """Delete the workers' folders once the run's own files hold all their rows."""
    if (out / SHARDS).is_dir():
        shutil.rmtree(out / SHARDS)


def run_data_parallel(checked: Plan) -> None:
    """Start one worker process per engine, show their progress, then collect their shards.

    Raises :class:`WorkerFailed` when a worker failed; everything finished so far is kept in
    detailed_results.csv and the shards stay for the rerun.
    """
    size = checked.settings.data_parallel_size
    groups = _device_groups(size, checked.settings.tensor_parallel_size)
    prepare_output(checked)
    for rank in range(size):  # counts of an earlier, interrupted run are already in done
        (shard_dir(checked.out, rank) / STATS).unlink(missing_ok=True)
    job = checked.out / SHARDS / JOB
    write_atomic(
        job,
        json.dumps(
            {
                "settings": checked.settings.to_dict(),  # resolved: workers check nothing again
                "size": size,
                "output_dir": str(checked.out.resolve()),
                "questions": [dataclasses.asdict(q) for q in checked.whole_input],
            },
            ensure_ascii=False,
        ),
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH")) if p)
    command = [sys.executable, "-m", "inference.generation.parallel", str(job)]
    workers = [
        subprocess.Popen([*command, str(rank)], env={**env, **groups[rank]}, cwd=os.getcwd())
        for rank in range(size)
    ]
    failed: list[tuple[int, int]] = []
    try:
        with progress(checked) as bar:
            while any(w.poll() is None for w in workers):
                time.sleep(1.0)
                bar.n = len(checked.done) + _worker_rows(checked)
                bar.refresh()
            bar.n = len(checked.done) + _worker_rows(checked)
            bar.refresh()
        failed = [(rank, w.returncode) for rank, w in enumerate(workers) if w.returncode != 0]
    finally:
        for w in workers:
            if w.poll() is None:
                w.terminate()
        for w in workers:
            w.wait()
    for rank in range(size):
        folder = shard_dir(checked.out, rank)
        if (folder / DETAILED).is_file():
            rows, _ = read_detailed_results(folder / DETAILED, checked.columns)
            for qid, row in rows.items():
                checked.done.setdefault(qid, row)
        if (folder / STATS).is_file():
            stats = json.loads((folder / STATS).read_text())
            checked.tokens += stats["tokens"]
            checked.seconds = max(checked.seconds, stats["seconds"])
    if failed:
        # Keep everything finished so far in the main file; the shards stay for the rerun.
        ordered = [checked.done[q.id] for q in checked.questions if q.id in checked.done]
        write_atomic(checked.detailed, csv_text([checked.columns, *ordered]))
        rank, code = failed[0]
        raise WorkerFailed(f"data-parallel worker {rank} failed (exit {code}); rerun to resume")


class WorkerFailed(CommandFailed):
    """A data-parallel worker exited with an error (its own message is above): exit 1."""


def run_worker(job_file: str | Path, rank: int) -> int:
    """A data-parallel worker: answer chunks ``rank, rank+size, ...`` into its shard folder."""
    job = json.loads(Path(job_file).read_text(encoding="utf-8"))
    settings = GenerationSettings.from_dict(job["settings"])
    questions = [Question(**q) for q in job["questions"]]
    checked = plan(settings, questions, job["output_dir"])
    folder = shard_dir(checked.out, rank)
    read_results(checked, folder)
    detailed = prepare_output(checked, folder)
    size = job["size"]  # this worker takes slices rank, rank + size, ...
    todo = list(checked.chunks(checked.slices()[rank::size]))
    if not todo:
        return 0
    answerer = make_answerer(checked)
    answerer.check_room()
    rows = 0
    for chunk in todo:
        append_rows(detailed, answerer.rows(chunk))
        rows += len(chunk)
        stats = {
            "rows": rows,
            "tokens": answerer.generated_tokens,
            "seconds": answerer.generation_seconds,
        }
        write_atomic(folder / STATS, json.dumps(stats))
    return 0


def _device_groups(size: int, per_worker: int) -> list[dict[str, str]]:
    """Environment of each worker: its own ``per_worker`` GPUs when CUDA is there."""
    from inference.backends import on_cuda

    if not on_cuda():
        return [{} for _ in range(size)]
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible:
        devices = [d.strip() for d in visible.split(",") if d.strip()]
    else:
        import torch

        devices = [str(i) for i in range(torch.cuda.device_count())]
    if len(devices) < size * per_worker:
        raise UsageError(
            f"--data-parallel-size {size} x --tensor-parallel-size {per_worker} needs "
            f"{size * per_worker} GPUs, {len(devices)} visible"
        )
    return [
        {"CUDA_VISIBLE_DEVICES": ",".join(devices[r * per_worker : (r + 1) * per_worker])}
        for r in range(size)
    ]


def _worker_rows(checked: Plan) -> int:
    """Rows the workers of this run have written so far (from their stats.json)."""
    count = 0
    for rank in range(checked.settings.data_parallel_size):
        try:
            stats = json.loads((shard_dir(checked.out, rank) / STATS).read_text())
        except (OSError, json.JSONDecodeError):
            continue
        count += stats.get("rows", 0)
    return count


if __name__ == "__main__":
    from mcq.cli import run_command

    # vLLM logs every engine detail at INFO; keep the terminal for the progress bar.
    os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
    job_path, worker_rank = sys.argv[1], int(sys.argv[2])
    raise SystemExit(
        run_command(
            lambda _: run_worker(job_path, worker_rank),
            None,
            prog=f"inference generate worker {worker_rank}",
        )
    )
