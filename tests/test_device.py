"""Numerics that must hold on every device: bf16 autocast vs fp32, torch.compile on vs off, the KV cache.

They run on the CPU in the suite; `scripts/gpu_check.sh` runs the same file with
CADMUS_TEST_DEVICE=cuda on a GPU machine.
"""

import os

import pytest
import torch

from cadmus.model import GPT, generate, preset_config

DEVICE = torch.device(os.environ.get("CADMUS_TEST_DEVICE", "cpu"))


@pytest.fixture(scope="module")
def model() -> GPT:
    torch.manual_seed(0)
    config = preset_config("tiny", vocab_size=64, n_layer=2, n_embd=64, n_head=4, block_size=48)
    return GPT(config).to(DEVICE).eval()


def prompts(n: int = 8, length: int = 12) -> torch.Tensor:
    return torch.randint(1, 64, (n, length), generator=torch.Generator().manual_seed(1)).to(DEVICE)


def test_device_is_the_one_asked_for(model):
    assert next(model.parameters()).device.type == DEVICE.type


@torch.no_grad()
def test_bf16_autocast_matches_fp32_within_tolerance(model):
    x = prompts()
    ref, _ = model(x)
    with torch.autocast(device_type=DEVICE.type, dtype=torch.bfloat16):
        low, _ = model(x)
    low = low.float()
    scale = ref.abs().max().item()
    assert (low - ref).abs().max().item() <= 0.05 * scale
    # the same greedy answer wherever fp32 is not near a tie
    top2 = ref.topk(2, dim=-1).values
    clear = (top2[..., 0] - top2[..., 1]) > 0.05 * scale
    assert clear.any()
    assert torch.equal(ref.argmax(-1)[clear], low.argmax(-1)[clear])


@torch.no_grad()
def test_compiled_model_matches_eager(model):
    x = prompts()
    ref, _ = model(x)
    compiled = torch.compile(model)
    out, _ = compiled(x)
    assert (out - ref).abs().max().item() <= 1e-4 * max(1.0, ref.abs().max().item())


@torch.no_grad()
def test_kv_cache_gives_the_same_tokens(model):
    x = prompts(4, 10)
    with_cache = generate(model, x, max_new_tokens=20, use_cache=True)
    without = generate(model, x, max_new_tokens=20, use_cache=False)
    assert torch.equal(with_cache, without)


def test_one_training_step_moves_the_loss(model):
    torch.manual_seed(2)
    trainee = GPT(model.config).to(DEVICE).train()
    opt = torch.optim.AdamW(trainee.parameters(), lr=3e-3)
    x = prompts(8, 16)
    y = torch.roll(x, -1, dims=1)
    losses = []
    for _ in range(5):
        with torch.autocast(device_type=DEVICE.type, dtype=torch.bfloat16, enabled=DEVICE.type == "cuda"):
            _, loss = trainee(x, y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.item())
    assert losses[-1] < losses[0]
