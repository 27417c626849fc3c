import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineServer, median, pairedRounds, summarize } from '../../scripts/peer/paired.ts';

test('paired rounds: the order swaps every round, one rate per side per round, the ratio read per round', async () => {
  const calls: string[] = [];
  let a = 0;
  let b = 0;
  const rounds = await pairedRounds(4, async () => (calls.push('a'), 10 + a++), async () => (calls.push('b'), 5 + b++));
  assert.deepEqual(calls, ['a', 'b', 'b', 'a', 'a', 'b', 'b', 'a']);
  assert.deepEqual(rounds.map((r) => [r.round, r.a, r.b]), [[0, 10, 5], [1, 11, 6], [2, 12, 7], [3, 13, 8]]);
  assert.deepEqual(rounds.map((r) => r.ratio), [2, 11 / 6, 12 / 7, 13 / 8]);
  const s = summarize(rounds, 1.8);
  assert.deepEqual([s.rounds, s.aMedian, s.bMedian, s.ratioMin, s.ratioMax, s.atTarget], [4, 11.5, 6.5, 13 / 8, 2, 2]);
  assert.equal(s.ratioMedian, (11 / 6 + 12 / 7) / 2);
  assert.equal(median([3, 1, 2]), 2);
});

test('a line server: ready line first, one answer per request, a clear error when it dies', async () => {
  const echo = `
    const rl = require('node:readline').createInterface({ input: process.stdin });
    console.log(JSON.stringify({ ready: true }));
    rl.on('line', (line) => { const r = JSON.parse(line); if (r.die) process.exit(3); console.log(JSON.stringify({ twice: r.x * 2 })); });`;
  const server = await LineServer.start('echo', process.execPath, ['-e', echo]);
  try {
    assert.deepEqual(server.ready, { ready: true });
    assert.deepEqual(await server.request({ x: 2 }), { twice: 4 });
    assert.deepEqual(await server.request({ x: 5 }), { twice: 10 });
    await assert.rejects(server.request({ die: true }), /echo ended before it answered/);
  } finally {
    server.close();
  }
});
