/**
 * Converts Debian's package catalogue (bookworm, main, amd64) into the LECR
 * format: a catalogue-scale problem with the shape of a curriculum.
 *
 * Two channels of topics:
 *   - "debtags": root -> facet -> tag, titles and descriptions from the debtags
 *     vocabulary; links from each package's Tag field (the "TODO" tags are
 *     left out, as are tags the vocabulary does not define).
 *   - "blends": root -> blend -> task: the metapackages of Section
 *     metapackages that depend on their blend's "<blend>-tasks" package (Debian
 *     Pure Blends such as med-*, science-*, astro-*); links from their
 *     Depends/Recommends/Suggests (every alternative) to packages that exist.
 * Content: every package, with its short description and the long English
 * description from Translation-en. Output order is sorted, so it is
 * deterministic.
 */
import { createReadStream, existsSync } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { DataError } from '../errors.ts';
import { buildDataset } from './lecr.ts';
import type { Content, Dataset, Topic } from './types.ts';

type Stanza = Map<string, string>;

/**
 * Streams the stanzas of a deb822 file (RFC 822-style fields, continuation
 * lines starting with a space, stanzas separated by blank lines). Folded
 * values keep their newlines.
 */
export async function* readStanzas(path: string): AsyncGenerator<Stanza> {
  if (!existsSync(path)) throw new DataError('file not found.', { file: path, hint: 'Point --source at the debian-bookworm folder.' });
  const input = path.endsWith('.gz') ? createReadStream(path).pipe(createGunzip()) : createReadStream(path);
  const lines = createInterface({ input, crlfDelay: Infinity });
  let stanza: Stanza = new Map();
  let last = '';
  for await (const line of lines) {
    if (line.trim() === '') {
      if (stanza.size) yield stanza;
      stanza = new Map();
      last = '';
    } else if ((line[0] === ' ' || line[0] === '\t') && last) {
      stanza.set(last, `${stanza.get(last)}\n${line.slice(1)}`);
    } else {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      last = line.slice(0, colon);
      stanza.set(last, line.slice(colon + 1).trim());
    }
  }
  if (stanza.size) yield stanza;
}

/** Turns a folded long description into plain paragraphs (" ." lines are paragraph breaks). */
export function longDescription(folded: string): string {
  const [, ...body] = folded.split('\n');
  return body
    .map((l) => (l.trim() === '.' ? '\n' : l.trim()))
    .join(' ')
    .replace(/ ?\n ?/g, '\n')
    .replace(/[ \t]+/g, ' ')
    .trim();
}

