"""Asking an OpenAI-compatible endpoint for ratings: settings, concurrency, retries, cache.

One :class:`Judge` per distinct settings (see :func:`get_judge`), shared by every call in the
process. Nothing here raises for a failed request: a rating that cannot be had is a
:class:`Rating` with ``score=None`` and an ``error``, counted in ``Judge.stats``.
Bounds: each request has ``timeout`` seconds and ``retries`` more tries, made by the OpenAI
client itself (exponential backoff with jitter, ``Retry-After`` honoured, on connection
errors, timeouts, 408/409/429 and 5xx). Once a row has used them up on an endpoint-level error
(unreachable, timeout, 429/5xx, 401/403/404), the endpoint is taken as down for ``cooldown``
seconds and the rows still waiting fail at once, so a dead judge costs a batch about two
request budgets. :meth:`Judge.check` asks the endpoint once, before any work, whether it
serves the model at all.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from typing import Any

import mcq
from rewards.judge.cache import RatingCache, default_cache_dir
from rewards.judge.rubric import Rubric, load_rubric, parse_rating
from rewards.registry import Sample

__all__ = ["Judge", "JudgeSettings", "Rating", "get_judge"]

log = logging.getLogger("rewards.judge")

#: Seconds between two failure log lines from one-row calls (batches always log).
_LOG_EVERY_S = 10.0


@dataclass(frozen=True)
class JudgeSettings:
    """What a preset's ``settings: {<name>: {judge: {...}}}`` says (validated).

    Attributes:
        base_url: The endpoint, e.g. ``http://127.0.0.1:8000/v1``.
        model: The served model name.
        rubric: A shipped rubric name (``neutrality``, ``reasoning``) or a YAML path.
        api_key: The key; ``$NAME`` reads the environment variable NAME; unset:
            ``$OPENAI_API_KEY`` or ``"EMPTY"`` (a local vLLM server without ``--api-key``).
        timeout: Seconds per request.
        max_concurrency: Requests in flight at once.
        retries: Extra tries after a failed request (connection, timeout, 429, 5xx), made by
            the OpenAI client with its exponential backoff.
        cache_dir: Folder of the rating cache; ``false`` turns caching off.
        max_tokens: Longest reply; a constrained rating needs a few tokens.
    """

    base_url: str
    model: str
    rubric: str
    api_key: str | None = None
    timeout: float = 30.0
    max_concurrency: int = 8
    retries: int = 2
    cache_dir: str | None = ""
    max_tokens: int = 16

    @classmethod
    def from_mapping(cls, raw: Any, where: str = "judge") -> JudgeSettings:
        """Validate a ``judge:`` mapping; :class:`mcq.DataError` (one line) when it is wrong.

        Example:
            >>> s = JudgeSettings.from_mapping({"base_url": "http://127.0.0.1:8000/v1",
            ...     "model": "demo-grpo", "rubric": "neutrality", "retries": 0})
            >>> s.retries, s.timeout
            (0, 30.0)
            >>> try:
            ...     JudgeSettings.from_mapping({"model": "m"})
            ... except mcq.DataError as err:
            ...     print(err)
            judge: missing base_url, rubric
        """
        if not isinstance(raw, Mapping):
            raise mcq.DataError(f"{where}: expected a mapping with base_url, model and rubric")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(map(str, raw)) - known)
        if unknown:
            raise mcq.DataError(f"{where}: unknown keys {unknown}; use {sorted(known)}")
        missing = [k for k in ("base_url", "model", "rubric") if not raw.get(k)]
        if missing:
            raise mcq.DataError(f"{where}: missing {', '.join(missing)}")
        if not str(raw["base_url"]).startswith(("http://", "https://")):
            raise mcq.DataError(f"{where}: base_url {raw['base_url']!r} is not an http(s) URL")
        values = {k: raw[k] for k in raw}
        for key, kind, low in (
            ("timeout", float, 0.0),
            ("max_concurrency", int, 1),
            ("retries", int, 0),
            ("max_tokens", int, 1),
        ):
            if key in values:
                value = values[key]
                ok = isinstance(value, int | float) and not isinstance(value, bool)
                ok = ok and math.isfinite(value)
                if not ok or (kind is int and value != int(value)) or not value >= low:
                    what = "a number > 0" if kind is float else f"an integer >= {low}"
                    raise mcq.DataError(f"{where}: {key} must be {what}, not {value!r}")
                values[key] = kind(value)
                if key == "timeout" and value <= 0:
                    raise mcq.DataError(f"{where}: timeout must be a number > 0, not {value!r}")
        cache = values.get("cache_dir", "")
        values["cache_dir"] = None if cache is False or cache is None else str(cache)
        for key in ("base_url", "model", "rubric", "api_key"):
            if values.get(key) is not None:
                values[key] = str(values[key])
        return cls(**values)


@dataclass(frozen=True)
class Rating:
    """One judged completion: ``score`` in [0, 1], or ``None`` with the ``error`` why.

    ``reason`` is the error's kind (``HTTP 400``, ``APIConnectionError``, ``no rating``,
    ``endpoint down``), by which failures are counted in the log.
    """

    score: float | None
    rating: str | None = None
    cached: bool = False
    error: str | None = None
    reason: str | None = None

    @classmethod
    def failed(cls, reason: str, detail: str = "") -> Rating:
        """A failed rating; ``error`` is the reason and the detail."""
        return cls(None, error=f"{reason}: {detail}" if detail else reason, reason=reason)


class Judge:
    """Rates completions on a rubric through one endpoint (thread-safe; see :func:`get_judge`).

    Attributes:
        stats: Counts over the judge's life: ``requests`` (HTTP calls made), ``cached``,
            ``rated``, ``failures``.
    """

    def __init__(self, settings: JudgeSettings, cooldown: float | None = None):
        self.settings = settings
        self.rubric: Rubric = load_rubric(settings.rubric)
        folder = default_cache_dir() if settings.cache_dir == "" else settings.cache_dir
        self.cache = RatingCache(folder) if folder is not None else None
        self.cooldown = max(5.0, settings.timeout) if cooldown is None else cooldown
        self.stats: Counter[str] = Counter()
        self._structured = True  # until the server rejects vLLM's structured_outputs field
        self._down_until = 0.0
        self._last_log = 0.0
        self._lock = threading.Lock()
        self._client: Any = None

    def __repr__(self) -> str:
        s = self.settings
        return f"Judge({s.model!r} at {s.base_url}, rubric {self.rubric.name!r})"

    def rate(self, completions: Sequence[str], samples: Sequence[Sample | None]) -> list[Rating]:
        """Rate each completion (cache first, then the endpoint, ``max_concurrency`` at once)."""
        jobs = list(zip(completions, samples, strict=True))
        if len(jobs) <= 1:
            results = [self._rate_one(c, s) for c, s in jobs]
        else:
            workers = min(self.settings.max_concurrency, len(jobs))
            with ThreadPoolExecutor(workers, thread_name_prefix="judge") as pool:
                results = list(pool.map(lambda job: self._rate_one(*job), jobs))
        self._report(results)
        return results

    def _rate_one(self, completion: str, sample: Sample | None) -> Rating:
        try:
            messages = self.rubric.messages(completion, sample)
            key = RatingCache.key(
                self.settings.model,
                self.rubric.digest,
                json.dumps(messages, ensure_ascii=False),
            )
            record = self.cache.get(key) if self.cache else None
            if record is not None and record.get("rating") in self.rubric.scale:
                return self._rated(record["rating"], cached=True)
            reply = self._ask(messages)
            if isinstance(reply, Rating):
                return reply
            rating = parse_rating(reply, self.rubric.ratings)
            if rating is None:
                return Rating.failed("no rating", f"the reply was {reply[:60]!r}")
            if self.cache:
                self.cache.put(key, {"rating": rating, "model": self.settings.model})
            return self._rated(rating, cached=False)
        except Exception as err:  # never let one row end a batch or a training run
            return Rating.failed(type(err).__name__, str(err))

    def _rated(self, rating: str, *, cached: bool) -> Rating:
        return Rating(self.rubric.scale[rating][0], rating, cached=cached)

    def _ask(self, messages: list[dict[str, str]]) -> str | Rating:
        """The reply text, or a failed :class:`Rating` once the client's retries are spent."""
        import openai

        if time.monotonic() < self._down_until:
            return Rating.failed("endpoint down", "an earlier request used its retries")
        try:
            return self._request(messages)
        except openai.APIStatusError as err:
            code = err.status_code
            endpoint = code in (401, 403, 404, 408, 409, 429) or code >= 500
            reason, detail = f"HTTP {code}", _short(err)
        except openai.APIConnectionError as err:  # a timeout is one too
            endpoint = True
            reason, detail = type(err).__name__, _short(err)
        if endpoint:
            self._down_until = time.monotonic() + self.cooldown
        return Rating.failed(reason, detail)

    def check(self) -> str | None:
        """Ask the endpoint once whether it serves the model: ``None`` if so, else one line why.

        Lists the served models (cheap, and what every OpenAI-compatible server answers);
        where the list lacks the model or the server has no list, one reply of one token
        settles it. Uses the client's timeout and retries, as a rating would.

        Example (nothing listens on port 9):
            >>> s = JudgeSettings("http://127.0.0.1:9/v1", "m", "reasoning", retries=0)
            >>> Judge(s).check().startswith("cannot reach http://127.0.0.1:9/v1")
            True
        """
        import openai

        client = self._openai()
        url, model = self.settings.base_url, self.settings.model
        served: list[str] = []
        try:
            try:
                served = [m.id for m in client.models.list()]
                if model in served:
                    return None
            except openai.NotFoundError:
                pass  # no models list here: ask for a reply instead
            client.chat.completions.create(
                model=model,
                messages=[{"role": "user", "content": "1"}],
                max_completion_tokens=1,
            )
            return None
        except openai.BadRequestError:
            return None  # it answered, about the tiny request itself: reachable, model known
        except openai.NotFoundError:
            listed = f" (it serves {', '.join(served[:5])})" if served else ""
            return f"{url} does not serve model {model!r}{listed}"
        except (openai.AuthenticationError, openai.PermissionDeniedError) as err:
            return f"{url} refused the API key (HTTP {err.status_code}: {_short(err)})"
        except openai.APIStatusError as err:
            return f"{url} answered HTTP {err.status_code} ({_short(err)})"
        except openai.APITimeoutError:
            return f"{url} did not answer within {self.settings.timeout:g} s"
        except openai.APIConnectionError as err:
            return f"cannot reach {url} ({_short(err)})"

    def _request(self, messages: list[dict[str, str]]) -> str:
        import openai

        client = self._openai()
        kwargs: dict[str, Any] = {
            "model": self.settings.model,
            "messages": messages,
            "temperature": 0,
            # OpenAI's current name for the reply limit (its newer models refuse "max_tokens");
            # vLLM's server takes it too.
            "max_completion_tokens": self.settings.max_tokens,
        }
        if self._structured:
            choice = {"structured_outputs": {"choice": self.rubric.ratings}}
            try:
                reply = client.chat.completions.create(**kwargs, extra_body=choice)
                return reply.choices[0].message.content or ""
            except openai.BadRequestError:
                # A server without vLLM's field says 400; ask in free text. If that works, stop
                # sending the field; if it fails too, the request itself was bad.
                reply = client.chat.completions.create(**kwargs)
                self._structured = False
                log.info("judge %s: no structured output; parsing free-text ratings", self)
                return reply.choices[0].message.content or ""
        reply = client.chat.completions.create(**kwargs)
        return reply.choices[0].message.content or ""

    def _count(self, what: str) -> None:
        with self._lock:
            self.stats[what] += 1

    def _openai(self) -> Any:
        with self._lock:
            if self._client is None:
                from openai import DefaultHttpxClient, OpenAI

                def sent(request: Any) -> None:  # every HTTP request, retries included
                    self._count("requests")

                self._client = OpenAI(
                    base_url=self.settings.base_url,
                    api_key=_api_key(self.settings.api_key),
                    timeout=self.settings.timeout,
                    max_retries=self.settings.retries,
                    http_client=DefaultHttpxClient(event_hooks={"request": [sent]}),
                )
            return self._client

    def _report(self, results: list[Rating]) -> None:
        failed = Counter(r.reason for r in results if r.score is None)
        with self._lock:
            self.stats["cached"] += sum(r.cached for r in results)
            self.stats["rated"] += sum(r.score is not None for r in results)
            self.stats["failures"] += sum(failed.values())
            now = time.monotonic()
            if not failed or (len(results) == 1 and now - self._last_log < _LOG_EVERY_S):
                return
            self._last_log = now
            total = self.stats["failures"]
        reasons = ", ".join(f"{n} {reason}" for reason, n in failed.most_common())
        log.warning(
            "judge %s: %d of %d ratings failed (%s), scored as not applicable; %d failed so far",
            self,
            sum(failed.values()),
            len(results),
            reasons,
            total,
        )


def _api_key(value: str | None) -> str:
    if value and value.startswith("$"):
        return os.environ.get(value[1:], "") or "EMPTY"
    return value or os.environ.get("OPENAI_API_KEY") or "EMPTY"


def _short(err: Exception) -> str:
    text = str(getattr(err, "message", None) or err)
    if err.__cause__ is not None:  # openai's "Connection error." hides the reason
        text += f" ({err.__cause__})"
    return " ".join(text.split())[:200]


_JUDGES: dict[JudgeSettings, Judge] = {}
_JUDGES_LOCK = threading.Lock()


def get_judge(settings: JudgeSettings) -> Judge:
    """The process's one :class:`Judge` for ``settings`` (its client, cache and counters).

    Example:
        >>> s = JudgeSettings("http://127.0.0.1:9/v1", "m", "reasoning", cache_dir=None)
        >>> get_judge(s) is get_judge(s), get_judge(s).rubric.name
        (True, 'reasoning')
    """
    with _JUDGES_LOCK:
        judge = _JUDGES.get(settings)
        if judge is None:
            judge = _JUDGES[settings] = Judge(settings)
        return judge
