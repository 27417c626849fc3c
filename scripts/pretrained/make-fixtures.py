"""
Reference outputs for trellis's BERT implementation, made with an independent
one (Hugging Face transformers on CPU torch).

  python scripts/pretrained/make-fixtures.py tiny OUT_DIR
      builds a tiny random BERT (2 layers, hidden 32, seeded) as a Hugging Face
      model directory (config.json, model.safetensors in float32 and a float16
      copy, tokenizer.json, vocab.txt, sentence-transformers pooling config)
      and writes reference.json: token ids, last hidden states, and pooled
      sentence embeddings of a few texts.

  python scripts/pretrained/make-fixtures.py minilm MODEL_DIR OUT_FILE
      embeds three sentences with sentence-transformers from MODEL_DIR
      (all-MiniLM-L6-v2) and writes their vectors to OUT_FILE.

Needs: pip install torch transformers safetensors sentence-transformers.
"""
import json
import os
import sys

import torch

SENTENCES = [
    "the cat sat on the mat",
    "Fractions and decimals: adding fractions with unlike denominators.",
    "an unknown wordzz appears",
    "the",
    "café résumé naïve",
]

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + list("abcdefghijklmnopqrstuvwxyz.,:;!?") + [
    "the", "cat", "sat", "on", "mat", "fraction", "##s", "and", "decimal", "adding", "with", "un", "##like",
    "denominator", "an", "unknown", "word", "##z", "appear", "cafe", "resume", "naive", "##e", "##a", "##t",
    "##r", "##n", "##d", "##o", "##i", "##l", "##c", "##m", "##p", "##u", "##w", "##k", "##y", "##h",
]


def tiny(out_dir: str) -> None:
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast
    from safetensors.torch import save_file

    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "vocab.txt"), "w") as f:
        f.write("\n".join(VOCAB) + "\n")
    BertWordPieceTokenizer(os.path.join(out_dir, "vocab.txt"), lowercase=True).save(os.path.join(out_dir, "tokenizer.json"))
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_file=os.path.join(out_dir, "tokenizer.json"), unk_token="[UNK]", pad_token="[PAD]",
        cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]",
    )
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": True, "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]",
                   "cls_token": "[CLS]", "mask_token": "[MASK]", "tokenizer_class": "BertTokenizer",
                   "model_max_length": 64}, f, indent=2)
    torch.manual_seed(7)
    config = BertConfig(
        vocab_size=len(VOCAB), hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
        max_position_embeddings=64, type_vocab_size=2, hidden_act="gelu", layer_norm_eps=1e-12,
    )
    model = BertModel(config, add_pooling_layer=False).eval()
    # Random LayerNorm parameters and biases too, so that every weight matters.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm" in name or name.endswith("bias"):
                p.add_(torch.randn_like(p) * 0.1)
    model.save_pretrained(out_dir, safe_serialization=True)
    state = {k: v.contiguous().to(torch.float16) for k, v in model.state_dict().items()}
    f16_dir = out_dir.rstrip("/") + "-f16"
    os.makedirs(f16_dir, exist_ok=True)
    save_file(state, os.path.join(f16_dir, "model.safetensors"), metadata={"format": "pt"})
    model16 = BertModel(config, add_pooling_layer=False).eval()
    model16.load_state_dict({k: v.to(torch.float32) for k, v in state.items()}, strict=False)
    for d in (out_dir, f16_dir):
        with open(os.path.join(d, "modules.json"), "w") as f:
            json.dump([
                {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
            ], f, indent=2)
        os.makedirs(os.path.join(d, "1_Pooling"), exist_ok=True)
        with open(os.path.join(d, "1_Pooling", "config.json"), "w") as f:
            json.dump({"word_embedding_dimension": 32, "pooling_mode_cls_token": False, "pooling_mode_mean_tokens": True,
                       "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False}, f, indent=2)
        with open(os.path.join(d, "sentence_bert_config.json"), "w") as f:
            json.dump({"max_seq_length": 16, "do_lower_case": False}, f)
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt"):
        if os.path.exists(os.path.join(out_dir, name)):
            with open(os.path.join(out_dir, name), "rb") as src, open(os.path.join(f16_dir, name), "wb") as dst:
                dst.write(src.read())

    for d, m in ((out_dir, model), (f16_dir, model16)):
        cases = []
        for text in SENTENCES:
            enc = tokenizer(text, truncation=True, max_length=16, return_tensors="pt")
            with torch.no_grad():
                hidden = m(**enc).last_hidden_state[0]
            mean = hidden.mean(0)
            cases.append({
                "text": text,
                "ids": enc["input_ids"][0].tolist(),
                "hidden": [[round(x, 7) for x in row] for row in hidden.tolist()],
                "mean": [round(x, 7) for x in mean.tolist()],
                "meanNormalized": [round(x, 7) for x in torch.nn.functional.normalize(mean, dim=0).tolist()],
                "cls": [round(x, 7) for x in hidden[0].tolist()],
            })
        with open(os.path.join(d, "reference.json"), "w") as f:
            json.dump({"maxLength": 16, "cases": cases}, f)


def minilm(model_dir: str, out_file: str) -> None:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(model_dir, device="cpu")
    sentences = ["A man is eating food.", "A man is eating a piece of bread.", "A man is riding a horse."]
    vectors = model.encode(sentences, normalize_embeddings=False)
    with open(out_file, "w") as f:
        json.dump({"model": "sentence-transformers/all-MiniLM-L6-v2", "sentences": sentences,
                   "vectors": [[round(float(x), 7) for x in v] for v in vectors]}, f)


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "tiny":
        tiny(sys.argv[2])
    elif len(sys.argv) >= 4 and sys.argv[1] == "minilm":
        minilm(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
