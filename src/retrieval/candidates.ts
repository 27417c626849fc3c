/**
 * Candidate lists and how they are joined: the ranked list every retriever
 * returns (`Candidates`), the joined list of one topic with each retriever's
 * score and rank (`FusedCandidates`), the union of ranked lists
 * (`joinLists`), reciprocal rank fusion (`fuseCandidates`; Cormack et al.,
 * SIGIR 2009), a merge by score of partition lists, and the language rule
 * that decides which partitions a topic searches. The learned fusion
 * (./fusion.ts) builds on the same join.
 */
import { topKIndices } from './topk.ts';

/** Ranked candidates per query: rows and scores, best first. */
export interface Candidates {
  /** Content rows, best first. [k] */
  rows: Uint32Array;
  /** Scores in the same order. [k] */
  scores: Float32Array;
  /** 1-based ranks in the full list, when some were skipped (default: 1..k). [k] */
  ranks?: Uint32Array;
}

/**
 * The partitions a topic of `language` searches among `keys`: its language's
 * (none when no content has it), or all of them for a topic without a language.
 */
export function languageRoute(language: string, keys: readonly string[]): string[] {
  if (language === '') return [...keys];
  return keys.includes(language) ? [language] : [];
}

/** Merges ranked lists into one top-k list by score. */
export function mergeCandidates(lists: Candidates[], k: number): Candidates {
  const total = lists.reduce((s, l) => s + l.rows.length, 0);
  const rows = new Uint32Array(total);
  const scores = new Float32Array(total);
  let at = 0;
  for (const l of lists) {
    rows.set(l.rows, at);
    scores.set(l.scores, at);
    at += l.rows.length;
  }
  const best = topKIndices(scores, k);
  return { rows: Uint32Array.from(best, (i) => rows[i]), scores: Float32Array.from(best, (i) => scores[i]) };
}

/**
 * A neural list cut to its top `k`, then extended with up to `extra` items
 * from further down that no visible topic links yet (`placed[row] === 0`),
 * in their order. `deep` is the neural list searched deeper than `k`.
 */
export function withUnplaced(deep: Candidates, k: number, extra: number, placed: ArrayLike<number>): Candidates {
  const keep: number[] = [];
  for (let i = 0; i < deep.rows.length && keep.length < k + extra; i++) {
    if (i < k || placed[deep.rows[i]] === 0) keep.push(i);
  }
  return { rows: Uint32Array.from(keep, (i) => deep.rows[i]), scores: Float32Array.from(keep, (i) => deep.scores[i]), ranks: Uint32Array.from(keep, (i) => i + 1) };
}

/** One topic's fused candidates: every item any retriever found, with their scores and ranks. */
export interface FusedCandidates {
  /** Content rows, ordered by fused score. [n] */
  rows: Uint32Array;
  /** Reciprocal-rank-fusion score. [n] */
  fused: Float32Array;
  /** Cosine from the neural retriever (NaN when it did not find the item). [n] */
  neural: Float32Array;
  /** TF-IDF cosine (NaN when the lexical retriever did not find the item). [n] */
  lexical: Float32Array;
  /** 1-based ranks in each list (0 when absent). [n] */
  neuralRank: Int32Array;
  lexicalRank: Int32Array;
  /** 1-based ranks in the sentence-vector list (retrieval.sentenceTopK; 0 when absent). [n] */
  sentenceRank?: Int32Array;
  /** Cosine of the pretrained encoder's own sentence vectors (pretrained encoders only). [n] */
  sentence?: Float32Array;
  /**
   * Each retriever's own ranked list (its first SOURCE_ROWS rows) when the
   * candidates keep only part of the lists (the learned fusion): the
   * retrievers are scored on these, not on what the fusion kept.
   */
  sources?: { neural: Uint32Array; lexical: Uint32Array; sentence?: Uint32Array };
}

/** Rows of each retriever's list kept in `FusedCandidates.sources`: enough for recall@100. */
export const SOURCE_ROWS = 100;

/**
 * The union of ranked lists: each item once, in order of first appearance,
 * with its 1-based rank in each list (the list's own ranks when it has them;
 * 0 when absent) and its score there (NaN when absent). Absent lists are
 * empty columns.
 */
export function joinLists(lists: readonly (Candidates | undefined)[]): { rows: Uint32Array; ranks: Int32Array[]; scores: Float32Array[] } {
  const order: number[] = [];
  const slot = new Map<number, number>();
  const entries: { list: number; at: number; rank: number; score: number }[] = [];
  lists.forEach((list, l) => {
    list?.rows.forEach((row, i) => {
      let j = slot.get(row);
      if (j === undefined) {
        slot.set(row, (j = order.length));
        order.push(row);
      }
      entries.push({ list: l, at: j, rank: list.ranks ? list.ranks[i] : i + 1, score: list.scores[i] });
    });
  });
  const ranks = lists.map(() => new Int32Array(order.length));
  const scores = lists.map(() => new Float32Array(order.length).fill(NaN));
  for (const e of entries) {
    ranks[e.list][e.at] = e.rank;
    scores[e.list][e.at] = e.score;
  }
  return { rows: Uint32Array.from(order), ranks, scores };
}

/**
 * Union of ranked lists (neural, lexical and optionally the sentence-vector
 * list), ordered by reciprocal rank fusion (Cormack et al., SIGIR 2009): sum
 * over lists of 1 / (c + rank), c = 60, with each list's own ranks when it
 * has them.
 */
export function fuseCandidates(neural: Candidates, lexical: Candidates, sentence?: Candidates, c = 60): FusedCandidates {
  const joined = joinLists(sentence ? [neural, lexical, sentence] : [neural, lexical]);
  const fusedScore = Array.from(joined.rows, (_, j) => joined.ranks.reduce((sum, ranks) => (ranks[j] > 0 ? sum + 1 / (c + ranks[j]) : sum), 0));
  const order = Array.from(joined.rows.keys()).sort((a, b) => fusedScore[b] - fusedScore[a] || joined.rows[a] - joined.rows[b]);
  const fused: FusedCandidates = {
    rows: Uint32Array.from(order, (j) => joined.rows[j]),
    fused: Float32Array.from(order, (j) => fusedScore[j]),
    neural: Float32Array.from(order, (j) => joined.scores[0][j]),
    lexical: Float32Array.from(order, (j) => joined.scores[1][j]),
    neuralRank: Int32Array.from(order, (j) => joined.ranks[0][j]),
    lexicalRank: Int32Array.from(order, (j) => joined.ranks[1][j]),
  };
  if (sentence) fused.sentenceRank = Int32Array.from(order, (j) => joined.ranks[2][j]);
  return fused;
}

/** Which retriever found an item, for the export's explanation column. */
export function retrievalExplanation(c: FusedCandidates, j: number): string {
  const parts: string[] = [];
  if (c.neuralRank[j]) parts.push(`neural #${c.neuralRank[j]}`);
  if (c.lexicalRank[j]) parts.push(`lexical #${c.lexicalRank[j]}`);
  if (c.sentenceRank?.[j]) parts.push(`sentence #${c.sentenceRank[j]}`);
  return parts.join(', ');
}
