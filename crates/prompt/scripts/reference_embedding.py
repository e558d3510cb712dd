# Independent reference for tests/encoder.rs: all-MiniLM-L6-v2 in numpy (BERT forward, mean pooling,
# L2 norm, as in the model card), with a minimal WordPiece good for plain ASCII sentences.
# Usage: python3 -m venv v && v/bin/pip install numpy && v/bin/python reference_embedding.py "a red ball"
import json, struct, sys, re, math
import numpy as np
import os
d = os.environ.get("CANDOR_TEXT_ENCODER", os.path.join(os.path.dirname(__file__), "../../../models/text-encoder")) + "/"
vocab = json.load(open(d + "tokenizer.json"))["model"]["vocab"]
def tok(s):
    s = s.lower()
    words = re.findall(r"\w+|[^\w\s]", s)
    ids = [vocab["[CLS]"]]
    for w in words:
        start = 0
        while start < len(w):
            end = len(w); cur = None
            while start < end:
                sub = w[start:end] if start == 0 else "##" + w[start:end]
                if sub in vocab: cur = vocab[sub]; break
                end -= 1
            if cur is None: ids.append(vocab["[UNK]"]); break
            ids.append(cur); start = end
    ids.append(vocab["[SEP]"])
    return ids
f = open(d + "model.safetensors", "rb"); n = struct.unpack("<Q", f.read(8))[0]; h = json.loads(f.read(n)); base = 8 + n
W = {}
for k, v in h.items():
    if k == "__metadata__": continue
    a, b = v["data_offsets"]; f.seek(base + a)
    W[k] = np.frombuffer(f.read(b - a), dtype=np.float32 if v["dtype"] == "F32" else np.int64).reshape(v["shape"])
def ln(x, p): 
    m = x.mean(-1, keepdims=True); var = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / np.sqrt(var + 1e-12) * W[p + ".weight"] + W[p + ".bias"]
def lin(x, p): return x @ W[p + ".weight"].T + W[p + ".bias"]
erf = np.vectorize(math.erf)
def gelu(x): return 0.5 * x * (1 + erf(x / math.sqrt(2)))
def embed(s):
    ids = tok(s); L = len(ids)
    x = W["embeddings.word_embeddings.weight"][ids] + W["embeddings.position_embeddings.weight"][:L] + W["embeddings.token_type_embeddings.weight"][0]
    x = ln(x, "embeddings.LayerNorm")
    for i in range(6):
        p = f"encoder.layer.{i}."
        q = lin(x, p + "attention.self.query").reshape(L, 12, 32).transpose(1, 0, 2)
        k = lin(x, p + "attention.self.key").reshape(L, 12, 32).transpose(1, 0, 2)
        v = lin(x, p + "attention.self.value").reshape(L, 12, 32).transpose(1, 0, 2)
        s_ = q @ k.transpose(0, 2, 1) / math.sqrt(32)
        s_ = np.exp(s_ - s_.max(-1, keepdims=True)); s_ /= s_.sum(-1, keepdims=True)
        c = (s_ @ v).transpose(1, 0, 2).reshape(L, 384)
        x = ln(lin(c, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
        hmid = gelu(lin(x, p + "intermediate.dense"))
        x = ln(lin(hmid, p + "output.dense") + x, p + "output.LayerNorm")
    m = x.mean(0)
    return ids, m / max(np.linalg.norm(m), 1e-12)
for s in sys.argv[1:]:
    ids, e = embed(s)
    print(s, ids, np.round(e[:8], 6).tolist())
