"""Specification of mcq's file loaders: formats, aliases and line-numbered validation."""

from __future__ import annotations

import logging

import pytest

from mcq import DataError, Question, load_test, load_train, validate_file
from mcq.loaders import canonical_column

TRAIN_HEADER = "question\toption_A\toption_B\toption_C\toption_D\tcorrect_answer\treasoning"
TRAIN_ROW = "下列何者屬於憲法保障的基本權利？\t言論自由\t納稅義務\t服兵役義務\t受國民教育義務\tA\t言論自由屬於基本權利。"
TEST_HEADER = "id\tquestion\toption_A\toption_B\toption_C\toption_D"


def write(tmp_path, name, text, *, encoding="utf-8", newline="\n"):
    path = tmp_path / name
    path.write_bytes(text.replace("\n", newline).encode(encoding))
    return path


def test_train_row_becomes_question(tmp_path):
    path = write(tmp_path, "train.tsv", f"{TRAIN_HEADER}\n{TRAIN_ROW}\n")
    assert load_train(path) == [
        Question(
            id="1",
            question="下列何者屬於憲法保障的基本權利？",
            options={"A": "言論自由", "B": "納稅義務", "C": "服兵役義務", "D": "受國民教育義務"},
            correct_answer="A",
            reasoning="言論自由屬於基本權利。",
            line=2,
        )
    ]


def test_options_keep_letter_order(tmp_path):
    path = write(tmp_path, "train.tsv", f"{TRAIN_HEADER}\n{TRAIN_ROW}\n")
    assert list(load_train(path)[0].options) == ["A", "B", "C", "D"]


def test_train_ids_come_from_id_column_when_present(tmp_path):
    path = write(tmp_path, "train.tsv", f"id\t{TRAIN_HEADER}\nq-7\t{TRAIN_ROW}\n")
    assert load_train(path)[0].id == "q-7"


def test_aliases_and_messy_header_are_accepted(tmp_path):
    header = "\ufeff QID \tQuestion\tA\t b \tOption C\toption-d\tANSWER"
    path = write(tmp_path, "test.tsv", f"{header}\nt1\t問題\t甲\t乙\t丙\t丁\tc\n")
    (q,) = load_test(path)
    assert (q.id, q.options, q.correct_answer) == (
        "t1",
        {"A": "甲", "B": "乙", "C": "丙", "D": "丁"},
        "C",
    )


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("ID", "id"),
        ("qid", "id"),
        ("A", "option_A"),
        ("Option A", "option_A"),
        ("answer", "correct_answer"),
        ("Correct Answer", "correct_answer"),
        ("notes", None),
    ],
)
def test_canonical_column_names(header, name):
    assert canonical_column(header) == name


def test_bom_and_crlf_are_tolerated(tmp_path):
    path = write(tmp_path, "train.tsv", f"\ufeff{TRAIN_HEADER}\n{TRAIN_ROW}\n", newline="\r\n")
    (q,) = load_train(path)
    assert q.question == "下列何者屬於憲法保障的基本權利？"
    assert q.reasoning == "言論自由屬於基本權利。"


def test_utf16_excel_export_is_read(tmp_path):
    path = write(
        tmp_path, "train.tsv", f"\ufeff{TRAIN_HEADER}\n{TRAIN_ROW}\n", encoding="utf-16-le"
    )
    assert load_train(path)[0].correct_answer == "A"


def test_csv_by_extension_with_quoted_commas(tmp_path):
    text = 'id,question,A,B,C,D\nt1,"甲, 乙何者正確？",甲,乙,"丙,丁",戊\n'
    (q,) = load_test(write(tmp_path, "test.csv", text))
    assert (q.question, q.options["C"]) == ("甲, 乙何者正確？", "丙,丁")


def test_tsv_cells_may_contain_commas(tmp_path):
    path = write(tmp_path, "test.tsv", f"{TEST_HEADER}\nt1\t甲，乙, 丙\t一\t二\t三\t四\n")
    assert load_test(path)[0].question == "甲，乙, 丙"


@pytest.mark.parametrize("name", ["test.txt", "test.data"])
def test_delimiter_is_sniffed_without_known_extension(tmp_path, name):
    tsv = write(tmp_path, "t" + name, f"{TEST_HEADER}\nt1\tq\ta\tb\tc\td\n")
    csv_ = write(tmp_path, "c" + name, "id,question,A,B,C,D\nt1,q,a,b,c,d\n")
    assert (
        load_test(tsv)[0].options
        == load_test(csv_)[0].options
        == dict(zip("ABCD", "abcd", strict=True))
    )


