"""Careless and hostile input: bounded reads, no output over input, whole report folders.

Every CLI here runs for real in a subprocess from the repository root; each refusal must be
exactly one line on stderr and exit code 2, and must leave the files it was given untouched.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from evals.report import staged_folder
from mcq import DataError
from mcq.files import read_text, refuse_overwrite

COMPLETIONS = "id,completion\n1,答案：B\\n理由：依據憲法，各方看法可能不同。\n2,答案：A\n"


def run_cli(repo_root: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_one_line_refusal(run: subprocess.CompletedProcess, *needles: str) -> None:
    assert run.returncode == 2, run.stderr
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, run.stderr
    assert "Traceback" not in run.stderr
    for needle in needles:
        assert needle in lines[0]


@pytest.fixture
def completions(tmp_path: Path) -> Path:
    path = tmp_path / "completions.csv"
    path.write_text(COMPLETIONS, encoding="utf-8")
    return path


# ---------------------------------------------------------------- bounded reads
def test_rewards_score_refuses_an_endless_device_without_reading_it(repo_root):
    run = run_cli(repo_root, "rewards", "score", "--input", "/dev/zero")
    assert_one_line_refusal(run, "/dev/zero", "not a regular file")


def test_rewards_score_refuses_a_fifo_without_blocking_on_it(repo_root, tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    run = run_cli(repo_root, "rewards", "score", "--input", str(fifo), timeout=60)
    assert_one_line_refusal(run, "not a regular file")


def test_evals_score_refuses_an_endless_device(repo_root, tmp_path):
    run = run_cli(repo_root, "evals", "score", "--input", "/dev/zero", "--out", str(tmp_path / "r"))
    assert_one_line_refusal(run, "/dev/zero")


def test_a_file_over_the_size_bound_is_refused_until_the_flag_raises_it(repo_root, completions):
    small = run_cli(
        repo_root, "rewards", "score", "--input", str(completions), "--max-input-mb", "0.00001"
    )
    assert_one_line_refusal(small, "--max-input-mb")
    raised = run_cli(
        repo_root, "rewards", "score", "--input", str(completions), "--max-input-mb", "1"
    )
    assert raised.returncode == 0, raised.stderr


def test_every_table_reader_decodes_utf16_exports_alike(tmp_path):
    path = tmp_path / "utf16.csv"
    path.write_bytes("id,completion\n1,答案：C\n".encode("utf-16"))
    assert read_text(path).startswith("id,completion")


# ---------------------------------------------------------------- output over input
def test_rewards_score_refuses_to_write_over_its_input_through_a_symlink(repo_root, completions):
    link = completions.parent / "link.csv"
    link.symlink_to(completions)
    before = completions.read_bytes()
    run = run_cli(repo_root, "rewards", "score", "--input", str(completions), "--output", str(link))
    assert_one_line_refusal(run, "overwrite")
    assert completions.read_bytes() == before


def test_refuse_overwrite_sees_through_dot_segments(tmp_path):
    target = tmp_path / "a.csv"
    target.write_text("x", encoding="utf-8")
    with pytest.raises(DataError, match="overwrite"):
        refuse_overwrite(tmp_path / "sub" / ".." / "a.csv", [target])
    refuse_overwrite(tmp_path / "b.csv", [target])  # a different file is fine


def test_rewards_score_output_that_is_a_directory_is_named_in_the_refusal(
    repo_root, completions, tmp_path
):
    run = run_cli(
        repo_root, "rewards", "score", "--input", str(completions), "--output", str(tmp_path)
    )
    assert_one_line_refusal(run, f"--output {tmp_path}", "is a directory")


def test_evals_score_refuses_a_report_folder_that_holds_its_input(repo_root, completions):
    run = run_cli(
        repo_root, "evals", "score", "--input", str(completions), "--out", str(completions.parent)
    )
    assert_one_line_refusal(run, "overwrite")
    assert completions.read_text(encoding="utf-8") == COMPLETIONS


# ---------------------------------------------------------------- whole report folders
def test_a_report_killed_half_way_leaves_the_older_report_whole(tmp_path):
    out = tmp_path / "report"
    out.mkdir()
    (out / "report.md").write_text("old report", encoding="utf-8")
    (out / "summary.json").write_text("{}", encoding="utf-8")
    with pytest.raises(KeyboardInterrupt), staged_folder(out) as stage:
        (stage / "summary.json").write_text('{"new": true}', encoding="utf-8")
        raise KeyboardInterrupt
    assert (out / "report.md").read_text(encoding="utf-8") == "old report"
    assert (out / "summary.json").read_text(encoding="utf-8") == "{}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]  # no staging left over


def test_a_finished_report_replaces_the_older_one_as_a_whole(repo_root, completions, tmp_path):
    out = tmp_path / "report"
    out.mkdir()
    (out / "summary.json").write_text("{}", encoding="utf-8")
    (out / "stale.png").write_bytes(b"old plot")
    run = run_cli(repo_root, "evals", "score", "--input", str(completions), "--out", str(out))
    assert run.returncode == 0, run.stderr
    assert not (out / "stale.png").exists()
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))


def test_a_folder_of_other_files_is_never_replaced_by_a_report(repo_root, completions, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me", encoding="utf-8")
    run = run_cli(repo_root, "evals", "score", "--input", str(completions), "--out", str(out))
    assert_one_line_refusal(run, "other files")
    assert (out / "notes.txt").read_text(encoding="utf-8") == "keep me"


# ---------------------------------------------------------------- one line, not a traceback
def test_training_merge_into_a_file_is_refused(repo_root, demo_adapter, tmp_path):
    target = tmp_path / "a-file"
    target.write_text("x", encoding="utf-8")
    run = run_cli(
        repo_root, "training", "merge", "--adapter", str(demo_adapter), "--out", str(target)
    )
    assert_one_line_refusal(run, "not a folder")
    under = run_cli(
        repo_root, "training", "merge", "--adapter", str(demo_adapter), "--out", str(target / "m")
    )
    assert_one_line_refusal(under, "is not a folder")


def test_training_push_refuses_a_path_as_repo_id(repo_root, demo_adapter, tmp_path):
    run = run_cli(
        repo_root, "training", "push", str(demo_adapter), "--repo-id", "../../x", "--dry-run",
        "--out", str(tmp_path / "preview"),
    )  # fmt: skip
    assert_one_line_refusal(run, "--repo-id")
    assert not (tmp_path / "preview").exists()


def test_training_curves_says_a_malformed_state_is_malformed(repo_root, tmp_path):
    (tmp_path / "trainer_state.json").write_text('{"global_step": 3, "log_hist', encoding="utf-8")
    run = run_cli(repo_root, "training", "curves", str(tmp_path))
    assert_one_line_refusal(run, "malformed")


def test_check_data_into_a_closed_pipe_ends_without_a_traceback(repo_root, sample_train):
    proc = subprocess.Popen(
        [sys.executable, "-m", "training", "check-data", str(sample_train), "--json"],
        cwd=repo_root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.close()  # the reader is gone before the first write, as with `| head -0`
    stderr = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert "Traceback" not in stderr
    assert "BrokenPipeError" not in stderr


# ---------------------------------------------------------------- terminals and spreadsheets
def test_evals_sample_shows_control_characters_as_escapes(repo_root, tmp_path):
    path = tmp_path / "c.jsonl"
    row = {"id": "1", "completion": "答案：B\n理由：\x1b]0;owned\x07\x1b[2J依據憲法規定。"}
    path.write_text(json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
    run = run_cli(repo_root, "evals", "sample", str(path), "-n", "1")
    assert run.returncode == 0, run.stderr
    assert "\x1b" not in run.stdout and "\x07" not in run.stdout
    assert "\\x1b]0;owned" in run.stdout


def test_scored_csv_guards_a_formula_id_for_spreadsheets(repo_root, tmp_path):
    path = tmp_path / "c.csv"
    path.write_text('id,completion\n"=HYPERLINK(""http://x"")",答案：B\n', encoding="utf-8")
    out = tmp_path / "scored.csv"
    run = run_cli(repo_root, "rewards", "score", "--input", str(path), "--output", str(out))
    assert run.returncode == 0, run.stderr
    first_cell = out.read_text(encoding="utf-8").splitlines()[1].split(",")[0]
    assert first_cell.startswith("\"'=HYPERLINK") or first_cell.startswith("'=HYPERLINK")


def test_training_grpo_refuses_a_negative_step_count_before_loading_anything(repo_root, tmp_path):
    run = run_cli(
        repo_root, "training", "grpo", "--config", "assets/configs/demo-cpu.yaml",
        "--max_steps", "-3", "--output_dir", str(tmp_path / "run"),
    )  # fmt: skip
    assert_one_line_refusal(run, "max_steps")
    assert not (tmp_path / "run").exists()


def test_training_grpo_refuses_an_output_dir_that_is_a_file(repo_root, tmp_path):
    target = tmp_path / "a-file"
    target.write_text("x", encoding="utf-8")
    run = run_cli(
        repo_root, "training", "grpo", "--config", "assets/configs/demo-cpu.yaml",
        "--max_steps", "1", "--output_dir", str(target),
    )  # fmt: skip
    assert_one_line_refusal(run, "not a folder")
    assert target.read_text(encoding="utf-8") == "x"


# ---------------------------------------------------------------- every CLI, hostile files
def _hostile_files(root: Path) -> dict[str, Path]:
    root.mkdir()
    fifo = root / "fifo.csv"
    os.mkfifo(fifo)
    sparse = root / "huge.csv"
    with sparse.open("wb") as fh:  # 600 MiB on paper, no disk used
        fh.truncate(600 * 2**20)
    binary = root / "binary.csv"
    binary.write_bytes(bytes(range(256)) * 64)
    undecodable = root / "gb18030.csv"  # refused without --encoding
    undecodable.write_bytes("id,completion\n1,答案：甲\n".encode("gb18030"))
    wrong_columns = root / "wrong.parquet"
    pq.write_table(pa.table({"x": [1, 2], "y": ["甲", "乙"]}), wrong_columns)
    return {
        "device": Path("/dev/zero"),
        "fifo": fifo,
        "folder": root,
        "huge": sparse,
        "binary": binary,
        "missing": root / "missing.csv",
        "undecodable": undecodable,
        "wrong-columns": wrong_columns,
        "hub-offline": Path("hf:ceval/ceval-exam:law:val"),  # HF_HUB_OFFLINE: no network
    }


_COMMANDS = {
    "rewards score": ["rewards", "score", "--input", "{f}"],
    "evals score": ["evals", "score", "--input", "{f}", "--out", "{out}"],
    "evals score --gold": ["evals", "score", "--input", "{ok}", "--gold", "{f}", "--out", "{out}"],
    "evals compare": ["evals", "compare", "--a", "{f}", "--b", "{ok}", "--out", "{out}"],
    "evals sample": ["evals", "sample", "{f}"],
    "evals neutrality": ["evals", "neutrality", "--input", "{f}"],
    "training check-data": ["training", "check-data", "{f}"],
    "inference merge": ["inference", "merge", "--input", "{f}", "--parts", "{out}",
                        "--output-dir", "{out}-merged"],
    "inference generate": ["inference", "generate", "--model", "assets/models/demo-base",
                           "--input", "{f}", "--output-dir", "{out}"],
}  # fmt: skip


def _capped_memory() -> None:
    import resource

    cap = 4 * 2**30  # 4 GiB of address space: reading /dev/zero whole would blow through it
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


@pytest.mark.parametrize("command", sorted(_COMMANDS))
def test_every_cli_refuses_every_hostile_file_in_one_line_under_a_memory_cap(
    repo_root, tmp_path, completions, command
):
    for kind, hostile in _hostile_files(tmp_path / "hostile").items():
        argv = [
            part.format(f=hostile, ok=completions, out=tmp_path / "out")
            for part in _COMMANDS[command]
        ]
        run = subprocess.run(
            [sys.executable, "-m", *argv],
            cwd=repo_root,
            capture_output=True,
            text=True,
            timeout=120,
            preexec_fn=_capped_memory,
            env={**os.environ, "HF_HUB_OFFLINE": "1"},
        )
        assert run.returncode == 2, f"{command} on {kind}: exit {run.returncode}\n{run.stderr}"
        lines = [line for line in run.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, f"{command} on {kind}:\n{run.stderr}"


# ---------------------------------------------------------------- hostile reward models and ids
def _hostile_reward_models(root: Path, demo_grpo: Path, demo_classifier: Path) -> dict:
    """Case -> (a reward_model folder, what its refusal must name)."""
    cut = root / "cut-short"
    shutil.copytree(demo_classifier, cut)
    weights = cut / "model.safetensors"
    with weights.open("r+b") as fh:
        fh.truncate(weights.stat().st_size // 2)
    return {"causal LM": (demo_grpo, "training rm"), "cut short": (cut, "model.safetensors")}


_RM_COMMANDS = {
    "rewards score": ["rewards", "score", "--input", "{ok}", "--preset", "{preset}"],
    "evals rewards": ["evals", "rewards", "--input", "{labelled}", "--label", "good",
                      "--preset", "{preset}", "--output-dir", "{out}"],
    "evals probe": ["evals", "probe", "--preset", "{preset}", "-n", "1"],
    "training grpo": ["training", "grpo", "--config", "assets/configs/demo-cpu.yaml",
                      "--reward_preset", "{preset}", "--output_dir", "{out}", "--max_steps", "1"],
}  # fmt: skip


@pytest.mark.parametrize("command", sorted(_RM_COMMANDS))
def test_every_reward_model_command_refuses_a_model_that_is_not_one_in_one_line(
    repo_root, tmp_path, completions, demo_grpo, demo_classifier, command
):
    labelled = tmp_path / "labelled.csv"
    labelled.write_text("id,completion,good\n1,答案：A,1\n2,A,0\n", encoding="utf-8")
    cases = _hostile_reward_models(tmp_path / "models", demo_grpo, demo_classifier)
    for case, (model, needle) in cases.items():
        preset = tmp_path / "rm.yaml"
        preset.write_text(
            f"name: rm\ncomponents: {{rm: 1.0}}\nsettings:\n  rm: {{reward_model: {model}}}\n",
            encoding="utf-8",
        )
        argv = [
            part.format(ok=completions, labelled=labelled, preset=preset, out=tmp_path / "out")
            for part in _RM_COMMANDS[command]
        ]
        run = run_cli(repo_root, *argv)
        assert run.returncode == 2, f"{command} on {case}: exit {run.returncode}\n{run.stderr}"
        assert_one_line_refusal(run, needle)
        assert "LOAD REPORT" not in run.stdout + run.stderr


@pytest.mark.parametrize("flag", ["--input", "--pairs"])
def test_evals_rewards_refuses_rows_that_repeat_an_id(repo_root, tmp_path, flag):
    rows = tmp_path / "rows.jsonl"
    row = {"id": "same", "completion": "答案：A", "good": 1, "chosen": "答案：A", "rejected": "B"}
    lines = [json.dumps(row | {"good": i % 2}, ensure_ascii=False) for i in range(40)]
    rows.write_text("\n".join(lines) + "\n", encoding="utf-8")
    label = ["--label", "good"] if flag == "--input" else []
    run = run_cli(
        repo_root, "evals", "rewards", flag, str(rows), *label, "--out", str(tmp_path / "o")
    )
    assert_one_line_refusal(run, "duplicate id", "'same'")
    assert not (tmp_path / "o").exists()


# ---------------------------------------------------------------- presets whose components fail
def _hostile_presets(root: Path) -> dict[str, tuple[str, list[str]]]:
    """Case -> (a preset's YAML, what its refusal must name); the plugin module sits in root."""
    import socket

    with socket.socket() as probe:  # a port where nothing listens: bound, then closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    root.mkdir()
    plugin = "def raiser(completion, sample=None):\n    raise ValueError('user code broke')\n"
    (root / "raising_plugin.py").write_text(plugin, encoding="utf-8")
    judge = f"{{base_url: 'http://127.0.0.1:{port}/v1', model: m, rubric: neutrality}}"
    return {
        "judge on a dead port": (
            f"components: {{judge_dead: 1.0}}\nsettings: {{judge_dead: {{judge: {judge}}}}}\n",
            ["'judge_dead'", f"http://127.0.0.1:{port}/v1"],
        ),
        "plugin that raises": (
            "components: {format: 1.0, 'raising_plugin:raiser': 1.0}\n",
            ["'raiser'", "ValueError: user code broke"],
        ),
    }


_PRESET_COMMANDS = {
    **_RM_COMMANDS,
    "training grpo": ["training", "grpo", "--model_name_or_path", "assets/models/demo-base",
                      "--dataset_path", "assets/data/sample_train.tsv", "--preset", "{preset}",
                      "--output_dir", "{out}"],
}  # fmt: skip


@pytest.mark.parametrize("command", sorted(_PRESET_COMMANDS))
def test_every_scoring_command_refuses_a_failing_component_in_one_line(
    repo_root, tmp_path, completions, command
):
    labelled = tmp_path / "labelled.csv"
    labelled.write_text("id,completion,good\n1,答案：A,1\n2,A,0\n", encoding="utf-8")
    plugins = tmp_path / "plugins"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugins), str(repo_root)])}
    for case, (text, needles) in _hostile_presets(plugins).items():
        if command == "training grpo" and case == "plugin that raises":
            continue  # it raises mid-run, after the run log has started (see test_training)
        preset = tmp_path / "hostile.yaml"
        preset.write_text(text, encoding="utf-8")
        argv = [
            part.format(ok=completions, labelled=labelled, preset=preset, out=tmp_path / "out")
            for part in _PRESET_COMMANDS[command]
        ]
        started = time.monotonic()
        run = subprocess.run(
            [sys.executable, "-m", *argv], cwd=repo_root, env=env, capture_output=True,
            text=True, timeout=120,
        )  # fmt: skip
        assert run.returncode == 2, f"{command} on {case}: exit {run.returncode}\n{run.stderr}"
        assert_one_line_refusal(run, *needles)
        assert time.monotonic() - started < 60  # the dead judge: checked once, before any work
        assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- inference: resume and flags
