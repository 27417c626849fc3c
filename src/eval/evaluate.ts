/**
 * `trellis evaluate`: scores a predictions file against an answers file (both
 * topic_id,content_ids, or any recommendation file trellis writes) with the
 * LECR metric, plus recall@K when the predictions are ranked lists.
 */
import { existsSync } from 'node:fs';
import { DataError } from '../errors.ts';
import { readRecommendations } from '../io/export.ts';
import { groupByTopic, type RecommendationTable } from '../io/table.ts';
import { evaluateSets, recallAtK, type SetMetrics } from './metrics.ts';

export interface FileEvaluation extends SetMetrics {
  /** recall@K of the predictions taken as ranked lists (best first). */
  recall_at: Record<string, number>;
  /** Predicted topics that are not in the answers (ignored, as in LECR). */
  predictedTopicsNotInAnswers: number;
}

/** Topic id -> content keys in rank order, content ids interned in `dictionary`. */
function tableToLists(table: RecommendationTable, dictionary: Map<string, number>): Map<string, Uint32Array> {
  const { start, order } = groupByTopic('evaluate', table);
  const lists = new Map<string, Uint32Array>();
  for (let t = 0; t < table.topicIds.length; t++) {
    lists.set(table.topicIds[t], Uint32Array.from(order.subarray(start[t], start[t + 1]), (r) => {
      const id = table.contentIds[table.content[r]];
      let key = dictionary.get(id);
      if (key === undefined) dictionary.set(id, (key = dictionary.size));
      return key;
    }));
  }
  return lists;
}

export async function evaluateFiles(predictionsPath: string, answersPath: string, ks: readonly number[]): Promise<FileEvaluation> {
  for (const path of [predictionsPath, answersPath]) {
    if (!existsSync(path)) throw new DataError('file not found.', { file: path, hint: 'Pass a topic_id,content_ids CSV or a .arrow/.parquet export.' });
  }
  const dictionary = new Map<string, number>();
  const answers = tableToLists((await readRecommendations(answersPath)).table, dictionary);
  const predictions = tableToLists((await readRecommendations(predictionsPath)).table, dictionary);
  let extra = 0;
  for (const topic of predictions.keys()) if (!answers.has(topic)) extra++;
  return { ...evaluateSets(predictions, answers), recall_at: recallAtK(predictions, answers, ks), predictedTopicsNotInAnswers: extra };
}
