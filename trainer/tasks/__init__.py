"""Tasks: the staged datasets (reading, kinds, parsing), their staging copy, the synthetic task factory."""
