"""evals: scoring reports, base-vs-tuned comparison, accuracy and plots; ``python -m evals``.

Light on import: matplotlib, numpy and the reward registry load inside the functions that use
them, so ``python -m evals --help`` is instant.
"""
