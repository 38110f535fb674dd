"""The full chain on the demo models: inference on sample_test → evals score and compare.

Both demo models answer the sample test questions through ``inference.generate`` in this
process (vLLM's CPU build, engines shared through ``inference.backends.get_backend``); the
reports' numbers are then checked against numbers computed here from the submission files.
"""

import re
from pathlib import Path

import pandas as pd
import pytest

from evals.cli import main
from evals.stats import wilson_interval

ROOT = Path(__file__).resolve().parents[1]
TEST_FILE = ROOT / "assets/data/sample_test.tsv"
GOLD_FILE = ROOT / "assets/data/sample_test_gold.csv"
# Short answers keep generation quick; the reports do not depend on the length.
GENERATE_ARGS = {"max_new_tokens": 128, "seed": 3}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def _free_engines():
    yield
    from inference.backends import clear_cache

    clear_cache()  # later test modules start with the memory back


@pytest.fixture(scope="module")
def demo_results(tmp_path_factory, sample_test, demo_base, demo_grpo) -> dict[str, Path]:
    """``{label: output folder}`` with submission.csv and detailed_results.csv per demo model."""
    from evals.demo import generate_results

    work = tmp_path_factory.mktemp("demo-chain")
    for label, model in (("base", demo_base), ("tuned", demo_grpo)):
        generate_results(model, sample_test, work / label, backend="vllm", **GENERATE_ARGS)
    return {"base": work / "base", "tuned": work / "tuned"}


@pytest.fixture(scope="module")
def gold() -> pd.Series:
    return pd.read_csv(GOLD_FILE, dtype=str).set_index("id")["correct_answer"]


@pytest.fixture(scope="module")
def score_out(demo_results, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("score")
    argv = ["score", "--input", str(demo_results["tuned"] / "detailed_results.csv")]
    argv += ["--gold", str(GOLD_FILE), "--questions", str(TEST_FILE), "--out", str(out)]
    assert main(argv) == 0
    return out


@pytest.fixture(scope="module")
def compare_out(demo_results, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("compare")
    argv = ["compare", "--a", str(demo_results["base"] / "detailed_results.csv")]
    argv += ["--b", str(demo_results["tuned"] / "detailed_results.csv"), "--gold", str(GOLD_FILE)]
    argv += ["--questions", str(TEST_FILE), "--labels", "base,tuned", "--out", str(out)]
    assert main(argv) == 0
    return out


def _accuracy_text(submission: Path, gold: pd.Series) -> str:
    answers = pd.read_csv(submission, dtype=str).set_index("id")["answer"]
    correct = int((answers.reindex(gold.index) == gold).sum())
    low, high = wilson_interval(correct, len(gold))
    return f"{correct / len(gold) * 100:.1f}% (95% CI {low * 100:.1f}–{high * 100:.1f}%; {correct}/{len(gold)})"


def _mean_total(detailed: Path, gold: pd.Series) -> float:
    """Mean total reward, scored here row by row with the rewards package."""
    import mcq
    import rewards

    questions = {q.id: q for q in mcq.load_test(TEST_FILE)}
    rows = pd.read_csv(detailed, dtype=str, keep_default_na=False)
    totals = []
    for row in rows.itertuples():
        q = questions[row.id]
        sample = rewards.Sample(
            id=q.id, question=q.question, options=dict(q.options), correct_answer=gold[q.id]
        )
        totals.append(rewards.score(row.response, sample).total)
    return sum(totals) / len(totals)


def _assert_real_png(path: Path) -> None:
    from PIL import Image

    assert path.stat().st_size > 10_000, path
    with Image.open(path) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
        assert image.width > 400 and image.height > 250
    assert colours is not None and len(colours) > 100, path


def test_inference_wrote_one_answer_per_test_question(demo_results, gold):
    for folder in demo_results.values():
        submission = pd.read_csv(folder / "submission.csv", dtype=str)
        assert list(submission["id"]) == list(gold.index)
        assert submission["answer"].isin(list("ABCD")).all()


def test_score_report_accuracy_matches_the_submission_against_gold(demo_results, score_out, gold):
    expected = _accuracy_text(demo_results["tuned"] / "submission.csv", gold)
    assert (
        f"Accuracy against gold ({GOLD_FILE}): **{expected}**"
        in (score_out / "report.md").read_text()
    )


def test_score_report_mean_total_matches_rewards_scored_independently(
    demo_results, score_out, gold
):
    expected = _mean_total(demo_results["tuned"] / "detailed_results.csv", gold)
    assert f"Mean total reward: **{expected:.3f}**" in (score_out / "report.md").read_text()


def test_score_report_files_and_pngs_are_real(score_out):
    html = (score_out / "report.html").read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == 2
    for png in ("score_histograms.png", "answer_letters.png"):
        _assert_real_png(score_out / png)


def test_compare_report_accuracies_match_both_submissions(demo_results, compare_out, gold):
    report = (compare_out / "report.md").read_text()
    for label in ("base", "tuned"):
        answers = pd.read_csv(demo_results[label] / "submission.csv", dtype=str).set_index("id")[
            "answer"
        ]
        correct = int((answers.reindex(gold.index) == gold).sum())
        accuracy = f"{correct / len(gold) * 100:.1f}%"
        assert re.search(
            rf"^\| {label} \| {correct}/{len(gold)} \| {re.escape(accuracy)} \|", report, re.M
        )


def test_compare_report_total_difference_matches_rewards_scored_independently(
    demo_results, compare_out, gold
):
    base = _mean_total(demo_results["base"] / "detailed_results.csv", gold)
    tuned = _mean_total(demo_results["tuned"] / "detailed_results.csv", gold)
    line = next(
        x for x in (compare_out / "report.md").read_text().splitlines() if x.startswith("| total |")
    )
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[2:5] == [f"{base:.3f}", f"{tuned:.3f}", f"{tuned - base:+.3f}"]


def test_compare_report_letter_counts_match_the_submissions(demo_results, compare_out):
    report = (compare_out / "report.md").read_text()
    section = report.split("## Answer letters")[1]
    counts = {
        label: pd.read_csv(demo_results[label] / "submission.csv", dtype=str)[
            "answer"
        ].value_counts()
        for label in ("base", "tuned")
    }
    for letter in "ABCD":
        row = f"| {letter} | {counts['base'].get(letter, 0)} | {counts['tuned'].get(letter, 0)} |"
        assert row in section


def test_compare_report_pngs_are_real_and_embedded_in_the_html(compare_out):
    for png in ("compare_means.png", "compare_histograms.png", "compare_letters.png"):
        _assert_real_png(compare_out / png)
    assert (compare_out / "report.html").read_text(encoding="utf-8").count(
        "data:image/png;base64,"
    ) == 3
