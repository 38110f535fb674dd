"""Reading user files safely: regular files only, a size bound, one decoding rule.

Every command that reads a table or a completions file goes through :func:`read_text`, so a
FIFO, ``/dev/zero`` or a 40 GB log is refused with one line instead of filling memory, and
every reader decodes the same way (UTF-8 with or without BOM, or UTF-16 with a BOM, as
Excel's "Unicode text" export writes it; another encoding such as Big5 or GB18030 when
``--encoding`` names it). :func:`refuse_overwrite` stops a command from
writing its output over one of its inputs, whatever the path spelling.
"""

from __future__ import annotations

import codecs
import dataclasses
import math
import os
import re
import stat
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from mcq.errors import DataError

__all__ = [
    "DEFAULT_MAX_INPUT_MB",
    "ENCODING_HELP",
    "add_input_limit_argument",
    "apply_input_arguments",
    "asset_file",
    "check_output_folder",
    "check_size",
    "encoding_field",
    "read_bytes",
    "read_text",
    "read_yaml",
    "refuse_overwrite",
    "set_input_encoding",
    "set_input_limit",
    "spreadsheet_safe",
    "terminal_safe",
    "write_atomic",
]

#: Largest input file read by default (MiB); ``--max-input-mb`` raises it.
DEFAULT_MAX_INPUT_MB = 512.0
_limit_mb = DEFAULT_MAX_INPUT_MB
_encoding: str | None = None  # None: UTF-8 (BOM or not), or UTF-16 with its BOM
#: What ``--encoding`` does, in every command's help.
ENCODING_HELP = (
    "encoding of text input files, e.g. gb18030, big5 or cp950 "
    "(default: UTF-8, or UTF-16 with a BOM)"
)


def set_input_limit(max_mb: float) -> None:
    """Set the size bound (MiB) that :func:`read_bytes` applies when none is passed."""
    global _limit_mb
    if not max_mb > 0:
        raise DataError(f"--max-input-mb must be positive, not {max_mb:g}")
    _limit_mb = float(max_mb)


def set_input_encoding(name: str | None) -> None:
    """Set the encoding :func:`read_text` decodes text tables with (None: UTF-8/UTF-16 by BOM).

    Example:
        >>> set_input_encoding("no-such-codec")
        Traceback (most recent call last):
        ...
        mcq.errors.DataError: --encoding no-such-codec: unknown encoding; try utf-8, gb18030, big5 or cp950
    """
    global _encoding
    if name is not None:
        try:
            codecs.lookup(name)
        except LookupError:
            raise DataError(
                f"--encoding {name}: unknown encoding; try utf-8, gb18030, big5 or cp950"
            ) from None
    _encoding = name


def add_input_limit_argument(parser: Any) -> None:
    """Add ``--max-input-mb`` and ``--encoding`` to an argparse parser (apply them with
    :func:`apply_input_arguments`)."""
    parser.add_argument(
        "--max-input-mb",
        type=float,
        default=DEFAULT_MAX_INPUT_MB,
        metavar="MB",
        help=f"refuse input files larger than this (default {DEFAULT_MAX_INPUT_MB:g} MiB)",
    )
    parser.add_argument("--encoding", metavar="NAME", help=ENCODING_HELP)


def encoding_field() -> Any:
    """The ``encoding`` setting of a script-arguments dataclass (TRL's ``--encoding``)."""
    from dataclasses import field

    return field(default=None, metadata={"help": ENCODING_HELP})


def apply_input_arguments(args: Any) -> None:
    """Apply ``--max-input-mb`` and ``--encoding`` from parsed ``args`` (defaults where absent)."""
    set_input_limit(getattr(args, "max_input_mb", None) or DEFAULT_MAX_INPUT_MB)
    set_input_encoding(getattr(args, "encoding", None))


_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def read_bytes(
    path: str | os.PathLike[str], *, max_mb: float | None = None, what: str = "file"
) -> bytes:
    """Return the bytes of a regular file no larger than ``max_mb`` MiB (default: the set limit).

    Raises:
        DataError: missing, not a regular file (a folder, FIFO or device), unreadable, or
            over the bound; the message is one line naming the path and what to do.

    Example:
        >>> read_bytes("/dev/null")
        Traceback (most recent call last):
        ...
        mcq.errors.DataError: /dev/null: not a regular file (a device or a pipe); expected a file
    """
    path = Path(path)
    max_mb = _limit_mb if max_mb is None else max_mb
    limit = int(max_mb * 1024 * 1024)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except OSError as err:
        raise DataError(f"{path}: cannot read ({err.strerror or err})") from None
    if stat.S_ISDIR(info.st_mode):
        raise DataError(f"{path}: is a directory, expected a {what}")
    if not stat.S_ISREG(info.st_mode):
        raise DataError(f"{path}: not a regular file (a device or a pipe); expected a {what}")
    check_size(path, info.st_size, max_mb)
    try:
        with path.open("rb") as fh:
            raw = fh.read(limit + 1)  # the file may grow between stat and read
    except OSError as err:
        raise DataError(f"{path}: cannot read ({err.strerror or err})") from None
    if len(raw) > limit:
        raise DataError(_too_big(path, len(raw), max_mb))
    return raw


