"""Benchmarks of the trainer's reference code (PyTorch) for the reports."""
