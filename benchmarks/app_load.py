"""Load test of the app: a bounded burst of concurrent score and compare requests over loopback.

Starts ``python -m app`` on a free 127.0.0.1 port (or uses ``--url``), waits until it is ready,
then sends ``--score`` score requests and ``--compare`` compare requests, shuffled, from
``--concurrency`` client threads through gradio_client. Every request must come back with real
content (a total in [0, 1]; both sides for compare) before ``--timeout`` seconds. Prints
latency percentiles per endpoint and the success count; exit code 0 when every request
succeeded, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # also runnable as `python benchmarks/app_load.py`
    sys.path.insert(0, str(ROOT))

import mcq  # noqa: E402
from app.process import running_app  # noqa: E402
from mcq.files import write_atomic  # noqa: E402
from mcq.paths import SAMPLE_TEST, SAMPLE_TRAIN  # noqa: E402

EPILOG = """\
example:
  python -m benchmarks.app_load --score 20 --compare 8 --concurrency 8 --timeout 300
  python -m benchmarks.app_load --url http://127.0.0.1:7860/   # an app that is already running
"""


@dataclass
class Outcome:
    """One request: which endpoint, how long it took, and whether its answer was valid."""

    kind: str
    seconds: float
    ok: bool
    error: str = ""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.app_load",
        description="Burst of concurrent score + compare requests against the zhongli app.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--score", type=int, default=20, help="score requests (default 20)")
    p.add_argument("--compare", type=int, default=8, help="compare requests (default 8)")
    p.add_argument("--concurrency", type=int, default=8, help="client threads (default 8)")
    p.add_argument("--timeout", type=float, default=300, help="hard limit for the burst, s")
    p.add_argument("--max-tokens", type=int, default=128, help="max new tokens per answer")
    p.add_argument("--url", default=None, help="use this running app instead of starting one")
    p.add_argument(
        "--backend",
        choices=("auto", "vllm", "transformers"),
        default="transformers",
        help="backend of the app it starts (default transformers)",
    )
    p.add_argument("--app-concurrency", type=int, default=2, help="the started app's --concurrency")
    p.add_argument("--json", default=None, help="also write the results to this JSON file")
    return p


def make_requests(n_score: int, n_compare: int, max_tokens: int) -> list[tuple[str, tuple]]:
    """The burst: score requests built from the train sample, compare from the test sample."""
    train = mcq.load_train(SAMPLE_TRAIN)
    test = mcq.load_test(SAMPLE_TEST)
    requests: list[tuple[str, tuple]] = []
    for i in range(n_score):
        q = train[i % len(train)]
        completion = mcq.format_answer(q.correct_answer, q.reasoning)
        options = [q.options[x] for x in mcq.LETTERS]
        requests.append(("score", (completion, q.question, *options, q.correct_answer or "")))
    for i in range(n_compare):
        q = test[i % len(test)]
        options = [q.options[x] for x in mcq.LETTERS]
        requests.append(("compare", (q.question, *options, "", 0.0, max_tokens)))
    random.Random(0).shuffle(requests)
    return requests


def _valid(kind: str, result: Any) -> bool:
    if kind == "score":
        return 0.0 <= result["total"] <= 1.0 and "neutrality" in result["components"]
    return all(
        0.0 <= result[side]["total"] <= 1.0 and result[side]["text"] for side in ("base", "tuned")
    )


def run_burst(
    url: str, requests: list[tuple[str, tuple]], concurrency: int, timeout: float
) -> tuple[list[Outcome], float]:
    """Send every request from ``concurrency`` threads; return outcomes and the wall time."""
    from gradio_client import Client
    from tqdm import tqdm

    client = Client(url, verbose=False, analytics_enabled=False)
    start = time.monotonic()
    deadline = start + timeout

    def one(kind: str, args: tuple) -> Outcome:
        t0 = time.monotonic()
        try:
            job = client.submit(*args, api_name=f"/{kind}")
            result = job.result(timeout=max(0.1, deadline - time.monotonic()))
            return Outcome(kind, time.monotonic() - t0, _valid(kind, result))
        except Exception as err:  # every failure is counted and reported, not raised
            return Outcome(kind, time.monotonic() - t0, False, f"{type(err).__name__}: {err}")

    outcomes: list[Outcome] = []
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        futures = {pool.submit(one, kind, args): kind for kind, args in requests}
        pending = set(futures)
        with tqdm(total=len(futures), desc="requests", unit="req") as bar:
            while pending and time.monotonic() < deadline:
                done, pending = wait(
                    pending, timeout=deadline - time.monotonic(), return_when=FIRST_COMPLETED
                )
                for future in done:
                    outcomes.append(future.result())
                    bar.update()
        for future in pending:
            future.cancel()
            outcomes.append(Outcome(futures[future], timeout, False, "timed out"))
    return outcomes, time.monotonic() - start


def percentiles(seconds: list[float]) -> dict[str, float]:
    """p50/p90/p99/max (linear interpolation) of latencies, in seconds."""
    import numpy as np

    if not seconds:
        return {"p50": float("nan"), "p90": float("nan"), "p99": float("nan"), "max": float("nan")}
    values = np.asarray(seconds)
    return {
        "p50": float(np.percentile(values, 50)),
        "p90": float(np.percentile(values, 90)),
        "p99": float(np.percentile(values, 99)),
        "max": float(values.max()),
    }


def report(outcomes: list[Outcome], wall: float) -> dict[str, Any]:
    """Per-endpoint and overall success counts and latency percentiles."""
    summary: dict[str, Any] = {"wall_seconds": round(wall, 2), "endpoints": {}}
    for kind in ("score", "compare", "all"):
        chosen = [o for o in outcomes if kind in ("all", o.kind)]
        ok = [o.seconds for o in chosen if o.ok]
        summary["endpoints"][kind] = {
            "requests": len(chosen),
            "ok": len(ok),
            **{k: round(v, 3) for k, v in percentiles(ok).items()},
        }
    summary["errors"] = sorted({o.error for o in outcomes if o.error})[:10]
    summary["all_ok"] = all(o.ok for o in outcomes)
    return summary


def print_report(summary: dict[str, Any], args: argparse.Namespace) -> None:
    print(
        f"\nburst: {args.score} score + {args.compare} compare, {args.concurrency} client threads,"
        f" wall {summary['wall_seconds']:.1f} s"
    )
    print(f"{'endpoint':<9} {'ok':>7} {'p50 s':>7} {'p90 s':>7} {'p99 s':>7} {'max s':>7}")
    for kind, row in summary["endpoints"].items():
        print(
            f"{kind:<9} {row['ok']:>3}/{row['requests']:<3} {row['p50']:>7.2f} {row['p90']:>7.2f}"
            f" {row['p99']:>7.2f} {row['max']:>7.2f}"
        )
    for error in summary["errors"]:
        print(f"error: {error}")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if min(args.score, args.compare) < 0 or args.concurrency < 1 or args.timeout <= 0:
        print("app_load: counts must be >= 0, --concurrency >= 1, --timeout > 0", file=sys.stderr)
        return 2
    requests = make_requests(args.score, args.compare, args.max_tokens)
    if args.url:
        outcomes, wall = run_burst(args.url, requests, args.concurrency, args.timeout)
    else:
        log = Path(tempfile.mkdtemp(prefix="zhongli-load-")) / "app.log"
        app_args = ["--backend", args.backend, "--concurrency", str(args.app_concurrency)]
        t0 = time.monotonic()
        try:
            with running_app(app_args, log_path=log, timeout=300) as url:
                started = time.monotonic() - t0
                print(f"app ({args.backend}) ready at {url} in {started:.1f} s")
                outcomes, wall = run_burst(url, requests, args.concurrency, args.timeout)
        except RuntimeError as err:
            print(f"app_load: {str(err).splitlines()[0]} (log: {log})", file=sys.stderr)
            return 1
    summary = report(outcomes, wall)
    summary["app_start_seconds"] = None if args.url else round(started, 2)
    summary["settings"] = {
        k: getattr(args, k)
        for k in (
            "score",
            "compare",
            "concurrency",
            "timeout",
            "max_tokens",
            "backend",
            "app_concurrency",
        )
    }
    print_report(summary, args)
    if args.json:
        write_atomic(args.json, json.dumps(summary, indent=2))
    return 0 if summary["all_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
