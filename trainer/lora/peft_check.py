"""Check (GPU machine, needs transformers + peft): a zoo adapter written by ``trainer/lora.save_peft``
loads with ``peft.PeftModel`` against ``models/base`` and gives the same logits as the native batched
LoRA (``trainer/lora/batched.py``).

    python -m trainer.lora.peft_check --adapter trainer/runs/zoo/zoo/ARC-Easy/s0-00200
"""
from __future__ import annotations

import argparse
import json

import torch


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--adapter", required=True)
    ap.add_argument("--model-dir", default="models/base")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from trainer.lora.batched import LoraStack, hidden_states, logits_at, module_specs
    from trainer.safetensors_io import load_file
    from trainer.base.load import load_base

    cfg = json.load(open(f"{args.adapter}/adapter_config.json"))
    hf = AutoModelForCausalLM.from_pretrained(args.model_dir, torch_dtype=torch.float32)
    peft_model = PeftModel.from_pretrained(hf, args.adapter).eval()
    ours, tok, _ = load_base({"model_dir": args.model_dir}, torch.device("cpu"))
    ad = {k: v.float() for k, v in load_file(f"{args.adapter}/adapter_model.safetensors").items()}
    stack = LoraStack.from_adapters([ad], cfg["r"], cfg["lora_alpha"], module_specs(ours.cfg, cfg["target_modules"]),
                                    ours.cfg.num_hidden_layers)
    ids = torch.tensor([tok.encode("<|im_start|>user\nWhich is heavier, a stone or a feather?<|im_end|>\n<|im_start|>assistant\n")])
    with torch.no_grad():
        ref = peft_model(input_ids=ids).logits
        mine = logits_at(ours, hidden_states(ours, ids.unsqueeze(0), stack))[0]
        base = logits_at(ours, hidden_states(ours, ids.unsqueeze(0), None))[0]
    res = {"adapter": args.adapter, "max_abs_diff_vs_peft": float((ref - mine).abs().max()),
           "lora_effect_max_abs": float((mine - base).abs().max()),
           "peft_keys_loaded": len(ad), "tokens": int(ids.shape[1])}
    print(json.dumps(res))
    if args.out:
        json.dump(res, open(args.out, "w"), indent=1)
    return 0 if res["max_abs_diff_vs_peft"] < 1e-3 else 1


if __name__ == "__main__":
    raise SystemExit(main())
