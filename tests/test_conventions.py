"""Conventions every command shares: ``-q/--quiet`` and ``-v/--verbose``; the app's host, port
and proxy path from Gradio's environment variables."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from mcq.cli import apply_verbosity
from mcq.errors import UsageError
from mcq.paths import REPO_ROOT


def _subcommand_parsers():
    """(name, parser) of every package command, as ``python -m PKG --help`` lists them."""
    import app.serve
    import evals.cli
    import inference.cli
    import rewards.cli
    import training.__main__
    import training.demo

    yield "app", app.serve.make_parser()
    yield "training demo", training.demo.make_parser()
    for package, parser in (
        ("rewards", rewards.cli.make_parser()),
        ("evals", evals.cli.make_parser()),
        ("inference", inference.cli.build_parser()),
        ("training", training.__main__.build_parser()),
    ):
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        for name, command in sub.choices.items():
            if (package, name) == ("training", "demo"):
                continue  # a placeholder: training.demo's own parser runs it (above)
            yield f"{package} {name}", getattr(command, "real", lambda c=command: c)()


def test_every_command_takes_quiet_and_verbose():
    seen = []
    for name, parser in _subcommand_parsers():
        flags = {s for action in parser._actions for s in action.option_strings}
        assert {"-q", "--quiet", "-v", "--verbose"} <= flags, name
        seen.append(name)
    assert {"rewards score", "evals score", "training grpo", "inference generate", "app"} <= set(
        seen
    )


def test_quiet_and_verbose_together_are_refused(capsys):
    from rewards.cli import main

    with pytest.raises(SystemExit) as done:
        main(["list", "-q", "-v"])
    assert done.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def _score(tmp_path, *flags: str) -> subprocess.CompletedProcess:
    rows = tmp_path / "many.jsonl"
    if not rows.exists():  # enough rows for the progress bar (2,000)
        line = json.dumps({"completion": "答案：B\n理由：各方可能有不同看法。"}, ensure_ascii=False)
        rows.write_text((line + "\n") * 2000, encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "rewards", "score", "--input", str(rows), "--output",
         str(tmp_path / "scored.csv"), *flags],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_quiet_score_shows_no_progress_bar_but_the_same_results(tmp_path):
    loud = _score(tmp_path)
    assert loud.returncode == 0, loud.stderr
    assert "scoring:" in loud.stderr and "2000/2000" in loud.stderr
    quiet = _score(tmp_path, "-q")
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""
    assert quiet.stdout == loud.stdout  # the summary is the command's output, not chatter


def _after_flags(flag_values: str) -> list[str]:
    """What ``apply_verbosity`` leaves behind, seen in a fresh interpreter (it changes
    process-wide logging, environment and library switches)."""
    code = (
        "import argparse, logging, os\n"
        "from mcq.cli import apply_verbosity\n"
        f"args = argparse.Namespace({flag_values}, disable_tqdm=False, log_level='passive')\n"
        "apply_verbosity(args)\n"
        "print(logging.getLevelName(logging.getLogger().getEffectiveLevel()), args.disable_tqdm,"
        " args.log_level, os.environ.get('TQDM_DISABLE'))"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    return run.stdout.split()


def test_verbose_turns_on_debug_logging():
    assert _after_flags("quiet=False, verbose=True") == ["DEBUG", "False", "debug", "None"]


def test_quiet_keeps_warnings_and_switches_off_progress_bars_and_trainer_bars():
    assert _after_flags("quiet=True, verbose=False") == ["WARNING", "True", "warning", "1"]


def test_no_flag_changes_nothing():
    assert _after_flags("quiet=False, verbose=False") == ["WARNING", "False", "passive", "None"]
    apply_verbosity(["--not", "a", "namespace"])  # training hands run_command an argv list


# --- the app --------------------------------------------------------------------------------


def test_app_host_and_port_default_to_gradios_variables(monkeypatch):
    from app import serve

    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    monkeypatch.setenv("GRADIO_SERVER_PORT", "8123")
    args = serve.make_parser().parse_args([])
    assert (args.host, args.port) == ("0.0.0.0", 8123)
    flags = serve.make_parser().parse_args(["--host", "127.0.0.1", "--port", "9000"])
    assert (flags.host, flags.port) == ("127.0.0.1", 9000)  # a flag beats the variable


def test_app_without_gradio_variables_serves_on_loopback_7860(monkeypatch):
    from app import serve

    monkeypatch.delenv("GRADIO_SERVER_NAME", raising=False)
    monkeypatch.delenv("GRADIO_SERVER_PORT", raising=False)
    args = serve.make_parser().parse_args([])
    assert (args.host, args.port, args.root_path) == ("127.0.0.1", 7860, None)


def test_app_bad_gradio_server_port_is_a_usage_error(monkeypatch, capsys):
    from app.cli import main

    monkeypatch.setenv("GRADIO_SERVER_PORT", "eighty")
    with pytest.raises(SystemExit) as done:
        main([])
    assert done.value.code == 2
    assert "invalid int value: 'eighty'" in capsys.readouterr().err


@pytest.mark.parametrize("root_path", ["/zhongli", "https://example.org/zhongli"])
def test_app_root_path_behind_a_proxy_is_accepted(root_path):
    from app import serve

    args = serve.make_parser().parse_args(["--root-path", root_path])
    serve.resolve(args)  # no UsageError
    assert args.root_path == root_path


def test_app_root_path_must_be_a_path_or_url():
    from app import serve

    args = serve.make_parser().parse_args(["--root-path", "zhongli"])
    with pytest.raises(UsageError, match="--root-path zhongli: must start with /"):
        serve.resolve(args)


def test_app_without_the_demo_models_asks_for_a_model(monkeypatch, tmp_path):
    from app import serve

    monkeypatch.setattr(serve, "DEMO_BASE", tmp_path / "demo-base")  # as in an installed copy
    with pytest.raises(UsageError, match="demo models come only with a checkout"):
        serve.resolve(serve.make_parser().parse_args([]))
