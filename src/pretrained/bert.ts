/**
 * A BERT encoder (Devlin et al. 2019) in tfjs, with weights from a Hugging
 * Face checkpoint: token + position + token-type embeddings and LayerNorm,
 * then post-LN layers of
 *
 *   a = LN(x + Wo . MultiHead(x Wq, x Wk, x Wv, mask))
 *   y = LN(a + W2 . gelu(W1 a))
 *
 * with the exact erf GELU and the checkpoint's LayerNorm epsilon. Padding is
 * masked out of every attention softmax (an additive -1e9), so a padded
 * batch gives each text the same vectors as encoding it alone.
 *
 * PyTorch stores linear weights as [out, in]; they are transposed once at
 * load time to the [in, out] layout of `dense`. Weight names may carry a
 * `bert.` prefix (BertForMaskedLM and friends) or none (BertModel, the
 * sentence-transformers layout); heads such as the pooler are ignored.
 *
 * The frozen layers hold plain tensors. `trainableLayers` turns the top
 * layers' weights into variables for fine-tuning (the rest stay frozen).
 */
import { tf, type Tensor, type Tensor1D, type Tensor2D, type Tensor3D, type Variable } from '../runtime/tf.ts';
import { add, batchMatMul, dense, gatherRows, gelu, layerNorm2d, maskedSoftmax } from '../runtime/ops.ts';
import { ArtifactError } from '../errors.ts';
import { ownedVariable } from '../runtime/variables.ts';
import type { BertConfig } from './config.ts';
import type { SafeTensor } from './safetensors.ts';

interface Linear {
  kernel: Tensor2D; // [in, out]
  bias: Tensor1D; // [out]
}

interface Norm {
  gamma: Tensor1D;
  beta: Tensor1D;
}

interface BertLayer {
  query: Linear;
  key: Linear;
  value: Linear;
  output: Linear;
  attentionNorm: Norm;
  intermediate: Linear;
  ffnOut: Linear;
  ffnNorm: Norm;
}

/** A mask value that zeroes a softmax weight exactly in float32. */
const MASKED = -1e9;

export class BertModel {
  readonly config: BertConfig;
  private readonly wordEmbeddings: Tensor2D;
  private readonly positionEmbeddings: Tensor2D;
  private readonly typeEmbeddings: Tensor2D;
  private readonly embeddingNorm: Norm;
  private readonly layers: BertLayer[];
  /** Variables of the trainable top layers (empty when frozen). */
  readonly variables: Variable[] = [];

  /**
   * Builds the model from a checkpoint's tensors. `trainableLayers` (default
   * 0) top layers become variables.
   */
  constructor(config: BertConfig, tensors: ReadonlyMap<string, SafeTensor>, source: string, trainableLayers = 0) {
    this.config = config;
    const prefix = tensors.has('embeddings.word_embeddings.weight') ? '' : tensors.has('bert.embeddings.word_embeddings.weight') ? 'bert.' : undefined;
    if (prefix === undefined) throw new ArtifactError(`${source}: no BERT weights (embeddings.word_embeddings.weight is missing).`, 'The file must hold a BertModel checkpoint.');
    const H = config.hiddenSize;
    const take = (name: string, shape: number[], variable = false): Tensor => {
      const entry = tensors.get(prefix + name) ?? (name.endsWith('.weight') && name.includes('LayerNorm') ? tensors.get(prefix + name.replace(/weight$/, 'gamma')) : name.endsWith('.bias') && name.includes('LayerNorm') ? tensors.get(prefix + name.replace(/bias$/, 'beta')) : undefined);
      if (!entry) throw new ArtifactError(`${source}: tensor ${prefix + name} is missing.`, 'The weights do not match config.json.');
      if (!entry.values) throw new ArtifactError(`${source}: tensor ${prefix + name} has dtype ${entry.dtype}; weights must be F32, F16, BF16 or F64.`, 'Convert the model to float32 or float16 safetensors.');
      if (entry.shape.length !== shape.length || entry.shape.some((d, i) => d !== shape[i])) {
        throw new ArtifactError(`${source}: tensor ${prefix + name} has shape ${JSON.stringify(entry.shape)}, config.json implies ${JSON.stringify(shape)}.`, 'The weights do not match config.json.');
      }
      const t = tf.tensor(entry.values, shape, 'float32');
      return variable ? this.own(t, name) : t;
    };
    const linear = (name: string, inputs: number, outputs: number, variable: boolean): Linear => {
      const torch = take(`${name}.weight`, [outputs, inputs]); // [out, in]
      const kernel = tf.transpose(torch) as Tensor2D; // [in, out]
      torch.dispose();
      return { kernel: (variable ? this.own(kernel, `${name}.kernel`) : kernel) as Tensor2D, bias: take(`${name}.bias`, [outputs], variable) as Tensor1D };
    };
    const norm = (name: string, variable: boolean): Norm => ({ gamma: take(`${name}.weight`, [H], variable) as Tensor1D, beta: take(`${name}.bias`, [H], variable) as Tensor1D });
    this.wordEmbeddings = take('embeddings.word_embeddings.weight', [config.vocabSize, H]) as Tensor2D;
    this.positionEmbeddings = take('embeddings.position_embeddings.weight', [config.maxPositions, H]) as Tensor2D;
    this.typeEmbeddings = take('embeddings.token_type_embeddings.weight', [config.typeVocabSize, H]) as Tensor2D;
    this.embeddingNorm = norm('embeddings.LayerNorm', false);
    this.layers = Array.from({ length: config.layers }, (_, l) => {
      const p = `encoder.layer.${l}`;
      const train = l >= config.layers - trainableLayers;
      return {
        query: linear(`${p}.attention.self.query`, H, H, train),
        key: linear(`${p}.attention.self.key`, H, H, train),
        value: linear(`${p}.attention.self.value`, H, H, train),
        output: linear(`${p}.attention.output.dense`, H, H, train),
        attentionNorm: norm(`${p}.attention.output.LayerNorm`, train),
        intermediate: linear(`${p}.intermediate.dense`, H, config.intermediateSize, train),
        ffnOut: linear(`${p}.output.dense`, config.intermediateSize, H, train),
        ffnNorm: norm(`${p}.output.LayerNorm`, train),
      };
    });
  }

