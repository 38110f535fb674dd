"""A test set spread across machines: `generate --part K/N` on each, then `inference merge`.

Two parts of six sample questions are answered for real with the transformers backend on
demo-base (8 new tokens, in-process so both share one cached model), then merged.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

import mcq
from inference.backends import clear_cache
from inference.cli import main
from inference.generation import part_range

pytestmark = pytest.mark.slow

QUESTIONS = 6
GENERATE_ARGS = ["--backend", "transformers", "--max-new-tokens", "8"]


@pytest.fixture(scope="module")
def six(tmp_path_factory, sample_test) -> Path:
    lines = sample_test.read_text(encoding="utf-8").splitlines(keepends=True)
    path = tmp_path_factory.mktemp("input") / "six.tsv"
    path.write_text("".join(lines[: QUESTIONS + 1]), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def parts(tmp_path_factory, six, demo_base):
    """Folders of part 1/2 and 2/2, and of part 2/2 made with another seed."""
    root = tmp_path_factory.mktemp("parts")
    folders = {}
    for name, extra in (("1", ["--part", "1/2"]), ("2", ["--part", "2/2"]),
                        ("2-seed1", ["--part", "2/2", "--seed", "1"])):  # fmt: skip
        folders[name] = root / f"part-{name}"
        argv = ["generate", "--model", str(demo_base), "--input", str(six)]
        assert main([*argv, "--output-dir", str(folders[name]), *GENERATE_ARGS, *extra]) == 0
    yield folders
    clear_cache()


@pytest.fixture(scope="module")
def merged(tmp_path_factory, six, parts) -> Path:
    out = tmp_path_factory.mktemp("merged") / "final"
    argv = ["merge", "--input", str(six), "--parts", str(parts["2"]), str(parts["1"])]
    assert main([*argv, "--output-dir", str(out)]) == 0
    return out


def merge(capsys, six: Path, out: Path, *folders: Path) -> tuple[int, str]:
    code = main(
        ["merge", "--input", str(six), "--parts", *map(str, folders), "--output-dir", str(out)]
    )
    return code, capsys.readouterr().err


def records(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def ids(path: Path) -> list[str]:
    return [row[0] for row in records(path)[1:]]


def input_ids(six: Path) -> list[str]:
    return [q.id for q in mcq.load_test(six)]


def test_parts_are_contiguous_slices_whose_sizes_differ_by_at_most_one():
    for count in range(1, 30):
        for n in range(1, count + 1):
            ranges = [part_range(count, k, n) for k in range(1, n + 1)]
            assert ranges[0][0] == 0 and ranges[-1][1] == count
            assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:], strict=False))
            sizes = [stop - start for start, stop in ranges]
            assert max(sizes) - min(sizes) <= 1


def test_each_part_answers_only_its_slice_of_the_input(parts, six):
    expected = input_ids(six)
    assert ids(parts["1"] / "detailed_results.csv") == expected[:3]
    assert ids(parts["2"] / "detailed_results.csv") == expected[3:]


def test_a_part_names_its_submission_as_partial_and_records_the_part(parts, six):
    assert not (parts["2"] / "submission.csv").exists()
    assert ids(parts["2"] / "submission.part-2-of-2.csv") == input_ids(six)[3:]
    assert json.loads((parts["2"] / "run.json").read_text())["part"] == "2/2"


def test_resuming_a_part_folder_as_another_part_is_refused(tmp_path, capsys, parts, six, demo_base):
    folder = shutil.copytree(parts["1"], tmp_path / "part-1")
    code = main(["generate", "--model", str(demo_base), "--input", str(six),
                 "--output-dir", str(folder), *GENERATE_ARGS, "--part", "2/2"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "part '1/2' -> '2/2'" in err


def test_merged_submission_has_every_id_once_in_input_order(merged, six):
    submission = records(merged / "submission.csv")
    assert submission[0] == ["id", "answer"]
    assert [row[0] for row in submission[1:]] == input_ids(six)
    assert all(row[1] in mcq.LETTERS for row in submission[1:])


def test_merged_rows_are_the_parts_rows_unchanged(merged, parts):
    first, second = (
        records(parts["1"] / "detailed_results.csv"),
        records(parts["2"] / "detailed_results.csv"),
    )
    assert records(merged / "detailed_results.csv") == [first[0], *first[1:], *second[1:]]


def test_merged_run_json_is_the_parts_settings_with_no_part(merged, parts):
    manifest = json.loads((merged / "run.json").read_text())
    part = json.loads((parts["1"] / "run.json").read_text())
    assert manifest["part"] is None
    assert [p["part"] for p in manifest["merged_parts"]] == ["1/2", "2/2"]
    assert {k: v for k, v in manifest.items() if k not in ("part", "merged_parts")} == {
        k: v for k, v in part.items() if k != "part"
    }


def test_merged_folder_is_a_finished_run_for_generate_without_part(capsys, merged, six, demo_base):
    before = (merged / "detailed_results.csv").read_bytes()
    code = main(["generate", "--model", str(demo_base), "--input", str(six),
                 "--output-dir", str(merged), *GENERATE_ARGS])  # fmt: skip
    assert code == 0 and "nothing left to generate" in capsys.readouterr().out
    assert (merged / "detailed_results.csv").read_bytes() == before


def test_a_missing_part_is_refused_naming_its_ids(tmp_path, capsys, parts, six):
    code, err = merge(capsys, six, tmp_path / "out", parts["1"])
    assert code == 2 and err.count("\n") == 1
    assert "q004, q005, q006" in err and "part 2/2 is missing" in err
    assert not (tmp_path / "out").exists()


def test_a_part_given_twice_is_refused_naming_the_ids(tmp_path, capsys, parts, six):
    code, err = merge(capsys, six, tmp_path / "out", parts["1"], parts["2"], parts["1"])
    assert code == 2 and err.count("\n") == 1
    assert "3 ids are in more than one part (q001, q002, q003" in err
    assert not (tmp_path / "out").exists()


def test_parts_made_with_other_settings_are_refused(tmp_path, capsys, parts, six):
    code, err = merge(capsys, six, tmp_path / "out", parts["1"], parts["2-seed1"])
    assert code == 2 and err.count("\n") == 1
    assert "other settings" in err and "seed 0 -> 1" in err
    assert not (tmp_path / "out").exists()


def test_parts_of_another_input_are_refused(tmp_path, capsys, parts, six):
    other = tmp_path / "five.tsv"
    other.write_text("".join(six.read_text(encoding="utf-8").splitlines(keepends=True)[:6]))
    code, err = merge(capsys, other, tmp_path / "out", parts["1"], parts["2"])
    assert code == 2 and err.count("\n") == 1 and "another input" in err


def test_more_parts_than_questions_exit_2_before_writing(tmp_path, capsys, six, demo_base):
    code = main(["generate", "--model", str(demo_base), "--input", str(six),
                 "--output-dir", str(tmp_path / "out"), *GENERATE_ARGS, "--part", "7/7"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "too few for 7 parts" in err
    assert not (tmp_path / "out").exists()
