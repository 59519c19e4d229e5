#!/usr/bin/env python3
"""Writes a random-weight CLIP model directory in the Hugging Face layout, with the standard library only.

For benchmarks and GPU checks on machines without PyTorch (scripts/gpu_check.sh): the values are
a 1 Mi-float block of seeded uniform noise (scaled per tensor like a normal initialisation), tiled
over every tensor, so a ViT-B/32 (605 MB) is written in seconds. The tokenizer files are copied
from Models/demo-clip (OpenAI's 49408-token vocabulary). Embeddings of such a model mean nothing;
only shapes, speed and backend agreement do.

    python3 scripts/make_random_clip.py /tmp/clip-b32-random            # ViT-B/32
    python3 scripts/make_random_clip.py /tmp/clip-b16-random --variant b16
"""
import argparse
import array
import json
import os
import random
import shutil
import struct

VARIANTS = {
    "b32": dict(vision_width=768, vision_layers=12, vision_heads=12, patch=32, image=224, projection=512),
    "b16": dict(vision_width=768, vision_layers=12, vision_heads=12, patch=16, image=224, projection=512),
    "l14": dict(vision_width=1024, vision_layers=24, vision_heads=16, patch=14, image=224, projection=768),
}
TEXT = dict(width=512, layers=12, heads=8, vocabulary=49408, positions=77)


def tensors(v):
    """(name, shape, scale) of every tensor, in the order written."""
    w, tw = v["vision_width"], TEXT["width"]
    tokens = (v["image"] // v["patch"]) ** 2 + 1
    out = [
        ("vision_model.embeddings.class_embedding", [w], 0.02),
        ("vision_model.embeddings.patch_embedding.weight", [w, 3, v["patch"], v["patch"]], 0.02),
        ("vision_model.embeddings.position_embedding.weight", [tokens, w], 0.02),
        ("vision_model.pre_layrnorm.weight", [w], None), ("vision_model.pre_layrnorm.bias", [w], 0.0),
        ("vision_model.post_layernorm.weight", [w], None), ("vision_model.post_layernorm.bias", [w], 0.0),
        ("visual_projection.weight", [v["projection"], w], 0.02),
        ("text_model.embeddings.token_embedding.weight", [TEXT["vocabulary"], tw], 0.02),
        ("text_model.embeddings.position_embedding.weight", [TEXT["positions"], tw], 0.01),
        ("text_model.final_layer_norm.weight", [tw], None), ("text_model.final_layer_norm.bias", [tw], 0.0),
        ("text_projection.weight", [v["projection"], tw], 0.02),
        ("logit_scale", [], "logit"),
    ]
    for tower, width, layers in (("vision_model", w, v["vision_layers"]), ("text_model", tw, TEXT["layers"])):
        for n in range(layers):
            base = f"{tower}.encoder.layers.{n}"
            for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
                out += [(f"{base}.self_attn.{proj}.weight", [width, width], width ** -0.5),
                        (f"{base}.self_attn.{proj}.bias", [width], 0.01)]
            for norm in ("layer_norm1", "layer_norm2"):
                out += [(f"{base}.{norm}.weight", [width], None), (f"{base}.{norm}.bias", [width], 0.0)]
            out += [(f"{base}.mlp.fc1.weight", [4 * width, width], width ** -0.5), (f"{base}.mlp.fc1.bias", [4 * width], 0.01),
                    (f"{base}.mlp.fc2.weight", [width, 4 * width], (4 * width) ** -0.5), (f"{base}.mlp.fc2.bias", [width], 0.01)]
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory")
    parser.add_argument("--variant", choices=sorted(VARIANTS), default="b32")
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args()
    v = VARIANTS[arguments.variant]
    os.makedirs(arguments.directory, exist_ok=True)
    generator = random.Random(arguments.seed)
    block = array.array("f", (generator.uniform(-1.7320508, 1.7320508) for _ in range(1 << 20)))  # unit variance

    specs = tensors(v)
    header, offset = {}, 0
    for name, shape, _ in specs:
        count = 1
        for size in shape:
            count *= size
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + 4 * count]}
        offset += 4 * count
    header_bytes = json.dumps(header, separators=(",", ":")).encode()
    header_bytes += b" " * (-len(header_bytes) % 8)
    with open(os.path.join(arguments.directory, "model.safetensors"), "wb") as file:
        file.write(struct.pack("<Q", len(header_bytes)))
        file.write(header_bytes)
        for index, (name, shape, scale) in enumerate(specs):
            count = (header[name]["data_offsets"][1] - header[name]["data_offsets"][0]) // 4
            if scale is None:
                values = array.array("f", [1.0]) * count
            elif scale == "logit":
                values = array.array("f", [4.6052])  # exp = 100
            elif scale == 0.0:
                values = array.array("f", [0.0]) * count
            else:
                start = (index * 7919) % len(block)
                rotated = (block[start:] + block[:start])
                scaled = array.array("f", (x * scale for x in rotated[:min(count, len(block))]))
                values = scaled * (count // len(scaled)) + scaled[:count % len(scaled)]
            file.write(values.tobytes())

    config = {
        "model_type": "clip", "projection_dim": v["projection"], "logit_scale_init_value": 2.6592,
        "vision_config": {"hidden_size": v["vision_width"], "intermediate_size": 4 * v["vision_width"],
                          "num_hidden_layers": v["vision_layers"], "num_attention_heads": v["vision_heads"],
                          "image_size": v["image"], "patch_size": v["patch"], "num_channels": 3,
                          "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5},
        "text_config": {"vocab_size": TEXT["vocabulary"], "hidden_size": TEXT["width"], "intermediate_size": 4 * TEXT["width"],
                        "num_hidden_layers": TEXT["layers"], "num_attention_heads": TEXT["heads"],
                        "max_position_embeddings": TEXT["positions"], "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5},
    }
    with open(os.path.join(arguments.directory, "config.json"), "w") as file:
        json.dump(config, file, indent=2)
    here = os.path.dirname(os.path.abspath(__file__))
    demo = os.path.join(here, "..", "Models", "demo-clip")
    for name in ("vocab.json", "merges.txt"):
        shutil.copyfile(os.path.join(demo, name), os.path.join(arguments.directory, name))
    preprocessor = json.load(open(os.path.join(demo, "preprocessor_config.json")))
    preprocessor.update({"crop_size": v["image"], "size": {"shortest_edge": v["image"]}})
    with open(os.path.join(arguments.directory, "preprocessor_config.json"), "w") as file:
        json.dump(preprocessor, file, indent=2)
    print(f"wrote a random ViT-{arguments.variant.upper()} CLIP ({offset / 1e6:.0f} MB of weights) to {arguments.directory}")


if __name__ == "__main__":
    main()
