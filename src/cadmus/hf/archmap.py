"""Which standard Hugging Face architecture computes a Cadmus model exactly: the one table.

Every Cadmus knob combination either maps onto one entry of `MAPPINGS`
(exported with that architecture's own class, loadable without
``trust_remote_code``) or is refused with `HFError` naming the knob that no
standard architecture matches. The table in docs/hf.md is generated from
`MAPPINGS` (`python -m cadmus.hf.docs docs/hf.md`; a test keeps it in step).

Knobs every mapping carries over unchanged: ``n_layer``, ``n_head``,
``n_embd``, ``vocab_size``, ``block_size`` (the context: max positions),
``tie_embeddings``, ``rope_base`` and ``dropout``. The attention scale is
1/sqrt(head size) in Cadmus and in every target. Epsilons: Cadmus's RMSNorm
uses 1e-6 and its LayerNorm 1e-5, and the exported config says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cadmus.hf.errors import HFError

KNOBS = ("pos", "norm", "mlp", "qk_norm", "bias")  # the knobs that choose an architecture
# Cadmus's positional levers (cadmus.model.levers) and their "off" values: a model with one is refused.
LEVERS = {"abacus": False, "coupling": None, "random_positions": None}
# How far a refused model is from an architecture: changing the position scheme weighs most, so
# the message keeps the user's positions and names the other knobs where it can.
_WEIGHT = {"pos": 8.0, "mlp": 4.0, "norm": 2.0, "qk_norm": 1.5, "bias": 1.0}
RMS_EPS = 1e-6  # cadmus.model: nn.RMSNorm(eps=1e-6), and rms_norm() of qk_norm
LN_EPS = 1e-5  # cadmus.model: nn.LayerNorm's default


@dataclass(frozen=True)
class ArchMapping:
    """One standard architecture and the Cadmus knob values it reproduces exactly."""

    name: str  # Hugging Face model_type
    architecture: str  # the AutoModelForCausalLM class
    pos: tuple[str, ...]
    norm: tuple[str, ...]
    mlp: tuple[str, ...]
    qk_norm: tuple[bool, ...]
    bias: tuple[bool, ...]
    how: str  # what the conversion does beyond renaming tensors

    def allows(self, knob: str, value: Any) -> bool:
        return value in getattr(self, knob)

    def mismatches(self, config: Any) -> list[str]:
        """The knobs of `config` (a GPTConfig or a dict) this architecture cannot reproduce."""
        return [k for k in KNOBS if not self.allows(k, _get(config, k))]


MAPPINGS: tuple[ArchMapping, ...] = (
    ArchMapping(
        "llama",
        "LlamaForCausalLM",
        pos=("rope",),
        norm=("rmsnorm",),
        mlp=("swiglu",),
        qk_norm=(False,),
        bias=(False, True),
        how="`mlp.fc` splits into gate_proj (first half) and up_proj; `attn.qkv` into q/k/v_proj; "
        "`bias` sets attention_bias and mlp_bias",
    ),
    ArchMapping(
        "qwen3",
        "Qwen3ForCausalLM",
        pos=("rope",),
        norm=("rmsnorm",),
        mlp=("swiglu",),
        qk_norm=(True,),
        bias=(False,),
        how="as Llama, plus q_norm/k_norm per head with weights of ones "
        "(Cadmus's query/key RMS norm has no weight); Qwen3's MLP has no biases",
    ),
    ArchMapping(
        "arcee",
        "ArceeForCausalLM",
        pos=("rope",),
        norm=("rmsnorm",),
        mlp=("gelu", "relu2"),
        qk_norm=(False,),
        bias=(False, True),
        how="a Llama body with a plain MLP (up_proj, down_proj); hidden_act `gelu` (exact) or `relu2`",
    ),
    ArchMapping(
        "gpt_neox",
        "GPTNeoXForCausalLM",
        pos=("rope",),
        norm=("layernorm",),
        mlp=("gelu", "relu2"),
        qk_norm=(False,),
        bias=(False, True),
        how="use_parallel_residual=False, partial_rotary_factor=1; the fused QKV rows are regrouped "
        "per head; LayerNorm and MLP biases are zeros when Cadmus has none",
    ),
    ArchMapping(
        "stablelm",
        "StableLmForCausalLM",
        pos=("rope",),
        norm=("layernorm",),
        mlp=("swiglu",),
        qk_norm=(False,),
        bias=(False,),
        how="partial_rotary_factor=1; LayerNorm biases are zeros; StableLM's o_proj and MLP have no biases",
    ),
    ArchMapping(
        "gpt2",
        "GPT2LMHeadModel",
        pos=("learned", "none"),
        norm=("layernorm",),
        mlp=("gelu", "relu2"),
        qk_norm=(False,),
        bias=(False, True),
        how="Conv1D weights are the transposed Linear weights; biases are zeros when Cadmus has none; "
        "`pos=none` exports a position table of zeros (fine-tuning would train it: freeze `wpe` "
        "to keep the model position-free)",
    ),
    ArchMapping(
        "mpt",
        "MptForCausalLM",
        pos=("alibi",),
        norm=("layernorm",),
        mlp=("gelu",),
        qk_norm=(False,),
        bias=(False,),
        how="MPT's ALiBi slopes equal Cadmus's (Press et al.) for every head count; "
        "its bias depends on the key alone, which softmax makes equal to the distance bias",
    ),
)

BY_NAME = {m.name: m for m in MAPPINGS}


def _get(config: Any, knob: str) -> Any:
    if isinstance(config, dict):
        return config.get(knob, LEVERS.get(knob))  # a config dict leaves out levers that are off
    return getattr(config, knob)


def choose_mapping(config: Any) -> ArchMapping:
    """The architecture for `config` (a GPTConfig or its dict), or `HFError` naming the knob.

    When nothing matches, the message names the knob(s) in which the nearest
    architecture differs and what that architecture needs (nearest: the fewest
    and least structural changes, see `_WEIGHT`; ties go to the earlier entry).
    """
    for lever, off in LEVERS.items():
        if _get(config, lever) != off:
            raise HFError(
                f"{lever}={_get(config, lever)!r} is a Cadmus positional lever that no standard Hugging Face "
                "architecture computes; export a model without levers (docs/generalization.md)",
                key=lever,
            )
    for mapping in MAPPINGS:
        if not mapping.mismatches(config):
            return mapping
    nearest = min(MAPPINGS, key=lambda m: sum(_WEIGHT[k] for k in m.mismatches(config)))
    wrong = nearest.mismatches(config)
    knob = wrong[0]
    rest = ", ".join(f"{k}={_get(config, k)!r}" for k in KNOBS if k != knob)
    need = "; ".join(f"{k} in {_show(getattr(nearest, k))}" for k in wrong)
    raise HFError(
        f"no standard Hugging Face architecture computes {knob}={_get(config, knob)!r} together with "
        f"{rest}; the nearest, {nearest.architecture}, needs {need} (docs/hf.md)",
        key=knob,
    )


def _show(values: tuple[Any, ...]) -> str:
    return "{" + ", ".join(repr(v) for v in values) + "}"


def _cell(values: tuple[Any, ...]) -> str:
    return ", ".join(f"`{v}`" if isinstance(v, str) else str(v) for v in values)


def mapping_table() -> str:
    """The Markdown table of `MAPPINGS` (docs/hf.md quotes it)."""
    lines = [
        "| Hugging Face class | `pos` | `norm` | `mlp` | `qk_norm` | `bias` | conversion |",
        "|---|---|---|---|---|---|---|",
    ]
    for m in MAPPINGS:
        cells = [f"`{m.architecture}`", *(_cell(getattr(m, k)) for k in KNOBS), m.how]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
