"""Make the HF transformers goldens for model/hf_golden_test.go.

Each case is a tiny decoder with fixed-seed random float32 weights, saved
with save_pretrained (config.json + model.safetensors) in a directory of its
own, next to golden.json (the 64 input ids, the greedy continuation, the
versions that made it) and logits.safetensors ("logits", F32 [64][vocab]:
the logits after every input id, one full forward pass).

The greedy continuation is made without a KV cache: each step runs the whole
sequence again and takes the argmax of the last row, so it depends on the
model's definition only, not on the cache classes of the transformers
version. The script also runs model.generate and refuses to write a case
where the two disagree, and records the smallest top-1/top-2 logit gap of
the continuation, so a golden never rests on a near tie.

Run from this directory with a venv holding torch and transformers:
    python make_goldens.py
"""

import json
import os
import sys

import safetensors.torch
import torch
import transformers

SEQ = 64  # input ids per golden
GEN = 16  # greedy tokens after them

COMMON = dict(
    vocab_size=256,
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    rms_norm_eps=1e-5,
    max_position_embeddings=1024,
    bos_token_id=1,
    eos_token_id=2,
    torch_dtype="float32",
)

CASES = [
    # Llama 3.1's frequency-dependent RoPE scaling, with a separate LM head.
    # head_dim 16, rope_theta 10000: the 8 wavelengths are 6.3, 20, 63, 199,
    # 628, ... positions, so with original_max_position_embeddings 256,
    # low_freq_factor 1 and high_freq_factor 4 the first three stay, the
    # fourth is interpolated and the rest are divided by the factor.
    dict(
        name="llama3-rope-untied",
        cls="LlamaForCausalLM",
        config=dict(
            COMMON,
            model_type="llama",
            rope_theta=10000.0,
            rope_scaling=dict(
                rope_type="llama3",
                factor=8.0,
                low_freq_factor=1.0,
                high_freq_factor=4.0,
                original_max_position_embeddings=256,
            ),
            tie_word_embeddings=False,
        ),
        seed=1,
    ),
    # head_dim 32 with hidden 64 and 4 heads (hidden/heads would be 16):
    # the query width is 128, wider than the residual stream. Tied embeddings.
    dict(
        name="llama-head-dim",
        cls="LlamaForCausalLM",
        config=dict(COMMON, model_type="llama", head_dim=32, rope_theta=10000.0, tie_word_embeddings=True),
        seed=2,
    ),
    # Mistral with a 16-token sliding window over 64 tokens: from position 16
    # on, every query sees only the last 16 keys.
    dict(
        name="mistral-sliding-window",
        cls="MistralForCausalLM",
        config=dict(COMMON, model_type="mistral", sliding_window=16, rope_theta=10000.0, tie_word_embeddings=False),
        seed=3,
    ),
    # Qwen2: the Llama decoder plus biases on the q, k and v projections.
    dict(
        name="qwen2",
        cls="Qwen2ForCausalLM",
        config=dict(COMMON, model_type="qwen2", rope_theta=1000000.0, tie_word_embeddings=False, use_sliding_window=False),
        seed=4,
    ),
]


def randomize(model, seed):
    """Overwrite every parameter with seeded values large enough that the
    logits spread over several units (HF's 0.02-std init gives nearly flat
    logits, where greedy decoding rests on ties): weights N(0, 1/fan_in),
    embeddings N(0, 0.25²) (small next to the blocks' outputs, so that a tied
    LM head does not just repeat the input token), norm weights
    1 + N(0, 0.1²), biases N(0, 0.5²)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            if name.endswith("norm.weight"):
                v = 1 + 0.1 * torch.randn(p.shape, generator=g)
            elif name.endswith(".bias"):
                v = 0.5 * torch.randn(p.shape, generator=g)
            elif "embed_tokens" in name:
                v = 0.25 * torch.randn(p.shape, generator=g)
            else:
                v = torch.randn(p.shape, generator=g) / p.shape[1] ** 0.5
            p.copy_(v.to(p.dtype))


def make(case, out):
    torch.manual_seed(case["seed"])
    cfg_cls = transformers.AutoConfig.for_model(case["config"]["model_type"]).__class__
    kwargs = {k: v for k, v in case["config"].items() if k != "model_type"}
    config = cfg_cls(**kwargs)
    config._attn_implementation = "eager"
    model = getattr(transformers, case["cls"])(config).float().eval()
    randomize(model, case["seed"])
    if not config.tie_word_embeddings:
        assert not torch.equal(model.lm_head.weight, model.model.embed_tokens.weight)

    g = torch.Generator().manual_seed(100 + case["seed"])
    ids = torch.randint(3, config.vocab_size, (SEQ,), generator=g)

    with torch.no_grad():
        logits = model(ids[None]).logits[0].float().contiguous()
        seq = ids.clone()
        gaps = []
        for _ in range(GEN):
            last = model(seq[None]).logits[0, -1]
            top = torch.topk(last, 2).values
            gaps.append(float(top[0] - top[1]))
            seq = torch.cat([seq, last.argmax().reshape(1)])
        greedy = seq[SEQ:].tolist()
        gen = model.generate(ids[None], attention_mask=torch.ones(1, SEQ, dtype=torch.long), max_new_tokens=GEN,
                             min_new_tokens=GEN, do_sample=False, pad_token_id=0)[0, SEQ:].tolist()
    if gen != greedy:
        sys.exit(f"{case['name']}: generate {gen} differs from the uncached greedy loop {greedy}")

    os.makedirs(out, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    safetensors.torch.save_file({"logits": logits}, os.path.join(out, "logits.safetensors"))
    golden = {
        "model": case["cls"],
        "seed": case["seed"],
        "input_ids": ids.tolist(),
        "greedy": greedy,
        "min_top2_gap": min(gaps),
        "logits_abs_max": float(logits.abs().max()),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "attn_implementation": "eager",
    }
    with open(os.path.join(out, "golden.json"), "w") as f:
        f.write("{\n" + ",\n".join(f" {json.dumps(k)}: {json.dumps(v)}" for k, v in golden.items()) + "\n}\n")
    print(f"{case['name']}: {sum(p.numel() for p in model.parameters())} parameters, "
          f"|logits| <= {golden['logits_abs_max']:.2f}, smallest greedy top-2 gap {min(gaps):.4f}, greedy {greedy}")
    return model, ids


def check_window(model, ids, window, layers):
    """The sliding window really limits attention in this transformers
    version: a query sees its own position and the window-1 before it, so
    token 0 reaches position layers*(window-1) through a stack of windowed
    layers and no further. Changing it must change the logits there and
    leave every later position's logits exactly unchanged."""
    other = ids.clone()
    other[0] = 3 if ids[0] != 3 else 4
    with torch.no_grad():
        a, b = model(ids[None]).logits[0], model(other[None]).logits[0]
    reach = layers * (window - 1)
    diff = (a - b).abs().amax(dim=-1)
    if float(diff[reach + 1:].max()) != 0 or float(diff[reach]) == 0:
        sys.exit(f"sliding window not honoured as expected: per-position change {diff.tolist()}")
    print(f"window check: token 0 changes the logits up to position {reach} ({float(diff[reach]):.3g}), none after")


def main():
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    here = os.path.dirname(os.path.abspath(__file__))
    for case in CASES:
        model, ids = make(case, os.path.join(here, case["name"]))
        if case["config"].get("sliding_window"):
            check_window(model, ids, case["config"]["sliding_window"], case["config"]["num_hidden_layers"])


if __name__ == "__main__":
    main()
