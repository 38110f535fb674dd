"""Every package's command line is one :class:`mcq.cli.CommandTree`: argparse mistakes are one
line on stderr and exit 2, whether started as ``python -m PKG`` or ``zhongli PKG``, and one map
turns what a command raised into its exit code."""

from __future__ import annotations

import errno
import io
import subprocess
import sys

import pytest

import app.cli
import evals.cli
import inference.cli
import rewards.cli
import training.__main__
from mcq.cli import CommandTree, run_command
from mcq.paths import REPO_ROOT
from zhongli.cli import main as zhongli_main

#: Each package's tree, and a light subcommand to give a bad flag to (app has none).
TREES = {
    "rewards": (rewards.cli.CLI, "list"),
    "evals": (evals.cli.CLI, "sample"),
    "inference": (inference.cli.CLI, "merge"),
    "training": (training.__main__.CLI, "check-data"),
    "app": (app.cli.CLI, None),
}


#: A bad line for each case: (argv after the package, what the one line must name).
def _mistakes(package: str) -> dict[str, tuple[list[str], str]]:
    command = TREES[package][1]
    cases = {
        "bad flag": (["--no-such-flag"], ""),
        "bad subcommand": (["no-such-command"], "no-such-command" if command else ""),
    }
    if command:
        cases["bad flag of a subcommand"] = ([command, "--no-such-flag"], f"{package} {command}")
    return cases


CASES = [(package, case) for package in TREES for case in _mistakes(package)]


def _assert_one_line_exit_2(code: int, err: str, launcher: str, package: str, needle: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert len(lines) == 1, err
    assert lines[0].startswith(f"{launcher} {package}"), lines[0]
    assert ": error: " in lines[0] and needle in lines[0]


@pytest.mark.parametrize(("package", "case"), CASES)
def test_a_bad_line_is_one_stderr_line_and_exit_2_as_python_m(package, case):
    argv, needle = _mistakes(package)[case]
    run = subprocess.run(
        [sys.executable, "-m", package, *argv],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    _assert_one_line_exit_2(run.returncode, run.stderr, "python -m", package, needle)
    assert run.stdout == ""


@pytest.mark.parametrize(("package", "case"), CASES)
def test_a_bad_line_is_one_stderr_line_and_exit_2_as_zhongli(package, case, capsys):
    argv, needle = _mistakes(package)[case]
    code = zhongli_main([package, *argv])
    _assert_one_line_exit_2(code, capsys.readouterr().err, "zhongli", package, needle)


def test_zhongli_unknown_package_is_one_line_and_exit_2(capsys):
    assert zhongli_main(["no-such-package"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("zhongli: error: argument PACKAGE: invalid")


@pytest.mark.parametrize("package", [p for p in TREES if TREES[p][1]])
def test_each_tree_lists_exactly_the_commands_its_modules_define(package):
    tree = TREES[package][0]
    parser = tree.make_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert list(sub.choices) == list(tree.commands)


def test_a_tree_imports_only_the_module_of_the_command_it_runs(capsys):
    tree = CommandTree("rewards", {"list": "rewards.commands.list", "broken": "no_such_module"})
    assert tree.main(["list"]) == 0
    assert "neutrality" in capsys.readouterr().out
    with pytest.raises(ModuleNotFoundError):  # --help lists every command, so it needs them all
        tree.main(["--help"])


def _ending(error: BaseException) -> tuple[int, str]:
    def command(args):
        raise error

    shown = io.StringIO()
    return run_command(command, None, prog="demo", stream=shown), shown.getvalue()


@pytest.mark.parametrize(
    "error",
    [
        FileNotFoundError(errno.ENOENT, "No such file or directory", "in.tsv"),
        PermissionError(errno.EACCES, "Permission denied", "in.tsv"),
        IsADirectoryError(errno.EISDIR, "Is a directory", "in.tsv"),
    ],
)
def test_an_os_error_on_a_path_the_user_named_is_exit_2_naming_the_path(error):
    assert _ending(error) == (2, f"demo: error: in.tsv: {error.strerror}\n")


def test_an_os_error_of_the_machine_is_exit_1_in_one_line():
    full = OSError(errno.ENOSPC, "No space left on device", "out.csv")
    assert _ending(full) == (1, "demo: failed: No space left on device: out.csv\n")
    assert _ending(ConnectionResetError("peer went away")) == (1, "demo: failed: peer went away\n")


def test_a_failed_worker_or_upload_is_exit_1_in_one_line():
    from inference.generation.parallel import WorkerFailed
    from training.push import PushFailed

    worker = WorkerFailed("data-parallel worker 1 failed (exit 3); rerun to resume")
    assert _ending(worker) == (1, f"demo: failed: {worker}\n")
    upload = PushFailed("push to me/zhongli failed: 401 Unauthorized")
    assert _ending(upload) == (1, f"demo: failed: {upload}\n")
