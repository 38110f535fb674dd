"""The hacking watch: is a GRPO run still learning what its reward is meant to pay for?

:mod:`training.watch.detectors` (degenerate answer styles, one yes/no function each) and
:mod:`training.watch.signals` (run-level signals, thresholds) are light; the trainer callback
(:mod:`training.watch.callback`) imports transformers, and :mod:`training.watch.record`
writes ``<output_dir>/watch/``. See training/README.md ("The hacking watch").
"""
