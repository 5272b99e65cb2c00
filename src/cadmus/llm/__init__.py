"""Baselines: any OpenAI-compatible API or local pretrained model on Cadmus data, judged by the VM; request cache, cost; priors analysis."""
