"""The parameter generator: hyper-convolution, prompt conditions, training recipes, probes."""
