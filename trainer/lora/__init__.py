"""LoRA: batched multi-adapter LoRA on the base model, the token layout, the zoo, the PEFT check."""
