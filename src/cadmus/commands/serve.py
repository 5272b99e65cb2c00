"""`cadmus serve`: an OpenAI-compatible HTTP server for a run or checkpoint."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="serve a checkpoint over an OpenAI-compatible HTTP API (completions, chat, models)",
        description="Serve a run directory (its latest checkpoint) or a checkpoint over HTTP: "
        "/v1/completions, /v1/chat/completions, /v1/models, /health. See docs/serve.md.",
    )
    p.add_argument("checkpoint", help="a training run directory (its latest checkpoint) or a checkpoint")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback only)")
    p.add_argument("--port", type=int, default=8000, help="port (0: pick a free one and print it)")
    p.add_argument(
        "--model-name", default=None, help="the model's name in the API (default: the path as given)"
    )
    p.add_argument("--max-batch", type=int, default=32, help="most sequences decoded together")
    p.add_argument(
        "--batch-window-ms",
        type=float,
        default=2.0,
        help="how long a batch that is not full waits for more requests",
    )
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ...")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for the model (default: torch's)")
    p.add_argument(
        "--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"]
    )
    p.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    from cadmus.errors import CadmusError
    from cadmus.serve import serve

    if args.threads is not None:
        if args.threads < 1:
            raise CadmusError(f"--threads must be at least 1, got {args.threads}")
        import torch

        torch.set_num_threads(args.threads)
    serve(
        args.checkpoint,
        host=args.host,
        port=args.port,
        name=args.model_name,
        device=args.device,
        max_batch=args.max_batch,
        batch_window_ms=args.batch_window_ms,
        log_level=args.log_level,
        announce=lambda line: print(line, flush=True),
    )
    return 0
