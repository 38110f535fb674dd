"""python -m evals rewards: reward components measured against labelled texts and preference pairs.

Inputs are small files written here whose right answers are known by construction.
"""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

import rewards
from evals.cli import main
from evals.stats import wilson_interval

ROOT = Path(__file__).resolve().parents[1]
COMPONENTS = [*rewards.load_preset("default").weights, "total"]

GOOD = "答案：{}\n理由：首先，依憲法增修條文的規定，總統任期為四年，連選得連任一次；其次，其他選項多屬舊制，一般而言並不適用。"
OPTIONS = {"A": "任期四年", "B": "任期六年", "C": "任期五年", "D": "任期兩年"}


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    return path


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def run(tmp_path: Path, *args: str) -> tuple[dict, dict]:
    out = tmp_path / "report"
    assert main(["rewards", *args, "--output-dir", str(out), "--resamples", "200"]) == 0
    summary = json.loads((out / "summary.json").read_text("utf-8"))
    details = json.loads((out / "details.json").read_text("utf-8"))
    return summary, details


@pytest.fixture(scope="module")
def format_pairs(tmp_path_factory):
    """Chosen: the house shape with reasoning; rejected: the bare letter. Same letter, right."""
    return write_jsonl(
        tmp_path_factory.mktemp("pairs") / "pairs.jsonl",
        [
            {
                "id": f"p{i}",
                "question": "總統任期為何？",
                "options": OPTIONS,
                "correct_answer": "A",
                "chosen": GOOD.format("A"),
                "rejected": "A",
                "subset": "degenerate" if i % 2 else "format",
            }
            for i in range(6)
        ],
    )


@pytest.fixture(scope="module")
def pairs_report(tmp_path_factory, format_pairs):
    """(summary, details, folder) of one run on ``format_pairs``, shared by the tests reading it."""
    folder = tmp_path_factory.mktemp("pairs-report")
    return (*run(folder, "--pairs", str(format_pairs)), folder / "report")


@pytest.fixture(scope="module")
def labelled_report(tmp_path_factory):
    """good=1 rows are well formed, good=0 rows are bare letters: format separates them fully."""
    folder = tmp_path_factory.mktemp("labelled")
    rows = [[f"q{i}", GOOD.format("A"), "A", 1] for i in range(5)]
    rows += [[f"r{i}", "A", "A", 0] for i in range(5)]
    path = write_csv(folder / "labelled.csv", ["id", "completion", "correct_answer", "good"], rows)
    return run(folder, "--input", str(path), "--label", "good")


def test_pairs_summary_has_exactly_one_entry_per_component_and_total(pairs_report):
    summary, _, _ = pairs_report
    assert list(summary) == ["components", "provenance"]
    assert list(summary["components"]) == COMPONENTS
    for entry in summary["components"].values():
        assert set(entry) == {"accuracy", "ties", "n", "ci", "subsets"}  # the file has subsets
        assert isinstance(entry["n"], int) and len(entry["ci"]) == 2


def test_labelled_summary_reports_auc_per_component(labelled_report):
    summary, _ = labelled_report
    assert list(summary["components"]) == COMPONENTS
    assert all(set(e) == {"auc", "ties", "n", "ci"} for e in summary["components"].values())


def test_chosen_better_on_format_gives_format_accuracy_one(pairs_report):
    summary, _, _ = pairs_report
    fmt = summary["components"]["format"]
    assert (fmt["accuracy"], fmt["ties"], fmt["n"]) == (1.0, 0.0, 6)
    assert fmt["ci"] == list(wilson_interval(6, 6))  # the interval rm_eval.json gives 6 of 6


def test_a_tie_counts_as_wrong_and_is_reported_as_a_tie(pairs_report):
    # Both sides give the gold letter: correctness ties on every pair.
    summary, details, _ = pairs_report
    corr = summary["components"]["correctness"]
    assert (corr["accuracy"], corr["ties"]) == (0.0, 1.0)
    assert details["components"]["correctness"]["accuracy_without_ties"] is None


def test_pairs_with_one_tie_in_four_score_three_quarters(tmp_path):
    pairs = [{"chosen": GOOD.format("A"), "rejected": "A"} for _ in range(3)]
    pairs.append({"chosen": "C", "rejected": "A"})  # two bare letters: format cannot tell
    summary, details = run(tmp_path, "--pairs", str(write_jsonl(tmp_path / "p.jsonl", pairs)))
    fmt = summary["components"]["format"]
    assert (fmt["accuracy"], fmt["ties"]) == (0.75, 0.25)
    assert details["components"]["format"]["accuracy_without_ties"] == 1.0


def test_each_subset_is_measured_on_its_own_pairs(pairs_report):
    _, details, _ = pairs_report
    subsets = details["components"]["format"]["subsets"]
    assert sorted(subsets) == ["degenerate", "format"]
    assert subsets["format"]["n"] == subsets["degenerate"]["n"] == 3


