"""Standard data in: Parquet, JSON/JSONL, ``save_to_disk`` folders and hub ids, C-Eval/CMMLU
column names, and text tables in Big5/GB18030 through ``--encoding``.

The datasets are built here with ``datasets.Dataset`` from the sample training questions, in
C-Eval's columns (``id, question, A, B, C, D, answer, explanation``). Nothing touches the
network: the hub cases run offline (``HF_HUB_OFFLINE=1``) or against an endpoint that refuses
connections (``http://127.0.0.1:9``), standing in for a machine without a network.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import mcq
from mcq.tables import read_table

ROOT = Path(__file__).resolve().parents[1]
FORMS = ("parquet", "jsonl", "disk")
N = 4  # questions in each dataset
# One compute thread per subprocess (see test_training.py); the hub stays offline.
ENV = {"OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1"}


def run_cli(*args: object, env: dict[str, str] | None = None, timeout: float = 300):
    """``python -m ARGS`` from the repository root, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", *map(str, args)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **ENV, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def one_line_refusal(run: subprocess.CompletedProcess) -> str:
    """The single stderr line of a run that exited 2 (fails otherwise)."""
    assert run.returncode == 2, run.stderr[-2000:]
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in run.stderr, run.stderr[-2000:]
    return lines[0]


def ceval_columns(questions: list[mcq.Question]) -> dict[str, list]:
    """The questions in C-Eval's columns."""
    return {
        "id": [q.id for q in questions],
        "question": [q.question for q in questions],
        **{letter: [q.options[letter] for q in questions] for letter in mcq.LETTERS},
        "answer": [q.correct_answer for q in questions],
        "explanation": [q.reasoning for q in questions],
    }


@pytest.fixture(scope="module")
def questions(sample_train) -> list[mcq.Question]:
    return mcq.load_train(sample_train)[:N]


@pytest.fixture(scope="module")
def forms(tmp_path_factory, questions) -> dict[str, Path]:
    """The same C-Eval-shaped dataset as a Parquet file, a JSONL file and a save_to_disk folder."""
    from datasets import Dataset

    folder = tmp_path_factory.mktemp("forms")
    data = Dataset.from_dict(ceval_columns(questions))
    paths = {"parquet": folder / "ceval.parquet", "jsonl": folder / "ceval.jsonl"}
    data.to_parquet(paths["parquet"])
    data.to_json(paths["jsonl"], force_ascii=False)
    paths["disk"] = folder / "ceval-disk"
    data.save_to_disk(paths["disk"])
    return paths


# ---------------------------------------------------------------- the reader


@pytest.mark.parametrize("form", FORMS)
def test_each_form_reads_as_the_questions_it_was_built_from(forms, questions, form):
    read = mcq.load_train(forms[form])
    assert [(q.id, q.question, q.options, q.correct_answer, q.reasoning) for q in read] == [
        (q.id, q.question, q.options, q.correct_answer, q.reasoning) for q in questions
    ]
    assert [q.id for q in mcq.load_test(forms[form])] == [q.id for q in questions]


def test_ceval_and_cmmlu_headers_map_to_the_canonical_columns():
    names = [mcq.canonical_column(h) for h in ("question", "A", "D", "Answer", "explanation")]
    assert names == ["question", "option_A", "option_D", "correct_answer", "reasoning"]


def test_message_lists_from_parquet_stay_python_lists(tmp_path):
    from datasets import Dataset

    chosen = [{"role": "user", "content": "題目"}, {"role": "assistant", "content": "答案：A"}]
    path = tmp_path / "pairs.parquet"
    Dataset.from_dict({"chosen": [chosen], "rejected": ["答案：B"]}).to_parquet(path)
    table = read_table(path)
    assert table.records == [{"chosen": chosen, "rejected": "答案：B"}]
    assert table.where(table.rows[0][0]) == "row 1"
    assert json.loads(table.rows[0][1][0]) == chosen  # the text cell is the same list, as JSON


def test_a_folder_with_several_splits_names_them_and_the_folder_to_pass(tmp_path, questions):
    from datasets import Dataset, DatasetDict

    data = Dataset.from_dict(ceval_columns(questions))
    DatasetDict({"val": data, "test": data}).save_to_disk(tmp_path / "dd")
    with pytest.raises(mcq.DataError, match=r"splits val, test; pass one split's folder"):
        mcq.load_train(tmp_path / "dd")
    assert len(mcq.load_train(tmp_path / "dd" / "val")) == N


def test_a_parquet_file_is_bounded_by_the_input_limit(forms):
    from mcq.files import set_input_limit

    set_input_limit(1e-4)  # ~100 bytes
    try:
        with pytest.raises(mcq.DataError, match="--max-input-mb"):
            mcq.load_train(forms["parquet"])
    finally:
        set_input_limit(mcq.files.DEFAULT_MAX_INPUT_MB)


# ---------------------------------------------------------------- every command, every form


@pytest.mark.parametrize("form", FORMS)
def test_rewards_score_scores_the_reference_answers_of_each_form(forms, tmp_path, form, questions):
    out = tmp_path / "scored.csv"
    run = run_cli("rewards", "score", "--input", forms[form], "--output", out)
    assert run.returncode == 0, run.stderr[-2000:]
    with out.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [row["id"] for row in rows] == [q.id for q in questions]
    assert all(row["correctness"] == "1" for row in rows)  # the reference answer is the gold


@pytest.mark.parametrize("form", FORMS)
def test_evals_score_reports_each_form(forms, tmp_path, form, questions):
    run = run_cli("evals", "score", "--input", forms[form], "--output-dir", tmp_path / "r")
    assert run.returncode == 0, run.stderr[-2000:]
    summary = json.loads((tmp_path / "r" / "summary.json").read_text(encoding="utf-8"))
    assert summary["accuracy"]["value"] == 1.0
    assert f"{N} completions" in run.stdout


