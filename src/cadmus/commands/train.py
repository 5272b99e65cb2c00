"""`cadmus train CONFIG [key=value ...] [--resume]`: train a model from a YAML config.

A config with ``model.hf`` fine-tunes a pretrained Hugging Face model (`cadmus.hf.finetune`):
the same trainer, with that model and its tokenizer (docs/hf.md).
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a model from a config (CPU, GPU, or DDP under torchrun); model.hf fine-tunes a "
        "pretrained Hugging Face model",
        description="Train a model. Overrides use dotted keys, values read as YAML: "
        "cadmus train configs/train/tiny-cpu.yaml optim.lr=1e-3 model.n_layer=4 stop.max_steps=2000",
    )
    p.add_argument("config", help="training config (YAML), e.g. configs/train/tiny-cpu.yaml")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides")
    p.add_argument("--resume", action="store_true", help="continue from out_dir/checkpoints/latest")
    p.add_argument("--out", help="run directory (same as out_dir=...)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cadmus.train import load_config, train

    overrides = list(args.overrides)
    if args.resume:
        overrides.append("resume=true")
    if args.out:
        overrides.append(f"out_dir={args.out}")
    config = load_config(args.config, overrides)
    if config.model.hf is not None:
        from cadmus.hf import finetune

        finetune(config, quick_eval=True, eval_prompts=config.eval.prompts)
        return 0
    train(config, on_eval=_quick_eval(config))
    return 0


def _quick_eval(config):
    """The evaluator's quick accuracy check, when cadmus.eval provides one (None otherwise)."""
    try:
        from cadmus.eval import quick_eval_hook
    except ImportError:
        return None
    return quick_eval_hook(config, n=config.eval.prompts)
