"""Run ``python -m app`` as a child process and wait until it serves (tests, benchmark, screenshot)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from mcq.paths import REPO_ROOT

#: The line ``app.cli`` prints once the server answers; the URL follows it.
READY_MARK = "zhongli app: ready at "


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_app(
    args: Sequence[str] = (),
    *,
    log_path: Path,
    timeout: float = 300,
    env: Mapping[str, str] | None = None,
) -> Iterator[str]:
    """Start ``python -m app --port <free> *args``; yield its URL once ready; stop it after.

    ``env`` adds to (or overrides) this process's environment for the app, e.g. ``TMPDIR``.

    Raises RuntimeError with the end of the log when the app exits or is not ready in time.
    """
    cmd = [sys.executable, "-m", "app", "--port", str(free_port()), *args]
    environ = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1"}
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**environ, **(env or {})},
            start_new_session=True,
        )
    try:
        yield _wait_ready(proc, log_path, timeout)
    finally:
        _stop(proc)


def _wait_ready(proc: subprocess.Popen, log_path: Path, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        text = log_path.read_text(errors="replace")
        for line in text.splitlines():
            if line.startswith(READY_MARK):
                return line[len(READY_MARK) :].split()[0]
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited with code {proc.returncode}:\n{text[-3000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the app was not ready after {timeout:.0f} s:\n{text[-3000:]}")
        time.sleep(0.25)


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM the app's process group; SIGKILL it if it has not gone after 20 s."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
