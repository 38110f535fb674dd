"""app: the zhongli Gradio app (chat, compare base vs tuned, score) and its named API.

Run it with ``python -m app``. Gradio, pandas and the model backends are imported inside the
functions that need them, so ``python -m app --help`` stays instant.
"""