/** Package names of a relationship field: "a (>= 1), b | c:any" -> [a, b, c]. */
export function relationNames(field: string | undefined): string[] {
  if (!field) return [];
  return field
    .split(/[,|]/)
    .map((part) => part.trim().split(/[\s(\[<]/)[0].replace(/:\w+$/, ''))
    .filter((name) => name !== '');
}

interface Vocabulary {
  facets: Map<string, { title: string; description: string }>;
  tags: Map<string, { title: string; description: string }>;
}

async function readVocabulary(path: string): Promise<Vocabulary> {
  const facets = new Map<string, { title: string; description: string }>();
  const tags = new Map<string, { title: string; description: string }>();
  for await (const stanza of readStanzas(path)) {
    const description = stanza.get('Description') ?? '';
    const title = description.split('\n')[0].trim();
    const entry = { title, description: longDescription(description) };
    const facet = stanza.get('Facet');
    const tag = stanza.get('Tag');
    if (facet) facets.set(facet, entry);
    else if (tag && !tag.endsWith('TODO')) tags.set(tag, entry);
  }
  return { facets, tags };
}

export interface DebianStats {
  packages: number;
  debtagsLinks: number;
  blendsLinks: number;
  unknownTags: number;
}

/** Reads the three source files under `sourceDir` and returns the dataset. */
export async function convertDebian(sourceDir: string): Promise<{ dataset: Dataset; stats: DebianStats }> {
  const vocabulary = await readVocabulary(join(sourceDir, 'debtags-vocabulary'));
  const packages = new Map<string, Stanza>();
  for await (const stanza of readStanzas(join(sourceDir, 'Packages.gz'))) {
    const name = stanza.get('Package');
    if (name && !packages.has(name)) packages.set(name, stanza);
  }
  const longByKey = new Map<string, string>();
  for await (const stanza of readStanzas(join(sourceDir, 'Translation-en.gz'))) {
    const name = stanza.get('Package');
    const text = stanza.get('Description-en');
    if (name && text) longByKey.set(`${name}\u0000${stanza.get('Description-md5') ?? ''}`, longDescription(text));
  }

  const names = [...packages.keys()].sort();
  const content: Content[] = names.map((name) => {
    const p = packages.get(name)!;
    const md5 = p.get('Description-md5') ?? '';
    return {
      id: name,
      title: name,
      description: (p.get('Description') ?? '').split('\n')[0].trim(),
      kind: p.get('Section') ?? '',
      text: longByKey.get(`${name}\u0000${md5}`) ?? longDescription(p.get('Description') ?? ''),
      language: 'en',
      copyrightHolder: (p.get('Maintainer') ?? '').replace(/\s*<[^>]*>/g, '').trim(),
      license: 'Debian (DFSG)',
    };
  });

  const topics: Topic[] = [];
  const correlations = new Map<string, string[]>();
  const add = (id: string, title: string, description: string, channel: string, level: number, parent: string): void => {
    topics.push({ id, title, description, channel, category: 'curated', level, language: 'en', parent, hasContent: false });
  };

  // Channel "debtags": root -> facet -> tag.
  add('debtags', 'Debian packages by debtags facet', 'The debtags classification of Debian packages: facets and their tags.', 'debtags', 0, '');
  const tagLinks = new Map<string, string[]>();
  let unknownTags = 0;
  for (const name of names) {
    const field = packages.get(name)!.get('Tag');
    if (!field) continue;
    for (const raw of field.split(',')) {
      const tag = raw.trim();
      if (!tag || tag.endsWith('TODO')) continue;
      if (!vocabulary.tags.has(tag)) { unknownTags++; continue; }
      let list = tagLinks.get(tag);
      if (!list) tagLinks.set(tag, (list = []));
      list.push(name);
    }
  }
  const tagsByFacet = new Map<string, string[]>();
  for (const tag of [...vocabulary.tags.keys()].sort()) {
    const facet = tag.split('::')[0];
    if (!tagsByFacet.has(facet)) tagsByFacet.set(facet, []);
    tagsByFacet.get(facet)!.push(tag);
  }
  for (const facet of [...tagsByFacet.keys()].sort()) {
    const facetId = `debtags/${facet}`;
    const info = vocabulary.facets.get(facet) ?? { title: facet, description: '' };
    add(facetId, info.title, info.description, 'debtags', 1, 'debtags');
    for (const tag of tagsByFacet.get(facet)!) {
      const tagInfo = vocabulary.tags.get(tag)!;
      const id = `debtags/${tag}`;
      add(id, tagInfo.title, tagInfo.description, 'debtags', 2, facetId);
      const links = tagLinks.get(tag);
      if (links?.length) correlations.set(id, links);
    }
  }
  const debtagsLinks = [...tagLinks.values()].reduce((s, l) => s + l.length, 0);

  // Channel "blends": root -> blend -> task metapackage.
  add('blends', 'Debian Pure Blends', 'Debian Pure Blends: subsets of Debian tailored to a field, organised in tasks.', 'blends', 0, '');
  const tasksByBlend = new Map<string, string[]>();
  for (const name of names) {
    const p = packages.get(name)!;
    if (p.get('Section') !== 'metapackages') continue;
    const blend = relationNames(p.get('Depends')).find((d) => d.endsWith('-tasks'))?.replace(/-tasks$/, '');
    if (!blend || !name.startsWith(`${blend}-`)) continue;
    if (!tasksByBlend.has(blend)) tasksByBlend.set(blend, []);
    tasksByBlend.get(blend)!.push(name);
  }
  let blendsLinks = 0;
  for (const blend of [...tasksByBlend.keys()].sort()) {
    const blendId = `blends/${blend}`;
    const tasksPackage = packages.get(`${blend}-tasks`);
    add(blendId, blend, tasksPackage ? longDescription(tasksPackage.get('Description') ?? '') || (tasksPackage.get('Description') ?? '') : '', 'blends', 1, 'blends');
    for (const task of tasksByBlend.get(blend)!) {
      const p = packages.get(task)!;
      const id = `blends/${blend}/${task}`;
      const short = (p.get('Description') ?? '').split('\n')[0].trim();
      const md5 = p.get('Description-md5') ?? '';
      add(id, short || task, longByKey.get(`${task}\u0000${md5}`) ?? longDescription(p.get('Description') ?? ''), 'blends', 2, blendId);
      const members = new Set<string>();
      for (const field of ['Depends', 'Recommends', 'Suggests']) {
        for (const dep of relationNames(p.get(field))) {
          if (dep === `${blend}-tasks` || dep === `${blend}-config` || dep === task) continue;
          if (packages.has(dep)) members.add(dep);
        }
      }
      if (members.size) {
        correlations.set(id, [...members].sort());
        blendsLinks += members.size;
      }
    }
  }
  for (const topic of topics) topic.hasContent = correlations.has(topic.id);
  return { dataset: buildDataset(topics, content, correlations), stats: { packages: names.length, debtagsLinks, blendsLinks, unknownTags } };
}
