/**
 * Converts ../shared/data/khan-2014 into data/khan/ (LECR format).
 * Usage: npx tsx scripts/prepare-khan.ts [--source DIR] [--out DIR]
 */
import { runScript } from './script.ts';
import { prepareSource } from '../src/index.ts';

await runScript('prepare-khan', { source: { type: 'string' }, out: { type: 'string' } }, async (values) => {
  const result = await prepareSource('khan', values.source as string | undefined, values.out as string | undefined);
  console.log(`wrote ${result.out}: ${JSON.stringify(result.summary)}`);
});
