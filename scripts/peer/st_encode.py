"""The Python side of trellis's pretrained-encoder throughput: the same
sentence-transformers model directory (all-MiniLM-L6-v2) encoded by
sentence-transformers on PyTorch, CPU only, at a fixed thread count.

Input texts are a JSON array of strings (texts may hold newlines, so one per
line would not do). Runs one untimed warm-up pass over all texts, then
--repeat timed passes, and reports the MEDIAN pass ("seconds"; every pass is
in "pass_seconds"). encode() is called the way a user calls it: its default
batch size (32) and its own length-sorted batching, so padding is
sentence-transformers' business, as it would be in production.

--out writes the vectors (float32, row-major, one row per input text in input
order) with numpy.save, L2-normalized as the model's Normalize module does, so
scripts/peer/npy.ts can check them against trellis's vectors. Prints one JSON
line.

  work/peer/torch-venv/bin/python scripts/peer/st_encode.py \\
      --model models/pretrained/all-MiniLM-L6-v2 --texts texts.json \\
      --max-length 128 --threads 1 [--batch-size 32] [--repeat 3] [--out v.npy]

With --serve, after the warm-up pass it prints {"ready": {...}} and then
answers each line on stdin with one timed pass, {"seconds", "texts_per_second"},
until stdin closes (scripts/peer/paired.ts: the caller times its own passes
between these).
"""
import argparse
import json
import os
import statistics
import sys
import time


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--model', required=True, help='sentence-transformers model directory')
    p.add_argument('--texts', required=True, help='JSON file: an array of strings')
    p.add_argument('--max-length', type=int, help="tokens per text, [CLS]/[SEP] included (default: the model's max_seq_length)")
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--batch-size', type=int, default=32)
    p.add_argument('--repeat', type=int, default=3, help='timed passes after one warm-up; the median is reported')
    p.add_argument('--out', help='write the vectors here (.npy)')
    p.add_argument('--serve', action='store_true', help='answer one timed pass per stdin line (see above)')
    a = p.parse_args()
    if a.threads < 1 or a.repeat < 1 or a.batch_size < 1:
        p.error('--threads, --repeat and --batch-size must be at least 1')

    # Thread pools read these when the libraries load, so they are set before
    # torch is imported: OpenMP/MKL (torch's intra-op pool) and rayon (the
    # Rust tokenizer's batch encoding, which would otherwise use every core).
    n = str(a.threads)
    os.environ.update(OMP_NUM_THREADS=n, MKL_NUM_THREADS=n, OPENBLAS_NUM_THREADS=n, RAYON_NUM_THREADS=n)
    # Local files only (a hub lookup would hang on this network), and no
    # progress bars on stderr.
    os.environ.update(HF_HUB_OFFLINE='1', TRANSFORMERS_OFFLINE='1', HF_HUB_DISABLE_PROGRESS_BARS='1', TRANSFORMERS_VERBOSITY='error')

    import numpy as np
    import sentence_transformers
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)

    with open(a.texts, encoding='utf-8') as f:
        texts = json.load(f)
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        sys.exit(f'st_encode: {a.texts} must hold a non-empty JSON array of strings')

    model = SentenceTransformer(a.model, device='cpu')
    if a.max_length:
        model.max_seq_length = a.max_length
    max_length = model.max_seq_length
    normalized_by_model = any(type(m).__name__ == 'Normalize' for m in model)

    ids = model.tokenizer(texts, truncation=True, max_length=max_length)['input_ids']
    tokens_mean = sum(len(i) for i in ids) / len(ids)

    def encode():
        return model.encode(texts, batch_size=a.batch_size, convert_to_numpy=True, show_progress_bar=False)

    with torch.inference_mode():
        encode()
        if a.serve:
            print(json.dumps({'ready': {'torch': torch.__version__, 'sentence_transformers': sentence_transformers.__version__,
                                        'threads': torch.get_num_threads(), 'texts': len(texts), 'tokens_per_text_mean': round(tokens_mean, 2)}}), flush=True)
            for _ in sys.stdin:
                start = time.perf_counter()
                encode()
                seconds = time.perf_counter() - start
                print(json.dumps({'seconds': seconds, 'texts_per_second': len(texts) / seconds}), flush=True)
            return
        load_before = os.getloadavg()
        passes = []
        for _ in range(a.repeat):
            start = time.perf_counter()
            vectors = encode()
            passes.append(time.perf_counter() - start)
        load_after = os.getloadavg()

    seconds = statistics.median(passes)
    if a.out:
        v = vectors.astype(np.float32)
        if not normalized_by_model:
            # Same as torch.nn.functional.normalize(p=2, eps=1e-12).
            v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
        np.save(a.out, np.ascontiguousarray(v, dtype=np.float32))

    print(json.dumps({
        'peer': 'sentence-transformers',
        'torch': torch.__version__,
        'sentence_transformers': sentence_transformers.__version__,
        'threads': torch.get_num_threads(),
        'max_length': max_length,
        'batch_size': a.batch_size,
        'texts': len(texts),
        'seconds': round(seconds, 4),
        'texts_per_second': round(len(texts) / seconds, 1),
        'timing': f'median of {a.repeat} passes after 1 warm-up',
        'pass_seconds': [round(s, 4) for s in passes],
        'tokens_per_text_mean': round(tokens_mean, 2),
        'dim': int(vectors.shape[1]),
        'normalized': 'model' if normalized_by_model else 'numpy',
        'load_average': [round(x, 2) for x in load_before],
        'load_average_after': [round(x, 2) for x in load_after],
    }))


if __name__ == '__main__':
    main()
