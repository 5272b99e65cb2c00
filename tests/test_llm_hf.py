"""`cadmus llm eval --hf DIR`: a pretrained model on disk is evaluated exactly like an API model.

The model is a tiny random Llama saved with Cadmus's own tokenizer (as a
transformers tokenizer), so the test needs no download: its answers are
nonsense, which is fine; what is checked is the path (prompts, batching,
token counts, cache, judging).
"""

from __future__ import annotations

import json

import pytest

from cadmus.data import build_dataset, config_from_dict, judge
from cadmus.llm import HFBackend, LLMEvalOptions, RequestCache, dry_run, llm_evaluate

DATA = {
    "name": "hf-arith",
    "seed": 9,
    "mixture": [{"family": "arith", "format": "complete", "weight": 1, "knobs": {"max_value": 9}}],
    "splits": {"train": {"size": 30}, "test": {"size": 6}},
}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from cadmus.tokenizer import Tokenizer

    root = tmp_path_factory.mktemp("llm-hf")
    data = root / "data"
    build_dataset(config_from_dict(DATA), data, progress=False, card=False)
    hf_tok = Tokenizer().to_hf()
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(hf_tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=320,  # the rules header alone is longer: zero-shot prompts do not fit
        bos_token_id=hf_tok.bos_token_id,
        eos_token_id=hf_tok.eos_token_id,
        pad_token_id=hf_tok.pad_token_id,
    )
    model_dir = root / "tiny-llama"
    LlamaForCausalLM(config).save_pretrained(model_dir)
    hf_tok.save_pretrained(model_dir)
    return root, data, HFBackend(str(model_dir), batch_size=4)


def test_local_model_runs_like_an_api_model(setup):
    root, data, backend = setup
    assert backend.name == "hf:tiny-llama" and backend.identity()["kind"] == "hf"
    cache = RequestCache(root / "cache")
    opts = LLMEvalOptions(template="raw", shots=2, max_tokens=6)
    plan = dry_run(backend, data, opts, cache=cache)
    assert plan.counted_by == "the model's tokenizer" and plan.estimate.cost_usd == 0.0  # `hf:` costs 0
    first = llm_evaluate(backend, data, root / "a", opts, cache=cache, log=lambda m: None)
    assert first["splits"]["test"]["all"]["n"] == 6
    assert first["usage"]["input_tokens"] > 0 and first["usage"]["cost_usd"] == 0.0
    records = [json.loads(x) for x in (root / "a" / "answers.jsonl").read_text().splitlines()]
    for rec in records:
        row_prompt = rec["prompt"]
        assert rec["ok"][0] == judge("complete", row_prompt, rec["answers"][0], None).ok
    second = llm_evaluate(backend, data, root / "b", opts, cache=cache, log=lambda m: None)
    assert second["usage"]["cached"] == 6
    again = [json.loads(x) for x in (root / "b" / "answers.jsonl").read_text().splitlines()]
    assert [r["raw"] for r in again] == [r["raw"] for r in records]
    # a prompt the model's context cannot hold gets an empty answer, judged wrong; the run goes on
    long = llm_evaluate(
        backend, data, root / "c", LLMEvalOptions(template="rules", shots=0, max_tokens=6), log=lambda m: None
    )
    long_records = [json.loads(x) for x in (root / "c" / "answers.jsonl").read_text().splitlines()]
    assert long["splits"]["test"]["all"]["correct"] == 0 and all(r["raw"] == [""] for r in long_records)
