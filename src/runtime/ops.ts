/**
 * Heavy ops with hand-written gradients (text encoder, GraphSAGE, cross-encoder), laid out for the
 * kernels that are fast on every backend, the wasm one in particular.
 *
 * On wasm only a 2-D matMul with neither operand transposed runs through
 * XNNPACK; any transposed or batched matMul falls back to a scalar loop.
 * Measured at the shapes of one default step (B = 64, L = 96, H = 64; see
 * BENCHMARKS-rerank.md, `scripts/bench-rerank.ts --kernels`): transposed
 * matMuls ~9x slower than transpose-then-matMul, sum over axis 0 ~8x slower
 * than a [1, N] x [N, O] matMul, GatherV2 ~10x slower than GatherNd for the
 * same rows, and Unstack / Split / Slice copy the whole input through
 * JavaScript for every piece. tfjs's default gradients use exactly the slow
 * forms (matMul with transposeA / transposeB, sum over axis 0, gather), so a
 * training step spent most of its time there. The functions below compute
 * the same values and gradients:
 *
 *   dense:  dx = dy . W^T,  dW = x^T . dy  (explicit transposes, then plain
 *           matMuls), db = ones[1, N] . dy
 *   gatherRows: gatherNd forward, scatterNd backward (duplicates add up)
 *   layerNorm: the closed-form gradient, with parameter gradients as
 *           ones[1, N] . (...) matMuls
 *   batchMatMul: on wasm, one 2-D matMul per batch entry (each a fast
 *           XNNPACK call) instead of the scalar batched kernel, for batches
 *           whose matrices are big enough to pay for the extra calls.
 *
 *   maskedSoftmax, gelu, add: fused, saving for the backward pass only
 *           what it needs. tfjs saves a copy of every input an op's
 *           gradient might read (both operands of every add and multiply),
 *           which for the [B*heads, L, L] attention scores is 9 MB per copy.
 *
 * Each runs inside the caller's tidy.
 */
import { tf, type Tensor, type Tensor1D, type Tensor2D, type Tensor3D } from './tf.ts';

const LAYER_NORM_EPSILON = 1e-5;
/** Smallest side of the matrices below which batchMatMul keeps tf.matMul (per-entry calls cost ~50 us each). */
const SLICE_MIN_SIDE = 8;

/** Column sums of x [N, O] -> [O], as a matMul (fast) rather than a leading-axis reduction (slow on wasm). */
function columnSums(x: Tensor2D): Tensor1D {
  const [n, width] = x.shape;
  return tf.reshape(tf.matMul(tf.ones([1, n]), x), [width]); // [O]
}

/** x [N, I] . kernel [I, O] + bias [O] -> [N, O] */
export function dense(x: Tensor2D, kernel: Tensor2D, bias: Tensor1D): Tensor2D {
  const op = tf.customGrad((...args: unknown[]) => {
    const [input, weights, offset, save] = args as [Tensor2D, Tensor2D, Tensor1D, (saved: Tensor[]) => void];
    save([input, weights]);
    return {
      value: tf.add(tf.matMul(input, weights), offset) as Tensor2D, // [N, O]
      gradFunc: (dy: Tensor2D, saved: Tensor[]) => {
        const [xs, ws] = saved as [Tensor2D, Tensor2D];
        return [
          tf.matMul(dy, tf.transpose(ws)), // [N, I]
          tf.matMul(tf.transpose(xs), dy), // [I, O]
          columnSums(dy), // [O]
        ];
      },
    };
  });
  return op(x, kernel, bias) as Tensor2D;
}

/** Rows `ids` of table [R, H] -> [N, H]; the gradient adds each row's uses. */
export function gatherRows(table: Tensor2D, ids: Int32Array): Tensor2D {
  const indices = tf.tensor2d(ids, [ids.length, 1], 'int32'); // [N, 1]
  const rows = table.shape[0];
  const op = tf.customGrad((...args: unknown[]) => {
    const [t, save] = args as [Tensor2D, (saved: Tensor[]) => void];
    // Saved, not captured: the forward scope disposes its tensors before the backward pass.
    save([indices]);
    return {
      value: tf.gatherND(t, indices) as Tensor2D, // [N, H]
      gradFunc: (dy: Tensor2D, saved: Tensor[]) => tf.scatterND(saved[0], dy, [rows, dy.shape[1]]), // [R, H]
    };
  });
  return op(table) as Tensor2D;
}