def test_csv_pairs_with_option_columns_let_correctness_apply(tmp_path):
    path = write_csv(
        tmp_path / "pairs.csv",
        [
            "chosen",
            "rejected",
            "question",
            "option_A",
            "option_B",
            "option_C",
            "option_D",
            "correct_answer",
        ],
        [[GOOD.format("A"), GOOD.format("B"), "總統任期為何？", *OPTIONS.values(), "A"]] * 3,
    )
    summary, _ = run(tmp_path, "--pairs", str(path))
    assert summary["components"]["correctness"]["accuracy"] == 1.0


def test_conversational_pairs_are_judged_on_the_last_message(tmp_path):
    def chat(answer):
        return [
            {"role": "user", "content": "總統任期為何？"},
            {"role": "assistant", "content": answer},
        ]

    pairs = [{"chosen": chat(GOOD.format("A")), "rejected": chat("A")}] * 2
    summary, _ = run(tmp_path, "--pairs", str(write_jsonl(tmp_path / "chat.jsonl", pairs)))
    assert summary["components"]["format"]["accuracy"] == 1.0


def test_perfect_separation_on_format_gives_auc_one(labelled_report):
    summary, _ = labelled_report
    assert summary["components"]["format"]["auc"] == 1.0
    assert summary["components"]["format"]["ties"] == 0.0


def test_a_component_that_scores_every_row_the_same_has_auc_one_half_and_all_ties(
    labelled_report,
):
    summary, _ = labelled_report
    corr = summary["components"]["correctness"]  # every row answers the gold letter
    assert (corr["auc"], corr["ties"]) == (0.5, 1.0)


def test_rows_a_component_does_not_apply_to_are_left_out_and_counted(tmp_path):
    rows = [[f"q{i}", GOOD.format("A"), "A" if i < 4 else "", i % 2] for i in range(8)]
    path = write_csv(tmp_path / "l.csv", ["id", "completion", "correct_answer", "good"], rows)
    summary, details = run(tmp_path, "--input", str(path), "--label", "good")
    assert summary["components"]["correctness"]["n"] == 4
    assert details["components"]["correctness"]["excluded"] == 4
    assert summary["components"]["format"]["n"] == 8
    assert any("correctness" in note and "4 row(s)" in note for note in details["notes"])


def test_report_files_are_written(pairs_report):
    folder = pairs_report[2]
    names = {p.name for p in folder.iterdir()}
    expected = {"report.md", "report.html", "summary.json", "details.json", "scores.csv"}
    assert expected | {"measure.png", "distributions.png"} <= names
    assert "Spearman" in (folder / "report.md").read_text("utf-8")


@pytest.mark.parametrize(
    ("header", "rows", "flags", "message"),
    [
        (["completion", "good"], [["A", 1]], ["--label", "human"], "no label column 'human'"),
        (["completion", "good"], [["A", 1], ["B", 2]], ["--label", "good"], "expected 1/0"),
        (["completion", "good"], [["A", 1], ["B", 1]], ["--label", "good"], "both classes"),
        (["completion", "good"], [["A", 1]], [], "--input needs --label"),
    ],
    ids=["missing-column", "not-binary", "one-class", "no-label-flag"],
)
def test_bad_labelled_input_is_one_line_and_exit_2(tmp_path, capsys, header, rows, flags, message):
    path = write_csv(tmp_path / "l.csv", header, rows)
    code = main(["rewards", "--input", str(path), *flags, "--output-dir", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "no preference pairs"), ('{"chosen": "答案：A"}\n', "no 'rejected' field")],
    ids=["no-pairs", "no-rejected"],
)
def test_bad_pairs_are_one_line_and_exit_2(tmp_path, capsys, text, message):
    path = tmp_path / "p.jsonl"
    path.write_text(text, "utf-8")
    code = main(["rewards", "--pairs", str(path), "--output-dir", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("flags", [["--pairs"], ["--label", "good", "--input"]])
def test_an_input_inside_the_output_folder_is_refused_and_kept(tmp_path, capsys, flags):
    folder = tmp_path / "r"
    folder.mkdir()
    path = write_jsonl(folder / "in.jsonl", [{"chosen": "答案：A", "rejected": "A", "good": 1}])
    before = path.read_bytes()
    code = main(["rewards", *flags, str(path), "--output-dir", str(folder)])
    err = capsys.readouterr().err
    assert code == 2 and "holds the input" in err and len(err.strip().splitlines()) == 1
    assert path.read_bytes() == before


def test_sample_data_is_what_its_generator_writes():
    script = ROOT / "assets" / "data" / "make_pairs.py"
    done = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_sample_pairs_cover_both_scripts_and_every_kind_of_rejected_answer():
    lines = (ROOT / "assets" / "data" / "preference_pairs.jsonl").read_text("utf-8").splitlines()
    pairs = [json.loads(line) for line in lines]
    assert len(pairs) >= 120
    assert {p["subset"] for p in pairs} == {"wrong", "loaded", "absolute", "degenerate", "format"}
    simplified = [p for p in pairs if p["id"].endswith("-hans")]
    assert 0.2 <= len(simplified) / len(pairs) <= 0.3
    assert all(p["chosen"].startswith(f"答案：{p['correct_answer']}\n理由：") for p in pairs)
    assert all(p["chosen"] != p["rejected"] for p in pairs)
