"""A float32 CPU stand-in for the two flash_attn entry points the released
llama.py imports (flash_attn has no CPU build). It is installed into
sys.modules as `flash_attn` and `flash_attn.bert_padding` before the
released code is imported. Only the unpadded call (flash_attn_func) is
reachable in a batch-1 run without padding; the others raise.

flash_attn_func(q, k, v, dropout, softmax_scale=None, causal=True) takes
[batch, seq, heads, dim] tensors, GQA (fewer K/V heads) allowed, and with
causal=True aligns the causal mask to the bottom right (query i of a
q_len-row block sees keys 0 .. k_len - q_len + i), as FlashAttention-2 does.
"""
import importlib.machinery
import math
import sys
import types

import torch


def flash_attn_func(q, k, v, dropout_p=0.0, softmax_scale=None, causal=False, **_):
    b, sq, hq, d = q.shape
    sk, hk = k.shape[1], k.shape[2]
    if hq != hk:
        k = k.repeat_interleave(hq // hk, dim=2)
        v = v.repeat_interleave(hq // hk, dim=2)
    scale = softmax_scale if softmax_scale is not None else 1.0 / math.sqrt(d)
    qt, kt, vt = q.transpose(1, 2).float(), k.transpose(1, 2).float(), v.transpose(1, 2).float()
    s = torch.matmul(qt, kt.transpose(-1, -2)) * scale
    if causal:
        i = torch.arange(sq).unsqueeze(1)
        j = torch.arange(sk).unsqueeze(0)
        s = s.masked_fill(j > i + (sk - sq), float("-inf"))
    p = torch.softmax(s, dim=-1)
    return torch.matmul(p, vt).transpose(1, 2).to(q.dtype)


def _unsupported(*_a, **_k):
    raise NotImplementedError("flash_attn_cpu: padded inputs are not supported")


def install():
    # A spec, so that transformers' probes (find_spec, then the package
    # metadata, which does not exist) conclude flash_attn is not installed.
    fa = types.ModuleType("flash_attn")
    fa.__spec__ = importlib.machinery.ModuleSpec("flash_attn", None)
    fa.flash_attn_func = flash_attn_func
    fa.flash_attn_varlen_func = _unsupported
    bp = types.ModuleType("flash_attn.bert_padding")
    bp.__spec__ = importlib.machinery.ModuleSpec("flash_attn.bert_padding", None)
    bp.index_first_axis = bp.pad_input = bp.unpad_input = _unsupported
    fa.bert_padding = bp
    sys.modules["flash_attn"] = fa
    sys.modules["flash_attn.bert_padding"] = bp
