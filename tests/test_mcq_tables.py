"""Specification of mcq's one home for table facts: delimiter, gold answers, letters, row ids.

These rules used to differ between mcq, rewards, evals, the app and the demo builder; each is
decided here once (see mcq/tables.py, mcq/records.py, mcq.loaders.read_gold).
"""

from __future__ import annotations

import pytest

from mcq import (
    DataError,
    UsageError,
    format_answer,
    load_gold,
    load_train,
    normalize_letter,
    read_gold,
    read_table,
    row_id,
)
from mcq.tables import sniff_delimiter


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


# ---------------------------------------------------------------- delimiter
@pytest.mark.parametrize(
    ("name", "header", "expected"),
    [
        ("t.tsv", "id\tanswer", "\t"),
        ("t.csv", "id,answer", ","),
        ("t.csv", "id\tanswer", "\t"),  # a TSV saved as .csv
        ("t.tsv", "id,answer", ","),  # a CSV saved as .tsv
        ("t.txt", "a\tb\tc,d", "\t"),
        ("t.txt", "a,b,c\td", ","),
        ("t.txt", "a\tb,c", "\t"),  # a tie reads as TSV, the competition's format
        ("t", "completion", "\t"),  # one column: commas in the text stay in the cell
    ],
)
def test_delimiter_rule(name, header, expected):
    assert sniff_delimiter(name, header + "\nrow") == expected


def test_a_tie_reads_as_tsv_so_commas_stay_inside_cells(tmp_path):
    path = write(tmp_path, "c.txt", "id\tcompletion, raw\nq1\t答案：A, 理由\n")
    assert read_table(path).rows == [(2, ["q1", "答案：A, 理由"])]


def test_utf16_with_bom_and_crlf_are_read_the_same_as_utf8(tmp_path):
    text = "id,correct_answer\r\nq1,B\r\n"
    assert load_gold(write(tmp_path, "u16.csv", text, "utf-16")) == load_gold(
        write(tmp_path, "u8.csv", "\ufeff" + text)
    )


# ---------------------------------------------------------------- gold answers
def test_gold_table_accepts_aliases_and_full_width_letters(tmp_path):
    path = write(tmp_path, "gold.tsv", "QID\tAnswer\nq1\tＢ\nq2\td\n")
    assert read_gold(path) == ({"q1": "B", "q2": "D"}, {})


def test_gold_from_a_test_file_also_returns_its_questions(tmp_path):
    text = "id\tquestion\tA\tB\tC\tD\tcorrect_answer\nq1\t問？\t甲\t乙\t丙\t丁\tc\n"
    letters, questions = read_gold(write(tmp_path, "test.tsv", text))
    assert letters == {"q1": "C"}
    assert questions["q1"].options == {"A": "甲", "B": "乙", "C": "丙", "D": "丁"}


def test_bad_gold_rows_are_listed_with_their_lines(tmp_path):
    path = write(tmp_path, "gold.csv", "id,correct_answer\nq1,E\n,A\nq2,A\nq2,B\n")
    with pytest.raises(DataError) as info:
        load_gold(path)
    assert info.value.problems == [
        (2, "answer 'E' not in A-D"),
        (3, "missing id"),
        (5, "duplicate id 'q2'"),
    ]


def test_a_test_file_missing_an_answer_is_not_gold(tmp_path):
    text = "id\tquestion\tA\tB\tC\tD\tcorrect_answer\nq1\t問？\t甲\t乙\t丙\t丁\t\n"
    with pytest.raises(DataError, match="1 question"):
        load_gold(write(tmp_path, "test.tsv", text))


def test_gold_errors_are_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="needs columns id and correct_answer"):
        load_gold(write(tmp_path, "g.csv", "id,label\nq1,A\n"))


# ---------------------------------------------------------------- letters, answers, ids
@pytest.mark.parametrize(
    ("value", "letter"),
    [("A", "A"), (" b ", "B"), ("Ｃ", "C"), ("ｄ", "D"), ("E", None), ("AB", None), (None, None)],
)
def test_normalize_letter(value, letter):
    assert normalize_letter(value) == letter


def test_format_answer_is_the_answer_marker_line_then_the_reasoning_line():
    assert format_answer("A", "因為……").split("\n") == ["答案：A", "理由：因為……"]


def test_rows_without_an_id_are_numbered_among_data_rows_not_file_lines(tmp_path):
    header = "question\toption_A\toption_B\toption_C\toption_D\tcorrect_answer"
    row = "問？\t甲\t乙\t丙\t丁\tA"
    path = write(tmp_path, "train.tsv", f"{header}\n{row}\n\n{row}\n")
    assert [q.id for q in load_train(path)] == ["1", "2"]
    assert [row_id("", 1), row_id(" q-1 ", 2)] == ["1", "q-1"]


def test_completions_without_ids_use_the_same_numbers(tmp_path):
    from rewards.io import load_completions

    path = write(tmp_path, "c.csv", "completion\n答案：A\n\n答案：B\n")
    assert [row["id"] for row in load_completions(path)] == ["1", "2"]
