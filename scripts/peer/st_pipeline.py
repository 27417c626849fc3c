"""The Python peer of trellis's pipeline on a LECR dataset: the retrieve-and-
rerank pipeline sentence-transformers users build for LECR, run on the split
trellis wrote for the same run, scored the way trellis scores it.

  1. bi-encoder: all-MiniLM-L6-v2 fine-tuned with MultipleNegativesRankingLoss
     (in-batch negatives) on (topic text, content text) pairs of the TRAIN
     topics' links, at most --max-pairs-per-topic per topic;
  2. retrieval: top --top-k content per topic by cosine, within the topic's
     language (trellis's languageRoute: a topic with language L searches only
     content of language L; a topic without a language searches everything);
  3. cross-encoder: a CrossEncoder initialised from the same all-MiniLM-L6-v2
     folder (a fresh one-logit classification head on top), trained with
     binary cross-entropy on retrieved candidates: every gold item among the
     candidates, --ce-negatives sampled non-gold candidates per topic. With
     --ce-train-from train (the default) the candidates are the fine-tuned
     bi-encoder's for the TRAIN topics (what most LECR teams did; the
     bi-encoder has seen those topics, so their candidates hold more gold
     than a new topic's); with --ce-train-from validation, those of one share
     (--ce-train-share) of the VALIDATION topics (a few thousand pairs on
     Khan: too few, the cross-encoder learned no useful order there);
  4. decision rule: one global probability threshold, at least one item per
     topic, chosen to maximise mean F2 on the validation topics the
     cross-encoder did not train on (all of them with --ce-train-from train);
  5. held-out topics: their candidates reranked, the threshold applied, and
     the result scored against their links (mean F2, precision, recall as
     LECR scores them, over held-out topics with links).

Held-out links are read only by the scoring step; validation links only
train the cross-encoder and tune the threshold. Texts are built as trellis
builds them (src/text/documents.ts), so both sides read the same words.

Prints one JSON line on stdout (results, versions, threads, seeds, stage
seconds, throughputs, load averages) and writes it to --out as well;
progress goes to stderr.

  work/peer/torch-venv/bin/python scripts/peer/st_pipeline.py \\
      --data data/khan --split split.json --model models/pretrained/all-MiniLM-L6-v2 \\
      --threads 2 --out st-khan.json [--epochs 1] [--top-k 50] [--seed 42]

Needs sentence-transformers' training extra in the venv
(scripts/peer/setup-train.sh).
"""
import argparse
import contextlib
import csv
import json
import os
import platform
import random
import sys
import tempfile
import time

# Content text is cut to this many characters, as trellis's contentText does.
CONTENT_MAX_CHARS = 2000
RECALL_KS = (10, 50)


def log(msg: str) -> None:
    print(f'st_pipeline: {msg}', file=sys.stderr, flush=True)


# ---------------------------------------------------------------- data

def read_csv(path: str) -> list[dict]:
    # utf-8-sig: trellis's reader accepts a BOM; newline='' keeps newlines
    # inside quoted fields as they are, as csv-parse does.
    # No field size limit, as csv-parse has none: a Debian tag's content_ids
    # run past Python's default of 131,072 characters.
    csv.field_size_limit(sys.maxsize)
    with open(path, encoding='utf-8-sig', newline='') as f:
        reader = csv.reader(f)
        header = [h.strip() for h in next(reader)]
        rows = []
        for record in reader:
            if not record:  # csv-parse's skip_empty_lines
                continue
            rows.append({h: record[i] if i < len(record) else '' for i, h in enumerate(header)})
        return rows


