"""``python -m rewards`` and ``rewards.io``: file formats, scored output, summary, errors."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

import mcq
from rewards.cli import main
from rewards.io import load_completions, score_rows, write_csv

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_TRAIN = ROOT / "assets" / "data" / "sample_train.tsv"


def _jsonl(path: Path, records: list[object]) -> Path:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", "utf-8")
    return path


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


# ---------------------------------------------------------------- load_completions
def test_jsonl_rows_keep_id_options_and_gold(tmp_path):
    path = _jsonl(
        tmp_path / "c.jsonl",
        [
            {"id": "q1", "completion": "答案：A", "options": {"A": "甲"}, "correct_answer": "A"},
            {"response": "答案：B", "question": "問題？"},
        ],
    )
    rows = load_completions(path)
    assert rows[0] == {
        "id": "q1",
        "completion": "答案：A",
        "options": {"A": "甲"},
        "correct_answer": "A",
    }
    assert rows[1] == {"id": "2", "completion": "答案：B", "question": "問題？"}


def test_detailed_results_answer_column_is_not_taken_as_gold(tmp_path):
    path = tmp_path / "detailed_results.csv"
    path.write_text(
        'id,answer,answer_source,response,format,total\nq1,B,extracted,"答案：B\n理由：……",1,1\n',
        encoding="utf-8",
    )
    (row,) = load_completions(path)
    assert row["completion"] == "答案：B\n理由：……"
    assert row["answer"] == "B"
    assert "correct_answer" not in row


def test_tsv_with_completion_and_option_columns(tmp_path):
    path = tmp_path / "c.tsv"
    path.write_text(
        "qid\tcompletion\tA\tB\tC\tD\tgold\nx7\t答案：C\t甲\t乙\t丙\t丁\tC\n", encoding="utf-8"
    )
    (row,) = load_completions(path)
    assert (row["id"], row["correct_answer"], row["options"]["C"]) == ("x7", "C", "丙")


def test_training_tsv_rows_become_answer_and_reasoning_completions():
    rows = load_completions(SAMPLE_TRAIN)
    first = mcq.load_train(SAMPLE_TRAIN)[0]
    assert len(rows) == len(mcq.load_train(SAMPLE_TRAIN))
    assert rows[0]["completion"] == f"答案：{first.correct_answer}\n理由：{first.reasoning}"
    assert rows[0]["correct_answer"] == first.correct_answer


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.jsonl", b'{"completion": "ok"}\n{not json\n', "line 2: not valid JSON"),
        ("list.jsonl", b'{"completion": "ok"}\n[1, 2]\n', "line 2: expected a JSON object"),
        ("nocol.jsonl", b'{"text": "ok"}\n', "no 'completion'"),
        ("nocol.csv", b"id,text\n1,x\n", "no 'completion' or 'response' column"),
        ("ragged.csv", b"id,completion\n1,x,y\n", "more cells than the header"),
        ("bin.csv", b"\x00\x01\x02PK\x03\x04" * 10, "binary"),
        ("latin1.csv", "id,completion\n1,caf\xe9\n".encode("latin-1"), "not UTF-8"),
        ("empty.csv", b"", "empty file"),
    ],
)
def test_malformed_file_is_one_line_data_error(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(mcq.DataError, match=message) as err:
        load_completions(path)
    assert "\n" not in str(err.value)


# ---------------------------------------------------------------- score_rows / write_csv
def test_score_rows_columns_and_not_applicable_cells(tmp_path):
    rows = [
        {"id": "a", "completion": "答案：A\n理由：……", "correct_answer": "A"},
        {"id": "b", "completion": float("nan")},
    ]
    scored = score_rows(rows, "default")
    assert list(scored[0]) == [
        "id",
        "answer",
        "correctness",
        "format",
        "reasoning",
        "neutrality",
        "total",
    ]
    assert scored[0]["correctness"] == 1.0
    assert scored[1]["correctness"] is None and scored[1]["answer"] is None
    out = tmp_path / "scored.csv"
    write_csv(scored, out)
    written = _read_csv(out)
    assert written[1]["correctness"] == "" and written[1]["answer"] == ""
    assert float(written[0]["total"]) == pytest.approx(scored[0]["total"], abs=1e-4)


# ---------------------------------------------------------------- CLI
def test_cli_score_writes_rows_and_prints_summary(tmp_path, capsys):
    src = _jsonl(
        tmp_path / "c.jsonl",
        [
            {"id": "q1", "completion": "答案：A\n理由：首先……", "correct_answer": "A"},
            {"id": "q2", "completion": "答案：C", "correct_answer": "B"},
            {"id": "q3", "completion": "我不知道"},
        ],
    )
    out = tmp_path / "out.csv"
    assert main(["score", "--input", str(src), "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    for word in ("correctness", "format", "reasoning", "neutrality", "total", "(none)", "33.3%"):
        assert word in printed
    rows = _read_csv(out)
    assert [r["id"] for r in rows] == ["q1", "q2", "q3"]
    assert [r["answer"] for r in rows] == ["A", "C", ""]
    assert [r["correctness"] for r in rows] == ["1", "0", ""]


def test_cli_scores_the_training_tsv_like_make_demo(capsys):
    assert main(["score", "--input", str(SAMPLE_TRAIN), "--preset", "default"]) == 0
    printed = capsys.readouterr().out
    correctness_line = next(line for line in printed.splitlines() if line.startswith("correctness"))
    assert correctness_line.split()[1] == "1.000"


def test_cli_list_shows_components_and_presets(capsys):
    assert main(["list"]) == 0
    printed = capsys.readouterr().out
    for name in ("format", "reasoning", "neutrality", "correctness", "seed", "default"):
        assert name in printed


def test_cli_explain_shows_terms_and_correctness(capsys):
    text = "答案：B\\n理由：這並非唯一的看法，各方可能有不同觀點。"
    assert main(["explain", text, "--gold", "B"]) == 0
    printed = capsys.readouterr().out
    assert "term '唯一' [" in printed and "negated" in printed
    assert "correctness" in printed and "answer B (marker)" in printed


def test_cli_explain_json_is_parseable(capsys):
    assert main(["explain", "答案：A", "--json", "--preset", "seed"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["components"] == {"seed": 0.8} and data["answer"] == "A"


@pytest.mark.parametrize(
    "argv",
    [
        ["score", "--input", "does/not/exist.jsonl"],
        ["score", "--input", str(SAMPLE_TRAIN), "--preset", "nope"],
        ["explain", "答案：A", "--gold", "E"],
    ],
)
def test_cli_bad_input_exits_2_with_one_line(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"rewards {argv[0]}: error: ") and err.count("\n") == 1


def test_cli_failed_run_leaves_existing_output_untouched(tmp_path):
    out = tmp_path / "out.csv"
    out.write_text("precious\n", encoding="utf-8")
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{oops\n", encoding="utf-8")
    assert main(["score", "--input", str(bad), "--output", str(out)]) == 2
    assert out.read_text(encoding="utf-8") == "precious\n"


def test_module_entry_point_help_and_exit_code(tmp_path):
    help_run = subprocess.run(
        [sys.executable, "-m", "rewards", "--help"], cwd=ROOT, capture_output=True, text=True
    )
    assert help_run.returncode == 0 and "example" in help_run.stdout
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\x00\xff" * 100)
    run = subprocess.run(
        [sys.executable, "-m", "rewards", "score", "--input", str(bad)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr


def test_json_array_of_completions_is_read(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps([{"id": 1, "completion": "答案：D"}]), encoding="utf-8")
    assert load_completions(path) == [{"id": "1", "completion": "答案：D"}]


def test_a_command_module_runs_stand_alone_with_make_parser_and_main(capsys):
    from rewards.commands import explain

    args = explain.make_parser().parse_args(["答案：Ｂ", "--gold", "ｂ", "--json"])
    assert args.func is explain.main and explain.main(args) == 0
    assert json.loads(capsys.readouterr().out)["components"]["correctness"] == 1.0
