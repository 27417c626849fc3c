/**
 * Reads the safetensors format (Hugging Face): an 8-byte little-endian
 * header length N, N bytes of JSON mapping each tensor name to its dtype,
 * shape and [begin, end) byte offsets into the data that follows, then the
 * data. Float tensors (F64, F32, F16, BF16) are returned as Float32Array;
 * integer and boolean ones (buffers such as position_ids) are listed only.
 * Every offset and size is checked against the file before it is read, so a
 * truncated or corrupt file is a one-line error, never a crash.
 */
import { readFile } from 'node:fs/promises';
import { ArtifactError } from '../errors.ts';

export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

export interface SafeTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  /** Values in row-major order as float32; null for integer and boolean tensors (buffers such as position_ids), which are not read. */
  values: Float32Array | null;
}

const BYTES: Record<SafetensorsDtype, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };
/** Headers are small (tens of kB for BERT-size models); anything over 100 MB is not a header. */
const MAX_HEADER = 100 * 1024 * 1024;

/** IEEE 754 half precision -> float32 for every element. */
export function halfToFloat(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const words = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i];
    const sign = (h & 0x8000) << 16;
    const exponent = (h >> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    if (exponent === 0) {
      // Zero or subnormal: mantissa * 2^-24, exact in float32.
      out[i] = (sign ? -1 : 1) * mantissa * 5.960464477539063e-8;
    } else if (exponent === 0x1f) {
      words[i] = sign | 0x7f800000 | (mantissa << 13); // Inf or NaN
    } else {
      words[i] = sign | ((exponent + 112) << 23) | (mantissa << 13);
    }
  }
  return out;
}

/** bfloat16 -> float32: the top 16 bits of a float32. */
function bfloatToFloat(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const words = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) words[i] = bits[i] << 16;
  return out;
}

/** The values of a float tensor as float32 (raw: an aligned copy of its bytes), or null for other dtypes. */
function floats(dtype: SafetensorsDtype, raw: Uint8Array, count: number): Float32Array | null {
  switch (dtype) {
    case 'F32':
      return new Float32Array(raw.buffer, raw.byteOffset, count);
    case 'F16':
      return halfToFloat(new Uint16Array(raw.buffer, raw.byteOffset, count));
    case 'BF16':
      return bfloatToFloat(new Uint16Array(raw.buffer, raw.byteOffset, count));
    case 'F64':
      return Float32Array.from(new Float64Array(raw.buffer, raw.byteOffset, count));
    default:
      return null;
  }
}

/** All tensors of a .safetensors file (little-endian, as the format is), by name. */
export async function readSafetensors(path: string): Promise<Map<string, SafeTensor>> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new ArtifactError(`${path}: cannot read the weights (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`);
  }
  return parseSafetensors(bytes, path);
}

export function parseSafetensors(bytes: Uint8Array, path = 'safetensors'): Map<string, SafeTensor> {
  const bad = (what: string): ArtifactError => new ArtifactError(`${path}: not a valid safetensors file: ${what}.`, 'Re-download or re-export the model\'s model.safetensors.');
  if (bytes.length < 8) throw bad(`${bytes.length} bytes is shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > MAX_HEADER || 8 + headerLength > bytes.length) throw bad(`the header claims ${headerLength} bytes, the file has ${bytes.length}`);
  let header: Record<string, { dtype?: string; shape?: number[]; data_offsets?: [number, number] }>;
  try {
    header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 8, headerLength).toString('utf8'));
  } catch {
    throw bad('the header is not JSON');
  }
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const out = new Map<string, SafeTensor>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, data_offsets: offsets } = entry ?? {};
    if (typeof dtype !== 'string' || !(dtype in BYTES)) throw bad(`tensor ${name} has the unknown dtype ${JSON.stringify(dtype)}`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) throw bad(`tensor ${name} has no valid shape`);
    if (!Array.isArray(offsets) || offsets.length !== 2) throw bad(`tensor ${name} has no data_offsets`);
    const [begin, end] = offsets;
    const count = shape.reduce((a, b) => a * b, 1);
    const type = dtype as SafetensorsDtype;
    if (!(Number.isInteger(begin) && Number.isInteger(end) && begin >= 0 && end <= dataLength && end - begin === count * BYTES[type])) {
      throw bad(`tensor ${name} (${dtype} ${JSON.stringify(shape)}) has offsets [${begin}, ${end}) outside the ${dataLength} data bytes or of the wrong size`);
    }
    // Copy to an aligned buffer: offsets in the file need not be multiples of 4.
    out.set(name, { dtype: type, shape, values: floats(type, bytes.slice(dataStart + begin, dataStart + end), count) });
  }
  return out;
}