def load_dataset(folder: str) -> dict:
    """Topics, content and links the way src/data/lecr.ts reads them: ids and
    languages trimmed, titles and texts as they are, links deduplicated."""
    topics = read_csv(os.path.join(folder, 'topics.csv'))
    content = read_csv(os.path.join(folder, 'content.csv'))
    topic_index = {}
    for i, t in enumerate(topics):
        t['id'] = t['id'].strip()
        t['language'] = t.get('language', '').strip()
        t['parent'] = t.get('parent', '').strip()
        t.setdefault('description', '')
        topic_index[t['id']] = i
    content_index = {}
    for i, c in enumerate(content):
        c['id'] = c['id'].strip()
        c['language'] = c.get('language', '').strip()
        for k in ('description', 'text'):
            c.setdefault(k, '')
        content_index[c['id']] = i
    links: dict[int, list[int]] = {}
    for row in read_csv(os.path.join(folder, 'correlations.csv')):
        t = topic_index.get(row['topic_id'].strip())
        if t is None:
            sys.exit(f"st_pipeline: correlations.csv names an unknown topic {row['topic_id']!r}")
        rows = set()
        for cid in row['content_ids'].split():
            if cid not in content_index:
                sys.exit(f'st_pipeline: correlations.csv names an unknown content {cid!r}')
            rows.add(content_index[cid])
        if rows:
            links[t] = sorted(rows)
    return {'topics': topics, 'content': content, 'topic_index': topic_index, 'links': links}


def js_prefix(s: str, n: int) -> str:
    """s.slice(0, n) as JavaScript counts: in UTF-16 code units, which is what
    trellis's `maxChars` cut counts. A surrogate pair cut in half loses its
    lone high half (Python text cannot hold it; it is one character)."""
    units = 0
    for i, ch in enumerate(s):
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > n:
            return s[:i]
    return s


def utf16_length(s: str) -> int:
    return len(s) + sum(1 for ch in s if ord(ch) > 0xFFFF)


def topic_text(data: dict, t: int) -> str:
    """trellis's topicText: the breadcrumb of titles root > ... > topic, then
    '. ' and the description when there is one."""
    topics, index = data['topics'], data['topic_index']
    path = [t]
    seen = {t}
    p = index.get(topics[t]['parent'])
    while p is not None and p not in seen:  # trellis rejects cycles on load; this only guards the loop
        path.append(p)
        seen.add(p)
        p = index.get(topics[p]['parent'])
    crumb = ' > '.join(topics[r]['title'] for r in reversed(path))
    description = topics[t]['description']
    return f'{crumb}. {description}' if description else crumb


def content_text(item: dict) -> str:
    """trellis's contentText: title, description and text joined with '. ',
    empty parts left out, cut to 2,000 UTF-16 units."""
    text = '. '.join(s for s in (item['title'], item['description'], item['text']) if s != '')
    return js_prefix(text, CONTENT_MAX_CHARS) if utf16_length(text) > CONTENT_MAX_CHARS else text


def read_split(path: str, data: dict) -> dict[str, list[int]]:
    with open(path, encoding='utf-8') as f:
        raw = json.load(f)
    split = {}
    for name in ('train', 'validation', 'heldOut'):
        ids = raw.get(name)
        if not isinstance(ids, list):
            sys.exit(f'st_pipeline: {path} has no "{name}" list of topic ids')
        unknown = [i for i in ids if i not in data['topic_index']]
        if unknown:
            sys.exit(f'st_pipeline: {path}: {len(unknown)} unknown topic ids in "{name}", e.g. {unknown[0]!r}')
        split[name] = sorted({data['topic_index'][i] for i in ids})
    a, b, c = (set(split[k]) for k in ('train', 'validation', 'heldOut'))
    if a & b or a & c or b & c:
        sys.exit(f'st_pipeline: {path}: the train, validation and heldOut lists overlap')
    return split


# ---------------------------------------------------------------- metrics
# As src/eval/metrics.ts: per-topic P, R, F2 = 5PR/(4P+R); a topic with no
# prediction scores 0; means over topics with a non-empty gold set.

