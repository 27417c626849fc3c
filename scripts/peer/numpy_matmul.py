"""This machine's float32 matmul peak as one Python process sees it: numpy's
BLAS (the OpenBLAS bundled in the numpy wheel) on square n x n @ n x n
products, the yardstick for how close an encoder's GEMMs get to the hardware.

Each size gets one warm-up product, then the BEST of --repeat timed products
(best, not median: a peak is asked for, and the slower runs are other
processes' noise). GFLOP/s counts 2 n^3 flops per product. The thread count
is set in the environment before numpy is imported, which is when OpenBLAS
sizes its pool; threadpoolctl (installed with scikit-learn) confirms it.
Prints one JSON line.

  work/peer/torch-venv/bin/python scripts/peer/numpy_matmul.py --threads 1 [--sizes 1024,2048] [--repeat 5]
"""
import argparse
import json
import os
import time


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--sizes', default='1024,2048')
    p.add_argument('--repeat', type=int, default=5)
    a = p.parse_args()
    if a.threads < 1 or a.repeat < 1:
        p.error('--threads and --repeat must be at least 1')
    n = str(a.threads)
    os.environ.update(OPENBLAS_NUM_THREADS=n, OMP_NUM_THREADS=n, MKL_NUM_THREADS=n)

    import numpy as np

    try:
        from threadpoolctl import threadpool_info
        pools = [{'library': i['internal_api'], 'version': i.get('version'), 'threads': i['num_threads']} for i in threadpool_info() if i['user_api'] == 'blas']
    except ImportError:
        pools = None

    rng = np.random.default_rng(1)
    gflops = {}
    seconds = {}
    for size in (int(s) for s in a.sizes.split(',')):
        x = rng.standard_normal((size, size), dtype=np.float32)
        y = rng.standard_normal((size, size), dtype=np.float32)
        out = np.empty((size, size), dtype=np.float32)
        np.matmul(x, y, out=out)
        best = float('inf')
        for _ in range(a.repeat):
            start = time.perf_counter()
            np.matmul(x, y, out=out)
            best = min(best, time.perf_counter() - start)
        seconds[str(size)] = round(best, 5)
        gflops[str(size)] = round(2 * size**3 / best / 1e9, 1)

    print(json.dumps({
        'peer': 'numpy',
        'numpy': np.__version__,
        'blas': pools,
        'threads': a.threads,
        'timing': f'best of {a.repeat} after 1 warm-up',
        'gflops': gflops,
        'seconds': seconds,
        'load_average': [round(x, 2) for x in os.getloadavg()],
    }))


if __name__ == '__main__':
    main()