def test_tab_separated_file_named_csv_is_sniffed(tmp_path):
    path = write(tmp_path, "test.csv", f"{TEST_HEADER}\nt1\tq\ta\tb\tc\td\n")
    assert load_test(path)[0].id == "t1"


def test_full_width_and_lowercase_answers_are_normalised(tmp_path):
    rows = "\n".join(TRAIN_ROW.replace("\tA\t", f"\t{a}\t") for a in ("b", " Ｃ ", "ｄ"))
    path = write(tmp_path, "train.tsv", f"{TRAIN_HEADER}\n{rows}\n")
    assert [q.correct_answer for q in load_train(path)] == ["B", "C", "D"]


def test_test_file_gold_answer_is_optional(tmp_path):
    path = write(
        tmp_path, "test.tsv", f"{TEST_HEADER}\tanswer\nt1\tq\ta\tb\tc\td\t\nt2\tq\ta\tb\tc\td\tB\n"
    )
    assert [q.correct_answer for q in load_test(path)] == [None, "B"]


def test_blank_lines_are_skipped_and_line_numbers_stay_true(tmp_path):
    path = write(tmp_path, "train.tsv", f"{TRAIN_HEADER}\n\n{TRAIN_ROW}\n\n\n")
    assert load_train(path)[0].line == 3


def test_quoted_multiline_cell_keeps_line_numbers_of_later_rows(tmp_path):
    text = f'{TEST_HEADER}\nt1\t"第一行\n第二行"\ta\tb\tc\td\nt2\tq\ta\tb\tc\t\n'
    questions, problems = validate_file(write(tmp_path, "test.tsv", text), "test")
    assert questions[0].question == "第一行\n第二行"
    assert problems == [(4, "empty option_D")]


INVALID_ROWS = [
    (TRAIN_ROW.replace("\tA\t", "\tE\t"), "answer 'E' not in A-D"),
    (TRAIN_ROW.replace("\tA\t", "\tAB\t"), "answer 'AB' not in A-D"),
    (TRAIN_ROW.replace("\tA\t", "\t\t"), "missing correct_answer"),
    (TRAIN_ROW.replace("服兵役義務", " "), "empty option_C"),
    ("\t" + TRAIN_ROW.split("\t", 1)[1], "missing question"),
    (TRAIN_ROW.rsplit("\t", 2)[0], "expected 7 columns, found 5"),
    (TRAIN_ROW + "\t多出來的欄位", "expected 7 columns, found 8"),
]


@pytest.mark.parametrize(("row", "reason"), INVALID_ROWS, ids=[r for _, r in INVALID_ROWS])
def test_invalid_row_is_reported_with_its_line_and_reason(tmp_path, row, reason):
    path = write(tmp_path, "train.tsv", f"{TRAIN_HEADER}\n{TRAIN_ROW}\n{TRAIN_ROW}\n{row}\n")
    questions, problems = validate_file(path, "train")
    assert problems == [(4, reason)]
    assert len(questions) == 2


def test_row_with_several_faults_lists_them_all(tmp_path):
    row = TRAIN_ROW.replace("言論自由\t", "\t", 1).replace("\tA\t", "\tX\t")
    _, problems = validate_file(write(tmp_path, "train.tsv", f"{TRAIN_HEADER}\n{row}\n"))
    assert problems == [(2, "empty option_A, answer 'X' not in A-D")]


def test_unclosed_quote_is_reported_at_the_row_where_it_opens(tmp_path):
    text = f'{TEST_HEADER}\nt1\tq\ta\tb\tc\td\nt2\t"q\ta\tb\tc\td\nt3\tq\ta\tb\tc\td\n'
    questions, problems = validate_file(write(tmp_path, "test.tsv", text), "test")
    assert problems == [(3, "expected 6 columns, found 2 (unclosed quote?)")]
    assert [q.id for q in questions] == ["t1"]


def test_cell_over_csv_field_limit_is_data_error_with_line(tmp_path):
    import csv

    huge = "長" * (csv.field_size_limit() + 1)
    path = write(
        tmp_path, "test.tsv", f"{TEST_HEADER}\nt1\tq\ta\tb\tc\td\nt2\t{huge}\ta\tb\tc\td\n"
    )
    with pytest.raises(DataError, match="line 3: field larger than field limit") as info:
        load_test(path)
    assert info.value.problems[0][0] == 3


def test_trailing_empty_cells_are_not_a_column_count_error(tmp_path):
    path = write(tmp_path, "train.tsv", f"{TRAIN_HEADER}\n{TRAIN_ROW}\t\t\n")
    assert len(load_train(path)) == 1


