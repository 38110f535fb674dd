"""python -m evals probe: degenerate answers scored against a good one, per preset."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

import rewards
from evals import probe
from evals.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_default_preset_keeps_every_probe_outside_the_margin_under_strict(capsys):
    assert main(["probe", "--preset", "default", "--strict"]) == 0
    assert "no probe comes within 0.1 of the good answer" in capsys.readouterr().out


def test_seed_preset_fails_strict_naming_the_probes_within_the_margin(capsys):
    assert main(["probe", "--preset", "seed", "--strict"]) == 1
    out = capsys.readouterr().out
    assert "within 0.1 of the good answer: hedge-spam" in out


def test_without_strict_a_probe_within_the_margin_still_exits_0():
    assert main(["probe", "--preset", "seed", "-n", "1"]) == 0


def test_json_output_lists_every_probe_and_those_within_the_margin(capsys):
    assert main(["probe", "--preset", "seed", "-n", "2", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["questions"] == 2
    assert [p["probe"] for p in payload["probes"]] == list(probe.PROBES)
    assert "english-only" in payload["within_margin"]
    assert "bare-letter" not in payload["within_margin"]


def test_good_reference_answer_is_correct_and_scores_high_under_default():
    sample = probe.load_samples(n=1)[0]
    b = rewards.score(probe.good_answer(sample), sample, "default")
    assert b.components["correctness"] == 1.0
    assert b.total > 0.9


def test_questions_file_with_its_own_answers_needs_no_gold(tmp_path, capsys):
    test_file = tmp_path / "mine.tsv"
    test_file.write_text(
        "id\tquestion\toption_A\toption_B\toption_C\toption_D\tcorrect_answer\n"
        "m1\t立法委員的任期為幾年？\t三年\t四年\t五年\t六年\tB\n",
        encoding="utf-8",
    )
    assert main(["probe", "--questions", str(test_file), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["questions"] == 1


@pytest.mark.parametrize(
    "args, message",
    [
        (["--preset", "no-such-preset"], "unknown reward preset"),
        (["--margin", "1.5"], "--margin must be between 0 and 1"),
        (["--margin", "-0.1"], "--margin must be between 0 and 1"),
        (["--questions", "no/such/file.tsv"], "no such file"),
        (["--gold", "no/such/gold.csv"], "no such file"),
        (["-n", "0"], "-n must be at least 1"),
    ],
)
def test_bad_input_is_one_line_exit_2(args, message, capsys):
    assert main(["probe", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_questions_without_any_gold_answer_is_one_line_exit_2(capsys):
    questions = ROOT / "assets" / "data" / "sample_test.tsv"  # no correct_answer column
    assert main(["probe", "--questions", str(questions)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no question" in err[0]


def test_command_line_runs_as_a_module():
    proc = subprocess.run(
        [sys.executable, "-m", "evals", "probe", "-n", "1", "--strict"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "over-long" in proc.stdout
