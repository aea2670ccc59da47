# The experiment of docs/results.md "Against forgetting" (WiSE-FT): a student folder averaged with the model it
# started from, tensor by tensor (float32 safetensors only). Usage: python3 merge.py TRAINED BASE ALPHA OUTPUT (needs numpy).
# Not atomic and float32 only: an experiment's record; the library's own safetensors code (SafeTensorsFile,
# SafeTensorsWriter) is where this belongs as a feature.
# WiSE-FT (Wortsman et al. 2022): theta = alpha * finetuned + (1 - alpha) * zero-shot, tensor by tensor.
import json, struct, sys, shutil, os, numpy as np
def read(p):
    b = open(p, 'rb').read(); n = struct.unpack('<Q', b[:8])[0]; h = json.loads(b[8:8+n]); data = b[8+n:]
    meta = h.pop('__metadata__', None); out = {}
    for k, v in h.items():
        assert v['dtype'] == 'F32', v['dtype']
        s, e = v['data_offsets']; out[k] = np.frombuffer(data[s:e], dtype='<f4').reshape(v['shape'])
    return out, meta
def write(p, t, meta):
    h = {}; off = 0; blobs = []
    for k in sorted(t):
        a = np.ascontiguousarray(t[k], dtype='<f4'); b = a.tobytes(); h[k] = {'dtype': 'F32', 'shape': list(a.shape), 'data_offsets': [off, off+len(b)]}; off += len(b); blobs.append(b)
    if meta: h['__metadata__'] = meta
    hb = json.dumps(h, separators=(',', ':')).encode(); hb += b' ' * ((8 - len(hb) % 8) % 8)
    with open(p, 'wb') as f: f.write(struct.pack('<Q', len(hb))); f.write(hb); [f.write(b) for b in blobs]
ft, zs, alpha, out = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
a, meta = read(os.path.join(ft, 'model.safetensors')); b, _ = read(os.path.join(zs, 'model.safetensors'))
assert a.keys() == b.keys(), set(a) ^ set(b)
shutil.copytree(ft, out, ignore=shutil.ignore_patterns('kd-onnx', 'model.safetensors'))
write(os.path.join(out, 'model.safetensors'), {k: alpha * a[k] + (1 - alpha) * b[k] for k in a}, meta)
print(out, len(a), 'tensors, alpha', alpha)
