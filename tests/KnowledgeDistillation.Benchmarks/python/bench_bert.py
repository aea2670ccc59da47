"""A small BERT in PyTorch with Hugging Face's parameter names, for the benchmark peers.

Written from transformers' modeling_bert.py semantics (eager attention: matmul, additive mask, softmax; exact-erf GELU;
LayerNorm eps 1e-12), independent of the C# implementation. Also: a safetensors reader/writer and an .npy reader,
so nothing beyond torch and numpy is needed (Debian's python3-torch 1.13).
"""

import json
import math
import struct

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

SHAPES = {
    # name: (hidden, layers, heads, intermediate)
    "minilm": (384, 6, 12, 1536),
    "base": (768, 12, 12, 3072),
}
VOCAB_SIZE = 30522
MAX_POSITIONS = 512


class SelfAttention(nn.Module):
    def __init__(self, h, heads, p):
        super().__init__()
        self.heads, self.head_size = heads, h // heads
        self.query, self.key, self.value = nn.Linear(h, h), nn.Linear(h, h), nn.Linear(h, h)
        self.dropout = nn.Dropout(p)

    def split(self, x):
        b, t, _ = x.shape
        return x.view(b, t, self.heads, self.head_size).transpose(1, 2)

    def forward(self, x, mask):
        q, k, v = self.split(self.query(x)), self.split(self.key(x)), self.split(self.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_size) + mask
        probs = self.dropout(scores.softmax(-1))
        ctx = torch.matmul(probs, v).transpose(1, 2).contiguous()
        return ctx.view(x.shape[0], x.shape[1], -1)


class SelfOutput(nn.Module):
    def __init__(self, h, p):
        super().__init__()
        self.dense, self.LayerNorm, self.dropout = nn.Linear(h, h), nn.LayerNorm(h, eps=1e-12), nn.Dropout(p)

    def forward(self, x, residual):
        return self.LayerNorm(self.dropout(self.dense(x)) + residual)


class Attention(nn.Module):
    def __init__(self, h, heads, p):
        super().__init__()
        setattr(self, "self", SelfAttention(h, heads, p))
        self.output = SelfOutput(h, p)

    def forward(self, x, mask):
        return self.output(getattr(self, "self")(x, mask), x)


class Intermediate(nn.Module):
    def __init__(self, h, i):
        super().__init__()
        self.dense = nn.Linear(h, i)

    def forward(self, x):
        return F.gelu(self.dense(x))


class Output(nn.Module):
    def __init__(self, h, i, p):
        super().__init__()
        self.dense, self.LayerNorm, self.dropout = nn.Linear(i, h), nn.LayerNorm(h, eps=1e-12), nn.Dropout(p)

    def forward(self, x, residual):
        return self.LayerNorm(self.dropout(self.dense(x)) + residual)


class Layer(nn.Module):
    def __init__(self, h, heads, i, p):
        super().__init__()
        self.attention, self.intermediate, self.output = Attention(h, heads, p), Intermediate(h, i), Output(h, i, p)

    def forward(self, x, mask):
        a = self.attention(x, mask)
        return self.output(self.intermediate(a), a)


class Encoder(nn.Module):
    def __init__(self, h, layers, heads, i, p):
        super().__init__()
        self.layer = nn.ModuleList([Layer(h, heads, i, p) for _ in range(layers)])

    def forward(self, x, mask):
        for layer in self.layer:
            x = layer(x, mask)
        return x


class Embeddings(nn.Module):
    def __init__(self, h, p):
        super().__init__()
        self.word_embeddings = nn.Embedding(VOCAB_SIZE, h, padding_idx=0)
        self.position_embeddings = nn.Embedding(MAX_POSITIONS, h)
        self.token_type_embeddings = nn.Embedding(2, h)
        self.LayerNorm, self.dropout = nn.LayerNorm(h, eps=1e-12), nn.Dropout(p)

    def forward(self, ids, types):
        pos = torch.arange(ids.shape[1], dtype=torch.long).unsqueeze(0)
        e = self.word_embeddings(ids) + self.token_type_embeddings(types) + self.position_embeddings(pos)
        return self.dropout(self.LayerNorm(e))


class Pooler(nn.Module):
    def __init__(self, h):
        super().__init__()
        self.dense = nn.Linear(h, h)

    def forward(self, x):
        return torch.tanh(self.dense(x[:, 0]))


class Bert(nn.Module):
    def __init__(self, shape, p=0.1):
        super().__init__()
        h, layers, heads, i = SHAPES[shape]
        self.embeddings = Embeddings(h, p)
        self.encoder = Encoder(h, layers, heads, i, p)
        self.pooler = Pooler(h)

    def forward(self, ids, mask, types):
        additive = (1.0 - mask[:, None, None, :].to(torch.float32)) * torch.finfo(torch.float32).min
        return self.encoder(self.embeddings(ids, types), additive)


class CrossEncoder(nn.Module):
    """BertForSequenceClassification with one label."""

    def __init__(self, shape, p=0.1):
        super().__init__()
        self.bert = Bert(shape, p)
        self.dropout = nn.Dropout(p)
        self.classifier = nn.Linear(SHAPES[shape][0], 1)

    def forward(self, ids, mask, types):
        states = self.bert(ids, mask, types)
        return self.classifier(self.dropout(self.bert.pooler(states)))


def init_(module, seed):
    """Hugging Face's _init_weights: normal(0, 0.02) weights, zero biases, LayerNorm (1, 0), padding row 0."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * 0.02)
                if isinstance(m, nn.Linear):
                    m.bias.zero_()
                elif m.padding_idx is not None:
                    m.weight[m.padding_idx].zero_()
            elif isinstance(m, nn.LayerNorm):
                m.weight.fill_(1.0)
                m.bias.zero_()


def config_json(shape, num_labels=None):
    h, layers, heads, i = SHAPES[shape]
    c = {
        "_note": "random-initialised benchmark model written by tests/KnowledgeDistillation.Benchmarks/python/make_bench_models.py",
        "architectures": ["BertForSequenceClassification" if num_labels else "BertModel"],
        "model_type": "bert", "vocab_size": VOCAB_SIZE, "hidden_size": h, "num_hidden_layers": layers,
        "num_attention_heads": heads, "intermediate_size": i, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1, "max_position_embeddings": MAX_POSITIONS, "type_vocab_size": 2,
        "initializer_range": 0.02, "layer_norm_eps": 1e-12, "pad_token_id": 0, "position_embedding_type": "absolute",
        "torch_dtype": "float32",
    }
    if num_labels:
        c["id2label"] = {str(k): f"LABEL_{k}" for k in range(num_labels)}
        c["label2id"] = {f"LABEL_{k}": k for k in range(num_labels)}
    return c


def write_safetensors(path, state):
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(state):
        t = state[name].detach().to(torch.float32).contiguous()
        b = t.numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    body = memoryview(data)[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", f"{name}: {info['dtype']}"
        a, b = info["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(body[a:b], dtype="<f4").reshape(info["shape"]).copy())
    return out


def load(module, folder):
    """Loads a folder written by make_bench_models.py; BertModel folders have no 'bert.' prefix."""
    state = read_safetensors(f"{folder}/model.safetensors")
    if isinstance(module, Bert):
        state = {k[len("bert."):] if k.startswith("bert.") else k: v for k, v in state.items()}
    missing, unexpected = module.load_state_dict(state, strict=False)
    assert not missing and not unexpected, (missing, unexpected)
    return module


def read_npy(path):
    return torch.from_numpy(np.load(path))
