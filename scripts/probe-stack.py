"""Would a second stage over the cross-encoder order the candidates better?

Reads the pairs that scripts/probe-stack.ts writes for a model's held-out
topics (a model trained without rerank.stack), fits a model on one half of
the held-out topics and scores the other half (three seeded shuffles, both
halves), and prints the mean F2 of each variant:

  known  each topic cut at its true number of links (the order alone);
  ef2    each topic cut at the k maximising 5 S_k / (4 S_all + k) over the
         scores as they are (nothing tuned).

It reads held-out topics: it is a pre-check, never a choice a model makes.
Needs numpy, scikit-learn, lightgbm and xgboost:

  python3 -m venv work/probe-venv && work/probe-venv/bin/pip install numpy scikit-learn lightgbm xgboost
  work/probe-venv/bin/python scripts/probe-stack.py work/probe/stack-42.csv [more.csv ...]
"""
import sys
import numpy as np
import lightgbm as lgb
import xgboost as xgb
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler


def logit(p):
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def features(d):
    """26 columns: 0 logit p, 1 logit of the deployed (competed) score, 2 log(1 + rank in topic),
    3 logit gap to the topic's best, 4 share of the topic's sum, 5 log sum, 6 log(1 + #p > 0.5),
    7 p / the item's best p over the held-out topics, 8 log(#held-out topics holding the item),
    9-21 the side features, 22-25 log(1 + siblings' items), siblings, depth, log(1 + children)."""
    t = d['topic'].astype(int); c = d['content'].astype(int); p = d['p']
    T = t.max() + 1
    lp = logit(p)
    maxl = np.full(T, -1e9); np.maximum.at(maxl, t, lp)
    sump = np.zeros(T); np.add.at(sump, t, p)
    n5 = np.zeros(T); np.add.at(n5, t, (p > 0.5).astype(float))
    order = np.lexsort((-p, t)); rank = np.empty(len(p))
    starts = np.r_[0, np.flatnonzero(np.diff(t[order])) + 1]
    for s, e in zip(starts, np.r_[starts[1:], len(p)]):
        rank[order[s:e]] = np.arange(e - s)
    cmax, ccount = {}, {}
    for ci, pi in zip(c, p):
        cmax[ci] = max(cmax.get(ci, 0), pi); ccount[ci] = ccount.get(ci, 0) + 1
    cm = np.array([cmax[ci] for ci in c]); cc = np.array([ccount[ci] for ci in c])
    cols = [lp, logit(d['score']), np.log1p(rank), lp - maxl[t], p / np.maximum(sump[t], 1e-6), np.log(sump[t] + 1e-3),
            np.log1p(n5[t]), p / np.maximum(cm, 1e-6), np.log(cc)]
    cols += [d[f'f{i}'] for i in range(13)]
    cols += [np.log1p(d['sibItems']), d['sibs'], d['depth'], np.log1p(d['children'])]
    return np.column_stack(cols)


def f2(tp, k, g):
    if k == 0 or tp == 0:
        return 0.0
    P = tp / k; R = tp / g
    return 5 * P * R / (4 * P + R)


def mean_f2(d, s, topics, mode):
    t = d['topic'].astype(int); lab = d['label']; gold = d['gold']
    out = []
    for tp_ in topics:
        m = t == tp_; g = gold[m][0]
        if g == 0:
            continue
        o = np.argsort(-s[m]); ls = lab[m][o]; ss = s[m][o]
        if mode == 'known':
            k = int(g)
        else:
            k = int(np.argmax(5 * np.cumsum(ss) / (4 * ss.sum() + np.arange(1, len(ss) + 1)))) + 1
        out.append(f2(ls[:k].sum(), k, g))
    return np.mean(out)


LIST = [0, 2, 3, 4, 5, 6]
SIDE = list(range(9, 22))
TOPIC = [22, 23, 24, 25]


def xgb_model(rep):
    return xgb.XGBClassifier(n_estimators=200, learning_rate=0.05, max_depth=4, subsample=0.8, colsample_bytree=0.8,
                             min_child_weight=5, tree_method='exact', random_state=rep)


def lgb_model(rep):
    return lgb.LGBMClassifier(n_estimators=200, learning_rate=0.05, num_leaves=15, min_child_samples=50, subsample=0.8,
                              subsample_freq=1, colsample_bytree=0.8, verbose=-1)


# name: (columns, model, standardise)
VARIANTS = {
    'trees, the 25 features of rerank.stack (xgboost)': ('stack', xgb_model, False),
    'trees without the item\'s standing among the topics (23)': (LIST + SIDE + TOPIC, xgb_model, False),
    'trees over all 26 columns (the deployed score and the count instead of p x ratio)': (list(range(26)), xgb_model, False),
    'LightGBM over all 26 columns': (list(range(26)), lgb_model, False),
    'LightGBM without the side features': (list(range(9)) + TOPIC, lgb_model, False),
    'logistic regression over all 26 columns': (list(range(26)), lambda rep: LogisticRegression(C=1.0, max_iter=2000), True),
    'MLP, 32 hidden units, over all 26 columns': (list(range(26)), lambda rep: MLPClassifier((32,), alpha=1e-3, max_iter=300, random_state=rep), True),
}

for path in sys.argv[1:]:
    d = np.genfromtxt(path, delimiter=',', names=True)
    X26 = features(d); y = d['label']; t = d['topic'].astype(int)
    competed = logit(d['p'] * X26[:, 7])
    stack = np.column_stack([X26[:, LIST], X26[:, 7], competed, X26[:, SIDE + TOPIC]])
    topics = np.unique(t[d['gold'] > 0])
    res = {}
    for rep in range(3):
        perm = np.random.default_rng(rep).permutation(topics)
        halves = [perm[::2], perm[1::2]]
        for h in range(2):
            fit, test = halves[h], halves[1 - h]
            mf = np.isin(t, fit)
            res.setdefault('the cross-encoder, competed as deployed', []).append((mean_f2(d, d['score'], test, 'known'), mean_f2(d, d['score'], test, 'ef2')))
            for name, (cols, make, scale) in VARIANTS.items():
                X = stack if cols == 'stack' else X26[:, cols]
                if scale:
                    X = StandardScaler().fit(X[mf]).transform(X)
                s = make(rep).fit(X[mf], y[mf]).predict_proba(X)[:, 1]
                res.setdefault(name, []).append((mean_f2(d, s, test, 'known'), mean_f2(d, s, test, 'ef2')))
    print(path)
    for name, v in res.items():
        print(f'  known {np.mean([a for a, _ in v]):.4f}  ef2 {np.mean([b for _, b in v]):.4f}  {name}')
