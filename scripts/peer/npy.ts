/**
 * NumPy .npy files (format version 1.0) for handing vectors to the Python
 * peer: a row-major 2-D little-endian float32 or uint32 array per file.
 * https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 */
import { readFileSync, writeFileSync } from 'node:fs';

type Array2D = Float32Array | Uint32Array;

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00]); // \x93NUMPY v1.0

/** Writes `data` as an [rows, cols] array. */
export function writeNpy(path: string, data: Array2D, rows: number, cols: number): void {
  if (data.length !== rows * cols) throw new RangeError(`npy: data must hold rows * cols = ${rows * cols} values (got ${data.length}).`);
  const descr = data instanceof Float32Array ? '<f4' : '<u4';
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`;
  // Magic (8) + header length (2) + header + '\n' must be a multiple of 64.
  header += ' '.repeat(63 - ((MAGIC.length + 2 + header.length) % 64)) + '\n';
  const length = Buffer.alloc(2);
  length.writeUInt16LE(header.length);
  writeFileSync(path, Buffer.concat([MAGIC, length, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
}

/** Reads a 2-D '<f4' or '<u4' array written by writeNpy or numpy.save. */
export function readNpy(path: string): { data: Array2D; rows: number; cols: number } {
  const bytes = readFileSync(path);
  if (!bytes.subarray(0, 6).equals(MAGIC.subarray(0, 6)) || bytes[6] !== 1) throw new Error(`npy: ${path} must be a version 1 .npy file.`);
  const headerLength = bytes.readUInt16LE(8);
  const header = bytes.subarray(10, 10 + headerLength).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const shape = /'shape':\s*\((\d+),\s*(\d+)\)/.exec(header);
  if (!shape || /'fortran_order':\s*True/.test(header) || (descr !== '<f4' && descr !== '<u4')) throw new Error(`npy: ${path} must hold a C-order 2-D <f4 or <u4 array (header ${header.trim()}).`);
  const rows = Number(shape[1]);
  const cols = Number(shape[2]);
  const body = bytes.subarray(10 + headerLength);
  const copy = new Uint8Array(body); // aligned copy
  const data = descr === '<f4' ? new Float32Array(copy.buffer, 0, rows * cols) : new Uint32Array(copy.buffer, 0, rows * cols);
  return { data, rows, cols };
}
