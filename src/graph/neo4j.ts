/**
 * The Neo4j part of trellis, one entry listing every export by name:
 * connection and client, schema, dataset push / load, recommendations push,
 * named queries, and retrieval over a Neo4j vector index.
 */
export {
  Neo4jClient, withNeo4j, connectionFromEnv, probeNeo4j, translateError, toPlain, DEFAULT_NEO4J_CONNECTION,
  type Neo4jConnection, type ReadResult, type WriteResult, type WriteCounters, type Params,
} from './neo4j-client.ts';
export { applySchema, splitStatements, SCHEMA_FILE, QUERIES_DIR } from './neo4j-schema.ts';
export {
  pushDataset, pruneGraph, clearGraph, graphSnapshot, totals, DEFAULT_PUSH_OPTIONS,
  type PushOptions, type PushReport, type PushStep, type StepCounts, type BatchEvent, type BatchListener, type GraphSnapshot,
} from './neo4j-sync.ts';
export {
  pushRecommendations, readRecommendationFile, recommendationsFromTable, DEFAULT_RECOMMENDATION_PUSH_OPTIONS,
  type TopicRecommendations, type RecommendationPushOptions, type RecommendationsRead, type ReadRecommendationsOptions,
} from './neo4j-recommendations.ts';
export { loadDatasetFromNeo4j } from './neo4j-load.ts';
export {
  parseNamedQuery, readNamedQuery, listNamedQueries, namedQueryPath, parseParamValue, parseParamPairs,
  resolveQueryParams, runQuery, runNamedQuery, formatTable, formatJson, MAX_CELL,
  type NamedQuery, type QueryParam,
} from './neo4j-query.ts';
export {
  Neo4jVectorIndex, pushEmbeddings, ensureVectorIndex, dropEmbeddings, DEFAULT_NEO4J_VECTOR_OPTIONS,
  type Neo4jVectorOptions,
} from './neo4j-vector.ts';
