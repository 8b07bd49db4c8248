"""``python -m trainer <command> [options]``: one CLI, each command a module with ``add_args`` and
``run``. Add a command by adding a line to COMMANDS."""
from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = {
    "base": ("trainer.base.pipeline", "train tokenizer + base LM + chat tuning, export models/base, report"),
    "tokenizer-fixture": ("trainer.fixtures.tokenizer",
                          "write test/fixtures/tokenizer/cases.json from a released tokenizer"),
    "zero-shot": ("trainer.evaluate.zero_shot",
                  "end-to-end generators on a pool of 300+ tasks: zoo, controls, generators, gate, release, reports"),
    "release-generator-fixture": ("trainer.fixtures.release_generator",
                                  "write test/fixtures/release-generator/ (what models/generator must output)"),
    "zoo-data": ("trainer.tasks.staging", "stage the rows zero-shot reads into a small gzip copy (.zoo-data/)"),
    "gate-fixture": ("trainer.fixtures.gate", "write test/fixtures/gate/ (what the browser's kNN gate must compute)"),
    "web-graphs": ("trainer.export.web_graphs",
                   "write (or --check) models/base/decoder*.onnx + graphs.json: graphs over model.safetensors"),
    "conditions-fixture": ("trainer.fixtures.conditions",
                           "write test/fixtures/conditions/ (prompts, token ids, embeddings) from models/base"),
    "answer-features-fixture": ("trainer.fixtures.answer_features",
                                "write test/fixtures/answer-features/ (answer gate features, validation NLLs) from models/base"),
}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m trainer")
    sub = parser.add_subparsers(dest="command", metavar="command")
    sub.required = True
    for name, (module, help_text) in COMMANDS.items():
        sp = sub.add_parser(name, help=help_text)
        sp.set_defaults(_module=module)
        importlib.import_module(module).add_args(sp)
    args = parser.parse_args(argv)
    return importlib.import_module(args._module).run(args) or 0


if __name__ == "__main__":
    sys.exit(main())
