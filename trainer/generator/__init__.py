"""The parameter generator: hyper-convolution, prompt conditions, end-to-end training, the gate, the manifest and the release."""