@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, repo_root, demo_base, sample_test):
    """One real (tiny) generate run on a private copy of demo-base: its folder and argv."""
    root = tmp_path_factory.mktemp("resume")
    model = root / "model"
    shutil.copytree(demo_base, model)
    questions = root / "q.tsv"
    questions.write_text(
        "".join(sample_test.read_text(encoding="utf-8").splitlines(keepends=True)[:3]),
        encoding="utf-8",
    )
    argv = ["inference", "generate", "--model", str(model), "--input", str(questions),
            "--backend", "transformers", "--max-new-tokens", "4", "--output-dir", str(root / "out")]  # fmt: skip
    run = run_cli(repo_root, *argv, timeout=300)
    assert run.returncode == 0, run.stderr
    return root, argv


def test_generate_refuses_results_that_have_no_manifest(repo_root, finished_run, tmp_path):
    root, argv = finished_run
    orphan = tmp_path / "orphan"
    orphan.mkdir()
    shutil.copy(root / "out" / "detailed_results.csv", orphan)
    before = (orphan / "detailed_results.csv").read_bytes()
    run = run_cli(repo_root, *argv[:-1], str(orphan))
    assert_one_line_refusal(run, "no run.json")
    assert (orphan / "detailed_results.csv").read_bytes() == before
    assert not (orphan / "run.json").exists()


