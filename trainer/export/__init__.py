"""Exports for the browser: ONNX graphs of the base model and of the generator."""
