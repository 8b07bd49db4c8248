"""The base language model: architecture, training loop, the `base` command, release export, loading a release, samples."""
