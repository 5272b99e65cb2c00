"""`cadmus export`: a checkpoint as a standard Hugging Face transformers model directory."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="export a checkpoint to a standard Hugging Face architecture (docs/hf.md)",
        description="Write a transformers model directory (config, safetensors weights, tokenizer, "
        "generation config, model card) that AutoModelForCausalLM and AutoTokenizer load without "
        "trust_remote_code. A model no standard architecture computes exactly is refused, naming the knob.",
    )
    p.add_argument("checkpoint", help="a training run directory (its latest checkpoint) or a checkpoint")
    p.add_argument("--hf", required=True, metavar="DIR", help="the model directory to write")
    p.add_argument("--force", action="store_true", help="replace DIR if it is not empty")
    p.add_argument(
        "--eval",
        action="append",
        default=[],
        metavar="PATH",
        help="an evaluation (summary.json or its directory) for the model card; repeatable "
        "(default: RUN/eval/*/summary.json)",
    )
    p.set_defaults(func=_export)


def _export(args: argparse.Namespace) -> int:
    from cadmus.hf import export_hf

    result = export_hf(args.checkpoint, args.hf, force=args.force, evals=args.eval)
    print(
        f"exported {result.checkpoint} as {result.mapping.architecture} "
        f"({result.n_params:,} parameters; largest relative logit difference {result.max_logit_diff:.1e})"
    )
    print(f"wrote {result.directory}: {', '.join(result.files)}")
    return 0
