"""python -m evals on small handmade files: report contents, statistics and bad input."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from evals.cli import main
from evals.stats import wilson_interval

ROOT = Path(__file__).resolve().parents[1]
GOLD = {"q1": "A", "q2": "B", "q3": "C", "q4": "D", "q5": "A", "q6": "B", "q7": "C"}
REASON = "理由：首先，依憲法增修條文的規定，這個選項可能最符合現行制度。其次，其他選項與條文不符。"


def _results(
    path: Path, answers: dict[str, str | None], *, submitted: dict[str, str] | None = None
) -> Path:
    """A detailed_results.csv-like file; a None answer gets a response without any letter."""
    rows = []
    for qid, letter in answers.items():
        response = f"答案：{letter}\n{REASON}" if letter else "這個問題見仁見智，我無法判斷。"
        sub = (submitted or {}).get(qid, letter or "")
        rows.append(
            {
                "id": qid,
                "answer": sub,
                "answer_source": "extracted" if letter else "constrained",
                "response": response,
            }
        )
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _gold(path: Path, gold: dict[str, str] = GOLD) -> Path:
    pd.DataFrame({"id": list(gold), "correct_answer": list(gold.values())}).to_csv(
        path, index=False
    )
    return path


@pytest.fixture
def base(tmp_path: Path) -> Path:
    # Always C; q7 has no extractable letter and was submitted as C by the constrained pass.
    answers = {qid: "C" for qid in GOLD}
    answers["q7"] = None
    return _results(tmp_path / "base.csv", answers, submitted={"q7": "C"})


@pytest.fixture
def tuned(tmp_path: Path) -> Path:
    answers = dict(GOLD)
    answers["q6"] = "A"  # one wrong
    return _results(tmp_path / "tuned.csv", answers)


@pytest.fixture
def gold(tmp_path: Path) -> Path:
    return _gold(tmp_path / "gold.csv")


def _report(out: Path) -> str:
    return (out / "report.md").read_text(encoding="utf-8")


def test_score_writes_scores_csv_report_md_html_and_pngs(base, gold, tmp_path):
    out = tmp_path / "out"
    assert main(["score", "--input", str(base), "--gold", str(gold), "--out", str(out)]) == 0
    for name in (
        "scores.csv",
        "summary.json",
        "report.md",
        "report.html",
        "score_histograms.png",
        "answer_letters.png",
    ):
        assert (out / name).stat().st_size > 0, name
    linked = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", _report(out))
    assert sorted(linked) == ["answer_letters.png", "score_histograms.png"]


def test_score_html_embeds_every_png_as_base64(base, gold, tmp_path):
    out = tmp_path / "out"
    main(["score", "--input", str(base), "--gold", str(gold), "--out", str(out)])
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.count('src="data:image/png;base64,') == 2
    assert '.png"' not in page


def test_score_accuracy_is_a_percentage_with_one_decimal_and_a_wilson_interval(
    base, gold, tmp_path
):
    out = tmp_path / "out"
    main(["score", "--input", str(base), "--gold", str(gold), "--out", str(out)])
    submitted = pd.read_csv(base, dtype=str).set_index("id")["answer"]
    correct = sum(submitted[q] == g for q, g in GOLD.items())  # q3 and q7 (constrained C)
    low, high = wilson_interval(correct, len(GOLD))
    expected = f"{correct / len(GOLD) * 100:.1f}% (95% CI {low * 100:.1f}–{high * 100:.1f}%; {correct}/{len(GOLD)})"
    assert expected in _report(out)


def test_score_component_means_match_scores_csv(tuned, gold, tmp_path):
    out = tmp_path / "out"
    main(["score", "--input", str(tuned), "--gold", str(gold), "--out", str(out)])
    scores = pd.read_csv(out / "scores.csv")
    report = _report(out)
    for column in [
        c
        for c in scores.columns
        if c not in {"id", "gold", "answer", "answer_rule", "submitted", "correct"}
    ]:
        values = scores[column].dropna()
        row = f"| {column} |"
        line = next(line for line in report.splitlines() if line.startswith(row))
        assert f"| {values.mean():.3f} |" in line, (column, line)


def test_score_flags_a_model_that_always_answers_c(base, gold, tmp_path):
    out = tmp_path / "out"
    main(["score", "--input", str(base), "--gold", str(gold), "--out", str(out)])
    assert "**Skew flagged**: C is 100% of answers" in _report(out)
    assert json.loads((out / "summary.json").read_text())["letters"]["skewed"] is True


def test_score_does_not_flag_answers_that_follow_gold(tuned, gold, tmp_path):
    out = tmp_path / "out"
    main(["score", "--input", str(tuned), "--gold", str(gold), "--out", str(out)])
    assert "No skew flagged." in _report(out)


def test_score_reports_the_share_without_an_extractable_answer(base, gold, tmp_path):
    out = tmp_path / "out"
    main(["score", "--input", str(base), "--gold", str(gold), "--out", str(out)])
    assert "No extractable answer: **14.3%** (1 of 7)" in _report(out)


def test_score_counts_answers_offering_several_letters_as_ambiguous(gold, tmp_path):
    answers = {qid: "A" for qid in GOLD} | {"q2": "B或C", "q3": "A、B、C、D"}
    path = _results(tmp_path / "hedged.csv", answers, submitted={"q2": "B", "q3": "A"})
    out = tmp_path / "out"
    main(["score", "--input", str(path), "--gold", str(gold), "--out", str(out)])
    assert "ambiguous (several letters offered): 2" in _report(out)
    assert json.loads((out / "summary.json").read_text())["no_answer"]["ambiguous"] == 2


def test_compare_counts_ambiguous_answers_of_each_side(tuned, gold, tmp_path):
    answers = dict(GOLD) | {"q2": "B或C"}
    hedged = _results(tmp_path / "hedged.csv", answers, submitted={"q2": "B"})
    out = tmp_path / "cmp"
    argv = [
        "compare",
        "--a",
        str(hedged),
        "--b",
        str(tuned),
        "--gold",
        str(gold),
        "--out",
        str(out),
    ]
    assert main([*argv, "--labels", "hedged,tuned"]) == 0
    assert "correctness 0): hedged 1, tuned 0" in _report(out)


def test_score_lists_the_five_lowest_totals_in_order_with_breakdowns(tuned, gold, tmp_path):
    out = tmp_path / "out"
    main(["score", "--input", str(tuned), "--gold", str(gold), "--out", str(out)])
    scores = pd.read_csv(out / "scores.csv", dtype={"id": str})
    expected = list(scores.sort_values("total", kind="stable")["id"][:5])
    report = _report(out)
    section = report[report.index("## Lowest-scoring") :]
    listed = re.findall(r"^### \d\. `([^`]+)` — total", section, flags=re.M)
    assert listed == expected
    assert section.count("| answer | rule | gold |") == 5


def test_compare_reports_accuracy_mcnemar_and_win_tie_loss(base, tuned, gold, tmp_path):
    out = tmp_path / "cmp"
    argv = [
        "compare",
        "--a",
        str(base),
        "--b",
        str(tuned),
        "--gold",
        str(gold),
        "--out",
        str(out),
        "--labels",
        "base,tuned",
    ]
    assert main(argv) == 0
    report = _report(out)
    # base right on q3, q7; tuned right on all but q6: discordant 0 vs 4 -> exact p = 2/16.
    assert "0 questions only base got right, 4 only tuned got right; p = 0.125" in report
    paired = pd.read_csv(out / "paired.csv")
    wins, losses = (paired.delta_total > 1e-9).sum(), (paired.delta_total < -1e-9).sum()
    assert (
        f"tuned higher on **{wins}**, tie on **{len(paired) - wins - losses}**, base higher on **{losses}**"
        in report
    )
    for name in (
        "compare_means.png",
        "compare_histograms.png",
        "compare_letters.png",
        "report.html",
    ):
        assert (out / name).is_file()


def test_compare_paired_differences_match_an_independent_computation(base, tuned, gold, tmp_path):
    out = tmp_path / "cmp"
    main(
        [
            "compare",
            "--a",
            str(base),
            "--b",
            str(tuned),
            "--gold",
            str(gold),
            "--out",
            str(out),
            "--labels",
            "base,tuned",
        ]
    )
    paired = pd.read_csv(out / "paired.csv")
    line = next(line for line in _report(out).splitlines() if line.startswith("| total |"))
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[2] == f"{paired.total_a.mean():.3f}"
    assert cells[3] == f"{paired.total_b.mean():.3f}"
    assert cells[4] == f"{(paired.total_b - paired.total_a).mean():+.3f}"


@pytest.mark.parametrize("top", [3, 7])
def test_compare_lists_different_letters_first_then_by_largest_total_difference(
    base, tuned, gold, tmp_path, top
):
    out = tmp_path / "cmp"
    argv = ["compare", "--a", str(base), "--b", str(tuned), "--gold", str(gold)]
    main([*argv, "--out", str(out), "--top", str(top)])
    paired = pd.read_csv(out / "paired.csv", dtype={"id": str})
    paired["same"] = paired.answer_a == paired.answer_b
    paired["size"] = -paired.delta_total.abs()
    expected = list(paired.sort_values(["same", "size"], kind="stable").id[:top])
    section = _report(out).split("## Where they disagree most")[1]
    listed = re.findall(r"^\| (q\d) \|", section, flags=re.M)
    assert listed == expected
    assert "(5 questions)" in section


def test_compare_refuses_files_whose_ids_differ_and_says_how_many(base, tmp_path):
    other = _results(
        tmp_path / "other.csv", {**{q: "A" for q in list(GOLD)[:5]}, "x1": "A", "x2": "B"}
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "evals",
            "compare",
            "--a",
            str(base),
            "--b",
            str(other),
            "--out",
            str(tmp_path / "o"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "4 id(s) are in only one file" in proc.stderr
    assert not (tmp_path / "o").exists()


def test_empty_completions_file_is_one_line_exit_2(gold, tmp_path, capsys):
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    assert (
        main(["score", "--input", str(empty), "--gold", str(gold), "--out", str(tmp_path / "o")])
        == 2
    )
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "empty.csv" in err


def test_completions_without_a_response_column_are_one_line_exit_2(gold, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("id,text\nq1,答案：A\n", encoding="utf-8")
    assert main(["score", "--input", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty file"),
        ("id,label\nq1,A\n", "needs columns id and correct_answer"),
        ("id,correct_answer\nq1,E\n", "answer 'E' not in A-D"),
        (b"id,correct_answer\nq1,\x81garbage\n", "not UTF-8"),  # UTF-16 needs its BOM
    ],
)
def test_unreadable_gold_is_one_line_exit_2(base, tmp_path, capsys, content, message):
    bad = tmp_path / "gold.csv"
    bad.write_bytes(content if isinstance(content, bytes) else content.encode())
    assert (
        main(["score", "--input", str(base), "--gold", str(bad), "--out", str(tmp_path / "o")]) == 2
    )
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert message in err


def test_gold_that_misses_completion_ids_is_one_line_exit_2(base, tmp_path, capsys):
    partial = _gold(tmp_path / "partial.csv", {"q1": "A", "q2": "B"})
    assert (
        main(["score", "--input", str(base), "--gold", str(partial), "--out", str(tmp_path / "o")])
        == 2
    )
    assert "no answer for 5 of 7 completion ids" in capsys.readouterr().err


def test_gold_can_be_a_test_file_with_answers_and_supplies_question_text(base, tmp_path):
    test_file = tmp_path / "test.tsv"
    lines = ["id\tquestion\toption_A\toption_B\toption_C\toption_D\tcorrect_answer"]
    lines += [f"{q}\t第{q}題的問題？\t甲\t乙\t丙\t丁\t{g}" for q, g in GOLD.items()]
    test_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["score", "--input", str(base), "--gold", str(test_file), "--out", str(out)]) == 0
    assert "問題：第q" in _report(out)


def test_labels_need_exactly_two_names(base, tuned, tmp_path, capsys):
    argv = [
        "compare",
        "--a",
        str(base),
        "--b",
        str(tuned),
        "--out",
        str(tmp_path / "o"),
        "--labels",
        "only-one",
    ]
    assert main(argv) == 2
    assert "--labels needs two names" in capsys.readouterr().err


def test_sample_prints_n_rows_and_the_same_rows_for_the_same_seed(tuned, gold, capsys):
    assert main(["sample", str(tuned), "-n", "3", "--seed", "4", "--gold", str(gold)]) == 0
    first = capsys.readouterr().out
    main(["sample", str(tuned), "-n", "3", "--seed", "4", "--gold", str(gold)])
    assert capsys.readouterr().out == first
    assert len(re.findall(r"^── \d/3 · id q\d", first, flags=re.M)) == 3
    assert first.count("回答 response:") == 3 and first.count("獎勵 reward: total") == 3


def test_neutrality_lists_terms_most_frequent_first_with_counts_and_contexts(tmp_path, capsys):
    import rewards

    texts = [
        "答案：A\n理由：這可能是對的，也可能不是，或許要看情況。",
        "答案：B\n理由：這不可能錯，一定是B，可能吧。",
        "答案：C\n理由：也許如此。",
    ]
    path = tmp_path / "c.jsonl"
    path.write_text(
        "".join(
            json.dumps({"id": f"r{i}", "completion": t}, ensure_ascii=False) + "\n"
            for i, t in enumerate(texts)
        ),
        encoding="utf-8",
    )
    counts: dict[str, int] = {}
    for text in texts:
        for term in rewards.score(text).details["neutrality"]["terms"]:
            counts[term["term"]] = counts.get(term["term"], 0) + 1
    assert main(["neutrality", "--input", str(path), "--top", "10"]) == 0
    out = capsys.readouterr().out
    listed = re.findall(
        r"^\s+\d+\s+(\S+)\s+(neutral|absolute|loaded)\s+(\d+)\s+(\d+)\s+(\d+)$", out, flags=re.M
    )
    assert {term: int(count) for term, _, count, _, _ in listed} == counts
    assert [int(c) for _, _, c, _, _ in listed] == sorted(
        (int(c) for _, _, c, _, _ in listed), reverse=True
    )
    assert "【可能】" in out


def test_help_lists_every_subcommand_with_an_example():
    proc = subprocess.run(
        [sys.executable, "-m", "evals", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0
    for command in ("score", "compare", "sample", "neutrality", "demo-report"):
        assert command in proc.stdout
    assert "python -m evals compare --a" in proc.stdout


def test_plots_use_an_installed_cjk_font():
    import shutil

    from evals import plots

    if shutil.which("fc-list") is None:
        pytest.skip("fontconfig missing: cannot tell whether a CJK font is installed")
    listed = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True).stdout
    if not listed.strip():
        pytest.skip("no CJK font installed (make system-deps installs fonts-wqy-microhei)")
    plots.cjk_font.cache_clear()
    assert plots.cjk_font() in plots.CJK_FAMILIES


def test_missing_cjk_font_is_one_warning_naming_the_package(monkeypatch, caplog):
    from evals import plots

    monkeypatch.setattr(plots, "CJK_FAMILIES", ("No Such Font Family",))
    plots.cjk_font.cache_clear()
    try:
        with caplog.at_level("WARNING", logger="evals.plots"):
            assert plots.cjk_font() is None
            plots.cjk_font()
    finally:
        plots.cjk_font.cache_clear()
    warnings = [r for r in caplog.records if r.name == "evals.plots"]
    assert len(warnings) == 1
    assert "fonts-wqy-microhei" in warnings[0].getMessage()


# ---------------------------------------------------------------- one CLI shape (issue 11)
def test_output_dir_and_the_old_out_spelling_write_the_same_report(base, gold, tmp_path):
    new, old = tmp_path / "new", tmp_path / "old"
    argv = ["score", "--input", str(base), "--gold", str(gold)]
    assert main([*argv, "--output-dir", str(new)]) == 0
    assert main([*argv, "--out", str(old)]) == 0
    assert (new / "scores.csv").read_bytes() == (old / "scores.csv").read_bytes()


def test_sample_reads_input_flag_and_old_positional_alike(tuned, capsys):
    assert main(["sample", "--input", str(tuned), "-n", "2", "--seed", "1"]) == 0
    flag = capsys.readouterr().out
    assert main(["sample", str(tuned), "-n", "2", "--seed", "1"]) == 0
    assert capsys.readouterr().out == flag and flag.count("回答 response:") == 2


def test_sample_without_a_file_is_one_line_exit_2(capsys):
    assert main(["sample", "-n", "2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("evals sample: error:") and err.count("\n") == 1


def test_a_command_module_runs_stand_alone_with_make_parser_and_main(base, tmp_path, capsys):
    from evals.commands import score

    args = score.make_parser().parse_args(
        ["--input", str(base), "--output-dir", str(tmp_path / "r")]
    )
    assert args.func is score.main and score.main(args) == 0
    assert "report: " in capsys.readouterr().out and (tmp_path / "r" / "report.md").is_file()
