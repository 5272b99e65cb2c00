"""Cadmus weights and config rewritten for the architecture `cadmus.hf.archmap` chose.

`hf_config` builds the transformers config; `hf_state` renames (and where
needed splits, transposes or regroups) every Cadmus tensor. Tensors a target
has and Cadmus lacks (LayerNorm biases of GPT-NeoX, GPT-2's biases, Qwen3's
query/key norm weights) get the values that make them do nothing: zeros for
biases, ones for norm weights.
"""

from __future__ import annotations

from typing import Any

from cadmus.hf.archmap import LN_EPS, RMS_EPS, ArchMapping
from cadmus.hf.errors import HFError


def _rope(c: Any, partial: bool = False) -> dict[str, Any]:
    params: dict[str, Any] = {"rope_type": "default", "rope_theta": float(c.rope_base)}
    if partial:
        params["partial_rotary_factor"] = 1.0
    return params


def hf_config(mapping: ArchMapping, model: Any, tokenizer: Any) -> Any:
    """The transformers config object of `mapping` for a Cadmus `model` (a `cadmus.model.GPT`)."""
    import transformers

    c = model.config
    common: dict[str, Any] = {
        "vocab_size": c.vocab_size,
        "tie_word_embeddings": c.tie_embeddings,
        "bos_token_id": tokenizer.bos_id,
        "eos_token_id": tokenizer.eos_id,
        "pad_token_id": tokenizer.pad_id,
        "architectures": [mapping.architecture],
        "dtype": str(next(model.parameters()).dtype).removeprefix("torch."),
    }
    name = mapping.name
    if name in ("llama", "qwen3", "arcee", "stablelm"):
        body: dict[str, Any] = {
            "hidden_size": c.n_embd,
            "intermediate_size": _mlp_hidden(model),
            "num_hidden_layers": c.n_layer,
            "num_attention_heads": c.n_head,
            "num_key_value_heads": c.n_head,
            "max_position_embeddings": c.block_size,
            "attention_dropout": c.dropout,
        }
        if name == "stablelm":
            cls = transformers.StableLmConfig
            body |= {
                "hidden_act": "silu",
                "layer_norm_eps": LN_EPS,
                "rope_parameters": _rope(c, partial=True),
                "use_qkv_bias": False,
                "qk_layernorm": False,
                "use_parallel_residual": False,
                "hidden_dropout": c.dropout,
            }
        else:
            body |= {"head_dim": c.head_size, "rms_norm_eps": RMS_EPS, "rope_parameters": _rope(c)}
            body["attention_bias"] = c.bias
            if name == "llama":
                cls = transformers.LlamaConfig
                body |= {"hidden_act": "silu", "mlp_bias": c.bias}
            elif name == "qwen3":
                cls = transformers.Qwen3Config
                body |= {"hidden_act": "silu", "use_sliding_window": False}
            else:
                cls = transformers.ArceeConfig
                body |= {"hidden_act": c.mlp, "mlp_bias": c.bias}
        return cls(**common, **body)
    if name == "gpt_neox":
        return transformers.GPTNeoXConfig(
            **common,
            hidden_size=c.n_embd,
            intermediate_size=4 * c.n_embd,
            num_hidden_layers=c.n_layer,
            num_attention_heads=c.n_head,
            hidden_act=c.mlp,
            max_position_embeddings=c.block_size,
            layer_norm_eps=LN_EPS,
            use_parallel_residual=False,
            rope_parameters=_rope(c, partial=True),
            attention_bias=c.bias,
            attention_dropout=c.dropout,
            hidden_dropout=c.dropout,
        )
    if name == "gpt2":
        return transformers.GPT2Config(
            **common,
            n_positions=c.block_size,
            n_embd=c.n_embd,
            n_layer=c.n_layer,
            n_head=c.n_head,
            n_inner=4 * c.n_embd,
            activation_function=c.mlp,
            resid_pdrop=c.dropout,
            embd_pdrop=c.dropout,
            attn_pdrop=c.dropout,
            layer_norm_epsilon=LN_EPS,
            scale_attn_weights=True,
        )
    if name == "mpt":
        return transformers.MptConfig(
            **common,
            d_model=c.n_embd,
            n_heads=c.n_head,
            n_layers=c.n_layer,
            expansion_ratio=4,
            max_seq_len=c.block_size,
            layer_norm_epsilon=LN_EPS,
            no_bias=True,
            learned_pos_emb=False,
            # This transformers release types attn_pdrop as an int: a dropout above 0 cannot be set.
            attn_config={"alibi": True, "alibi_bias_max": 8, "attn_pdrop": 0},
            resid_pdrop=c.dropout,
            emb_pdrop=c.dropout,
        )
    raise HFError(f"no converter for architecture {name!r}")  # pragma: no cover - MAPPINGS and this agree


