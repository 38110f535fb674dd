"""inference: batched answer generation (vLLM, transformers), submissions, an OpenAI server.

``inference.backends.get_backend`` loads a model once per process; ``python -m inference
generate`` writes submission.csv and detailed_results.csv; ``python -m inference serve``
starts vLLM's OpenAI-compatible server. Nothing heavy is imported here.
"""