def score_sets(predicted: dict[int, list[int]], gold: dict[int, list[int]]) -> dict:
    f2 = p_sum = r_sum = 0.0
    topics = missing = 0
    for t, g in gold.items():
        if not g:
            continue
        topics += 1
        pred = list(dict.fromkeys(predicted.get(t, [])))
        if not pred:
            missing += 1
            continue
        hits = len(set(pred) & set(g))
        p, r = hits / len(pred), hits / len(g)
        p_sum += p
        r_sum += r
        f2 += 0.0 if 4 * p + r == 0 else 5 * p * r / (4 * p + r)
    n = max(topics, 1)
    return {'f2': f2 / n, 'precision': p_sum / n, 'recall': r_sum / n, 'topics': topics, 'topics_without_prediction': missing}


def recall_at(ranked: dict[int, list[int]], gold: dict[int, list[int]], ks=RECALL_KS) -> dict:
    sums = [0.0] * len(ks)
    topics = 0
    for t, g in gold.items():
        if not g:
            continue
        topics += 1
        gs = set(g)
        lst = ranked.get(t, [])
        for j, k in enumerate(ks):
            sums[j] += len(gs & set(lst[:k])) / len(gs)
    return {f'recall@{k}': (sums[j] / topics if topics else 0.0) for j, k in enumerate(ks)}


def best_top_k(ranked: dict[int, list[int]], gold: dict[int, list[int]], max_k: int) -> dict:
    best = None
    for k in range(1, max_k + 1):
        m = score_sets({t: lst[:k] for t, lst in ranked.items()}, gold)
        if best is None or m['f2'] > best['f2']:
            best = {'k': k, **m}
    return best


def ranked_metrics(ranked: dict[int, list[int]], gold: dict[int, list[int]], top_k: int) -> dict:
    return {**recall_at(ranked, gold), f'recall@{top_k}': recall_at(ranked, gold, (top_k,))[f'recall@{top_k}'], 'best_fixed_top_k': rounded(best_top_k(ranked, gold, top_k))}


def rounded(d: dict, digits: int = 4) -> dict:
    return {k: round(v, digits) if isinstance(v, float) else v for k, v in d.items()}


# ---------------------------------------------------------------- main

