/**
 * Converts ../shared/data/debian-bookworm into data/debian/ (LECR format).
 * Usage: npx tsx scripts/prepare-debian.ts [--source DIR] [--out DIR]
 */
import { runScript } from './script.ts';
import { prepareSource } from '../src/index.ts';

await runScript('prepare-debian', { source: { type: 'string' }, out: { type: 'string' } }, async (values) => {
  const result = await prepareSource('debian', values.source as string | undefined, values.out as string | undefined);
  console.log(`wrote ${result.out}: ${JSON.stringify(result.summary)}`);
});
