"""The Python side of scripts/bench-ann-peer.ts: hnswlib (PyPI) on the vectors
and parameters trellis's HNSW index is measured with.

Reads float32 .npy files (base rows, queries) and the exact top-k labels
(uint32 .npy, from trellis's brute-force index), builds an hnswlib index in
cosine space, times the build, and for each ef times the queries and computes
recall@k against the exact labels (the same definition as src/ann/search.ts:
per query, the share of the exact top k found in the approximate top k).
Prints one JSON object.

  python hnswlib_peer.py --base X.npy --queries Q.npy --truth T.npy --m 16 \
      --ef-construction 200 --ef 16,32,64 --k 10 --seed 100 --build-threads 1,2

With --serve it builds one index (one thread), prints {"ready": ...} and then
answers one JSON line per request line on stdin, {"ef": 16, "minSeconds": 1}
-> {"ef", "recall", "batchQueriesPerSecond"} (one timed round of the batch
call), until stdin closes: the caller interleaves these rounds with its own,
so both sides of a ratio are measured within seconds of each other.
"""
import argparse
import importlib.metadata
import json
import platform
import statistics
import sys
import time

import hnswlib
import numpy as np


def recall(found: np.ndarray, truth: np.ndarray, k: int) -> float:
    total = 0.0
    for f, t in zip(found, truth):
        t = t[:k]
        total += len(set(f[:k].tolist()) & set(t.tolist())) / len(t)
    return total / len(truth)


def timed(run, min_seconds: float, repeats: int):
    """Median seconds of one call over `repeats` rounds; each round repeats the call for at least min_seconds."""
    rounds = []
    result = None
    for _ in range(repeats):
        calls = 0
        start = time.perf_counter()
        while True:
            result = run()
            calls += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_seconds:
                break
        rounds.append(elapsed / calls)
    return statistics.median(rounds), result


def serve(base, queries, truth, ids, a, out) -> None:
    """Paired rounds: one build, then one timed batch round per request line."""
    n, dim = base.shape
    index = hnswlib.Index(space="cosine", dim=dim)
    index.init_index(max_elements=n, ef_construction=a.ef_construction, M=a.m, random_seed=a.seed)
    index.add_items(base, ids, num_threads=1)
    print(json.dumps({"ready": out}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        index.set_ef(int(request["ef"]))
        seconds, (labels, _) = timed(lambda: index.knn_query(queries, k=a.k, num_threads=1), float(request["minSeconds"]), 1)
        r = recall(labels.astype(np.int64), truth.astype(np.int64), a.k)
        print(json.dumps({"ef": request["ef"], "recall": r, "batchQueriesPerSecond": len(queries) / seconds}), flush=True)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--base", required=True)
    p.add_argument("--queries", required=True)
    p.add_argument("--truth", required=True)
    p.add_argument("--m", type=int, default=16)
    p.add_argument("--ef-construction", type=int, default=200)
    p.add_argument("--ef", default="16,32,64,128,256")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--seed", type=int, default=100)
    p.add_argument("--build-threads", default="1")
    p.add_argument("--min-seconds", type=float, default=1.0)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--serve", action="store_true")
    a = p.parse_args()

    base = np.load(a.base)
    queries = np.load(a.queries)
    truth = np.load(a.truth)
    n, dim = base.shape
    ids = np.arange(n, dtype=np.uint64)
    out = {
        "hnswlib": importlib.metadata.version("hnswlib"),
        "module": hnswlib.__file__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "rows": n,
        "dim": dim,
        "queries": len(queries),
        "builds": [],
        "search": [],
    }
    if a.serve:
        serve(base, queries, truth, ids, a, out)
        return
    index = None
    for threads in [int(t) for t in a.build_threads.split(",")]:
        built = hnswlib.Index(space="cosine", dim=dim)
        built.init_index(max_elements=n, ef_construction=a.ef_construction, M=a.m, random_seed=a.seed)
        start = time.perf_counter()
        built.add_items(base, ids, num_threads=threads)
        seconds = time.perf_counter() - start
        out["builds"].append({"threads": threads, "seconds": seconds, "insertsPerSecond": n / seconds})
        print(f"[hnswlib] build, {threads} thread(s): {seconds:.1f} s", file=sys.stderr)
        # Searches run on the single-threaded build (the same insertion order and seed as trellis's).
        if index is None or threads == 1:
            index = built
    for ef in [int(e) for e in a.ef.split(",")]:
        index.set_ef(ef)
        batch_s, (labels, _) = timed(lambda: index.knn_query(queries, k=a.k, num_threads=1), a.min_seconds, a.repeats)
        single_s, _ = timed(lambda: [index.knn_query(q, k=a.k, num_threads=1) for q in queries], a.min_seconds, a.repeats)
        r = recall(labels.astype(np.int64), truth.astype(np.int64), a.k)
        out["search"].append({"ef": ef, "recall": r, "batchQueriesPerSecond": len(queries) / batch_s, "loopQueriesPerSecond": len(queries) / single_s})
        print(f"[hnswlib] ef {ef}: recall@{a.k} {r:.4f}, {len(queries) / batch_s:.0f} q/s batch, {len(queries) / single_s:.0f} q/s one call per query", file=sys.stderr)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