def check_size(path: str | os.PathLike[str], size: int, max_mb: float | None = None) -> None:
    """Raise :class:`DataError` when ``size`` bytes are over ``max_mb`` (default: the set limit)."""
    max_mb = _limit_mb if max_mb is None else max_mb
    if size > int(max_mb * 1024 * 1024):
        raise DataError(_too_big(Path(path), size, max_mb))


def read_text(
    path: str | os.PathLike[str],
    *,
    max_mb: float | None = None,
    what: str = "file",
    binary_check: bool = False,
    encoding: str | None = None,
) -> str:
    """Return the text of a user file (bounded as :func:`read_bytes`), BOM and UTF-16 aware.

    Args:
        path: The file.
        max_mb: Size bound in MiB (default: the limit :func:`set_input_limit` set).
        what: What the file should be, for messages ("TSV or CSV file").
        binary_check: Refuse a file whose first 4 KiB hold a NUL byte (not UTF-16).
        encoding: Decode with this codec (default: the one :func:`set_input_encoding` set,
            else UTF-8 with or without BOM, or UTF-16 with its BOM).

    Raises:
        DataError: as :func:`read_bytes`, or the bytes do not decode; the message names the
            file, the encoding tried and ``--encoding``.
    """
    raw = read_bytes(path, max_mb=max_mb, what=what)
    encoding = encoding or _encoding
    utf16 = raw[:2] in _UTF16_BOMS
    if binary_check and not utf16 and b"\x00" in raw[:4096]:
        raise DataError(f"{path}: looks like a binary file, expected a {what}")
    if encoding is None:
        encoding = "utf-16" if utf16 else "utf-8-sig"
    elif codecs.lookup(encoding).name == "utf-8":
        encoding = "utf-8-sig"  # a BOM is never part of the text
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as err:
        name = "UTF-8" if encoding == "utf-8-sig" else encoding
        raise DataError(
            f"{path}: not {name} text (bad byte at offset {err.start}); save it as UTF-8 or "
            "name its encoding with --encoding (e.g. --encoding gb18030, big5 or cp950)"
        ) from None


def asset_file(name_or_path: str, folder: Path, kind: str) -> tuple[str, float]:
    """Resolve a shipped asset's name (``folder/NAME.yaml``) or a YAML path given by the user.

    Returns the absolute path as text and its modification time: the key of an ``lru_cache``
    loader, so that a file edited on disk is read again.

    Raises:
        DataError: an unknown name (the known ones are listed), a missing path, not a file.

    Example:
        >>> from mcq.prompt import PROMPT_DIR
        >>> asset_file("no-such", PROMPT_DIR, "prompt")
        Traceback (most recent call last):
        ...
        mcq.errors.DataError: unknown prompt 'no-such'; use one of default, fewshot or a path to a YAML file
    """
    text = name_or_path
    path = Path(text).expanduser()
    if not (text.endswith((".yaml", ".yml")) or os.sep in text or "/" in text):
        path = folder / f"{text}.yaml"
        if not path.is_file():
            names = ", ".join(p.stem for p in sorted(folder.glob("*.yaml")))
            raise DataError(f"unknown {kind} {text!r}; use one of {names} or a path to a YAML file")
    path = path.resolve()
    try:
        mtime = path.stat().st_mtime
    except OSError:
        raise DataError(f"{kind} {text}: file not found") from None
    if not path.is_file():
        raise DataError(f"{kind} {text}: not a file")
    return str(path), mtime


def read_yaml(path: Path, kind: str) -> Any:
    """Parse a YAML asset; :class:`DataError` names the file (and line) when it cannot."""
    import yaml

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"{kind} {path}: cannot read ({err})") from None
    except yaml.YAMLError as err:
        where = getattr(err, "problem_mark", None)
        line = f" line {where.line + 1}" if where is not None else ""
        raise DataError(f"{kind} {path}:{line} invalid YAML") from None


