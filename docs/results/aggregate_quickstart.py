"""Aggregates QuickStart report folders into the tables of docs/results.md.

Usage: /usr/bin/python3 docs/results/aggregate_quickstart.py SCIFACT_QRELS_DIR DIR [DIR ...]

Reads each DIR's results.json (written by the QuickStart) for the table, and recomputes nDCG@10 per query from the
run files (run.bm25.trec, run.teacher-bm25-fusion.trec) and the test qrels to test "fusion beats BM25" with a paired
bootstrap (10,000 samples, two-sided), independently of the library's evaluator. Then the same test of distilled
against hard-label students on the mean of the seeds: each query's nDCG@10 averaged over the DIRs (one seed each),
then the paired bootstrap over queries (all and clean).
"""
import json, math, sys, random
from collections import defaultdict

def qrels(path):
    q = defaultdict(dict)
    for i, line in enumerate(open(path)):
        parts = line.split()
        if i == 0 and not parts[-1].lstrip('-').isdigit():
            continue
        q[parts[0]][parts[-2]] = int(parts[-1])
    return q

def run(path):
    r = defaultdict(list)
    for line in open(path):
        qid, _, doc, rank, score, _ = line.split()
        r[qid].append((int(rank), doc))
    return {q: [d for _, d in sorted(v)] for q, v in r.items()}

def ndcg10(ranked, rel):
    dcg = sum((2 ** rel.get(d, 0) - 1) / math.log2(i + 2) for i, d in enumerate(ranked[:10]))
    ideal = sorted(rel.values(), reverse=True)[:10]
    idcg = sum((2 ** g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0

def bootstrap(a, b, seed):
    diffs = [x - y for x, y in zip(a, b)]
    n = len(diffs)
    mean = sum(diffs) / n
    rng = random.Random(seed)
    samples = sorted(sum(diffs[rng.randrange(n)] for _ in range(n)) / n for _ in range(10000))
    centred = [s - mean for s in samples]
    p = sum(1 for c in centred if abs(c) >= abs(mean)) / len(centred)
    return mean, samples[249], samples[9749], p

def main():
    rels = qrels(sys.argv[1] + '/test.tsv')
    train_positives = {d for q in qrels(sys.argv[1] + '/train.tsv').values() for d, g in q.items() if g > 0}
    # "Clean": no relevant document of the query is a train positive (as in the QuickStart).
    clean_ids = sorted(q for q, docs in rels.items() if not any(d in train_positives for d, g in docs.items() if g > 0))
    dirs = sys.argv[2:]
    res = [json.load(open(d + '/results.json')) for d in dirs]
    names = [r['Name'] for r in res[0]['rows']]
    cols = [('all', 'Ndcg10'), ('all', 'Mrr10'), ('all', 'Recall100'), ('clean', 'Ndcg10'), ('clean', 'Mrr10'), ('clean', 'Recall100')]
    print('| system | nDCG@10 | MRR@10 | R@100 | nDCG@10 clean | MRR@10 clean | R@100 clean | queries/s |')
    print('|---|---:|---:|---:|---:|---:|---:|---:|')
    for i, name in enumerate(names):
        cells = []
        for split, m in cols:
            v = [r['rows'][i][split][m] for r in res]
            mu = sum(v) / len(v)
            sd = math.sqrt(sum((x - mu) ** 2 for x in v) / (len(v) - 1)) if len(v) > 1 else 0.0
            cells.append(f'{mu:.4f} ± {sd:.4f}')
        qps = sum(r['rows'][i]['QueriesPerSecond'] for r in res) / len(res)
        print(f'| {name} | ' + ' | '.join(cells) + f' | {qps:.0f} |')
    print()
    print('| seed | teacher dev / fusion dev (weight) | fusion − BM25 nDCG@10 (all): diff, 95% CI, p | (clean) | distilled − hard (all) | (clean) | minutes | load at the end |')
    print('|---|---|---|---|---|---|---|---|')
    for d, r in zip(dirs, res):
        bm25, fused = run(d + '/run.bm25.trec'), run(d + '/run.teacher-bm25-fusion.trec')
        cells = []
        for qs in (sorted(q for q in bm25 if q in rels), [q for q in clean_ids if q in bm25]):
            a = [ndcg10(fused.get(q, []), rels[q]) for q in qs]
            b = [ndcg10(bm25[q], rels[q]) for q in qs]
            mean, lo, hi, p = bootstrap(a, b, r['Seed'])
            cells.append(f'{mean:+.4f} [{lo:+.4f}, {hi:+.4f}] p={p:.4f} ({sum(a)/len(a):.4f} vs {sum(b)/len(b):.4f})')
        dh = r['distilledVsHard']
        def sig(s):
            return f"{s['SystemMean'] - s['BaselineMean']:+.4f} [{s['ConfidenceLow']:+.4f}, {s['ConfidenceHigh']:+.4f}] p={s['PValue']:.4f}"
        f = r['fusion']
        print(f"| {r['Seed']} | {f['teacherDev']:.4f} / {f['fusionDev']:.4f} ({f['weight']:.1f}) | {cells[0]} | {cells[1]} | {sig(dh['all'])} | {sig(dh['clean'])} | {r['totalSeconds']/60:.1f} | {r['machine']['load']} |")
    if len(dirs) > 1:
        distilled = [run(d + '/run.student-distilled.trec') for d in dirs]
        hard = [run(d + '/run.student-hard-labels.trec') for d in dirs]
        print()
        print(f'Distilled − hard labels on the mean of {len(dirs)} seeds (per-query nDCG@10 averaged over the seeds, paired bootstrap):')
        for label, qs in (('all', sorted(q for q in rels if q in distilled[0])), ('clean', [q for q in clean_ids if q in distilled[0]])):
            a = [sum(ndcg10(r.get(q, []), rels[q]) for r in distilled) / len(dirs) for q in qs]
            b = [sum(ndcg10(r.get(q, []), rels[q]) for r in hard) / len(dirs) for q in qs]
            mean, lo, hi, p = bootstrap(a, b, 42)
            print(f'  {label}: {sum(a)/len(a):.4f} vs {sum(b)/len(b):.4f}, {mean:+.4f} [{lo:+.4f}, {hi:+.4f}] p={p:.4f} ({len(qs)} queries)')

if __name__ == '__main__':
    main()
