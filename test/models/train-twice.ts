import assert from 'node:assert/strict';
import { tf } from '../../src/runtime/tf.ts';
import { trainTwoTower, snapshot, type TrainInputs, type TrainResult } from '../../src/models/train.ts';

/**
 * Trains twice from the same inputs and checks what every training test
 * checks: `epochs` epochs run, finite losses, a flat tensor count from epoch
 * to epoch, and the second model equal to the first, weight by weight.
 * Returns both results (the caller disposes their models) and the first's weights.
 */
export async function trainTwiceAlike(inputs: TrainInputs, epochs: number): Promise<{ first: TrainResult; second: TrainResult; weights: ReturnType<typeof snapshot> }> {
  const counts: number[] = [];
  const first = await trainTwoTower({ ...inputs, onEpoch: () => counts.push(tf.memory().numTensors) });
  assert.equal(first.history.length, epochs);
  assert.ok(first.history.every((h) => Number.isFinite(h.loss)));
  assert.equal(new Set(counts).size, 1, `tensor counts per epoch: ${counts}`);
  const second = await trainTwoTower(inputs);
  const a = snapshot(first.model);
  const b = snapshot(second.model);
  for (let i = 0; i < a.length; i++) assert.deepEqual(a[i].values, b[i].values, a[i].name);
  return { first, second, weights: a };
}
