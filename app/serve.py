"""``python -m app``: load the models once, then serve the Gradio app on 127.0.0.1.

The one command of the app, in the house shape: ``make_parser(subparsers=None)`` +
``main(args)``; :mod:`app.cli` runs it through :func:`mcq.cli.run_command`. Exit codes: 0 after
a clean shutdown, 2 for bad flags (one line on stderr), 1 when the models or the server fail
to start, 130 when Ctrl-C stops the model load.
"""

from __future__ import annotations

import argparse
import atexit
import ipaddress
import os
import re
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

from app.limits import LIMITS
from app.service import REQUEST_TIMEOUT_S, ModelChoice
from mcq.cli import command_parser, program
from mcq.errors import UsageError
from mcq.paths import DEMO_ADAPTER, DEMO_BASE

EPILOG = """\
examples:
  python -m app                                   # demo-base vs demo-grpo (LoRA), 127.0.0.1:7860
  python -m app --base-model Qwen/Qwen2.5-7B-Instruct --adapter runs/grpo/final
  python -m app --base-model M --tuned-model runs/grpo/merged --port 8080   # transformers
  python -m app --host 0.0.0.0 --auth alice:s3cret  # reachable from the network: use --auth
  python -m app --root-path /zhongli              # behind a reverse proxy at https://host/zhongli
  python -m app --prompt fewshot                  # questions asked with assets/prompts/fewshot.yaml

Models load once, before the server starts. Scripted use: see the API page (footer link
"Use via API") or app/README.md for a gradio_client example.
"""

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def make_parser(subparsers: Any | None = None) -> argparse.ArgumentParser:
    """The command-line interface of ``python -m app`` (a subcommand ``serve`` of ``subparsers``).

    Example:
        >>> make_parser().parse_args(["--port", "8080"]).port
        8080
    """
    p = command_parser(
        subparsers,
        "serve",
        help="Serve the zhongli app: chat, compare base vs tuned, score completions.",
        epilog=EPILOG,
        prog=program("app"),
    )
    p.add_argument(
        "--base-model",
        default=None,
        help="base model: local path or hub id (default: the embedded demo-base)",
    )
    tuned = p.add_mutually_exclusive_group()
    tuned.add_argument(
        "--tuned-model", default=None, help="tuned model, merged weights (a second engine)"
    )
    tuned.add_argument(
        "--adapter",
        default=None,
        help="tuned = base + this LoRA adapter, served by the base engine "
        "(default with no model flags: the embedded demo-grpo adapter)",
    )
    p.add_argument("--preset", default="default", help="reward preset name or YAML path")
    p.add_argument(
        "--prompt",
        default="default",
        metavar="NAME|PATH",
        help="prompt variant for questions: assets/prompts/ name (default, fewshot) or YAML path",
    )
    # Gradio's own variables set the defaults, as for any Gradio app (argparse converts a
    # string default with `type`, so a bad GRADIO_SERVER_PORT is a one-line usage error).
    p.add_argument(
        "--host",
        default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        help="address to bind (default $GRADIO_SERVER_NAME, else 127.0.0.1)",
    )
    p.add_argument(
        "--port",
        type=int,
        default=os.environ.get("GRADIO_SERVER_PORT", "7860"),
        help="port (default $GRADIO_SERVER_PORT, else 7860)",
    )
    p.add_argument(
        "--root-path",
        default=None,
        metavar="PATH|URL",
        help="the path (or full URL) the app is served under behind a reverse proxy, e.g. "
        "/zhongli (default $GRADIO_ROOT_PATH, else none)",
    )
    p.add_argument("--auth", default=None, metavar="USER:PASS", help="require this login")
    p.add_argument(
        "--backend",
        choices=("auto", "vllm", "transformers"),
        default="auto",
        help="generation backend (auto: vLLM when installed, else transformers)",
    )
    p.add_argument(
        "--share", action="store_true", help="also open a public gradio.live link (off by default)"
    )
    p.add_argument(
        "--concurrency",
        type=int,
        default=2,
        help="requests handled at once, generation included (default 2)",
    )
    p.add_argument(
        "--max-queue", type=int, default=64, help="requests that may wait; more are refused"
    )
    p.add_argument(
        "--max-model-len",
        type=int,
        default=None,
        metavar="TOKENS",
        help="cap the context (prompt + answer) below the model's own, e.g. to save memory; "
        "longer questions are shortened and older chat turns left out to fit",
    )
    p.add_argument(
        "--request-timeout",
        type=float,
        default=REQUEST_TIMEOUT_S,
        metavar="SECONDS",
        help=f"wall-clock limit of one generation; the answer is cut there and the worker "
        f"freed (default {REQUEST_TIMEOUT_S:g})",
    )
    p.set_defaults(func=main)
    return p


def _check_model(flag: str, value: str) -> str:
    if Path(value).expanduser().exists():
        return str(Path(value).expanduser())
    if _HUB_ID.match(value) and not value.startswith((".", "/", "~")):
        return value  # a hub id; whether it can be fetched shows at load time
    raise UsageError(f"{flag} {value}: no such file or directory")