def check_output_folder(path: str | os.PathLike[str], flag: str = "--output-dir") -> Path:
    """Raise :class:`DataError` unless ``path`` is, or can be made, a folder; returns it.

    Refused in one line: a file, a broken or looping symlink, a path under a file.

    Example:
        >>> check_output_folder("/dev/null/run", "--out")
        Traceback (most recent call last):
        ...
        mcq.errors.DataError: --out /dev/null/run: /dev/null is not a folder
    """
    path = Path(path)
    if path.is_symlink() and not path.exists():
        raise DataError(f"{flag} {path}: a broken or looping symlink")
    if path.exists() and not path.is_dir():
        raise DataError(f"{flag} {path}: exists and is not a folder")
    for parent in path.parents:
        if parent.is_symlink() and not parent.exists():
            raise DataError(f"{flag} {path}: {parent} is a broken or looping symlink")
        if parent.exists() and not parent.is_dir():
            raise DataError(f"{flag} {path}: {parent} is not a folder")
    return path


def refuse_overwrite(
    output: str | os.PathLike[str] | None, inputs: Iterable[str | os.PathLike[str] | None]
) -> None:
    """Raise :class:`DataError` when ``output`` is the same file as one of ``inputs``.

    Symlinks, ``./`` and relative spellings all resolve to the same file; an output that
    does not exist yet cannot be an input.

    Example:
        >>> refuse_overwrite("a.csv", ["./a.csv"])
        Traceback (most recent call last):
        ...
        mcq.errors.DataError: a.csv: the output would overwrite the input ./a.csv; choose another path
    """
    if output is None:
        return
    out = Path(output)
    for given in inputs:
        if given is None or str(given) == "-":
            continue
        src = Path(given)
        try:
            same = os.path.samefile(out, src)
        except OSError:  # one of them does not exist (yet)
            same = out.resolve() == src.resolve()
        if same:
            raise DataError(
                f"{out}: the output would overwrite the input {given}; choose another path"
            )


# Control characters (C0 and C1, but newline and tab) and the bidi overrides that reorder text.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
#: Leading characters that make Excel, LibreOffice or Sheets run a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def terminal_safe(text: str) -> str:
    """Show control characters from files as escapes, so printing them cannot drive a terminal.

    Example:
        >>> print(terminal_safe("答案\\x1b]0;pwned\\x07：B"))
        答案\\x1b]0;pwned\\x07：B
    """
    return _UNPRINTABLE.sub(
        lambda m: (
            f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256 else f"\\u{ord(m.group()):04x}"
        ),
        text,
    )


def spreadsheet_safe(value: str) -> str:
    """Prefix a text cell that a spreadsheet would run as a formula with ``'`` (OWASP's rule).

    Scored CSVs (``rewards score --output``, ``evals`` reports) are meant to be opened in a
    spreadsheet; submission files are not, and keep their ids exactly.

    Example:
        >>> print(spreadsheet_safe("=HYPERLINK(1)"), spreadsheet_safe("q-1"))
        '=HYPERLINK(1) q-1
    """
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def json_safe(value: Any) -> Any:
    """``value`` as plain JSON types: dataclasses and mappings as objects, sets and tuples as
    lists, numpy scalars as numbers, NaN and infinities as ``null``, anything else as text.

    Example:
        >>> json_safe({"auc": float("nan"), "ci": (0.5, 1), 2: {"b"}})
        {'auc': None, 'ci': [0.5, 1], '2': ['b']}
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        return json_safe(value.tolist())  # a numpy scalar or array, as Python numbers
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value if value is None or isinstance(value, str | int | float) else str(value)


def _too_big(path: Path, size: int, max_mb: float) -> str:
    return (
        f"{path}: {size:,} bytes or more, over the {max_mb:g} MiB input limit; "
        "raise it with --max-input-mb"
    )


def write_atomic(path: str | os.PathLike[str], data: str | bytes, mode: int = 0o644) -> Path:
    """Write a file through a temporary sibling and ``os.replace``: never half-written.

    A crash or Ctrl-C leaves either the old file or the new one, never a mix; the temporary
    file is removed on failure. Returns the path written.

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> write_atomic(folder / "sub" / "a.txt", "答案：A").read_text(encoding="utf-8")
        '答案：A'
        >>> sorted(p.name for p in (folder / "sub").iterdir())
        ['a.txt']
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
            handle.flush()
            os.fsync(handle.fileno())  # the bytes reach the disk before the name does
        os.chmod(tmp, mode)  # mkstemp creates 0600; results are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
