"""Loading a reward model for :mod:`rewards.learned`, refusing what is not one.

A reward model is a sequence classifier whose classification head is in its weights (or, for
a LoRA adapter, restored by the adapter). Each problem a user can fix is one line
(:class:`mcq.DataError`, exit 2):

* a checkpoint without the head (a causal LM such as a chat model: transformers would add a
  random head and the scores would be noise);
* a damaged or cut-short weights file;
* a hub id while the model hub cannot be reached (checked in seconds, before transformers'
  retries), unless the model is already in the local cache.

transformers' LOAD REPORT is kept off the screen: what it says that matters is one of the
lines above.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mcq.errors import DataError, first_line
from mcq.sources import hub_unreachable

__all__ = ["load_classifier", "hub_unreachable"]

_NOT_A_REWARD_MODEL = (
    "reward_model {path}: not a reward model ({what}); train one with `python -m training rm`, "
    "or name a sequence-classification checkpoint"
)


def load_classifier(path: str, dtype: str) -> tuple[Any, Any]:
    """The one-output classifier at ``path`` (folder, adapter folder or hub id) and its tokenizer,
    in ``dtype`` (a torch dtype's name).

    Raises:
        mcq.DataError: the refusals in the module docstring, or anything else that keeps it
            from loading (one line).
    """
    folder = Path(path).expanduser()
    offline = {}
    if not folder.exists():
        reason = hub_unreachable()
        if reason is not None:
            if not _cached(path):
                raise DataError(
                    f"reward_model {path}: no such folder, and the model hub cannot be reached "
                    f"({reason}); download the model and name its folder"
                )
            offline = {"local_files_only": True}
    import torch  # after the hub check: a refusal comes before seconds of imports
    from transformers import AutoTokenizer

    dtype = getattr(torch, dtype)
    try:
        with _quiet_transformers():
            tokenizer = AutoTokenizer.from_pretrained(
                path, padding_side="right", truncation_side="left", **offline
            )
            if (folder / "adapter_config.json").is_file():
                model = _load_adapter(folder, dtype)
            else:
                model, info = _classifier(path, dtype, **offline)
                _check_head(path, model, info, adapter_keys=None)
    except DataError:
        raise
    except Exception as err:
        if err.__class__.__name__ == "SafetensorError":
            raise DataError(
                f"reward_model {path}: {_broken_weights(folder)} is damaged or cut short "
                f"({first_line(err)}); copy or download it again"
            ) from None
        if not isinstance(err, OSError | ValueError | RuntimeError):
            raise
        raise DataError(f"reward_model {path}: cannot load it ({first_line(err)})") from None
    return model, tokenizer


def _cached(repo_id: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    with contextlib.suppress(Exception):
        return isinstance(try_to_load_from_cache(repo_id, "config.json"), str)
    return False


def _classifier(path: str, dtype: Any, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
    from transformers import AutoModelForSequenceClassification

    return AutoModelForSequenceClassification.from_pretrained(
        path, num_labels=1, dtype=dtype, output_loading_info=True, **kwargs
    )


def _load_adapter(folder: Path, dtype: Any) -> Any:
    """Base classifier + LoRA adapter, merged; the adapter must hold the head it trained."""
    from peft import PeftModel

    config = json.loads((folder / "adapter_config.json").read_text(encoding="utf-8"))
    base_path = config.get("base_model_name_or_path")
    if not base_path:
        raise DataError(f"reward_model {folder}: adapter_config.json names no base model")
    base, info = _classifier(str(base_path), dtype)
    _check_head(str(folder), base, info, adapter_keys=_adapter_keys(folder))
    return PeftModel.from_pretrained(base, str(folder)).merge_and_unload()


def _check_head(path: str, model: Any, info: dict[str, Any], adapter_keys: set[str] | None) -> None:
    """Refuse a classifier whose head came out of nowhere (initialised at random on loading).

    The head is every missing weight outside the base transformer; an adapter may restore it
    (``modules_to_save``), which shows as a key in its weights ending with the same name.
    """
    prefix = f"{getattr(model, 'base_model_prefix', '')}."
    head = sorted(k for k in info.get("missing_keys", ()) if not k.startswith(prefix))
    if adapter_keys is not None:
        head = [k for k in head if not any(a.endswith(k) for a in adapter_keys)]
        what = f"its adapter does not restore the classification head {', '.join(head)}"
    else:
        what = f"no classification head ({', '.join(head)}) in its weights"
    if head:
        raise DataError(_NOT_A_REWARD_MODEL.format(path=path, what=what))


def _adapter_keys(folder: Path) -> set[str]:
    file = folder / "adapter_model.safetensors"
    if file.is_file():
        from safetensors import safe_open

        with safe_open(str(file), "pt") as weights:
            return set(weights.keys())
    import torch

    return set(torch.load(folder / "adapter_model.bin", map_location="cpu", weights_only=True))


def _broken_weights(folder: Path) -> str:
    """The first weights file in ``folder`` whose header cannot be read (else the folder)."""
    from safetensors import safe_open

    for file in sorted(folder.glob("*.safetensors")) if folder.is_dir() else []:
        try:
            with safe_open(str(file), "pt"):
                pass
        except Exception:
            return str(file)
    return str(folder)


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    """transformers' warnings (its LOAD REPORT) and weight-loading bar off the screen."""
    from transformers.utils import logging as hf_logging

    level, bar = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        if bar:
            hf_logging.enable_progress_bar()