def resolve(args: argparse.Namespace) -> tuple[ModelChoice, tuple[str, str] | None]:
    """Check the flags; return the models to load and the login, or raise :class:`UsageError`."""
    if not 1 <= args.port <= 65535:
        raise UsageError(f"--port {args.port}: must be between 1 and 65535")
    if args.root_path and not args.root_path.startswith(("/", "http://", "https://")):
        raise UsageError(f"--root-path {args.root_path}: must start with / or be an http(s) URL")
    if args.concurrency < 1 or args.max_queue < 1:
        raise UsageError("--concurrency and --max-queue must be at least 1")
    if args.max_model_len is not None and args.max_model_len < 64:
        raise UsageError(f"--max-model-len {args.max_model_len}: must be at least 64 tokens")
    if not args.request_timeout > 0 or args.request_timeout == float("inf"):
        raise UsageError(f"--request-timeout {args.request_timeout:g}: must be a positive number")
    auth = None
    if args.auth is not None:
        user, sep, password = args.auth.partition(":")
        if not sep or not user or not password:
            raise UsageError("--auth must be USER:PASS with a non-empty user and password")
        auth = (user, password)
    if args.base_model is None and not DEMO_BASE.exists():
        raise UsageError(
            "the demo models come only with a checkout of zhongli (assets/models/): give "
            "--base-model and --adapter or --tuned-model"
        )
    if args.base_model is None:
        if args.tuned_model or args.adapter:
            base = str(DEMO_BASE)
        else:
            return ModelChoice(str(DEMO_BASE), None, str(DEMO_ADAPTER), args.backend), auth
    else:
        base = _check_model("--base-model", args.base_model)
    tuned = _check_model("--tuned-model", args.tuned_model) if args.tuned_model else None
    adapter = _check_model("--adapter", args.adapter) if args.adapter else None
    if not tuned and not adapter:
        raise UsageError("with --base-model, give --tuned-model or --adapter for the tuned side")
    backend = args.backend
    if tuned:
        from inference.backends import resolve_backend_name

        # inference keeps one vLLM engine per process, so two full models need transformers.
        if backend == "vllm":
            raise UsageError(
                "--backend vllm runs one engine per process: give the tuned side as --adapter, "
                "or use --backend transformers with --tuned-model"
            )
        if resolve_backend_name(backend) == "vllm":
            print(
                "zhongli app: --tuned-model loads a second model; serving both with transformers "
                "(--adapter would let one vLLM engine serve both)",
                file=sys.stderr,
            )
        backend = "transformers"
    return ModelChoice(base, tuned, adapter, backend), auth


def _check_preset(preset: str, prompt: str = "default") -> None:
    """Raise :class:`UsageError` unless ``preset`` and ``prompt`` name shipped files or
    readable YAML files."""
    import mcq
    import rewards

    rewards.load_preset(preset)  # their errors name the preset and the prompt
    mcq.load_prompt(prompt)


def _port_busy(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be bound right now, or None when it can."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as err:
        return f"cannot resolve {host}: {err.strerror or err}"
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as err:
            return err.strerror or str(err)
    return None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(args: argparse.Namespace) -> int:
    """Check the flags, load the models, serve until Ctrl-C or SIGTERM; returns the exit code.

    Raises :class:`mcq.errors.UsageError` for a bad flag (before anything loads).
    """
    models, auth = resolve(args)
    _check_preset(args.preset, args.prompt)

    busy = _port_busy(args.host, args.port)
    if busy:  # before the slow model load, not after it
        print(f"python -m app: cannot serve on {args.host}:{args.port}: {busy}", file=sys.stderr)
        return 1

    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from app.service import AppService

    engine_kwargs = {"max_model_len": args.max_model_len} if args.max_model_len else {}
    service = AppService(
        models,
        preset=args.preset,
        engine_kwargs=engine_kwargs,
        prompt=args.prompt,
        request_timeout=args.request_timeout,
    )
    atexit.register(service.close)  # scored files go with the app, however it ends
    tuned_desc = models.tuned_model or f"{models.base_model} + adapter {models.adapter}"
    print(
        f"zhongli app: loading models (backend {models.backend}) — base {models.base_model}; "
        f"tuned {tuned_desc}. This happens once (vLLM: ~15-60 s, transformers: a few s).",
        flush=True,
    )
    try:
        seconds = service.load()
    except Exception as err:  # a model that cannot load is a start-up failure, not a bug
        print(f"python -m app: could not load the models: {_one_line(err)}", file=sys.stderr)
        return 1
    print(f"zhongli app: {service.status_line()}", flush=True)

    from app.ui import CSS, build_app

    demo = build_app(service)
    demo.queue(default_concurrency_limit=args.concurrency, max_size=args.max_queue)
    if not _is_loopback(args.host) and auth is None:
        print(
            f"zhongli app: WARNING: serving on {args.host} without --auth; anyone who can reach "
            "this machine can use the models",
            file=sys.stderr,
        )
    try:
        _, local_url, share_url = demo.launch(
            server_name=args.host,
            server_port=args.port,
            share=args.share,
            auth=auth,
            root_path=args.root_path,
            max_file_size=LIMITS.upload_bytes,
            prevent_thread_lock=True,
            quiet=True,
            show_error=False,
            enable_monitoring=False,
            mcp_server=False,
            ssr_mode=False,
            run_history=False,
            footer_links=["api", "settings"],
            css=CSS,
        )
    except OSError as err:
        print(
            f"python -m app: cannot serve on {args.host}:{args.port}: {_one_line(err)}",
            file=sys.stderr,
        )
        return 1
    print(f"zhongli app: ready at {local_url} (models loaded in {seconds:.1f} s)", flush=True)
    if share_url:
        print(f"zhongli app: public link {share_url}", flush=True)
    # SIGTERM (service managers, the tests) stops the server the same way Ctrl-C does.
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("zhongli app: stopping", flush=True)
    finally:
        demo.close()
        service.close()
    return 0


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _one_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}".rstrip(": ")
