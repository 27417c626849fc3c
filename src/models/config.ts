/**
 * Configuration of the neural retrieval stage: the text encoder, the
 * GraphSAGE aggregator, the two-tower training and the ANN index. Every key is
 * declared once here with its default; `resolveRunConfig` merges a config
 * file over these and rejects unknown keys.
 */
import type { BagEncoderOptions } from './text-encoder.ts';

export interface EncoderConfig extends Required<BagEncoderOptions> {
  /**
   * 'hashed': the from-scratch hashed n-gram embedding bag. 'pretrained':
   * a pretrained transformer's sentence vectors (frozen, cached on disk),
   * projected into the towers, plus the hashed bag unless `bag` is false.
   */
  kind: 'hashed' | 'pretrained';
  /** Local Hugging Face model directory of the pretrained encoder (kind 'pretrained'). Default ''. */
  model: string;
  /** Tokens per text for the pretrained encoder; 0 = the model's max_seq_length. Default 128. */
  maxLength: number;
  /** With kind 'pretrained', also read the hashed n-gram bag. Default true. */
  bag: boolean;
  /** Folder of the pretrained-vector cache. Default 'models/cache'. */
  cacheDir: string;
  /** Threads that encode with the pretrained model; 0 = one per core. Default 0. */
  workers: number;
  /**
   * Top transformer layers fine-tuned with the towers (kind 'pretrained');
   * 0 keeps the encoder frozen and its vectors cached. Every step then runs
   * the transformer over the batch's texts: for a GPU (tfjs-node-gpu), far
   * too slow on the wasm backend for real catalogues. Default 0.
   */
  fineTuneLayers: number;
  /** Adam learning rate of the fine-tuned layers. Default 2e-5. */
  fineTuneLearningRate: number;
}

export interface GraphSageConfig {
  /** 'off', 'mean' or 'pool'. Default 'off' (it did not help on the bundled datasets; see BENCHMARKS.md). */
  aggregator: 'off' | 'mean' | 'pool';
  /** Neighbours sampled per hop; its length is the number of layers. Default [10, 5]. */
  fanouts: number[];
}

export interface TrainingConfig {
  /** Most epochs (early stopping may end sooner). Default 8. */
  epochs: number;
  /** (topic, content) pairs per batch. Default 256. */
  batchSize: number;
  /** Peak Adam learning rate. Default 0.003. */
  learningRate: number;
  /** Linear warm-up steps, then cosine decay to learningRate * 0.05. Default 20. */
  warmupSteps: number;
  /** Softmax temperature. Default 0.1. */
  temperature: number;
  /** Popularity correction: 'streaming' (Yi et al. 2019), 'exact' counts, or 'off'. Default 'streaming'. */
  logQ: 'off' | 'streaming' | 'exact';
  /** Learning rate alpha of the streaming frequency estimator. Default 0.05. */
  estimatorAlpha: number;
  /** Hard negatives: 'none', 'lexical' (TF-IDF top-k of the topic) or 'model' (the previous epoch's top-k). Default 'none' (see BENCHMARKS.md). */
  hardNegatives: 'none' | 'lexical' | 'model';
  /** Hard negatives appended to each batch. Default 64. */
  hardNegativesPerBatch: number;
  /** Top-k list hard negatives are drawn from. Default 30. */
  hardNegativePool: number;
  /** Pairs of one topic per epoch at most (a topic with 20,000 links must not fill the epoch). Default 64. */
  maxPairsPerTopic: number;
  /** Share of training topics held out for validation, early stopping and the reranker. Default 0.2. */
  validationFraction: number;
  /** Epochs without a better validation recall before stopping. Default 2. */
  patience: number;
  /** K of the validation recall@K. Default 50. */
  recallK: number;
}

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

export const DEFAULT_ENCODER_CONFIG: Readonly<EncoderConfig> = Object.freeze({
  kind: 'hashed',
  vocab: 1 << 17,
  dim: 256,
  hidden: 256,
  maxFeatures: 256,
  model: '',
  maxLength: 128,
  bag: true,
  cacheDir: 'models/cache',
  workers: 0,
  fineTuneLayers: 0,
  fineTuneLearningRate: 2e-5,
});
// GraphSAGE is off by default: on both bundled datasets the topic's own text scored better than
// either aggregator (BENCHMARKS.md, "Retrieval ablations"). 'mean' or 'pool' turn it on.
export const DEFAULT_GRAPHSAGE_CONFIG: Readonly<GraphSageConfig> = Object.freeze({ aggregator: 'off', fanouts: [10, 5] });
export const DEFAULT_TRAINING_CONFIG: Readonly<TrainingConfig> = Object.freeze({
  epochs: 8,
  batchSize: 256,
  learningRate: 0.003,
  warmupSteps: 20,
  temperature: 0.1,
  logQ: 'streaming',
  estimatorAlpha: 0.05,
  hardNegatives: 'none',
  hardNegativesPerBatch: 64,
  hardNegativePool: 30,
  maxPairsPerTopic: 64,
  validationFraction: 0.2,
  patience: 2,
  recallK: 50,
});
export const DEFAULT_INDEX_CONFIG: Readonly<IndexConfig> = Object.freeze({ kind: 'hnsw', M: 16, efConstruction: 200, efSearch: 128, shardRows: 250000 });
export const DEFAULT_RETRIEVAL_CONFIG: Readonly<RetrievalConfig> = Object.freeze({ topK: 50, lexicalTopK: 50, unplacedTopK: 0, unplacedDepth: 200, sentenceTopK: 0, fusion: 'learned', fusionDepth: 200, fusedTopK: 100 });
