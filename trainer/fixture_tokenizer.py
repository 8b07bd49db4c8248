"""``python -m trainer tokenizer-fixture``: the cross-check fixture for transformers.js.

For fixed strings (unicode, code, whitespace, special tokens, long text) and chat conversations, the
Python tokenizer's ids, decodings and chat-template renderings, written to
``test/fixtures/tokenizer/cases.json``; ``test/tokenizer.test.ts`` asserts transformers.js agrees.
All strings are written here (no corpus or dataset text).
"""
from __future__ import annotations

import json
from pathlib import Path

from .config import resolve

_LONG = " ".join(
    f"Sentence {i}: the parameter generator maps {i} prompts to a LoRA of rank {i % 8 + 1},"
    f" and the browser applies it in {i * 3} ms." for i in range(60))

STRINGS = [
    "Hello, world!",
    "hello world",
    " leading space",
    "trailing space ",
    "  two leading spaces",
    "multiple     internal     spaces",
    "tab\tseparated\tvalues",
    "line one\nline two\nline three",
    "paragraph one.\n\nparagraph two.",
    "\n\n\nthree newlines first",
    "windows\r\nline endings\r\n",
    "   \t \n  ",
    "",
    " ",
    "a",
    "The quick brown fox jumps over the lazy dog.",
    "It's a dog's life; isn't it? We'll see, they'd say.",
    "UPPERCASE lowercase MiXeD CaSe",
    "numbers 0 1 12 123 1234 12345 3.14159 -42 1e-5 1,000,000",
    "2 + 3 * (4 - 1) / 5 = 3.8",
    "email@example.com https://example.org/path?q=1&r=2#frag",
    "café naïve résumé coöperate façade",
    "Straße, Größe, Übermut, Ærøskøbing",
    "Привет, как дела? Это тест.",
    "Γειά σου Κόσμε",
    "你好，世界！这是一个测试。",
    "日本語のテキストとカタカナ、ひらがな。",
    "한국어 문장입니다.",
    "مرحبا بالعالم",
    "שלום עולם",
    "हिन्दी में वाक्य",
    "emoji 😀🎉👍🏽 and flags 🇺🇸🇫🇷 and family 👨‍👩‍👧‍👦",
    "math symbols: ∀x ∈ ℝ, ∑ᵢ xᵢ² ≤ ∞ ≠ ≈ √2 π",
    "quotes “curly” ‘single’ «guillemets» — dashes – and … ellipsis",
    "zero\u200bwidth\u200djoiner and nbsp\u00a0here",
    "control chars \u0001\u0007 end",
    "def fibonacci(n):\n    if n < 2:\n        return n\n    return fibonacci(n - 1) + fibonacci(n - 2)\n",
    "import os\nimport sys\n\nfor path in sys.argv[1:]:\n\tprint(os.path.getsize(path))\n",
    "const add = (a: number, b: number): number => a + b;\nexport default add;",
    "#include <stdio.h>\nint main(void) { printf(\"%d\\n\", 42); return 0; }",
    "SELECT name, COUNT(*) FROM users WHERE age >= 18 GROUP BY name;",
    "{\"key\": [1, 2, {\"nested\": null}], \"flag\": true}",
    "<div class=\"box\"><p>Some &amp; HTML</p></div>",
    "$ ls -la | grep '.py' && echo \"done\" > /tmp/out.txt",
    "    indented with four spaces\n        and eight",
    "x=1;y=2;z=x+y",
    "snake_case camelCase PascalCase kebab-case SCREAMING_CASE",
    "<|endoftext|>",
    "before<|endoftext|>after",
    "<|im_start|>user\nhi<|im_end|>",
    "text with <|im_start|> inside and <|im_end|> too",
    "<|im_start|><|im_end|><|endoftext|>",
    "<|not_special|> <|im_star|>",
    "[positive] [negative] [neutral]",
    "Q: What is 7 times 8?\nA: 56",
    "The answer is 42.",
    "antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "!!!???...,,,;;;:::---___===+++",
    _LONG,
]

CHATS = [
    {"messages": [{"role": "user", "content": "What is the capital of France?"}],
     "add_generation_prompt": True},
    {"messages": [{"role": "system", "content": "Reply only with the label in brackets."},
                  {"role": "user", "content": "a warm, funny film ."}],
     "add_generation_prompt": True},
    {"messages": [{"role": "user", "content": "Add 2 and 3."},
                  {"role": "assistant", "content": "5"}],
     "add_generation_prompt": False},
    {"messages": [{"role": "system", "content": "You are helpful."},
                  {"role": "user", "content": "Write code:\n\tdef f(x):\n\t\treturn x"},
                  {"role": "assistant", "content": "```python\ndef f(x):\n    return x\n```"},
                  {"role": "user", "content": "Ünïcödé? 😀 你好"}],
     "add_generation_prompt": True},
]


def add_args(p):
    p.add_argument("--model-dir", default="models/base")
    p.add_argument("--out", default="test/fixtures/tokenizer/cases.json")


def write_fixture(model_dir, out_path) -> dict:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(model_dir))
    cases = []
    for text in STRINGS:
        ids = tok(text)["input_ids"]
        cases.append({"text": text, "ids": ids,
                      "decoded": tok.decode(ids, skip_special_tokens=False),
                      "decoded_skip_special": tok.decode(ids, skip_special_tokens=True)})
    chats = []
    for c in CHATS:
        text = tok.apply_chat_template(c["messages"], tokenize=False,
                                       add_generation_prompt=c["add_generation_prompt"])
        chats.append({**c, "text": text, "ids": tok(text)["input_ids"]})
    import transformers

    data = {"generated_by": "python -m trainer tokenizer-fixture",
            "transformers": transformers.__version__, "model_dir": "models/base",
            "cases": cases, "chats": chats}
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return {"strings": len(cases), "chats": len(chats), "path": str(out)}


def run(args) -> int:
    info = write_fixture(resolve(args.model_dir), resolve(args.out))
    print(json.dumps(info))
    return 0
