"""Evaluation: batched scoring of adapters on tasks, the zero-shot pipelines and reports."""
