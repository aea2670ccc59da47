# The label-free teacher's ranking of SciFact test, approximated from two TREC runs (issue 25, goal 2):
# per-query z-scores of BM25's and zero-shot MiniLM's top-100 scores fused with weight w for BM25, over the union of
# the two lists; a document missing from one list gets that list's lowest z-score.
# python3 fuse.py bm25.trec zeroshot.trec 0.5 teacher.trec
import sys, statistics as st
def load(p):
    r = {}
    for l in open(p):
        q, _, d, _, s, _ = l.split(); r.setdefault(q, {})[d] = float(s)
    return r
a, b = load(sys.argv[1]), load(sys.argv[2]); w = float(sys.argv[3])
with open(sys.argv[4], 'w') as f:
    for q in a:
        def z(r):
            v = list(r.values()); m = st.mean(v); s = st.pstdev(v) or 1
            return {d: (x - m) / s for d, x in r.items()}
        za, zb = z(a[q]), z(b.get(q, {}))
        docs = set(za) | set(zb)
        lo_a, lo_b = min(za.values()), min(zb.values()) if zb else 0
        sc = {d: w * za.get(d, lo_a) + (1 - w) * zb.get(d, lo_b) for d in docs}
        for i, (d, s) in enumerate(sorted(sc.items(), key=lambda t: -t[1])[:100]):
            f.write(f"{q} Q0 {d} {i+1} {s:.6f} fuse\n")
