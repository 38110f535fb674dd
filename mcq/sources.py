"""Record sources: JSON/JSONL, Parquet, a ``datasets`` ``save_to_disk`` folder, a hub dataset.

:func:`mcq.tables.read_table` reads every input through here or through the CSV/TSV reader, so
every command that reads questions, completions, labels or pairs takes the same forms:

* JSON Lines (one object a line) or one JSON array of objects (``.json``/``.jsonl``, or text
  that starts with ``{`` or ``[``);
* a Parquet file (``.parquet``), bounded by ``--max-input-mb`` like any file;
* a folder written by ``Dataset.save_to_disk`` (a ``DatasetDict`` folder with one split, or
  the folder of the split to read);
* a hub dataset ``hf:NAME[:CONFIG]:SPLIT`` through ``datasets.load_dataset``. Without a network
  it fails in seconds (a short connection check first); ``HF_HUB_OFFLINE=1`` reads the cache.

Values keep their Python types (a conversation stays a list of messages).

Example:
    >>> is_dataset("hf:ceval/ceval-exam:law:val"), is_dataset("train.tsv")
    (True, False)
    >>> hub_id("hf:ceval/ceval-exam:law:val"), hub_id("hf:org/set:test")
    (('ceval/ceval-exam', 'law', 'val'), ('org/set', None, 'test'))
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mcq.errors import DataError, first_line

__all__ = [
    "HUB_PREFIX",
    "dataset_rows",
    "hub_endpoint",
    "hub_id",
    "hub_offline",
    "hub_unreachable",
    "is_dataset",
    "is_json",
    "json_records",
    "numbered_json",
    "source_exists",
]

#: Prefix of a hub dataset id given where a file is expected.
HUB_PREFIX = "hf:"
HUB_FORM = "hf:NAME[:CONFIG]:SPLIT"
_DISK_MARKERS = ("state.json", "dataset_dict.json")  # what save_to_disk writes
#: Seconds the hub has to accept a connection (DNS included) before it counts as unreachable.
HUB_TIMEOUT_S = 3.0
#: What puts the hub offline: the first two for models (as huggingface_hub reads them), all
#: three for datasets.
_OFFLINE_VARS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE")


def is_dataset(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a hub id, a Parquet file or a ``save_to_disk`` folder (not text)."""
    text = str(path)
    if text.startswith(HUB_PREFIX):
        return True
    if text.lower().endswith(".parquet"):
        return True
    folder = Path(text)
    return folder.is_dir() and any((folder / name).is_file() for name in _DISK_MARKERS)


def source_exists(path: str | os.PathLike[str]) -> bool:
    """An input that can be read: a file, a ``save_to_disk`` folder, or a hub id (checked later)."""
    return Path(path).is_file() or is_dataset(path)


def is_json(path: str | os.PathLike[str], text: str) -> bool:
    """Whether a file is JSON Lines or a JSON array (by extension, else by its first character)
    rather than a CSV/TSV table.

    Example:
        >>> is_json(Path("a.csv"), '[{"id": 1}]'), is_json(Path("a.txt"), "id,completion")
        (True, False)
    """
    return Path(path).suffix.lower() in (".jsonl", ".json", ".ndjson") or text.lstrip().startswith(
        ("{", "[")
    )


def numbered_json(path: str | os.PathLike[str], text: str) -> tuple[str, list[tuple[int, Any]]]:
    """``(unit, [(number, value), ...])``: JSONL values by line (``"line"``), or a JSON array's
    items (``"item"``); blank lines are skipped.

    Raises:
        DataError: invalid JSON, saying where.
    """
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as err:
            raise DataError(f"{path}: line {err.lineno}: not valid JSON ({err.msg})") from None
        if not isinstance(items, list):
            raise DataError(f"{path}: expected a JSON array of objects")
        return "item", list(enumerate(items, 1))
    values = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            values.append((number, json.loads(line)))
        except json.JSONDecodeError as err:
            raise DataError(f"{path}: line {number}: not valid JSON ({err.msg})") from None
    return "line", values


