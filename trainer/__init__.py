"""Training pipeline: tokenizer, base model, LoRA zoo, hyper-convolutional generator, evaluation, export."""
