/**
 * The text each stage reads for a topic or a content item. One place, so the
 * lexical retriever, the encoders and the reranker see the same words.
 */
import { breadcrumb, type TopicForest } from '../graph/forest.ts';
import type { Content, Dataset } from '../data/types.ts';

/** Topic text: its breadcrumb (root > ... > title), then its description. */
export function topicText(dataset: Dataset, forest: TopicForest, t: number): string {
  const topic = dataset.topics[t];
  return topic.description ? `${breadcrumb(forest, dataset, t)}. ${topic.description}` : breadcrumb(forest, dataset, t);
}

/** Content text: title, description, then the body text, cut to `maxChars`. */
export function contentText(item: Content, maxChars = 2000): string {
  const parts = [item.title, item.description, item.text].filter((s) => s !== '');
  const text = parts.join('. ');
  return text.length > maxChars ? text.slice(0, maxChars) : text;
}
