/**
 * The retrieval sections of the run config: the content index (HNSW or
 * exact, partitions and shards) and how candidates are retrieved and fused.
 * Each key is declared once here with its default and its checks; src/config.ts
 * composes the sections.
 */
import { isPositiveInteger, isNonNegativeInteger, type ConfigSection } from '../options.ts';

export interface IndexConfig {
  /** 'hnsw' or 'brute-force'. Default 'hnsw'. */
  kind: 'hnsw' | 'brute-force';
  /** HNSW graph degree. Default 16. */
  M: number;
  /** HNSW build beam. Default 200. */
  efConstruction: number;
  /** HNSW search beam. Default 128. */
  efSearch: number;
  /**
   * A language partition of more content than this is built as equal HNSW
   * shards of at most this many items, built side by side on worker threads
   * and each searched (0 = never shard). Default 250,000.
   */
  shardRows: number;
}

export interface RetrievalConfig {
  /** Neural candidates per topic. Default 50. */
  topK: number;
  /** Lexical candidates per topic joined to them. Default 50. */
  lexicalTopK: number;
  /**
   * Extra neural candidates per topic from content that no visible topic links
   * yet (unplaced content), taken in order from the neural list below its top
   * `topK`, down to rank `unplacedDepth`. 0 (default) turns it off.
   */
  unplacedTopK: number;
  /** How deep in the neural list the unplaced candidates are looked for. Default 200. */
  unplacedDepth: number;
  /**
   * Candidates per topic from a third list: exact cosine search over the
   * pretrained encoder's own sentence vectors (before the towers), within the
   * topic's language, extended by `unplacedTopK` unplaced items like the
   * neural list. Needs encoder.kind 'pretrained' without fine-tuning. The
   * search is brute force: meant for catalogues up to ~10^5 items. 0 (default)
   * turns it off. With the learned fusion, any value above 0 turns the list on
   * and it is searched `fusionDepth` deep.
   */
  sentenceTopK: number;
  /**
   * How the candidate lists become one: 'learned' (default), each list
   * searched `fusionDepth` deep and the union ranked by a logistic regression
   * over retrieval scores, ranks, placement (how many visible topics link the
   * item), the topic's parent and sibling links, the item's cosine to the
   * topic's siblings and parent, and hubness, fitted on the validation topics
   * (src/retrieval/fusion.ts), the best `fusedTopK` kept; 'rrf', reciprocal
   * rank fusion of the neural top `topK` and lexical top `lexicalTopK` (and
   * the sentence list, and the unplaced candidates). `topK`, `unplacedTopK`
   * and `unplacedDepth` apply to 'rrf' only.
   */
  fusion: 'rrf' | 'learned';
  /** How deep each list is searched for the learned fusion. Default 200. */
  fusionDepth: number;
  /** Candidates per topic kept after the learned fusion. Default 100. */
  fusedTopK: number;
}

export const DEFAULT_INDEX_CONFIG: Readonly<IndexConfig> = Object.freeze({ kind: 'hnsw', M: 16, efConstruction: 200, efSearch: 128, shardRows: 250000 });
export const DEFAULT_RETRIEVAL_CONFIG: Readonly<RetrievalConfig> = Object.freeze({ topK: 50, lexicalTopK: 50, unplacedTopK: 0, unplacedDepth: 200, sentenceTopK: 0, fusion: 'learned', fusionDepth: 200, fusedTopK: 100 });

export const INDEX_SECTION: ConfigSection<IndexConfig> = {
  name: 'index',
  defaults: DEFAULT_INDEX_CONFIG,
  check(c, need) {
    need(['hnsw', 'brute-force'].includes(c.kind), 'kind', 'one of hnsw, brute-force', c.kind);
    need(isNonNegativeInteger(c.shardRows), 'shardRows', 'a non-negative integer (0 = never shard)', c.shardRows);
  },
};

export const RETRIEVAL_SECTION: ConfigSection<RetrievalConfig> = {
  name: 'retrieval',
  defaults: DEFAULT_RETRIEVAL_CONFIG,
  check(c, need, run) {
    const encoder = run.encoder as { kind: string; fineTuneLayers: number };
    need(c.topK >= 1 && c.lexicalTopK >= 0, 'topK', 'at least 1 (lexicalTopK at least 0)', c);
    need(isNonNegativeInteger(c.unplacedTopK), 'unplacedTopK', 'a non-negative integer', c.unplacedTopK);
    need(c.unplacedTopK === 0 || (Number.isInteger(c.unplacedDepth) && c.unplacedDepth > c.topK), 'unplacedDepth', 'an integer larger than retrieval.topK', c.unplacedDepth);
    need(isNonNegativeInteger(c.sentenceTopK), 'sentenceTopK', 'a non-negative integer', c.sentenceTopK);
    need(c.sentenceTopK === 0 || (encoder.kind === 'pretrained' && encoder.fineTuneLayers === 0), 'sentenceTopK', "0 unless encoder.kind is 'pretrained' and encoder.fineTuneLayers is 0", c.sentenceTopK);
    need(c.fusion === 'rrf' || c.fusion === 'learned', 'fusion', "'rrf' or 'learned'", c.fusion);
    need(isPositiveInteger(c.fusionDepth), 'fusionDepth', 'a positive integer', c.fusionDepth);
    need(isPositiveInteger(c.fusedTopK), 'fusedTopK', 'a positive integer', c.fusedTopK);
  },
};