def _mlp_hidden(model: Any) -> int:
    rows = model.blocks[0].mlp.fc.weight.shape[0]
    return rows // 2 if model.config.mlp == "swiglu" else rows


def hf_state(mapping: ArchMapping, model: Any) -> dict[str, Any]:
    """Every tensor of the target model, computed from the Cadmus `model`'s weights."""
    import torch

    c = model.config
    src = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    D, H, hs = c.n_embd, c.n_head, c.head_size

    def get(key: str) -> Any:
        return src[key]

    def bias_or_zeros(key: str, size: int) -> Any:
        return src[key] if key in src else torch.zeros(size, dtype=src["wte.weight"].dtype)

    out: dict[str, Any] = {}
    name = mapping.name
    if name in ("llama", "qwen3", "arcee", "stablelm"):
        out["model.embed_tokens.weight"] = get("wte.weight")
        for i in range(c.n_layer):
            b, p = f"blocks.{i}.", f"model.layers.{i}."
            for norm, key in (("norm1", "input_layernorm"), ("norm2", "post_attention_layernorm")):
                out[f"{p}{key}.weight"] = get(f"{b}{norm}.weight")
                if name == "stablelm":
                    out[f"{p}{key}.bias"] = bias_or_zeros(f"{b}{norm}.bias", D)
            q, k, v = get(f"{b}attn.qkv.weight").split(D, dim=0)
            out |= {f"{p}self_attn.q_proj.weight": q, f"{p}self_attn.k_proj.weight": k}
            out |= {
                f"{p}self_attn.v_proj.weight": v,
                f"{p}self_attn.o_proj.weight": get(f"{b}attn.proj.weight"),
            }
            if c.bias:
                qb, kb, vb = get(f"{b}attn.qkv.bias").split(D)
                out |= {f"{p}self_attn.q_proj.bias": qb, f"{p}self_attn.k_proj.bias": kb}
                out |= {
                    f"{p}self_attn.v_proj.bias": vb,
                    f"{p}self_attn.o_proj.bias": get(f"{b}attn.proj.bias"),
                }
            if name == "qwen3":
                ones = torch.ones(hs, dtype=q.dtype)
                out |= {f"{p}self_attn.q_norm.weight": ones, f"{p}self_attn.k_norm.weight": ones.clone()}
            fc, proj = get(f"{b}mlp.fc.weight"), get(f"{b}mlp.proj.weight")
            if c.mlp == "swiglu":
                gate, up = fc.chunk(2, dim=0)
                out |= {f"{p}mlp.gate_proj.weight": gate, f"{p}mlp.up_proj.weight": up}
                if c.bias:
                    gb, ub = get(f"{b}mlp.fc.bias").chunk(2)
                    out |= {f"{p}mlp.gate_proj.bias": gb, f"{p}mlp.up_proj.bias": ub}
            else:
                out[f"{p}mlp.up_proj.weight"] = fc
                if c.bias:
                    out[f"{p}mlp.up_proj.bias"] = get(f"{b}mlp.fc.bias")
            out[f"{p}mlp.down_proj.weight"] = proj
            if c.bias:
                out[f"{p}mlp.down_proj.bias"] = get(f"{b}mlp.proj.bias")
        out["model.norm.weight"] = get("ln_f.weight")
        if name == "stablelm":
            out["model.norm.bias"] = bias_or_zeros("ln_f.bias", D)
    elif name == "gpt_neox":
        out["gpt_neox.embed_in.weight"] = get("wte.weight")
        for i in range(c.n_layer):
            b, p = f"blocks.{i}.", f"gpt_neox.layers.{i}."
            for norm, key in (("norm1", "input_layernorm"), ("norm2", "post_attention_layernorm")):
                out[f"{p}{key}.weight"] = get(f"{b}{norm}.weight")
                out[f"{p}{key}.bias"] = bias_or_zeros(f"{b}{norm}.bias", D)
            # GPT-NeoX reads its fused projection head by head: [q_h, k_h, v_h] for each head h.
            w = get(f"{b}attn.qkv.weight")
            out[f"{p}attention.query_key_value.weight"] = (
                w.view(3, H, hs, D).transpose(0, 1).reshape(3 * D, D)
            )
            out[f"{p}attention.dense.weight"] = get(f"{b}attn.proj.weight")
            if c.bias:
                qkv_b = get(f"{b}attn.qkv.bias").view(3, H, hs).transpose(0, 1).reshape(3 * D)
                out[f"{p}attention.query_key_value.bias"] = qkv_b
                out[f"{p}attention.dense.bias"] = get(f"{b}attn.proj.bias")
            out[f"{p}mlp.dense_h_to_4h.weight"] = get(f"{b}mlp.fc.weight")
            out[f"{p}mlp.dense_h_to_4h.bias"] = bias_or_zeros(f"{b}mlp.fc.bias", 4 * D)
            out[f"{p}mlp.dense_4h_to_h.weight"] = get(f"{b}mlp.proj.weight")
            out[f"{p}mlp.dense_4h_to_h.bias"] = bias_or_zeros(f"{b}mlp.proj.bias", D)
        out["gpt_neox.final_layer_norm.weight"] = get("ln_f.weight")
        out["gpt_neox.final_layer_norm.bias"] = bias_or_zeros("ln_f.bias", D)
    elif name == "gpt2":
        out["transformer.wte.weight"] = get("wte.weight")
        # pos="none": a table of zeros adds nothing, so the model stays position-free.
        zeros = torch.zeros(c.block_size, D, dtype=src["wte.weight"].dtype)
        out["transformer.wpe.weight"] = src.get("wpe.weight", zeros)
        for i in range(c.n_layer):
            b, p = f"blocks.{i}.", f"transformer.h.{i}."
            for norm, key in (("norm1", "ln_1"), ("norm2", "ln_2")):
                out[f"{p}{key}.weight"] = get(f"{b}{norm}.weight")
                out[f"{p}{key}.bias"] = bias_or_zeros(f"{b}{norm}.bias", D)
            # Conv1D computes x @ W + b: its weight is the transposed Linear weight.
            for mine, theirs, width in (
                ("attn.qkv", "attn.c_attn", 3 * D),
                ("attn.proj", "attn.c_proj", D),
                ("mlp.fc", "mlp.c_fc", 4 * D),
                ("mlp.proj", "mlp.c_proj", D),
            ):
                out[f"{p}{theirs}.weight"] = get(f"{b}{mine}.weight").t().contiguous()
                out[f"{p}{theirs}.bias"] = bias_or_zeros(f"{b}{mine}.bias", width)
        out["transformer.ln_f.weight"] = get("ln_f.weight")
        out["transformer.ln_f.bias"] = bias_or_zeros("ln_f.bias", D)
    elif name == "mpt":
        out["transformer.wte.weight"] = get("wte.weight")
        for i in range(c.n_layer):
            b, p = f"blocks.{i}.", f"transformer.blocks.{i}."
            out[f"{p}norm_1.weight"] = get(f"{b}norm1.weight")
            out[f"{p}attn.Wqkv.weight"] = get(f"{b}attn.qkv.weight")
            out[f"{p}attn.out_proj.weight"] = get(f"{b}attn.proj.weight")
            out[f"{p}norm_2.weight"] = get(f"{b}norm2.weight")
            out[f"{p}ffn.up_proj.weight"] = get(f"{b}mlp.fc.weight")
            out[f"{p}ffn.down_proj.weight"] = get(f"{b}mlp.proj.weight")
        out["transformer.norm_f.weight"] = get("ln_f.weight")
    else:  # pragma: no cover - MAPPINGS and this agree
        raise HFError(f"no converter for architecture {name!r}")
    out["lm_head.weight"] = get("lm_head.weight")
    return {k: v.contiguous() for k, v in out.items()}