def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--data', required=True, help='LECR dataset folder (topics.csv, content.csv, correlations.csv)')
    p.add_argument('--split', required=True, help='JSON {"train": [...], "validation": [...], "heldOut": [...]} of topic ids')
    p.add_argument('--model', required=True, help='sentence-transformers model directory (all-MiniLM-L6-v2)')
    p.add_argument('--out', required=True, help='write the result JSON here')
    p.add_argument('--threads', type=int, default=1, help='torch intra-op threads (and tokenizer threads)')
    p.add_argument('--seed', type=int, default=42)
    p.add_argument('--epochs', type=float, default=1, help='bi-encoder fine-tuning epochs (0: no fine-tuning)')
    p.add_argument('--max-pairs-per-topic', type=int, default=64, help='training pairs per train topic, a seeded sample beyond this (trellis: 64)')
    p.add_argument('--batch-size', type=int, default=32, help='training batch (in-batch negatives = batch - 1) and inference batch')
    p.add_argument('--learning-rate', type=float, default=2e-5, help='bi-encoder and cross-encoder peak learning rate')
    p.add_argument('--warmup-ratio', type=float, default=0.1, help='share of each training run spent warming the learning rate up')
    p.add_argument('--max-length', type=int, default=128, help='bi-encoder tokens per text')
    p.add_argument('--top-k', type=int, default=50, help='candidates per topic')
    p.add_argument('--ce-epochs', type=float, default=1)
    p.add_argument('--ce-learning-rate', type=float, help='cross-encoder peak learning rate (default: --learning-rate); its classification head is fresh, so it may need more than the bi-encoder')
    p.add_argument('--ce-max-length', type=int, default=128, help='cross-encoder tokens per (topic, content) pair')
    p.add_argument('--ce-negatives', type=int, default=20, help='sampled negatives per cross-encoder training topic')
    p.add_argument('--ce-train-from', choices=['train', 'validation'], default='train', help="topics whose candidates train the cross-encoder: the bi-encoder's training topics, or a share of the validation topics")
    p.add_argument('--ce-train-share', type=float, default=0.5, help='with --ce-train-from validation: share of validation topics that train the cross-encoder; the rest tune the threshold')
    p.add_argument('--no-zero-shot', action='store_true', help='skip the un-fine-tuned retrieval baseline (saves one pass over the content)')
    p.add_argument('--limit-topics', type=int, help='smoke tests: a seeded sample of at most this many topics from each split list')
    p.add_argument('--limit-train-pairs', type=int, help='smoke tests: a seeded sample of at most this many bi-encoder training pairs')
    a = p.parse_args()
    if a.threads < 1 or a.batch_size < 2 or a.top_k < 1 or a.max_length < 8 or a.ce_max_length < 8 or a.ce_negatives < 0:
        p.error('--threads >= 1, --batch-size >= 2, --top-k >= 1, --max-length/--ce-max-length >= 8 and --ce-negatives >= 0 are required')
    if not 0 < a.ce_train_share < 1:
        p.error('--ce-train-share must be in (0, 1)')
    if not 0 <= a.warmup_ratio < 1:
        p.error('--warmup-ratio must be in [0, 1)')
    if a.ce_learning_rate is None:
        a.ce_learning_rate = a.learning_rate
    if not (a.learning_rate > 0 and a.ce_learning_rate > 0):
        p.error('--learning-rate and --ce-learning-rate must be positive')

    # Thread pools read these when the libraries load, so they are set before
    # torch is imported (see st_encode.py). Local files only: a hub lookup
    # would hang on this network.
    n = str(a.threads)
    os.environ.update(OMP_NUM_THREADS=n, MKL_NUM_THREADS=n, OPENBLAS_NUM_THREADS=n, RAYON_NUM_THREADS=n)
    os.environ.update(HF_HUB_OFFLINE='1', TRANSFORMERS_OFFLINE='1', HF_HUB_DISABLE_PROGRESS_BARS='1', TRANSFORMERS_VERBOSITY='error',
                      HF_DATASETS_OFFLINE='1', HF_DATASETS_DISABLE_PROGRESS_BARS='1', TOKENIZERS_PARALLELISM='true' if a.threads > 1 else 'false',
                      WANDB_DISABLED='true', DISABLE_MLFLOW_INTEGRATION='TRUE')

    # The trainers and transformers print to stdout (PrinterCallback, load
    # reports); stdout carries only the result line, so everything else goes to stderr.
    real_stdout = sys.stdout
    with contextlib.redirect_stdout(sys.stderr):
        result = run(a)
    line = json.dumps(result)
    with open(a.out, 'w', encoding='utf-8') as f:
        f.write(line + '\n')
    print(line, file=real_stdout, flush=True)


