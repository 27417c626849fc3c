/**
 * bfloat16 storage of float32 values: the upper 16 bits of each float32,
 * rounded to nearest even. Half the memory, 8 significant bits (a relative
 * error of at most 2^-8); used to keep a transformer's frozen hidden states.
 */

/** float32 -> bfloat16 bits (NaN stays NaN). */
export function toBfloat16(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < bits.length; i++) {
    const b = bits[i];
    out[i] = (b & 0x7fffffff) > 0x7f800000 ? (b >>> 16) | 0x40 : (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
  }
  return out;
}

/** bfloat16 bits -> float32, written into `out` from `offset`. */
export function fromBfloat16(half: Uint16Array, out: Float32Array, offset = 0): void {
  const bits = new Uint32Array(out.buffer, out.byteOffset + offset * 4, half.length);
  for (let i = 0; i < half.length; i++) bits[i] = half[i] << 16;
}
