/**
 * The in-memory dataset in the LECR shape (Learning Equality curriculum
 * recommendations): topics in trees, content items, and curated topic ->
 * content links. Items are addressed by their row index in `topics` /
 * `content`; `topicIndex` / `contentIndex` map ids to rows.
 */
export interface Topic {
  id: string;
  title: string;
  description: string;
  channel: string;
  category: string;
  /** Depth as given by the file (0 for roots); -1 when the column is absent. */
  level: number;
  language: string;
  /** Parent topic id, or '' for a root. */
  parent: string;
  hasContent: boolean;
}

export interface Content {
  id: string;
  title: string;
  description: string;
  kind: string;
  text: string;
  language: string;
  copyrightHolder: string;
  license: string;
}

export interface Dataset {
  /** Folder the dataset was read from ('' when built in memory). */
  dir: string;
  topics: Topic[];
  content: Content[];
  topicIndex: Map<string, number>;
  contentIndex: Map<string, number>;
  /** `links[t]`: sorted content rows linked to topic row `t` (empty when none). */
  links: Uint32Array[];
  /** Topic ids listed in sample_submission.csv (the topics to predict), if the file exists. */
  sampleTopics?: string[];
  /** Correlation rows skipped in lenient mode. */
  skippedCorrelations: number;
  /** The known columns the files' headers had (a dataset built in memory or read from Neo4j does not say). */
  columns?: { topics: string[]; content: string[] };
}