def json_records(path: str | os.PathLike[str], text: str) -> Iterable[tuple[str, dict[str, Any]]]:
    """``(where, record)`` pairs from JSONL, or from one JSON array of objects (``where`` is
    ``"line N"`` or ``"item N"``, for error messages).

    Raises:
        DataError: invalid JSON, or a record that is not an object (saying where).
    """
    unit, values = numbered_json(path, text)
    for number, record in values:
        if not isinstance(record, dict):
            raise DataError(f"{path}: {unit} {number}: expected a JSON object")
        yield f"{unit} {number}", record


def hub_id(source: str) -> tuple[str, str | None, str]:
    """``(name, config, split)`` of ``hf:NAME[:CONFIG]:SPLIT``.

    Raises:
        DataError: no split, or too many parts.

    Example:
        >>> hub_id("hf:ceval/ceval-exam")
        Traceback (most recent call last):
        ...
        mcq.errors.DataError: hf:ceval/ceval-exam: a hub dataset needs a split: hf:NAME[:CONFIG]:SPLIT (e.g. hf:ceval/ceval-exam:law:val)
    """
    parts = [part.strip() for part in source[len(HUB_PREFIX) :].split(":")]
    if len(parts) not in (2, 3) or not all(parts):
        example = f"{HUB_PREFIX}{parts[0] or 'ceval/ceval-exam'}:law:val"
        reason = "needs a split" if len(parts) < 3 else "has too many parts"
        if len(parts) in (2, 3) and not all(parts):
            reason = "has an empty part"
        raise DataError(f"{source}: a hub dataset {reason}: {HUB_FORM} (e.g. {example})")
    if len(parts) == 2:
        return parts[0], None, parts[1]
    return parts[0], parts[1], parts[2]


def dataset_rows(path: str | os.PathLike[str], *, max_mb: float | None = None) -> list[dict]:
    """The rows of a Parquet file, a ``save_to_disk`` folder or a hub dataset, as dicts.

    Raises:
        DataError: unreadable, over the size bound, or a hub dataset that cannot be loaded
            (one line saying what to do).
    """
    text = str(path)
    if text.startswith(HUB_PREFIX):
        return _hub_rows(text)
    if text.lower().endswith(".parquet"):
        return _parquet_rows(Path(text), max_mb)
    return _disk_rows(Path(text), max_mb)


def _parquet_rows(path: Path, max_mb: float | None) -> list[dict]:
    from mcq.files import read_bytes

    raw = read_bytes(path, max_mb=max_mb, what="Parquet file")
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError(f"{path}: reading Parquet needs pyarrow (pip install pyarrow)") from None
    try:
        # One thread: the bytes are in memory already, and Arrow's thread pools could abort the
        # process at exit ("terminate called without an active exception", seen under a memory cap).
        table = pq.read_table(pa.BufferReader(raw), use_threads=False, pre_buffer=False)
        return table.to_pylist()
    except (pa.ArrowException, OSError) as err:
        raise DataError(
            f"{path}: not a readable Parquet file ({first_line(err, typed=True)})"
        ) from None


def _disk_rows(folder: Path, max_mb: float | None) -> list[dict]:
    from mcq.files import check_size

    check_size(folder, sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()), max_mb)
    datasets = _datasets(folder)
    try:
        loaded = datasets.load_from_disk(str(folder))
    except Exception as err:  # datasets raises several types for a damaged folder
        raise DataError(
            f"{folder}: not a readable save_to_disk folder ({first_line(err, typed=True)})"
        ) from None
    if isinstance(loaded, datasets.DatasetDict):
        if len(loaded) != 1:
            splits = ", ".join(loaded)
            raise DataError(
                f"{folder}: holds the splits {splits}; pass one split's folder "
                f"(e.g. {folder / next(iter(loaded))})"
            )
        loaded = next(iter(loaded.values()))
    return loaded.to_list()