/** LayerNorm over the last axis of x [N, H] with gain and bias [H] -> [N, H] */
export function layerNorm2d(x: Tensor2D, gamma: Tensor1D, beta: Tensor1D, epsilon = LAYER_NORM_EPSILON): Tensor2D {
  const op = tf.customGrad((...args: unknown[]) => {
    const [input, gain, offset, save] = args as [Tensor2D, Tensor1D, Tensor1D, (saved: Tensor[]) => void];
    const { mean, variance } = tf.moments(input, -1, true); // [N, 1] each
    const inverse = tf.rsqrt(tf.add(variance, epsilon)); // [N, 1]
    const normed = tf.mul(tf.sub(input, mean), inverse) as Tensor2D; // [N, H]
    save([normed, inverse, gain]);
    return {
      value: tf.add(tf.mul(normed, gain), offset) as Tensor2D, // [N, H]
      gradFunc: (dy: Tensor2D, saved: Tensor[]) => {
        const [xHat, inv, g] = saved as [Tensor2D, Tensor2D, Tensor1D];
        // dx = inv * (dyg - mean(dyg) - xHat * mean(dyg * xHat)), dyg = dy * gamma
        const dyg = tf.mul(dy, g); // [N, H]
        const meanDyg = tf.mean(dyg, -1, true); // [N, 1]
        const meanDygX = tf.mean(tf.mul(dyg, xHat), -1, true); // [N, 1]
        const dx = tf.mul(inv, tf.sub(tf.sub(dyg, meanDyg), tf.mul(xHat, meanDygX))); // [N, H]
        return [dx, columnSums(tf.mul(dy, xHat) as Tensor2D), columnSums(dy)]; // [N, H], [H], [H]
      },
    };
  });
  return op(x, gamma, beta) as Tensor2D;
}

/** a [n, i, k] . b [n, k, j] -> [n, i, j], neither transposed. */
export function batchMatMul(a: Tensor3D, b: Tensor3D): Tensor3D {
  const op = tf.customGrad((...args: unknown[]) => {
    const [left, right, save] = args as [Tensor3D, Tensor3D, (saved: Tensor[]) => void];
    save([left, right]);
    return {
      value: plainBatchMatMul(left, right), // [n, i, j]
      gradFunc: (dy: Tensor3D, saved: Tensor[]) => {
        const [l, r] = saved as [Tensor3D, Tensor3D];
        return [
          plainBatchMatMul(dy, tf.transpose(r, [0, 2, 1])), // [n, i, k]
          plainBatchMatMul(tf.transpose(l, [0, 2, 1]), dy), // [n, k, j]
        ];
      },
    };
  });
  return op(a, b) as Tensor3D;
}

/** The forward product, per batch entry on wasm when the matrices are big enough. */
function plainBatchMatMul(a: Tensor3D, b: Tensor3D): Tensor3D {
  const [n, i, k] = a.shape;
  const j = b.shape[2];
  // An outer product (k = 1) is a broadcast multiply, which every backend runs fast.
  if (k === 1) return tf.mul(a, b); // [n, i, 1] * [n, 1, j] -> [n, i, j]
  if (tf.getBackend() !== 'wasm' || i < SLICE_MIN_SIDE || k < SLICE_MIN_SIDE || j < SLICE_MIN_SIDE) return tf.matMul(a, b); // [n, i, j]
  // GatherNd with one index takes an entry as its own tensor; Slice, Split and
  // Unstack copy the whole input through JavaScript on wasm for every piece.
  const parts: Tensor2D[] = [];
  for (let e = 0; e < n; e++) {
    const index = tf.tensor1d([e], 'int32'); // [1]: a rank-1 index drops the entry axis
    const left = tf.gatherND(a, index) as Tensor2D; // [i, k]
    const right = tf.gatherND(b, index) as Tensor2D; // [k, j]
    parts.push(tf.matMul(left, right)); // [i, j]
  }
  return tf.reshape(tf.concat(parts, 0), [n, i, j]); // [n, i, j]
}