def test_generate_refuses_to_resume_with_other_engine_args(repo_root, finished_run):
    _, argv = finished_run
    run = run_cli(repo_root, *argv, "--engine-arg", "max_model_len=512")
    assert_one_line_refusal(run, "engine_args")


def test_generate_refuses_to_resume_after_the_weights_changed(repo_root, finished_run):
    root, argv = finished_run
    weights = root / "model" / "model.safetensors"
    stat = weights.stat()
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # replaced in place
    try:
        run = run_cli(repo_root, *argv)
        assert_one_line_refusal(run, "weights_fingerprint")
    finally:
        os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    again = run_cli(repo_root, *argv)  # the same weights resume (nothing left to do)
    assert again.returncode == 0, again.stderr


@pytest.mark.parametrize("where", ["under-a-file", "symlink-loop"])
def test_generate_output_dir_that_cannot_be_a_folder_is_one_line(
    repo_root, demo_base, sample_test, tmp_path, where
):
    if where == "under-a-file":
        (tmp_path / "f").write_text("x", encoding="utf-8")
        out = tmp_path / "f" / "run"
    else:
        out = tmp_path / "loop"
        out.symlink_to(out)
    run = run_cli(repo_root, "inference", "generate", "--model", str(demo_base),
                  "--input", str(sample_test), "--output-dir", str(out))  # fmt: skip
    assert_one_line_refusal(run, "--output-dir")


