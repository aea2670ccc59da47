#!/usr/bin/python3
"""Writes the benchmark models: random-initialised BERT at MiniLM-L6 and BERT-base shapes.

For each shape, into <artifacts>/models/:
  <shape>-cross/    BertForSequenceClassification, num_labels 1 (the teacher): config.json, model.safetensors,
                    vocab.txt, tokenizer_config.json, special_tokens_map.json, and model.onnx (torch.onnx.export)
  <shape>-encoder/  BertModel (the student), same files without the classifier and the ONNX export

Weights follow Hugging Face's initialisation (normal(0, 0.02), seeded); the vocabulary is bert-base-uncased's.
Never commit the output: <artifacts> is git-ignored. Usage:

    /usr/bin/python3 make_bench_models.py <artifacts-dir> [shape ...]
"""

import json
import os
import shutil
import sys

import torch

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_bert as bb  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
VOCAB = os.path.abspath(os.path.join(HERE, "..", "..", "..", "samples", "data", "bert-base-uncased", "vocab.txt"))


def write_folder(folder, module, shape, num_labels):
    tmp = folder + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    bb.write_safetensors(os.path.join(tmp, "model.safetensors"), module.state_dict())
    with open(os.path.join(tmp, "config.json"), "w") as f:
        json.dump(bb.config_json(shape, num_labels), f, indent=2)
    shutil.copyfile(VOCAB, os.path.join(tmp, "vocab.txt"))
    specials = {"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]"}
    tc = dict(do_lower_case=True, tokenize_chinese_chars=True, strip_accents=None, tokenizer_class="BertTokenizer",
              model_max_length=bb.MAX_POSITIONS, **specials)
    with open(os.path.join(tmp, "tokenizer_config.json"), "w") as f:
        json.dump(tc, f, indent=2)
    with open(os.path.join(tmp, "special_tokens_map.json"), "w") as f:
        json.dump(specials, f, indent=2)
    return tmp


def export_onnx(module, path):
    module.eval()
    ids = torch.ones(2, 16, dtype=torch.long)
    with torch.no_grad():
        torch.onnx.export(
            module, (ids, torch.ones_like(ids), torch.zeros_like(ids)), path,
            input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["logits"],
            dynamic_axes={n: {0: "batch", 1: "sequence"} for n in ["input_ids", "attention_mask", "token_type_ids"]} | {"logits": {0: "batch"}},
            opset_version=14, do_constant_folding=True)


def main():
    artifacts = sys.argv[1]
    shapes = sys.argv[2:] or list(bb.SHAPES)
    models = os.path.join(artifacts, "models")
    os.makedirs(models, exist_ok=True)
    for i, shape in enumerate(shapes):
        for kind, seed in (("cross", 1000 + i), ("encoder", 2000 + i)):
            folder = os.path.join(models, f"{shape}-{kind}")
            if os.path.exists(os.path.join(folder, "config.json")):
                print(f"{folder}: present")
                continue
            module = bb.CrossEncoder(shape) if kind == "cross" else bb.Bert(shape)
            bb.init_(module, seed)
            tmp = write_folder(folder, module, shape, 1 if kind == "cross" else None)
            if kind == "cross":
                export_onnx(module, os.path.join(tmp, "model.onnx"))
            shutil.rmtree(folder, ignore_errors=True)
            os.rename(tmp, folder)
            print(f"{folder}: written")


if __name__ == "__main__":
    main()