/** a + b for tensors of the same shape; nothing is saved for the backward pass. */
export function add<T extends Tensor>(a: T, b: T): T {
  const op = tf.customGrad((...args: unknown[]) => {
    const [left, right] = args as [T, T];
    return { value: tf.add(left, right) as T, gradFunc: (dy: T) => [dy, dy] };
  });
  return op(a, b) as T;
}

/**
 * softmax(scores * scale + mask) over the last axis. scores: [B, heads, Lq, L];
 * mask: [B, 1, 1, L] (additive, constant: it gets a zero gradient).
 * Backward from the output y alone: d scores = scale * y * (dy - sum(dy * y)).
 */
export function maskedSoftmax(scores: tf.Tensor4D, mask: tf.Tensor4D, scale: number): tf.Tensor4D {
  const op = tf.customGrad((...args: unknown[]) => {
    const [s, m, save] = args as [tf.Tensor4D, tf.Tensor4D, (saved: Tensor[]) => void];
    const y = tf.softmax(tf.add(tf.mul(s, scale), m), -1) as tf.Tensor4D; // [B, heads, Lq, L]
    save([y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor4D, saved: Tensor[]) => {
        const [out] = saved as [tf.Tensor4D];
        const inner = tf.sum(tf.mul(dy, out), -1, true); // [B, heads, Lq, 1]
        // zeros of m's shape, not zerosLike(m): the forward scope has disposed m by now, and TensorFlow C reads its input.
        return [tf.mul(tf.mul(out, tf.sub(dy, inner)), scale), tf.zeros(m.shape)]; // [B, heads, Lq, L], [B, 1, 1, L]
      },
    };
  });
  return op(scores, mask) as tf.Tensor4D;
}

/** GELU, exact form: x * Phi(x); gradient Phi(x) + x * phi(x), from x alone. */
export function gelu<T extends Tensor>(x: T): T {
  const op = tf.customGrad((...args: unknown[]) => {
    const [input, save] = args as [T, (saved: Tensor[]) => void];
    save([input]);
    const cdf = tf.mul(tf.add(tf.erf(tf.mul(input, Math.SQRT1_2)), 1), 0.5); // Phi(x), shape of x
    return {
      value: tf.mul(input, cdf) as T, // shape of x
      gradFunc: (dy: T, saved: Tensor[]) => {
        const [xs] = saved;
        const phi = tf.mul(tf.exp(tf.mul(tf.square(xs), -0.5)), 1 / Math.sqrt(2 * Math.PI)); // phi(x)
        const cdfAgain = tf.mul(tf.add(tf.erf(tf.mul(xs, Math.SQRT1_2)), 1), 0.5); // Phi(x)
        return tf.mul(dy, tf.add(cdfAgain, tf.mul(xs, phi))); // shape of x
      },
    };
  });
  return op(x) as T;
}

/**
 * out[s] = sum of x[i] over i with segments[i] == s: x [E, D] -> [n, D].
 * ScatterNd forward (it adds duplicate indices), GatherNd backward: both
 * fast on wasm, where tfjs's own unsortedSegmentSum gradient is a slow
 * GatherV2.
 */
export function segmentSum(x: Tensor2D, segments: Int32Array, n: number): Tensor2D {
  const indices = tf.tensor2d(segments, [segments.length, 1], 'int32'); // [E, 1]
  const op = tf.customGrad((...args: unknown[]) => {
    const [input, save] = args as [Tensor2D, (saved: Tensor[]) => void];
    save([indices]);
    return {
      value: tf.scatterND(indices, input, [n, input.shape[1]]) as Tensor2D, // [n, D]
      gradFunc: (dy: Tensor2D, saved: Tensor[]) => tf.gatherND(dy, saved[0]) as Tensor2D, // [E, D]
    };
  });
  return op(x) as Tensor2D;
}

/**
 * Runs `fn` in a tf.tidy and reads its result tensor back as a typed array.
 * (A tidy that returns the array itself walks every element looking for
 * tensors: tens of milliseconds for a [2048, 256] batch.)
 */
export function tidyRead(fn: () => Tensor): Float32Array {
  const result = tf.tidy(fn);
  try {
    return result.dataSync() as Float32Array;
  } finally {
    result.dispose();
  }
}
