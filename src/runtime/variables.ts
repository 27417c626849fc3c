/**
 * Variables and row ids shared by every model: seeded initialisation (one
 * sub-seed per variable name, so adding a variable never shifts another's
 * values), process-unique variable names with the name weights are saved
 * under, and the mapping of a batch's row ids to the few rows it touches
 * (the input of every sparse row update).
 */
import { tf, type Tensor, type Variable } from './tf.ts';
import { fillNormal, rngFor } from '../random.ts';

/** A variable initialised from seeded normal draws (or zeros when std is 0). */
export function seededVariable(name: string, shape: number[], seed: number, std: number): Variable {
  const size = shape.reduce((a, b) => a * b, 1);
  const values = std === 0 ? new Float32Array(size) : fillNormal(new Float32Array(size), rngFor(seed, name), 0, std) as Float32Array;
  return ownedVariable(tf.tensor(values, shape, 'float32'), name);
}

let variables = 0;

/**
 * A variable from a tensor, disposing the tensor (tf.variable keeps its own
 * reference to the data). tfjs needs variable names unique in the process,
 * so each gets a `#n` suffix; `weightName` strips it for saving.
 */
export function ownedVariable(initial: Tensor, name: string): Variable {
  const variable = tf.variable(initial, true, `${name}#${++variables}`);
  initial.dispose();
  return variable;
}

/** A variable's name without its process-unique suffix: the name weights are saved under. */
export function weightName(variable: Variable): string {
  return variable.name.replace(/#\d+$/, '');
}

/** The identity matrix as a variable (GraphSAGE self weights start as a pass-through). */
export function identityVariable(name: string, n: number): Variable {
  return ownedVariable(tf.eye(n), name);
}

/** Ids of several id arrays mapped to one table of unique ids: `unique[local[k][i]] === ids[k][i]`. */
export interface Localized {
  unique: Int32Array;
  local: Int32Array[];
}

export function localize(idArrays: readonly Int32Array[]): Localized {
  const position = new Map<number, number>();
  const unique: number[] = [];
  const local = idArrays.map((ids) => {
    const out = new Int32Array(ids.length);
    for (let i = 0; i < ids.length; i++) {
      let p = position.get(ids[i]);
      if (p === undefined) {
        p = unique.length;
        position.set(ids[i], p);
        unique.push(ids[i]);
      }
      out[i] = p;
    }
    return out;
  });
  return { unique: Int32Array.from(unique), local };
}