@pytest.mark.parametrize("form", FORMS)
def test_inference_generate_answers_every_question_of_each_form(
    forms, tmp_path, form, questions, demo_grpo
):
    out = tmp_path / "out"
    run = run_cli(
        "inference", "generate", "--model", demo_grpo, "--backend", "transformers",
        "--input", forms[form], "--output-dir", out, "--max-new-tokens", "32", "--seed", "7",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    with (out / "submission.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [row["id"] for row in rows] == [q.id for q in questions]
    assert all(row["answer"] in mcq.LETTERS for row in rows)


@pytest.mark.parametrize("form", FORMS)
def test_training_grpo_trains_one_step_on_each_form(forms, tmp_path, form):
    # About 25 s a form here (most of it starting TRL), so all three run.
    from tests.test_training import GRPO_ARGS

    args = list(GRPO_ARGS)
    args[args.index("--dataset_path") + 1] = str(forms[form])
    run = run_cli(
        "training", "grpo", *args, "--output_dir", tmp_path / "run", "--max_steps", "1",
        "--max_samples", "4", "--save_steps", "1",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    assert (tmp_path / "run" / "checkpoint-1").is_dir()


# ---------------------------------------------------------------- encodings


@pytest.mark.parametrize("encoding", ["gb18030", "big5"])
def test_a_text_table_in_another_encoding_is_read_with_encoding_and_refused_without(
    tmp_path, questions, encoding
):
    path = tmp_path / f"train-{encoding}.tsv"
    header = "id\tquestion\tA\tB\tC\tD\tanswer\texplanation\n"
    lines = [
        "\t".join([q.id, q.question, *q.options.values(), q.correct_answer or "", "依據條文。"])
        for q in questions
    ]
    path.write_bytes((header + "\n".join(lines) + "\n").encode(encoding, errors="replace"))

    refused = one_line_refusal(run_cli("rewards", "score", "--input", path))
    assert str(path) in refused and "--encoding" in refused and "UTF-8" in refused
    run = run_cli("rewards", "score", "--input", path, "--encoding", encoding)
    assert run.returncode == 0, run.stderr[-2000:]
    checked = run_cli("training", "check-data", "--input", path, "--encoding", encoding)
    assert f"{N} rows ({N} valid" in checked.stdout, checked.stderr[-2000:]


def test_an_unknown_encoding_is_one_line(tmp_path, sample_train):
    refused = one_line_refusal(
        run_cli("rewards", "score", "--input", sample_train, "--encoding", "klingon")
    )
    assert "--encoding klingon: unknown encoding" in refused


# ---------------------------------------------------------------- hub ids


def test_a_hub_id_without_a_split_is_one_line():
    refused = one_line_refusal(run_cli("rewards", "score", "--input", "hf:ceval/ceval-exam"))
    assert "needs a split: hf:NAME[:CONFIG]:SPLIT" in refused


@pytest.mark.parametrize(
    "env",
    [{"HF_HUB_OFFLINE": "1"}, {"HF_HUB_OFFLINE": "0", "HF_ENDPOINT": "http://127.0.0.1:9"}],
    ids=["offline", "unreachable"],
)
def test_a_hub_id_without_network_fails_in_seconds_with_one_line(env):
    start = time.monotonic()
    run = run_cli("rewards", "score", "--input", "hf:ceval/ceval-exam:law:val", env=env)
    elapsed = time.monotonic() - start
    refused = one_line_refusal(run)
    assert "hf:ceval/ceval-exam:law:val" in refused
    assert elapsed < 10, f"{elapsed:.1f} s"


# ---------------------------------------------------------------- labels and pairs


def _components(folder: Path) -> dict:
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    return summary["components"]


def test_evals_rewards_measures_parquet_pairs_and_a_labelled_folder_as_their_text_files(
    tmp_path, repo_root
):
    from datasets import Dataset

    pairs = repo_root / "assets/data/preference_pairs.jsonl"
    lines = pairs.read_text(encoding="utf-8").splitlines()
    Dataset.from_list([json.loads(line) for line in lines if line.strip()]).to_parquet(
        tmp_path / "pairs.parquet"
    )
    labelled = repo_root / "assets/data/labelled_answers.csv"
    with labelled.open(encoding="utf-8", newline="") as fh:
        Dataset.from_list(list(csv.DictReader(fh))).save_to_disk(tmp_path / "labelled")

    runs = {
        "pairs-jsonl": ["--pairs", pairs],
        "pairs-parquet": ["--pairs", tmp_path / "pairs.parquet"],
        "labels-csv": ["--input", labelled, "--label", "good"],
        "labels-disk": ["--input", tmp_path / "labelled", "--label", "good"],
    }
    for name, args in runs.items():
        run = run_cli("evals", "rewards", *args, "--output-dir", tmp_path / name)
        assert run.returncode == 0, f"{name}: {run.stderr[-2000:]}"
    assert _components(tmp_path / "pairs-parquet") == _components(tmp_path / "pairs-jsonl")
    assert _components(tmp_path / "labels-disk") == _components(tmp_path / "labels-csv")


def test_a_bad_row_of_a_parquet_file_is_named_by_its_row(tmp_path, questions):
    from datasets import Dataset

    columns = ceval_columns(questions)
    columns["answer"][1] = "E"
    Dataset.from_dict(columns).to_parquet(tmp_path / "bad.parquet")
    with pytest.raises(mcq.DataError, match=r"1 invalid row \(row 2: answer 'E' not in A-D\)"):
        mcq.load_train(tmp_path / "bad.parquet")
    assert len(mcq.load_train(tmp_path / "bad.parquet", skip_invalid=True)) == N - 1