def test_generate_model_folder_without_config_is_one_line(repo_root, sample_test, tmp_path):
    run = run_cli(repo_root, "inference", "generate", "--model", str(tmp_path),
                  "--input", str(sample_test), "--output-dir", str(tmp_path / "o"))  # fmt: skip
    assert_one_line_refusal(run, "config.json")


@pytest.mark.parametrize(
    ("args", "needle"),
    [(["--model", "/nonexistent"], "no such folder"), (["--port", "99999"], "TCP port")],
)
def test_serve_bad_model_or_port_is_one_line(repo_root, demo_base, args, needle):
    argv = ["--model", str(demo_base), *args] if args[0] == "--port" else args
    run = run_cli(repo_root, "inference", "serve", *argv, "--print-command")
    assert_one_line_refusal(run, needle)


def test_serve_on_all_interfaces_without_a_key_warns_once(repo_root, demo_base):
    bare = run_cli(
        repo_root,
        "inference",
        "serve",
        "--model",
        str(demo_base),
        "--host",
        "0.0.0.0",
        "--print-command",
    )
    assert bare.returncode == 0
    assert bare.stderr.count("without --api-key") == 1
    keyed = run_cli(repo_root, "inference", "serve", "--model", str(demo_base), "--host", "0.0.0.0",
                    "--api-key", "k", "--print-command")  # fmt: skip
    assert "--api-key" not in keyed.stderr


