#!/usr/bin/env python3
"""Reference fixtures for open_clip model folders (ModifiedResNet and ViT image towers), from
open_clip on random weights.

Default: writes two small random open_clip folders to Tests/CLIPEncoderTests/Fixtures/ (about
2 MB each, float16 weights, no tokenizer files so the shipped OpenAI vocabulary is used):

  openclip-resnet/  ModifiedResNet, layers [1, 2, 1, 1], width 8, 64 px images, exact GELU text
                    tower, OpenAI's preprocessing;
  openclip-vit/     ViT, 35 px images in 5 px patches, QuickGELU (`quick_gelu: true`),
                    preprocess_cfg with mean = std = 0.5, bilinear interpolation and
                    resize_mode squash.

Each holds `open_clip_config.json`, `open_clip_model.safetensors` and `reference.safetensors`:
random pixels, token ids of a few texts, their image and text embeddings
(`encode_image` / `encode_text`, not normalised), and the image embeddings of three image files
of Tests/CLIPEncoderTests/Fixtures/images (odd-sized, grey, RGBA) opened with PIL,
`.convert("RGB")` as the dataset loaders do, then open_clip's own evaluation transform.

    pip install torch open-clip-torch safetensors pillow ftfy regex
    python3 scripts/make_openclip_fixtures.py

With --full-size DIR it writes a random-weight full-size model (--model RN50 by default; any
open_clip model name such as RN101, RN50x4, ViT-B-32) with reference embeddings, float32, for the
documented full-size comparison (not run in CI):

    python3 scripts/make_openclip_fixtures.py --full-size /tmp/rn50-random
    swift build -c release && .build/release/upadapter compare-reference --model /tmp/rn50-random
"""
import argparse
import json
import pathlib

import numpy as np
import open_clip
import torch
from PIL import Image
from safetensors.torch import save_file

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "Tests/CLIPEncoderTests/Fixtures"
TEXTS = [
    "a photo of a dog.",
    "a diagram",
    "a centered satellite photo of Annual Crop Land.",
    "Ünïcödé, emoji 🐶 and   spaces",
    "x",
]
IMAGE_FILES = ["photo_300x250.png", "grey.png", "rgba.png"]


def randomise(model, seed):
    """Random weights of a realistic scale everywhere, batch-norm statistics included (open_clip
    zero-initialises each block's last norm, which would hide the residual branch)."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name == "logit_scale":
                continue
            if parameter.dim() == 1:
                base = 1.0 if (name.endswith("weight") and ("ln" in name or "bn" in name or "downsample.1" in name)) else 0.0
                parameter.copy_(base + 0.1 * torch.randn_like(parameter))
            else:
                fan_in = parameter[0].numel() if parameter.dim() > 1 else parameter.numel()
                parameter.copy_(torch.randn_like(parameter) * (1.0 / fan_in) ** 0.5)
        for name, buffer in model.named_buffers():
            if name.endswith("running_mean"):
                buffer.copy_(0.1 * torch.randn_like(buffer))
            elif name.endswith("running_var"):
                buffer.copy_(0.5 + torch.rand_like(buffer))
    return model.eval()


def save_folder(model, model_cfg, preprocess_cfg, directory, dtype):
    directory.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to(dtype).contiguous() if v.is_floating_point() else v.contiguous()
             for k, v in model.state_dict().items()}
    save_file(state, str(directory / "open_clip_model.safetensors"))
    # The reference runs on exactly the weights stored (float16-rounded where stored so).
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    (directory / "open_clip_config.json").write_text(json.dumps(
        {"model_cfg": model_cfg, "preprocess_cfg": preprocess_cfg}, indent=2))


def write_reference(model, model_cfg, preprocess_cfg, directory, image_count, seed):
    image_size = model_cfg["vision_cfg"]["image_size"]
    generator = torch.Generator().manual_seed(seed + 1)
    pixels = torch.randn(image_count, 3, image_size, image_size, generator=generator)
    tokenizer = open_clip.get_tokenizer("RN50")
    ids = tokenizer(TEXTS, context_length=model_cfg["text_cfg"].get("context_length", 77))
    transform = open_clip.image_transform(
        image_size, is_train=False, mean=preprocess_cfg.get("mean"), std=preprocess_cfg.get("std"),
        interpolation=preprocess_cfg.get("interpolation"), resize_mode=preprocess_cfg.get("resize_mode"))
    files = torch.stack([transform(Image.open(FIXTURES / "images" / name).convert("RGB")) for name in IMAGE_FILES])
    with torch.no_grad():
        image_features = model.encode_image(pixels)
        text_features = model.encode_text(ids)
        file_features = model.encode_image(files)
    save_file({
        "pixel_values": pixels.contiguous(),
        "input_ids": ids.to(torch.int32).contiguous(),
        "image_embeddings": image_features.contiguous(),
        "text_embeddings": text_features.contiguous(),
        "file_pixel_values": files.contiguous(),
        "file_embeddings": file_features.contiguous(),
    }, str(directory / "reference.safetensors"),
        metadata={"texts": json.dumps(TEXTS), "image_files": json.dumps(IMAGE_FILES)})
    print(f"{directory.name}: image embeddings {tuple(image_features.shape)}, text {tuple(text_features.shape)}, "
          f"files {tuple(file_features.shape)}")


def build(model_cfg, seed):
    model = open_clip.CLIP(**{k: v for k, v in model_cfg.items() if k != "quick_gelu"},
                           quick_gelu=model_cfg.get("quick_gelu", False))
    return randomise(model, seed)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full-size", type=pathlib.Path, help="write a full-size random model here instead")
    parser.add_argument("--model", default="RN50", help="open_clip model name for --full-size (default RN50)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(2)
    openai = {"mean": list(open_clip.OPENAI_DATASET_MEAN), "std": list(open_clip.OPENAI_DATASET_STD),
              "interpolation": "bicubic", "resize_mode": "shortest"}

    if args.full_size:
        model_cfg = open_clip.get_model_config(args.model)
        model = build(model_cfg, args.seed)
        save_folder(model, model_cfg, openai, args.full_size, torch.float32)
        write_reference(model, model_cfg, openai, args.full_size, 8, args.seed)
        print(f"wrote random {args.model} to {args.full_size}")
        return

    text_cfg = {"context_length": 77, "vocab_size": 49408, "width": 16, "heads": 2, "layers": 2}
    resnet_cfg = {"embed_dim": 24, "vision_cfg": {"image_size": 64, "layers": [1, 2, 1, 1], "width": 8, "head_width": 16},
                  "text_cfg": text_cfg}
    vit_cfg = {"embed_dim": 24, "quick_gelu": True,
               "vision_cfg": {"image_size": 35, "layers": 2, "width": 48, "head_width": 16, "patch_size": 5},
               "text_cfg": text_cfg}
    inception = {"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5], "interpolation": "bilinear", "resize_mode": "squash"}
    for name, model_cfg, preprocess_cfg in [("openclip-resnet", resnet_cfg, openai), ("openclip-vit", vit_cfg, inception)]:
        directory = FIXTURES / name
        model = build(model_cfg, args.seed)
        save_folder(model, model_cfg, preprocess_cfg, directory, torch.float16)
        write_reference(model, model_cfg, preprocess_cfg, directory, 3, args.seed)
        total = sum(f.stat().st_size for f in directory.iterdir() if f.is_file())
        print(f"wrote {directory} ({total / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