def run(a) -> dict:
    t_start = time.perf_counter()
    load_start = os.getloadavg()
    import warnings
    warnings.filterwarnings('ignore', category=DeprecationWarning)
    warnings.filterwarnings('ignore', category=FutureWarning)

    import numpy as np
    import torch
    import transformers
    import datasets
    import accelerate
    import sentence_transformers
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.base.sampler import BatchSamplers
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    from sentence_transformers.cross_encoder import CrossEncoder, CrossEncoderTrainer, CrossEncoderTrainingArguments
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss

    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    transformers.logging.set_verbosity_error()
    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()

    def seed_all(seed: int) -> None:
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)
        transformers.set_seed(seed)

    seed_all(a.seed)
    # One generator per purpose, so that a change in one step does not move the others' samples.
    rng = {k: random.Random(f'{a.seed}/{k}') for k in ('limit', 'pairs', 'ce-split', 'ce-negatives')}

    stage: dict[str, float] = {}
    loads: dict[str, list[float]] = {}
    throughput: dict[str, float] = {}

    @contextlib.contextmanager
    def timed(name: str):
        log(f'{name}...')
        t0 = time.perf_counter()
        yield
        stage[name] = round(time.perf_counter() - t0, 3)
        loads[name] = [round(x, 2) for x in os.getloadavg()]
        log(f'{name}: {stage[name]:.1f} s')

    # ------------------------------------------------------------ inputs
    with timed('load'):
        data = load_dataset(a.data)
        split = read_split(a.split, data)
        if a.limit_topics:
            for name in split:
                if len(split[name]) > a.limit_topics:
                    split[name] = sorted(rng['limit'].sample(split[name], a.limit_topics))
        links = data['links']
        # The only places links are read: train (bi-encoder pairs), validation
        # (cross-encoder and threshold) and heldOut (scoring, at the end).
        train_links = {t: links[t] for t in split['train'] if t in links}
        val_links = {t: links.get(t, []) for t in split['validation']}
        topic_texts = {t: topic_text(data, t) for name in split for t in split[name]}
        content_texts = [content_text(c) for c in data['content']]
    log(f"{len(data['topics'])} topics, {len(data['content'])} content; split: {len(split['train'])} train "
        f"({len(train_links)} with links), {len(split['validation'])} validation, {len(split['heldOut'])} held out")

    # Content rows of each language: a topic with language L searches
    # partition L only (none when no content has L); one without a language searches all.
    by_language: dict[str, list[int]] = {}
    for row, c in enumerate(data['content']):
        by_language.setdefault(c['language'], []).append(row)
    partitions = {lang: np.asarray(rows, dtype=np.int64) for lang, rows in by_language.items()}
    all_rows = np.arange(len(data['content']), dtype=np.int64)

    def route(t: int):
        lang = data['topics'][t]['language']
        return all_rows if lang == '' else partitions.get(lang)

    def retrieve(topic_vectors: dict[int, 'np.ndarray'], content_vectors: 'np.ndarray', k: int) -> dict[int, list[int]]:
        """Top-k content per topic by cosine (the vectors are unit length), best first."""
        out = {}
        for t, q in topic_vectors.items():
            rows = route(t)
            if rows is None or len(rows) == 0:
                out[t] = []
                continue
            scores = content_vectors[rows] @ q
            kk = min(k, len(rows))
            top = np.argpartition(-scores, kk - 1)[:kk]
            top = top[np.lexsort((rows[top], -scores[top]))]
            out[t] = rows[top].tolist()
        return out

    def encode(model, texts: list[str]) -> 'np.ndarray':
        with torch.inference_mode():
            v = model.encode(texts, batch_size=a.batch_size, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False)
        return v.astype(np.float32)

    query_topics = split['validation'] + split['heldOut'] + (sorted(train_links) if a.ce_train_from == 'train' else [])
    query_texts = [topic_texts[t] for t in query_topics]

    def load_bi_encoder():
        m = SentenceTransformer(a.model, device='cpu')
        m.max_seq_length = a.max_length
        return m

    # ------------------------------------------------------------ zero-shot baseline
    zero_shot = None
    if not a.no_zero_shot:
        with timed('zero_shot_encode'):
            base = load_bi_encoder()
            zc = encode(base, content_texts)
            zq = encode(base, query_texts)
            del base
        zero_ranked = retrieve({t: zq[i] for i, t in enumerate(query_topics) if t in split['heldOut']}, zc, a.top_k)
        zero_shot = zero_ranked  # scored with the held-out links at the end

    # ------------------------------------------------------------ bi-encoder fine-tuning
    pairs_topic, pairs_content = [], []
    for t in sorted(train_links):
        positives = list(train_links[t])
        if len(positives) > a.max_pairs_per_topic:
            positives = rng['pairs'].sample(positives, a.max_pairs_per_topic)
        for c in positives:
            pairs_topic.append(t)
            pairs_content.append(c)
    pairs_total = len(pairs_topic)
    if a.limit_train_pairs and pairs_total > a.limit_train_pairs:
        keep = sorted(rng['pairs'].sample(range(pairs_total), a.limit_train_pairs))
        pairs_topic = [pairs_topic[i] for i in keep]
        pairs_content = [pairs_content[i] for i in keep]

    model = load_bi_encoder()
    bi_train = {'pairs_available': pairs_total, 'pairs': len(pairs_topic)}
    # Training arguments both trainers share: CPU, seeded, no checkpoints, no reporting.
    common_args = dict(
        per_device_train_batch_size=a.batch_size,
        learning_rate=a.learning_rate,
        warmup_steps=a.warmup_ratio,  # transformers 5: a float below 1 is a share of the steps
        seed=a.seed,
        data_seed=a.seed,
        use_cpu=True,
        dataloader_num_workers=0,
        save_strategy='no',
        report_to='none',
        logging_steps=10,
        disable_tqdm=True,
    )
    tmp = tempfile.TemporaryDirectory(prefix='st_pipeline-')
    if a.epochs > 0 and len(pairs_topic) >= 2:
        train_ds = Dataset.from_dict({
            'anchor': [topic_texts[t] for t in pairs_topic],
            'positive': [content_texts[c] for c in pairs_content],
        })
        args = SentenceTransformerTrainingArguments(
            output_dir=os.path.join(tmp.name, 'bi'),
            num_train_epochs=a.epochs,
            # A topic has many links, so a plain random batch often holds the
            # same topic twice, and MNRL would push away a true positive as
            # an in-batch negative; the no-duplicates sampler prevents that.
            batch_sampler=BatchSamplers.NO_DUPLICATES,
            **common_args,
        )
        trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=train_ds, loss=MultipleNegativesRankingLoss(model))
        with timed('bi_encoder_fit'):
            out = trainer.train()
        m = out.metrics
        bi_train.update(steps=out.global_step, training_loss=round(out.training_loss, 4), train_runtime=round(m['train_runtime'], 3),
                        steps_per_second=round(out.global_step / stage['bi_encoder_fit'], 4),
                        pairs_per_second=round(len(pairs_topic) * a.epochs / stage['bi_encoder_fit'], 2))
        del trainer
    else:
        stage['bi_encoder_fit'] = 0.0
    model.eval()

    # ------------------------------------------------------------ encoding and retrieval
    with timed('encode_content'):
        content_vectors = encode(model, content_texts)
    throughput['encode_content_texts_per_second'] = round(len(content_texts) / stage['encode_content'], 1)
    with timed('encode_topics'):
        qv = encode(model, query_texts)
    throughput['encode_topics_texts_per_second'] = round(len(query_texts) / max(stage['encode_topics'], 1e-9), 1)
    with timed('retrieve'):
        ranked = retrieve({t: qv[i] for i, t in enumerate(query_topics)}, content_vectors, a.top_k)
    del model

    # ------------------------------------------------------------ cross-encoder
    val_order = [t for t in split['validation'] if val_links[t]]
    if a.ce_train_from == 'train':
        if not val_order:
            sys.exit('st_pipeline: at least 1 validation topic with links is needed (to tune the threshold)')
        ce_train_topics, ce_tune_topics, ce_gold = sorted(train_links), sorted(val_order), train_links
    else:
        rng['ce-split'].shuffle(val_order)
        cut = max(1, min(len(val_order) - 1, round(len(val_order) * a.ce_train_share)))
        if len(val_order) < 2:
            sys.exit('st_pipeline: at least 2 validation topics with links are needed (one to train the cross-encoder, one to tune its threshold)')
        ce_train_topics, ce_tune_topics, ce_gold = sorted(val_order[:cut]), sorted(val_order[cut:]), val_links
    queries, passages, labels = [], [], []
    for t in ce_train_topics:
        gold = set(ce_gold[t])
        cands = ranked[t]
        positives = [c for c in cands if c in gold]
        negatives = [c for c in cands if c not in gold]
        negatives = rng['ce-negatives'].sample(negatives, min(a.ce_negatives, len(negatives)))
        for c, y in [(c, 1.0) for c in positives] + [(c, 0.0) for c in negatives]:
            queries.append(topic_texts[t])
            passages.append(content_texts[c])
            labels.append(y)
    seed_all(a.seed)  # the fresh head's initialisation does not depend on what ran before
    ce = CrossEncoder(a.model, num_labels=1, max_length=a.ce_max_length, device='cpu')
    ce_info = {'train_from': a.ce_train_from, 'train_topics': len(ce_train_topics), 'tune_topics': len(ce_tune_topics), 'pairs': len(labels),
               'positives': int(sum(labels)), 'head': 'fresh 1-logit classification head (BertForSequenceClassification over the all-MiniLM-L6-v2 encoder and its pooler)'}
    ce_args = CrossEncoderTrainingArguments(
        output_dir=os.path.join(tmp.name, 'ce'),
        num_train_epochs=a.ce_epochs,
        **{**common_args, 'learning_rate': a.ce_learning_rate},
    )
    ce_ds = Dataset.from_dict({'query': queries, 'passage': passages, 'label': labels})
    ce_trainer = CrossEncoderTrainer(model=ce, args=ce_args, train_dataset=ce_ds, loss=BinaryCrossEntropyLoss(ce))
    with timed('cross_encoder_fit'):
        out = ce_trainer.train()
    ce_info.update(steps=out.global_step, training_loss=round(out.training_loss, 4),
                   steps_per_second=round(out.global_step / stage['cross_encoder_fit'], 4),
                   pairs_per_second=round(len(labels) * a.ce_epochs / stage['cross_encoder_fit'], 2))
    del ce_trainer
    ce.eval()
    tmp.cleanup()

    def rerank(topics: list[int]) -> dict[int, tuple[list[int], 'np.ndarray']]:
        """Each topic's candidates with their cross-encoder probabilities, best first."""
        flat = [(t, c) for t in topics for c in ranked[t]]
        probs = np.zeros(0, dtype=np.float32)
        if flat:
            with torch.inference_mode():
                probs = ce.predict([(topic_texts[t], content_texts[c]) for t, c in flat], batch_size=a.batch_size,
                                   show_progress_bar=False, convert_to_numpy=True).astype(np.float32).reshape(-1)
        out, at = {}, 0
        for t in topics:
            m = len(ranked[t])
            p_t = probs[at:at + m]
            order = np.argsort(-p_t, kind='stable')
            out[t] = ([ranked[t][i] for i in order], p_t[order])
            at += m
        return out

    def apply_threshold(scored: dict, threshold: float) -> dict[int, list[int]]:
        # At least one item per topic: its best candidate, even below the threshold.
        return {t: rows[:max(1, int((probs >= threshold).sum()))] if rows else [] for t, (rows, probs) in scored.items()}

    with timed('cross_encoder_tune'):
        tune_scored = rerank(ce_tune_topics)
        # Every distinct probability is a candidate threshold; a list cut at
        # n items is what any threshold in (p[n], p[n-1]] gives.
        candidates = np.unique(np.concatenate([p for _, p in tune_scored.values()] + [np.ones(1, np.float32)]))
        tune_gold = {t: val_links[t] for t in ce_tune_topics}
        hits_cum = {}
        for t, (rows, _) in tune_scored.items():
            gold = set(tune_gold[t])
            hits_cum[t] = np.cumsum([c in gold for c in rows])
        f2_sum = np.zeros(len(candidates))
        for t, (rows, probs) in tune_scored.items():
            if not rows:
                continue
            n_kept = np.maximum(1, (probs[None, :] >= candidates[:, None]).sum(axis=1))
            hits = hits_cum[t][n_kept - 1]
            prec, rec = hits / n_kept, hits / len(tune_gold[t])
            den = 4 * prec + rec
            f2_sum += np.where(den > 0, 5 * prec * rec / np.where(den > 0, den, 1), 0.0)
        best = int(np.argmax(f2_sum))  # the lowest threshold among equals: more recall
        threshold = float(candidates[best])
        tune_metrics = score_sets(apply_threshold(tune_scored, threshold), tune_gold)
    ce_info.update(threshold=round(threshold, 6), tune=rounded(tune_metrics))
    # A retrieval-only reference with a fair cut: the fixed top-k that is
    # best on the same tune topics (best_fixed_top_k below is chosen on the
    # held-out topics themselves, an upper bound).
    tuned_k = best_top_k({t: ranked[t] for t in ce_tune_topics}, tune_gold, a.top_k)['k']
    tune_pairs = sum(len(ranked[t]) for t in ce_tune_topics)
    throughput['cross_encoder_tune_pairs_per_second'] = round(tune_pairs / max(stage['cross_encoder_tune'], 1e-9), 1)

    # ------------------------------------------------------------ held-out scoring
    with timed('score_held_out'):
        held_scored = rerank(split['heldOut'])
        predictions = apply_threshold(held_scored, threshold)
    pairs_scored = sum(len(ranked[t]) for t in split['heldOut'])
    throughput['cross_encoder_predict_pairs_per_second'] = round(pairs_scored / max(stage['score_held_out'], 1e-9), 1)

    # The held-out links are read here and nowhere above.
    held_gold = {t: links.get(t, []) for t in split['heldOut']}
    final = score_sets(predictions, held_gold)
    held_ranked = {t: ranked[t] for t in split['heldOut']}
    results = {
        'held_out': {**rounded(final), 'mean_predicted': round(sum(len(v) for v in predictions.values()) / max(len(predictions), 1), 2)},
        'bi_encoder': ranked_metrics(held_ranked, held_gold, a.top_k),
        'reranked': ranked_metrics({t: rows for t, (rows, _) in held_scored.items()}, held_gold, a.top_k),
    }
    results['bi_encoder']['top_k_tuned_on_validation'] = {'k': tuned_k, **rounded(score_sets({t: lst[:tuned_k] for t, lst in held_ranked.items()}, held_gold))}
    results['bi_encoder'] = rounded(results['bi_encoder'])
    results['reranked'] = rounded(results['reranked'])
    if zero_shot is not None:
        results['zero_shot'] = rounded(ranked_metrics(zero_shot, held_gold, a.top_k))

    def version(mod) -> str:
        return getattr(mod, '__version__', '?')

    return {
        'peer': 'sentence-transformers retrieve-and-rerank',
        'data': os.path.abspath(a.data),
        'split': os.path.abspath(a.split),
        'model': os.path.abspath(a.model),
        'topics': {'train': len(split['train']), 'train_with_links': len(train_links), 'validation': len(split['validation']),
                   'held_out': len(split['heldOut']), 'held_out_with_links': final['topics'], 'limit_topics': a.limit_topics},
        'content': len(data['content']),
        'results': results,
        'bi_encoder_training': {**bi_train, 'epochs': a.epochs, 'batch_size': a.batch_size, 'max_length': a.max_length,
                                'max_pairs_per_topic': a.max_pairs_per_topic, 'limit_train_pairs': a.limit_train_pairs,
                                'learning_rate': a.learning_rate, 'warmup_ratio': a.warmup_ratio,
                                'loss': 'MultipleNegativesRankingLoss(scale=20, cos_sim)', 'batch_sampler': 'no_duplicates'},
        'cross_encoder': {**ce_info, 'epochs': a.ce_epochs, 'learning_rate': a.ce_learning_rate, 'max_length': a.ce_max_length, 'negatives_per_topic': a.ce_negatives,
                          'train_share': a.ce_train_share, 'loss': 'BinaryCrossEntropyLoss',
                          'rule': 'one global probability threshold, at least one item per topic, max mean F2 on the tune topics'},
        'top_k': a.top_k,
        'seed': a.seed,
        'threads': torch.get_num_threads(),
        'stage_seconds': {**stage, 'total': round(time.perf_counter() - t_start, 3)},
        'throughput': throughput,
        'load_average_start': [round(x, 2) for x in load_start],
        'load_average_after_stage': loads,
        'versions': {'python': platform.python_version(), 'torch': torch.__version__, 'sentence_transformers': version(sentence_transformers),
                     'transformers': version(transformers), 'datasets': version(datasets), 'accelerate': version(accelerate), 'numpy': np.__version__},
    }


if __name__ == '__main__':
    main()