  private own(t: Tensor, name: string): Variable {
    const v = ownedVariable(t, `bert/${name}`);
    this.variables.push(v);
    return v;
  }

  /**
   * Last hidden states of a padded batch (call inside tf.tidy).
   * ids, mask: [batch * length] row-major; returns [batch, length, H].
   */
  forward(ids: Int32Array, mask: Float32Array, batch: number, length: number): Tensor3D {
    return this.hiddenFrom(0, this.embed(ids, batch, length), mask, batch, length);
  }

  /** The input of layer `layer`: embeddings, then layers [0, layer). [B*L, H] (call inside tf.tidy) */
  hiddenBefore(layer: number, ids: Int32Array, mask: Float32Array, batch: number, length: number): Tensor2D {
    const x = this.embed(ids, batch, length); // [B*L, H]
    return layer === 0 ? x : tf.reshape(this.hiddenFrom(0, x, mask, batch, length, layer), [batch * length, this.config.hiddenSize]);
  }

  /** Runs layers [from, to) over `x` [B*L, H]. Returns [B, L, H] (call inside tf.tidy). */
  hiddenFrom(from: number, x: Tensor2D, mask: Float32Array, batch: number, length: number, to = this.layers.length): Tensor3D {
    const additive = tf.reshape(tf.mul(tf.sub(1, tf.tensor1d(mask)), MASKED), [batch, 1, 1, length]) as tf.Tensor4D; // [B, 1, 1, L]
    for (let l = from; l < to; l++) x = this.layer(x, additive, this.layers[l], batch, length);
    return tf.reshape(x, [batch, length, this.config.hiddenSize]) as Tensor3D; // [B, L, H]
  }

  private norm(x: Tensor2D, n: Norm): Tensor2D {
    return layerNorm2d(x, n.gamma, n.beta, this.config.layerNormEps);
  }

  /** Token + position + type embeddings, LayerNorm. [B*L, H] */
  private embed(ids: Int32Array, batch: number, length: number): Tensor2D {
    if (length > this.config.maxPositions) throw new RangeError(`BertModel: ${length} tokens exceed max_position_embeddings ${this.config.maxPositions}.`);
    const positions = new Int32Array(batch * length);
    for (let b = 0; b < batch; b++) for (let i = 0; i < length; i++) positions[b * length + i] = i;
    const words = gatherRows(this.wordEmbeddings, ids); // [B*L, H]
    const places = gatherRows(this.positionEmbeddings, positions); // [B*L, H]
    const types = tf.slice(this.typeEmbeddings, [0, 0], [1, this.config.hiddenSize]); // [1, H]: every token is segment 0
    return this.norm(tf.add(tf.add(words, places), types) as Tensor2D, this.embeddingNorm); // [B*L, H]
  }

  /** One post-LN layer. x: [B*L, H] -> [B*L, H] */
  private layer(x: Tensor2D, mask: tf.Tensor4D, w: BertLayer, batch: number, length: number): Tensor2D {
    const H = this.config.hiddenSize;
    const heads = this.config.heads;
    const width = H / heads;
    const split = (t: Tensor2D): Tensor3D => tf.reshape(tf.transpose(tf.reshape(t, [batch, length, heads, width]), [0, 2, 1, 3]), [batch * heads, length, width]) as Tensor3D; // [B*heads, L, dH]
    const query = split(dense(x, w.query.kernel, w.query.bias));
    const key = split(dense(x, w.key.kernel, w.key.bias));
    const value = split(dense(x, w.value.kernel, w.value.bias));
    const scores = tf.reshape(batchMatMul(query, tf.transpose(key, [0, 2, 1])), [batch, heads, length, length]) as tf.Tensor4D; // [B, heads, L, L]
    const attention = tf.reshape(maskedSoftmax(scores, mask, 1 / Math.sqrt(width)), [batch * heads, length, length]) as Tensor3D;
    const context = tf.reshape(tf.transpose(tf.reshape(batchMatMul(attention, value), [batch, heads, length, width]), [0, 2, 1, 3]), [batch * length, H]) as Tensor2D; // [B*L, H]
    const attended = this.norm(add(x, dense(context, w.output.kernel, w.output.bias)), w.attentionNorm); // [B*L, H]
    const inner = gelu(dense(attended, w.intermediate.kernel, w.intermediate.bias)); // [B*L, F]
    return this.norm(add(attended, dense(inner, w.ffnOut.kernel, w.ffnOut.bias)), w.ffnNorm); // [B*L, H]
  }

  dispose(): void {
    const all: Tensor[] = [this.wordEmbeddings, this.positionEmbeddings, this.typeEmbeddings, this.embeddingNorm.gamma, this.embeddingNorm.beta];
    for (const l of this.layers) {
      for (const lin of [l.query, l.key, l.value, l.output, l.intermediate, l.ffnOut]) all.push(lin.kernel, lin.bias);
      for (const n of [l.attentionNorm, l.ffnNorm]) all.push(n.gamma, n.beta);
    }
    for (const t of all) t.dispose();
  }
}
