"""rewards.judgments: the one reader of labels and preference pairs behind `evals rewards` and
`training rm`, so a file valid for one is valid for the other."""

from __future__ import annotations

import json

import pytest

import mcq
from evals.cli import main as evals_main
from rewards.judgments import load_labelled, read_pairs
from training.rm_data import load_pairs

GOOD = "答案：A\n理由：首先，依憲法增修條文的規定，總統任期為四年，連選得連任一次。"
BAD = "答案：B\n理由：絕對是六年，毫無疑問。"


def write_pairs(path, records):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    return path


@pytest.fixture
def mixed_pairs(tmp_path):
    return write_pairs(
        tmp_path / "pairs.jsonl",
        [
            {"id": "ok", "question": "總統任期？", "chosen": GOOD, "rejected": BAD},
            {  # TRL's conversational format: the answer is the last message
                "id": "chat",
                "chosen": [
                    {"role": "user", "content": "題"},
                    {"role": "assistant", "content": GOOD},
                ],
                "rejected": [
                    {"role": "user", "content": "題"},
                    {"role": "assistant", "content": BAD},
                ],
            },
            {"id": "same", "chosen": GOOD, "rejected": GOOD},
            {"id": "empty", "chosen": GOOD, "rejected": "  "},
            {"id": "half", "chosen": GOOD},
        ],
    )


def test_invalid_pairs_are_named_and_both_commands_refuse_them(mixed_pairs, tmp_path, capsys):
    with pytest.raises(mcq.DataError) as raised:
        read_pairs(mixed_pairs)
    message = str(raised.value)
    assert "3 invalid pair row(s)" in message
    assert "line 3: 'chosen' and 'rejected' are the same text" in message
    assert "line 4: empty 'rejected'" in message and "line 5: no 'rejected' field" in message
    with pytest.raises(mcq.DataError, match="3 invalid pair row"):
        load_pairs(mixed_pairs)
    code = evals_main(["rewards", "--pairs", str(mixed_pairs), "--output-dir", str(tmp_path / "r")])
    assert code == 2 and "3 invalid pair row(s)" in capsys.readouterr().err


def test_skip_invalid_keeps_the_same_pairs_for_both_commands(mixed_pairs, tmp_path):
    kept = read_pairs(mixed_pairs, skip_invalid=True)
    assert [p["id"] for p in kept] == ["ok", "chat"]
    assert kept[1]["chosen"] == GOOD and kept[0]["group"] == "總統任期？"
    assert [p["id"] for p in load_pairs(mixed_pairs, skip_invalid=True)] == ["ok", "chat"]
    out = tmp_path / "r"
    flags = ["--pairs", str(mixed_pairs), "--skip-invalid", "--resamples", "50"]
    assert evals_main(["rewards", *flags, "--output-dir", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text("utf-8"))
    assert summary["components"]["total"]["n"] == 2
    assert "3 invalid pair(s) left out" in (out / "report.md").read_text("utf-8")


def test_labels_in_any_common_spelling_and_bad_ones_skipped(tmp_path):
    path = tmp_path / "labelled.csv"
    path.write_text(
        "id,completion,human\n1,答案：A,good\n2,答案：B,bad\n3,答案：C,\n4,答案：D,maybe\n",
        "utf-8",
    )
    with pytest.raises(mcq.DataError, match="line 5: label 'human' is 'maybe'"):
        load_labelled(path, "human")
    rows, labels, left_out = load_labelled(path, "HUMAN", skip_invalid=True)
    assert [r["id"] for r in rows] == ["1", "2"] and labels == [1, 0] and left_out == 2