def _hub_rows(source: str) -> list[dict]:
    name, config, split = hub_id(source)
    offline = hub_offline(datasets=True) is not None
    if not offline and hub_unreachable():
        raise DataError(
            f"{source}: cannot reach the Hugging Face hub at {hub_endpoint()} (no network?); set "
            "HF_HUB_OFFLINE=1 to read a cached copy, or pass a Parquet file or save_to_disk folder"
        )
    datasets = _datasets(source)
    try:
        with _offline(offline):
            loaded = datasets.load_dataset(name, config, split=split)
    except Exception as err:  # not found, bad config or split, not cached offline, ...
        raise DataError(
            f"{source}: cannot load the hub dataset ({first_line(err, typed=True)})"
        ) from None
    return loaded.to_list()


@contextlib.contextmanager
def _offline(offline: bool) -> Iterator[None]:
    """Honour an offline variable set after ``datasets`` was imported (it reads them once)."""
    import datasets.config
    import huggingface_hub.constants

    flags = [
        (huggingface_hub.constants, "HF_HUB_OFFLINE"),
        (datasets.config, "HF_HUB_OFFLINE"),
        (datasets.config, "HF_DATASETS_OFFLINE"),
    ]
    saved = [(owner, name, getattr(owner, name, False)) for owner, name in flags]
    try:
        if offline:
            for owner, name in flags:
                setattr(owner, name, True)
        yield
    finally:
        for owner, name, value in saved:
            setattr(owner, name, value)


def hub_endpoint() -> str:
    """The hub's address: ``HF_ENDPOINT``, else https://huggingface.co."""
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")


def hub_offline(*, datasets: bool = False) -> str | None:
    """The variable that puts the hub offline (``HF_HUB_OFFLINE``, ``TRANSFORMERS_OFFLINE``, and
    for ``datasets`` also ``HF_DATASETS_OFFLINE``) when one is set, else None."""
    names = _OFFLINE_VARS if datasets else _OFFLINE_VARS[:2]
    on = ("1", "true", "yes", "on")
    return next((name for name in names if os.environ.get(name, "").strip().lower() in on), None)


def hub_unreachable() -> str | None:
    """Why the model hub cannot be used now, or None when it can: an offline variable is set
    (:func:`hub_offline`), or the hub's host (through the proxy the environment names, if any)
    does not accept a connection within :data:`HUB_TIMEOUT_S` seconds.

    Checked in seconds, before a library's own retries (which take about a minute).
    """
    offline = hub_offline()
    if offline:
        return f"{offline} is set"
    endpoint = hub_endpoint()
    error = _connect_error(endpoint)
    return None if error is None else f"{endpoint}: {error}"


def _connect_error(url: str) -> str | None:
    """Why a TCP connection to ``url``'s host (or its proxy) fails, None when it opens."""
    from urllib.request import getproxies, proxy_bypass

    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    proxy = getproxies().get(parts.scheme)
    if proxy and not proxy_bypass(host):
        via = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        host, port = via.hostname or "", via.port or 80
    error: list[str | None] = [f"no answer within {HUB_TIMEOUT_S:g} s"]

    def connect() -> None:
        try:
            socket.create_connection((host, port), timeout=HUB_TIMEOUT_S).close()
            error[0] = None
        except OSError as err:
            error[0] = first_line(err, typed=True)

    probe = threading.Thread(target=connect, daemon=True)  # getaddrinfo has no timeout of its own
    probe.start()
    probe.join(HUB_TIMEOUT_S)
    return error[0]


def _datasets(source: Any) -> Any:
    try:
        import datasets
    except ImportError:
        raise DataError(
            f"{source}: reading datasets needs the datasets package (pip install datasets)"
        ) from None
    return datasets
