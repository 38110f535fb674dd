"""`python -m inference generate`: submissions through vLLM's CPU build and transformers.

The CLI runs in-process through ``inference.cli.main(argv)`` so every test shares the vLLM
engines that ``get_backend`` caches (one for demo-grpo, one for demo-base + adapter); only the
kill-and-resume test needs a subprocess of its own.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import mcq
import rewards
from inference.backends import clear_cache
from inference.cli import main

pytestmark = pytest.mark.slow

# Small chunks so that a run has 22 of them to interrupt; the same settings everywhere so the
# reference run and the resumed runs must agree byte for byte.
RUN_ARGS = ["--chunk-size", "2", "--max-new-tokens", "96", "--seed", "7"]


@pytest.fixture(scope="module", autouse=True)
def _free_engines():
    yield
    clear_cache()  # later test modules start with the memory back


def generate(capsys, *argv: object) -> tuple[int, str, str]:
    """Run the CLI in-process; return (exit code, stdout, stderr)."""
    try:
        code = main(["generate", *map(str, argv)])
    except SystemExit as exit:  # argparse refuses a flag value as the shell would see it
        code = exit.code
    out, err = capsys.readouterr()
    return code, out, err


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def header(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as f:
        return next(csv.reader(f))


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def write_subset(source: Path, target: Path, count: int) -> Path:
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    target.write_text("".join(lines[: count + 1]), encoding="utf-8")
    return target


def partial_copy(reference: Path, target: Path, rows: int, torn: bool = False) -> Path:
    """An output folder as a run killed after ``rows`` rows leaves it (+ half a row if torn)."""
    target.mkdir(parents=True)
    shutil.copy(reference / "run.json", target / "run.json")
    text = (reference / "detailed_results.csv").read_text(encoding="utf-8")
    records = list(csv.reader(text.splitlines(keepends=True)))
    kept = _csv_text(records[: rows + 1])
    if torn:
        kept += _csv_text([records[rows + 1]])[:25]
    (target / "detailed_results.csv").write_text(kept, encoding="utf-8", newline="")
    return target


def _csv_text(records: list[list[str]]) -> str:
    import io

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(records)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def vllm_run(tmp_path_factory, sample_test, demo_grpo):
    """One clean vLLM run of demo-grpo over sample_test.tsv: the reference output."""
    out = tmp_path_factory.mktemp("vllm-grpo")
    code = main(
        [
            "generate",
            "--model",
            str(demo_grpo),
            "--input",
            str(sample_test),
            "--output-dir",
            str(out),
            "--backend",
            "vllm",
            *RUN_ARGS,
        ]
    )
    assert code == 0
    return out


def check_outputs(out: Path, questions: list[mcq.Question], preset: str = "default") -> list[dict]:
    """Assert the submission and detailed results are complete and consistent; return rows."""
    submission = read_rows(out / "submission.csv")
    assert header(out / "submission.csv") == ["id", "answer"]
    assert [r["id"] for r in submission] == [q.id for q in questions]
    assert all(r["answer"] in mcq.LETTERS for r in submission)

    components = list(rewards.load_preset(preset).weights)
    columns = header(out / "detailed_results.csv")
    assert columns[: 4 + len(components) + 1] == [
        "id",
        "answer",
        "answer_source",
        "response",
        *components,
        "total",
    ]
    detailed = read_rows(out / "detailed_results.csv")
    assert [(r["id"], r["answer"]) for r in detailed] == [
        (r["id"], r["answer"]) for r in submission
    ]
    for row in detailed:
        assert row["answer_source"] in ("extracted", "constrained")
        assert 0.0 <= float(row["total"]) <= 1.0
        assert all(row[c] == "" or 0.0 <= float(row[c]) <= 1.0 for c in components)
    return detailed


# --------------------------------------------------------------------------- vLLM


def test_vllm_run_answers_every_id_once_in_input_order(vllm_run, sample_test):
    check_outputs(vllm_run, mcq.load_test(sample_test))


def test_extracted_answers_match_the_response_and_the_rest_were_asked_again(vllm_run):
    for row in read_rows(vllm_run / "detailed_results.csv"):
        letter, _ = mcq.extract_answer(row["response"])
        if row["answer_source"] == "extracted":
            assert letter == row["answer"]
        else:
            assert letter is None  # only unextractable answers go to the constrained pass


def test_scores_come_from_the_rewards_preset(vllm_run, sample_test):
    questions = {q.id: q for q in mcq.load_test(sample_test)}
    row = read_rows(vllm_run / "detailed_results.csv")[0]
    expected = rewards.score(row["response"], rewards.Sample.from_question(questions[row["id"]]))
    assert float(row["total"]) == pytest.approx(expected.total, abs=1e-4)


def test_adapter_on_base_model_goes_through_vllm_lora(
    tmp_path, capsys, sample_test, demo_base, demo_adapter
):
    # One chunk: vLLM's CPU LoRA kernels cost time per engine step, not per token.
    code, out, _ = generate(
        capsys,
        "--model",
        demo_base,
        "--adapter",
        demo_adapter,
        "--input",
        sample_test,
        "--output-dir",
        tmp_path,
        "--max-new-tokens",
        "96",
    )
    assert code == 0
    check_outputs(tmp_path, mcq.load_test(sample_test))
    assert "tokens/s" in out
    assert '"adapter": "' + str(demo_adapter.resolve()) in (tmp_path / "run.json").read_text()


def test_killed_run_resumes_to_identical_files(
    tmp_path, capsys, vllm_run, sample_test, demo_grpo, repo_root
):
    out = tmp_path / "killed"
    argv = [
        "generate",
        "--model",
        str(demo_grpo),
        "--input",
        str(sample_test),
        "--output-dir",
        str(out),
        "--backend",
        "vllm",
        *RUN_ARGS,
    ]
    env = {**os.environ, "PYTHONPATH": str(repo_root)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "inference", *argv],
        cwd=repo_root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    detailed = out / "detailed_results.csv"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if detailed.is_file() and detailed.read_bytes().count(b"\n") > 1:  # header + a row
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.02)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be interrupted"
    done = len(read_rows(detailed))
    assert 1 <= done < 44 and not (out / "submission.csv").exists()

    code, stdout, _ = generate(capsys, *argv[1:])
    assert code == 0
    assert ": 44 rows" in stdout
    assert snapshot(out) == snapshot(vllm_run)


def test_torn_last_row_is_dropped_and_answered_again(
    tmp_path, capsys, vllm_run, sample_test, demo_grpo
):
    out = partial_copy(vllm_run, tmp_path / "torn", rows=10, torn=True)
    code, _, _ = generate(
        capsys,
        "--model",
        demo_grpo,
        "--input",
        sample_test,
        "--output-dir",
        out,
        "--backend",
        "vllm",
        *RUN_ARGS,
    )
    assert code == 0
    assert snapshot(out) == snapshot(vllm_run)


def test_rerunning_a_finished_run_changes_nothing(
    tmp_path, capsys, vllm_run, sample_test, demo_grpo
):
    out = tmp_path / "again"
    shutil.copytree(vllm_run, out)
    code, stdout, _ = generate(
        capsys,
        "--model",
        demo_grpo,
        "--input",
        sample_test,
        "--output-dir",
        out,
        "--backend",
        "vllm",
        *RUN_ARGS,
    )
    assert code == 0
    assert "nothing left to generate" in stdout
    assert snapshot(out) == snapshot(vllm_run)


def test_malformed_input_exits_2_with_one_line_and_leaves_partial_output(
    tmp_path, capsys, vllm_run, sample_test, demo_grpo
):
    out = partial_copy(vllm_run, tmp_path / "partial", rows=8)
    before = snapshot(out)
    bad = tmp_path / "bad.tsv"
    lines = sample_test.read_text(encoding="utf-8").splitlines()
    lines[3] = "\t".join(lines[3].split("\t")[:4])  # a row with two options missing
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")

    code, stdout, stderr = generate(
        capsys, "--model", demo_grpo, "--input", bad, "--output-dir", out, *RUN_ARGS
    )
    assert code == 2
    assert stderr.count("\n") == 1 and "generate: error:" in stderr and "line 4" in stderr
    assert "Traceback" not in stderr and stdout == ""
    assert snapshot(out) == before


def test_resuming_with_other_settings_is_refused(
    tmp_path, capsys, vllm_run, sample_test, demo_grpo
):
    out = partial_copy(vllm_run, tmp_path / "partial", rows=8)
    before = snapshot(out)
    code, _, stderr = generate(
        capsys,
        "--model",
        demo_grpo,
        "--input",
        sample_test,
        "--output-dir",
        out,
        "--chunk-size",
        "2",
        "--max-new-tokens",
        "96",
        "--seed",
        "8",
    )
    assert code == 2
    assert stderr.count("\n") == 1 and "seed 7 -> 8" in stderr
    assert snapshot(out) == before


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--constrained", "--samples", "3"], "--constrained"),
        (["--samples", "0"], "--samples"),
        (["--samples", "3", "--temperature", "0"], "--temperature"),
        (["--engine-arg", "no-equals-sign"], "KEY=VALUE"),
        (["--backend", "transformers", "--tensor-parallel-size", "2"], "--tensor-parallel-size"),
    ],
)
def test_bad_options_exit_2_with_one_line(tmp_path, capsys, sample_test, demo_grpo, extra, message):
    code, _, stderr = generate(
        capsys,
        "--model",
        demo_grpo,
        "--input",
        sample_test,
        "--output-dir",
        tmp_path / "out",
        *extra,
    )
    assert code == 2
    assert stderr.count("\n") == 1 and message in stderr
    assert not (tmp_path / "out").exists()


def test_missing_model_folder_exits_2(tmp_path, capsys, sample_test):
    code, _, stderr = generate(
        capsys,
        "--model",
        tmp_path / "nope",
        "--input",
        sample_test,
        "--output-dir",
        tmp_path / "out",
    )
    assert code == 2 and "no such folder" in stderr


def test_self_consistency_keeps_a_majority_letter_and_is_reproducible(
    tmp_path, capsys, sample_test, demo_grpo
):
    subset = write_subset(sample_test, tmp_path / "subset.tsv", 8)
    runs = []
    for name in ("first", "second"):
        code, _, _ = generate(
            capsys,
            "--model",
            demo_grpo,
            "--input",
            subset,
            "--output-dir",
            tmp_path / name,
            "--samples",
            "3",
            "--temperature",
            "1.0",
            *RUN_ARGS,
        )
        assert code == 0
        runs.append(snapshot(tmp_path / name))
    assert runs[0] == runs[1]  # seeds come from --seed and the id

    rows = check_outputs(tmp_path / "first", mcq.load_test(subset))
    for row in rows:
        votes = dict(item.split("=") for item in row["votes"].split(";"))
        assert sum(int(v) for v in votes.values()) == 3
        letters = {k: int(v) for k, v in votes.items() if k != "none"}
        if row["answer_source"] == "extracted":
            assert letters[row["answer"]] == max(letters.values())
        else:
            assert not letters


def test_constrained_flag_answers_every_question_with_one_letter(
    tmp_path, capsys, sample_test, demo_grpo
):
    subset = write_subset(sample_test, tmp_path / "subset.tsv", 8)
    code, _, _ = generate(
        capsys,
        "--model",
        demo_grpo,
        "--input",
        subset,
        "--output-dir",
        tmp_path / "out",
        "--constrained",
        *RUN_ARGS,
    )
    assert code == 0
    rows = check_outputs(tmp_path / "out", mcq.load_test(subset))
    assert all(r["answer_source"] == "constrained" and r["response"] == r["answer"] for r in rows)


# --------------------------------------------------------------------------- prompt variants


@pytest.fixture(scope="module")
def prompt_runs(tmp_path_factory, sample_test, demo_grpo):
    """The first 6 sample questions answered by demo-grpo under `default` and `fewshot`."""
    folder = tmp_path_factory.mktemp("prompts")
    subset = write_subset(sample_test, folder / "subset.tsv", 6)
    runs = {}
    for name in ("default", "fewshot"):
        argv = ["--model", demo_grpo, "--input", subset, "--output-dir", folder / name]
        code = main(["generate", *map(str, argv), "--backend", "vllm", "--prompt", name, *RUN_ARGS])
        assert code == 0
        runs[name] = folder / name
    return subset, runs


def test_prompt_variant_is_recorded_in_run_json_and_changes_the_answers(prompt_runs):
    _, runs = prompt_runs
    for name, out in runs.items():
        manifest = json.loads((out / "run.json").read_text(encoding="utf-8"))
        assert manifest["prompt"] == name
        assert manifest["prompt_fingerprint"] == mcq.load_prompt(name).fingerprint
    responses = {
        name: [r["response"] for r in read_rows(out / "detailed_results.csv")]
        for name, out in runs.items()
    }
    assert responses["default"] != responses["fewshot"]


def test_two_prompt_runs_are_compared_by_evals_compare(prompt_runs, tmp_path, sample_gold):
    from evals.cli import main as evals_main

    _, runs = prompt_runs
    code = evals_main(
        [
            "compare",
            "--a",
            str(runs["default"] / "detailed_results.csv"),
            "--b",
            str(runs["fewshot"] / "detailed_results.csv"),
            "--gold",
            str(sample_gold),
            "--labels",
            "default,fewshot",
            "--out",
            str(tmp_path / "ab"),
            "--md-only",
        ]
    )
    report = (tmp_path / "ab" / "report.md").read_text(encoding="utf-8")
    assert code == 0 and "default" in report and "fewshot" in report


def test_resuming_with_another_prompt_is_refused(prompt_runs, tmp_path, capsys, demo_grpo):
    subset, runs = prompt_runs
    out = tmp_path / "resume"
    shutil.copytree(runs["default"], out)
    before = snapshot(out)
    argv = ["--model", demo_grpo, "--input", subset, "--output-dir", out, "--backend", "vllm"]
    code, _, stderr = generate(capsys, *argv, "--prompt", "fewshot", *RUN_ARGS)
    assert code == 2
    assert stderr.count("\n") == 1 and "prompt 'default' -> 'fewshot'" in stderr
    assert snapshot(out) == before


@pytest.mark.parametrize(
    ("prompt", "says"),
    [("nope", "unknown prompt 'nope'"), ("broken.yaml", "broken.yaml: line 2 invalid YAML")],
)
def test_a_bad_prompt_exits_2_with_one_line_naming_it_once(
    tmp_path, capsys, sample_test, demo_grpo, prompt, says
):
    if prompt.endswith(".yaml"):
        prompt = tmp_path / prompt
        prompt.write_text("answer_format: [unclosed\n", "utf-8")
    argv = ["--model", demo_grpo, "--input", sample_test, "--output-dir", tmp_path / "out"]
    code, _, stderr = generate(capsys, *argv, "--prompt", prompt)
    assert code == 2 and stderr.count("\n") == 1
    assert says in stderr and stderr.count(Path(prompt).name) == 1  # said once, not twice
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- context safety

PASSAGE = (Path(__file__).parent / "fixtures" / "long_civics_passage.txt").read_text(
    encoding="utf-8"
)
LONG_IDS = ("long-stem", "long-options")
# The transformers backend would use the model's whole max_position_embeddings: give it the
# context the vLLM engine has on a CPU (inference.backends.CPU_MAX_MODEL_LEN), so the long
# questions are over-long for both.
HF_CONTEXT = ["--engine-arg", "max_model_len=1024"]


@pytest.fixture(scope="module")
def mixed_input(tmp_path_factory, sample_test):
    """Four sample questions and two over-long ones (a ~1,400-character civics passage, once
    with short options and once with long ones), interleaved."""
    passage = "".join(PASSAGE.split())  # one TSV cell
    paragraphs = [p for p in PASSAGE.split("\n") if p.strip()]
    stem = passage + "根據上文，下列敘述何者最符合文中的說明？"
    long_stem = [
        stem,
        "參與式預算完全取代議會審議",
        "提案須經可行性評估並公開理由",
        "只有里長可以提出提案",
        "投票只能在網路上進行",
    ]
    long_options = [stem, *(paragraphs[i][:300] for i in (2, 3, 4, 5))]
    normal = mcq.load_test(sample_test)[:4]
    rows = [[q.id, q.question, *(q.options[x] for x in mcq.LETTERS)] for q in normal]
    rows.insert(1, [LONG_IDS[0], *long_stem])
    rows.insert(4, [LONG_IDS[1], *long_options])
    path = tmp_path_factory.mktemp("mixed") / "mixed.tsv"
    lines = ["id\tquestion\toption_A\toption_B\toption_C\toption_D", *("\t".join(r) for r in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def check_shortened(out: Path, questions: list[mcq.Question], stdout: str, stderr: str) -> None:
    """Complete valid files; exactly the long rows flagged; the count in the summary and in
    one warning line."""
    rows = check_outputs(out, questions)
    flagged = [r["id"] for r in rows if r["prompt_truncated"] == "true"]
    assert flagged == list(LONG_IDS)
    assert all(r["prompt_truncated"] in ("true", "false") for r in rows)
    assert "prompts shortened to fit the context: 2" in stdout
    warnings = [line for line in stderr.splitlines() if "shortened" in line]
    assert len(warnings) == 1 and warnings[0].startswith(f"warning: 2 of {len(rows)} prompts")


@pytest.mark.parametrize("backend", ["vllm", "transformers"])
def test_over_long_questions_are_shortened_and_every_id_answered(
    tmp_path, capsys, mixed_input, demo_grpo, backend
):
    extra = HF_CONTEXT if backend == "transformers" else []
    out = tmp_path / backend
    code, stdout, stderr = generate(
        capsys,
        *("--model", demo_grpo, "--input", mixed_input, "--output-dir", out),
        *("--backend", backend, *extra, *RUN_ARGS),
    )
    assert code == 0, stderr
    check_shortened(out, mcq.load_test(mixed_input), stdout, stderr)


def test_over_long_questions_are_shortened_for_sampling_and_the_constrained_pick(
    tmp_path, capsys, mixed_input, demo_grpo
):
    questions = mcq.load_test(mixed_input)
    common = ["--model", demo_grpo, "--input", mixed_input, "--backend", "vllm", *RUN_ARGS]
    code, stdout, stderr = generate(
        capsys, *common, "--output-dir", tmp_path / "sc", "--samples", "2", "--temperature", "1"
    )
    assert code == 0, stderr
    check_shortened(tmp_path / "sc", questions, stdout, stderr)
    code, stdout, stderr = generate(
        capsys, *common, "--output-dir", tmp_path / "c", "--constrained"
    )
    assert code == 0, stderr
    check_shortened(tmp_path / "c", questions, stdout, stderr)


def test_data_parallel_workers_shorten_over_long_questions(
    tmp_path, capsys, mixed_input, demo_grpo
):
    out = tmp_path / "dp"
    code, stdout, stderr = generate(
        capsys,
        *("--model", demo_grpo, "--input", mixed_input, "--output-dir", out),
        *("--backend", "transformers", *HF_CONTEXT, "--constrained", *RUN_ARGS),
        *("--data-parallel-size", "2"),
    )
    assert code == 0, stderr
    check_shortened(out, mcq.load_test(mixed_input), stdout, stderr)


def test_new_tokens_that_leave_no_room_for_a_question_exit_2_before_writing(
    tmp_path, capsys, mixed_input, demo_grpo
):
    out = tmp_path / "out"
    code, _, stderr = generate(
        capsys,
        *("--model", demo_grpo, "--input", mixed_input, "--output-dir", out),
        *("--backend", "transformers", *HF_CONTEXT, "--max-new-tokens", "1000"),
    )
    assert code == 2 and stderr.count("\n") == 1
    assert "lower --max-new-tokens" in stderr and "Traceback" not in stderr
    assert not out.exists()


# --------------------------------------------------------------------------- transformers


def test_transformers_backend_writes_complete_files(
    tmp_path, capsys, sample_test, demo_base, demo_adapter
):
    subset = write_subset(sample_test, tmp_path / "subset.tsv", 8)
    code, stdout, _ = generate(
        capsys,
        "--model",
        demo_base,
        "--adapter",
        demo_adapter,
        "--input",
        subset,
        "--output-dir",
        tmp_path / "out",
        "--backend",
        "transformers",
        *RUN_ARGS,
    )
    assert code == 0 and "tokens/s" in stdout
    check_outputs(tmp_path / "out", mcq.load_test(subset))
    assert '"backend": "transformers"' in (tmp_path / "out" / "run.json").read_text()


def test_data_parallel_workers_write_what_one_process_writes(
    tmp_path, capsys, sample_test, demo_grpo
):
    subset = write_subset(sample_test, tmp_path / "subset.tsv", 12)
    common = [
        "--model",
        demo_grpo,
        "--input",
        subset,
        "--backend",
        "transformers",
        "--constrained",
        *RUN_ARGS,
    ]
    assert generate(capsys, *common, "--output-dir", tmp_path / "one")[0] == 0
    assert (
        generate(capsys, *common, "--output-dir", tmp_path / "two", "--data-parallel-size", "2")[0]
        == 0
    )
    assert snapshot(tmp_path / "two") == snapshot(tmp_path / "one")
    assert not (tmp_path / "two" / ".shards").exists()