def test_training_merge_refuses_to_write_over_its_adapter(repo_root, demo_adapter, tmp_path):
    adapter = tmp_path / "adapter"
    shutil.copytree(demo_adapter, adapter)
    before = sorted(p.name for p in adapter.iterdir())
    run = run_cli(repo_root, "training", "merge", "--adapter", str(adapter), "--out", str(adapter),
                  "--overwrite")  # fmt: skip
    assert_one_line_refusal(run, "--adapter")
    assert sorted(p.name for p in adapter.iterdir()) == before


def test_training_curves_refuses_to_write_over_the_state_it_reads(repo_root, tmp_path):
    state = tmp_path / "trainer_state.json"
    state.write_text(json.dumps({"global_step": 1, "log_history": [{"step": 1, "loss": 1.0}]}))
    before = state.read_bytes()
    run = run_cli(repo_root, "training", "curves", str(tmp_path), "--out", str(state))
    assert_one_line_refusal(run, "overwrite")
    assert state.read_bytes() == before


def test_generate_refuses_an_input_that_it_would_overwrite(
    repo_root, demo_base, sample_test, tmp_path
):
    target = tmp_path / "submission.csv"
    shutil.copy(sample_test, target)
    run = run_cli(repo_root, "inference", "generate", "--model", str(demo_base),
                  "--input", str(target), "--output-dir", str(tmp_path))  # fmt: skip
    assert_one_line_refusal(run, "overwrite")
    assert target.read_bytes() == sample_test.read_bytes()
