/**
 * Converts the Khan Academy topic tree (KA Lite's topics.json and
 * exercises.json, October 2014) into the LECR format.
 *
 * Topics keep their tree (one channel, "khan"); videos and exercises become
 * content items; every placement of an item under a topic is a link, so items
 * placed under several topics keep all their links. Exercise descriptions come
 * from exercises.json where the tree lacks them. Ids get the LECR-style
 * prefixes t_ / c_ so that topic and content ids never collide, and white
 * space inside an id becomes '_' (correlations separate ids with spaces).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DataError } from '../errors.ts';
import { buildDataset } from './lecr.ts';
import type { Content, Dataset, Topic } from './types.ts';

interface KhanNode {
  id: string;
  kind: string;
  title?: string;
  description?: string | null;
  children?: KhanNode[];
}

export const KHAN_LICENSE = 'CC BY-NC-SA 3.0';

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new DataError('file not found.', { file: path, hint: 'Point --source at the khan-2014 folder (topics.json, exercises.json).' });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new DataError(`not valid JSON (${(error as Error).message}).`, { file: path });
  }
}

function clean(text: string | null | undefined): string {
  return (text ?? '').replace(/\s+/g, ' ').trim();
}

/** Reads `sourceDir`/topics.json and exercises.json and returns the dataset (not yet written). */
export async function convertKhan(sourceDir: string): Promise<Dataset> {
  const root = (await readJson(join(sourceDir, 'topics.json'))) as KhanNode;
  const exercises = (await readJson(join(sourceDir, 'exercises.json'))) as Record<string, { description?: string | null }>;
  if (!root || root.kind !== 'Topic' || !Array.isArray(root.children)) {
    throw new DataError('the root must be a node of kind "Topic" with children.', { file: join(sourceDir, 'topics.json') });
  }
  const topics: Topic[] = [];
  const content: Content[] = [];
  const seenContent = new Set<string>();
  const correlations = new Map<string, string[]>();

  // Iterative preorder walk: the order of the output follows the tree.
  const stack: { node: KhanNode; parent: string; depth: number }[] = [{ node: root, parent: '', depth: 0 }];
  while (stack.length) {
    const { node, parent, depth } = stack.pop()!;
    const topicId = `t_${node.id.trim().replace(/\s+/g, '_')}`;
    const items: string[] = [];
    const childTopics: KhanNode[] = [];
    for (const child of node.children ?? []) {
      if (child.kind === 'Topic') {
        childTopics.push(child);
        continue;
      }
      const contentId = `c_${child.id.trim().replace(/\s+/g, '_')}`;
      items.push(contentId);
      if (seenContent.has(contentId)) continue;
      seenContent.add(contentId);
      let description = clean(child.description);
      if (!description && child.kind === 'Exercise') description = clean(exercises[child.id]?.description);
      content.push({
        id: contentId,
        title: clean(child.title),
        description,
        kind: child.kind.toLowerCase(),
        text: '',
        language: 'en',
        copyrightHolder: 'Khan Academy',
        license: KHAN_LICENSE,
      });
    }
    topics.push({
      id: topicId,
      title: clean(node.title),
      description: clean(node.description),
      channel: 'khan',
      category: 'source',
      level: depth,
      language: 'en',
      parent,
      hasContent: items.length > 0,
    });
    if (items.length) correlations.set(topicId, items);
    for (let i = childTopics.length - 1; i >= 0; i--) stack.push({ node: childTopics[i], parent: topicId, depth: depth + 1 });
  }
  return buildDataset(topics, content, correlations);
}
