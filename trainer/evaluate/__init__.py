"""Evaluation: batched scoring of adapters on tasks, the zero-shot pipeline and its reports, what a run records (commit, log)."""