def test_duplicate_id_names_the_first_line(tmp_path):
    text = f"{TEST_HEADER}\nt1\tq\ta\tb\tc\td\nt2\tq\ta\tb\tc\td\nt1\tq2\ta\tb\tc\td\n"
    questions, problems = validate_file(write(tmp_path, "test.tsv", text), "test")
    assert problems == [(4, "duplicate id 't1' (first on line 2)")]
    assert [q.id for q in questions] == ["t1", "t2"]


def test_missing_id_in_test_file_is_invalid(tmp_path):
    path = write(tmp_path, "test.tsv", f"{TEST_HEADER}\n\tq\ta\tb\tc\td\n")
    assert validate_file(path, "test")[1] == [(2, "missing id")]


def test_load_raises_one_line_error_listing_every_bad_row(tmp_path):
    bad = TRAIN_ROW.replace("\tA\t", "\tE\t")
    text = f"{TRAIN_HEADER}\n{bad}\n{TRAIN_ROW}\n{TRAIN_ROW.replace('納稅義務', '')}\n"
    path = write(tmp_path, "train.tsv", text)
    with pytest.raises(DataError) as info:
        load_train(path)
    assert info.value.problems == [(2, "answer 'E' not in A-D"), (4, "empty option_B")]
    assert str(info.value) == (
        f"{path}: 2 invalid rows (line 2: answer 'E' not in A-D; line 4: empty option_B)"
    )


def test_long_problem_lists_are_summarised_on_one_line(tmp_path):
    bad = TRAIN_ROW.replace("\tA\t", "\tZ\t")
    path = write(tmp_path, "train.tsv", TRAIN_HEADER + f"\n{bad}" * 12 + "\n")
    with pytest.raises(DataError) as info:
        load_train(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: 12 invalid rows (line 2: ")
    assert message.endswith("; ... and 7 more)")
    assert len(info.value.problems) == 12


def test_skip_invalid_keeps_good_rows_and_warns_how_many_dropped(tmp_path, caplog):
    bad = TRAIN_ROW.replace("\tA\t", "\tE\t")
    path = write(tmp_path, "train.tsv", f"{TRAIN_HEADER}\n{bad}\n{TRAIN_ROW}\n{bad}\n")
    with caplog.at_level(logging.WARNING, logger="mcq"):
        questions = load_train(path, skip_invalid=True)
    assert [q.line for q in questions] == [3]
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert "dropped 2 invalid row(s)" in caplog.text


def test_skip_invalid_is_silent_on_clean_file(tmp_path, caplog):
    path = write(tmp_path, "train.tsv", f"{TRAIN_HEADER}\n{TRAIN_ROW}\n")
    with caplog.at_level(logging.WARNING, logger="mcq"):
        load_train(path, skip_invalid=True)
    assert caplog.records == []


def test_missing_required_columns_are_named(tmp_path):
    path = write(tmp_path, "train.tsv", "question\toption_A\toption_B\tanswer\nq\ta\tb\tA\n")
    with pytest.raises(DataError, match=r"missing required column\(s\) option_C, option_D "):
        load_train(path)


def test_test_file_requires_id_column(tmp_path):
    path = write(tmp_path, "train.tsv", f"{TRAIN_HEADER}\n{TRAIN_ROW}\n")
    with pytest.raises(DataError, match=r"missing required column\(s\) id for a test file"):
        load_test(path)


def test_two_columns_for_one_field_are_rejected(tmp_path):
    path = write(tmp_path, "test.tsv", f"{TEST_HEADER}\tA\nt1\tq\ta\tb\tc\td\ta\n")
    with pytest.raises(DataError, match="two columns map to 'option_A'"):
        load_test(path)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "nope.tsv", "file not found"),
        (lambda p: p, "is a directory"),
        (lambda p: write(p, "empty.tsv", ""), "empty file, expected a header row"),
        (
            lambda p: write(
                p, "gbk.tsv", f"{TEST_HEADER}\nt1\t問題\ta\tb\tc\td\n", encoding="big5"
            ),
            "not UTF-8 text",
        ),
    ],
    ids=["missing", "directory", "empty", "not-utf8"],
)
def test_unusable_file_raises_one_line_data_error(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(DataError, match=message) as info:
        load_test(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_missing_file_is_data_error_also_for_validate(tmp_path):
    with pytest.raises(DataError):
        validate_file(tmp_path / "absent.csv", "test")


def test_data_error_is_a_value_error():
    assert issubclass(DataError, ValueError)


def test_header_only_file_has_no_questions(tmp_path):
    assert load_test(write(tmp_path, "test.tsv", f"{TEST_HEADER}\n")) == []


def test_unknown_kind_is_a_programming_error(tmp_path):
    with pytest.raises(ValueError, match="kind must be"):
        validate_file(write(tmp_path, "t.tsv", f"{TEST_HEADER}\n"), "dev")
