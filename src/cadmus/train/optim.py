"""Optimizers: AdamW, or Muon for the blocks' matrices with AdamW for the rest."""

from __future__ import annotations

import torch
from torch import nn

from cadmus.train.config import ConfigError, OptimSection


def param_groups(model: nn.Module, weight_decay: float) -> tuple[list, list, list]:
    """(block matrices, embeddings/lm_head, vectors): decay goes to the first two."""
    matrices, embeddings, vectors = [], [], []
    seen = set()
    for name, p in model.named_parameters():
        if not p.requires_grad or id(p) in seen:
            continue
        seen.add(id(p))
        if p.dim() < 2:
            vectors.append(p)
        elif name.startswith(("wte", "wpe", "lm_head")):
            embeddings.append(p)
        else:
            matrices.append(p)
    return matrices, embeddings, vectors


def build_optimizers(model: nn.Module, cfg: OptimSection, device_type: str) -> list[torch.optim.Optimizer]:
    """The optimizers to step each iteration. Each group keeps its peak rate in ``peak_lr``."""
    matrices, embeddings, vectors = param_groups(model, cfg.weight_decay)
    fused = device_type == "cuda"
    adam_kwargs = dict(betas=tuple(cfg.betas), eps=cfg.eps)
    if fused:
        adam_kwargs["fused"] = True
    if cfg.name == "muon":
        if not hasattr(torch.optim, "Muon"):
            raise ConfigError("muon needs torch.optim.Muon (PyTorch >= 2.9); use adamw", key="optim.name")
        muon_lr = cfg.muon_lr if cfg.muon_lr is not None else cfg.lr
        muon = torch.optim.Muon(
            [{"params": matrices, "peak_lr": muon_lr}],
            lr=muon_lr,
            momentum=cfg.muon_momentum,
            weight_decay=cfg.weight_decay,
            adjust_lr_fn="match_rms_adamw",
        )
        adam_groups = [
            {"params": embeddings, "weight_decay": cfg.weight_decay, "peak_lr": cfg.lr},
            {"params": vectors, "weight_decay": 0.0, "peak_lr": cfg.lr},
        ]
        return [muon, torch.optim.AdamW(adam_groups, lr=cfg.lr, **adam_kwargs)]
    groups = [
        {"params": matrices + embeddings, "weight_decay": cfg.weight_decay, "peak_lr": cfg.lr},
        {"params": vectors, "weight_decay": 0.0, "peak_lr": cfg.lr},
    ]
    return [torch.optim.AdamW(groups, lr=cfg.lr, **adam_kwargs)]


def set_lr(optimizers: list[torch.optim.Optimizer], multiplier: float) -> None:
    for opt in optimizers:
        for group in opt.param_groups:
            group["lr"] = group["peak_lr"] * multiplier
