"""Greedy completions of fixed prompts (plain and chat) and the transformers load check."""
from __future__ import annotations

import torch

from trainer.text.chat import messages_for, render_prompt


def greedy_samples(model, tok, scfg: dict, ids: dict, device) -> list[dict]:
    model.eval()
    out = []
    stop = (ids["eot"], ids["im_end"])
    for prompt in scfg["plain"]:
        p_ids = tok.encode(prompt)
        gen = model.generate_greedy(p_ids, scfg["max_new_tokens"], stop_ids=stop)
        out.append({"kind": "plain", "prompt": prompt, "completion": tok.decode(gen)})
    for ex in scfg["chat"]:
        msgs = messages_for({"system": ex.get("system", ""), "prompt": ex["prompt"]})
        text = render_prompt(msgs)
        gen = model.generate_greedy(tok.encode(text), scfg["max_new_tokens"], stop_ids=stop)
        out.append({"kind": "chat", "system": ex.get("system", ""), "prompt": ex["prompt"],
                    "completion": tok.decode(gen, skip_special_tokens=True),
                    "stopped": bool(gen and gen[-1] in stop)})
    return out


def hf_check(model_dir, model, samples: list[dict], device, log=print) -> dict:
    """Load the release with transformers; compare logits and greedy continuations with ours."""
    try:
        import transformers
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:
        log(f"[hf] transformers not available, check skipped: {exc}")
        return {"skipped": str(exc)}
    if str(device).startswith("cuda"):  # exact fp32 matmuls for the comparison
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    tok = AutoTokenizer.from_pretrained(str(model_dir))
    hf = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32).to(device).eval()
    text = "The quick brown fox jumps over the lazy dog. " * 8
    ids = torch.tensor([tok(text)["input_ids"]], device=device)
    with torch.no_grad():
        ours = model(ids).float()
        theirs = hf(ids).logits.float()
    diff = float((ours - theirs).abs().max())
    same = 0
    for s in samples:
        if s["kind"] == "plain":
            prompt = s["prompt"]
        else:
            msgs = [{"role": "system", "content": s["system"]}] if s["system"] else []
            msgs.append({"role": "user", "content": s["prompt"]})
            prompt = tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
        p = torch.tensor([tok(prompt)["input_ids"]], device=device)
        with torch.no_grad():
            g = hf.generate(p, max_new_tokens=16, do_sample=False)
        ours_ids = model.generate_greedy(p[0].tolist(), 16, stop_ids=())
        theirs_ids = g[0, p.shape[1]:].tolist()
        n = min(len(ours_ids), len(theirs_ids))
        same += int(ours_ids[:n] == theirs_ids[:n])
    info = {"transformers": transformers.__version__, "class": type(hf).__name__,
            "max_abs_logit_diff_fp32": diff, "greedy_16_tokens_equal": f"{same}/{len(samples)}",
            "hf_param_count": sum(p.numel() for p in hf.parameters())}
    log(f"[hf] {info}")
    return info
