/** Turns ranked candidate lists into a recommendation table for export. */
import { RecommendationTableBuilder, type RecommendationTable } from '../io/table.ts';
import type { Dataset } from '../data/types.ts';
import type { Candidates } from './candidates.ts';

/**
 * One row per candidate: rank from the list order, score from the list, the
 * score also under `stage`. Every topic in `topics` is listed, also without
 * candidates.
 */
export function candidatesTable(dataset: Dataset, topics: ArrayLike<number>, candidates: Candidates[], stage: string): RecommendationTable {
  const topicIds = Array.from(topics as ArrayLike<number>, (t) => dataset.topics[t].id);
  const builder = new RecommendationTableBuilder([stage], topicIds, dataset.content.map((c) => c.id));
  candidates.forEach((list, i) => {
    for (let j = 0; j < list.rows.length; j++) {
      builder.add({ topic: i, content: list.rows[j], rank: j + 1, score: list.scores[j], stages: { [stage]: list.scores[j] }, explanation: stage });
    }
  });
  return builder.build();
}
