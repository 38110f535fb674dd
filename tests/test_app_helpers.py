"""Fast checks of the app's pure helpers and its command line (no model, no server)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import cli, serve
from app.limits import LIMITS, check_number, check_text
from app.questions import build_question, check_gold, parse_pasted_row
from app.results import summarize_scores
from app.ui.common import component_rows
from app.ui.highlight import NEGATED, highlight_spans
from mcq.errors import UsageError


def _term(start, end, category="neutral", negated=False, term="x"):
    return {"term": term, "category": category, "start": start, "end": end, "negated": negated}


# ---------------------------------------------------------------- highlight spans
def test_highlight_spans_label_each_term_with_its_category():
    text = "這可能是一個觀點，絕對如此"
    value = highlight_spans(text, [_term(1, 3), _term(9, 11, "absolute")])
    assert value == [
        ("這", None),
        ("可能", "neutral"),
        ("是一個觀點，", None),
        ("絕對", "absolute"),
        ("如此", None),
    ]


def test_negated_terms_show_their_effect_and_their_negator():
    term = {**_term(2, 4, "absolute", negated=True), "effect": "neutral", "negator_start": 0}
    assert highlight_spans("並非唯一", [term]) == [("並非唯一", "neutral")]


def test_negated_terms_without_an_effect_are_marked_negated():
    value = highlight_spans("並非唯一", [_term(2, 4, "absolute", negated=True)])
    assert value == [("並非", None), ("唯一", NEGATED)]


def test_highlight_spans_always_join_back_to_the_original_text():
    text = "答案：B\n理由：也許有不同看法，但一定要尊重。"
    terms = [_term(8, 10), _term(9, 12, "loaded"), _term(16, 18, "absolute"), _term(40, 45)]
    value = highlight_spans(text, terms)
    assert "".join(piece for piece, _ in value) == text
    assert [label for _, label in value if label] == ["neutral", "absolute"]


def test_highlight_spans_ignore_spans_outside_the_text_or_malformed():
    terms = [_term(-1, 2), _term(3, 3), _term(2, 99), {"term": "x", "category": "neutral"}]
    assert highlight_spans("abc", terms) == [("abc", None)]


def test_highlight_spans_of_empty_text_is_one_empty_piece():
    assert highlight_spans("", []) == [("", None)]


def test_highlight_spans_accept_spans_in_any_order():
    value = highlight_spans("abcdef", [_term(4, 6, "loaded"), _term(0, 2)])
    assert value == [("ab", "neutral"), ("cd", None), ("ef", "loaded")]


# ---------------------------------------------------------------- limits
def test_check_text_refuses_text_over_the_limit_with_the_length_in_the_message():
    with pytest.raises(UsageError, match=r"question is too long: 2,001 characters \(limit 2,000\)"):
        check_text("question", "問" * 2001, LIMITS.question_chars)


def test_check_text_strips_and_accepts_text_at_the_limit():
    assert check_text("option A", " " + "a" * 10 + " ", 10) == "a" * 10


def test_check_text_refuses_non_text_and_missing_required_text():
    with pytest.raises(UsageError, match="must be text"):
        check_text("question", {"path": "/etc/passwd"}, 100)
    with pytest.raises(UsageError, match="question is empty"):
        check_text("question", "   ", 100, required=True)


def test_check_number_refuses_out_of_range_and_nan():
    assert check_number("temperature", "0.5", 0, 2) == 0.5
    for bad in (3, -1, float("nan"), "hot"):
        with pytest.raises(UsageError, match="temperature"):
            check_number("temperature", bad, 0, 2)


def test_check_gold_accepts_lowercase_and_empty_and_refuses_other_letters():
    assert check_gold("b") == "B"
    assert check_gold("Ｃ") == "C"
    assert check_gold("") is None
    assert check_gold(None) is None
    with pytest.raises(UsageError, match="gold answer must be one of A, B, C, D"):
        check_gold("E")


def test_build_question_needs_four_options_within_limits():
    q = build_question("誰？", ["甲", "乙", "丙", "丁"], "c")
    assert q.options == {"A": "甲", "B": "乙", "C": "丙", "D": "丁"}
    assert q.correct_answer == "C"
    with pytest.raises(UsageError, match="option B is empty"):
        build_question("誰？", ["甲", "", "丙", "丁"])
    with pytest.raises(UsageError, match="option D is too long"):
        build_question("誰？", ["甲", "乙", "丙", "丁" * (LIMITS.option_chars + 1)])


# ---------------------------------------------------------------- pasted rows
def test_pasted_row_without_id_or_gold():
    q = parse_pasted_row("誰制定法律？\t立法院\t行政院\t司法院\t監察院")
    assert (q.question, q.options["D"], q.correct_answer) == ("誰制定法律？", "監察院", None)


def test_pasted_train_row_with_gold_and_reasoning():
    q = parse_pasted_row("誰制定法律？\t立法院\t行政院\t司法院\t監察院\tA\t因為立法院是國會。")
    assert q.correct_answer == "A"
    assert q.options["A"] == "立法院"


def test_pasted_test_row_with_id_first():
    q = parse_pasted_row("q7\t誰制定法律？\t立法院\t行政院\t司法院\t監察院")
    assert (q.id, q.question, q.correct_answer) == ("q7", "誰制定法律？", None)


def test_pasted_row_with_header_takes_columns_by_name():
    text = "id\tanswer\tquestion\tA\tB\tC\tD\r\nq9\tb\t問？\t一\t二\t三\t四\r\n"
    q = parse_pasted_row(text)
    assert (q.id, q.correct_answer, q.options["B"]) == ("q9", "B", "二")


def test_pasted_row_errors_are_one_line():
    for bad, message in [
        ("只有一欄", "no tab characters"),
        ("問\t一\t二", "needs a question and 4 options, got 3 fields"),
        ("a\tb\tc\td\te\n" * 3, "paste one row"),
        ("問\t一\t二\t三\t四\tE", "gold answer must be one of"),
    ]:
        with pytest.raises(UsageError, match=message) as info:
            parse_pasted_row(bad)
        assert "\n" not in str(info.value)


# ---------------------------------------------------------------- summaries
def test_component_rows_leave_out_not_applicable_components():
    rows = component_rows({"format": 1.0, "correctness": None, "neutrality": 0.25})
    assert rows == [
        {"component": "format", "score": 1.0},
        {"component": "neutrality", "score": 0.25},
    ]


def test_summarize_scores_means_ignore_empty_cells():
    rows = [
        {"id": "1", "answer": "A", "format": 1.0, "correctness": None, "total": 0.5},
        {"id": "2", "answer": None, "format": 0.0, "correctness": 1.0, "total": 1.0},
    ]
    summary = summarize_scores(rows)
    assert summary["rows"] == 2
    assert summary["mean_total"] == 0.75
    assert summary["components"] == {"format": 0.5, "correctness": 1.0}
    assert summary["answers"] == {"A": 1, "none": 1}


# ---------------------------------------------------------------- command line
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--auth", "alice"], "--auth must be USER:PASS"),
        (["--auth", ":pw"], "--auth must be USER:PASS"),
        (["--base-model", "./no/such/model", "--adapter", "x"], "no such file or directory"),
        (["--adapter", "/no/such/adapter"], "--adapter /no/such/adapter: no such file"),
        (["--tuned-model", "../missing"], "--tuned-model ../missing: no such file"),
        (["--port", "70000"], "--port 70000"),
        (["--preset", "nonexistent"], "unknown reward preset 'nonexistent'"),
        (["--prompt", "nonexistent"], "error: unknown prompt 'nonexistent'"),  # named once
        (["--prompt", "/no/such/prompt.yaml"], "error: prompt /no/such/prompt.yaml"),
    ],
)
def test_bad_flags_exit_2_with_one_line(argv, message, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("python -m app: error: ") and message in err
    assert err.count("\n") == 1


def test_no_flags_serve_demo_base_and_its_grpo_adapter_on_loopback():
    args = serve.make_parser().parse_args([])
    models, auth = serve.resolve(args)
    assert models.base_model.endswith("demo-base")
    assert models.adapter.endswith("demo-grpo-adapter")
    assert models.tuned_model is None
    assert (args.host, args.share, auth) == ("127.0.0.1", False, None)


def test_tuned_model_and_adapter_are_mutually_exclusive(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["--tuned-model", "a/b", "--adapter", "c/d"])
    assert info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_hub_ids_pass_the_flag_check_and_auth_splits_on_the_first_colon():
    args = serve.make_parser().parse_args(
        [
            "--base-model",
            "Qwen/Qwen2.5-7B-Instruct",
            "--adapter",
            "me/zhongli-lora",
            "--auth",
            "alice:pa:ss",
        ]
    )
    models, auth = serve.resolve(args)
    assert (models.base_model, models.adapter, auth) == (
        "Qwen/Qwen2.5-7B-Instruct",
        "me/zhongli-lora",
        ("alice", "pa:ss"),
    )


def test_a_busy_port_fails_fast_before_the_models_load(capsys):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert cli.main(["--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert f"cannot serve on 127.0.0.1:{port}: Address already in use" in err
    assert err.count("\n") == 1


def test_a_second_full_model_is_refused_on_vllm_and_served_by_transformers_otherwise(capsys):
    demo = str(Path(__file__).resolve().parents[1] / "assets" / "models" / "demo-grpo")
    assert cli.main(["--tuned-model", demo, "--backend", "vllm"]) == 2
    assert "--backend vllm runs one engine per process" in capsys.readouterr().err
    args = serve.make_parser().parse_args(["--tuned-model", demo, "--backend", "auto"])
    models, _ = serve.resolve(args)
    assert (models.tuned_model.endswith("demo-grpo"), models.backend) == (True, "transformers")
