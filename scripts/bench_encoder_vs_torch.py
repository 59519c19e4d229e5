#!/usr/bin/env python3
"""Images/s of the CLIP vision tower: PyTorch (CPU, float32) against `upadapter bench encoder`,
on the same model directory, batch size and thread count. A Hugging Face folder runs on
transformers' CLIPModel, an open_clip folder (open_clip_config.json) on open_clip's CLIP.

    pip install torch transformers safetensors open-clip-torch
    python3 scripts/make_fixtures.py --full-size /tmp/clip-b32-random      # random ViT-B/32
    python3 scripts/make_openclip_fixtures.py --full-size /tmp/rn50-random # random RN50 (open_clip)
    swift build -c release
    python3 scripts/bench_encoder_vs_torch.py --model /tmp/clip-b32-random --batch 64 --devices cpu,opencl
"""
import argparse
import json
import os
import pathlib
import subprocess
import time

import torch
from transformers import CLIPModel

ROOT = pathlib.Path(__file__).resolve().parent.parent


def load_image_encoder(model_dir):
    """The image encoder of the folder and its input side: open_clip's CLIP for an open_clip
    folder, transformers' CLIPModel for a Hugging Face one."""
    folder = pathlib.Path(model_dir)
    if (folder / "open_clip_config.json").exists():
        import open_clip
        from safetensors.torch import load_file
        cfg = json.loads((folder / "open_clip_config.json").read_text())["model_cfg"]
        model = open_clip.CLIP(**{k: v for k, v in cfg.items() if k != "quick_gelu"}, quick_gelu=cfg.get("quick_gelu", False))
        model.load_state_dict(load_file(str(folder / "open_clip_model.safetensors")))
        model.eval()
        return model.encode_image, cfg["vision_cfg"]["image_size"], f"open_clip {open_clip.__version__}"
    model = CLIPModel.from_pretrained(model_dir).eval()
    return (lambda pixels: model.get_image_features(pixel_values=pixels)), model.config.vision_config.image_size, "transformers"


def torch_images_per_second(model_dir, batch, repeats, threads):
    torch.set_num_threads(threads)
    encode, size, _ = load_image_encoder(model_dir)
    pixels = torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(5))
    times = []
    with torch.inference_mode():
        encode(pixels)  # warm-up
        for _ in range(repeats):
            start = time.perf_counter()
            encode(pixels)
            times.append(time.perf_counter() - start)
    return batch / sorted(times)[len(times) // 2]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--devices", default="cpu,opencl")
    parser.add_argument("--binary", default=str(ROOT / ".build/release/upadapter"))
    args = parser.parse_args()

    reference = torch_images_per_second(args.model, args.batch, args.repeats, args.threads)
    print(f"PyTorch {torch.__version__} CPU float32, {args.threads} threads, batch {args.batch}: {reference:.2f} images/s")
    for device in args.devices.split(","):
        output = subprocess.run(
            [args.binary, "bench", "encoder", "--model", args.model, "--device", device, "--batch", str(args.batch),
             "--repeats", str(args.repeats), "--json"], check=True, capture_output=True, text=True).stdout
        result = json.loads(output)
        ours = result["imagesPerSecond"]
        print(f"upadapter {device} ({result['deviceDescription']}): {ours:.2f} images/s, "
              f"{ours / reference:.2f}x PyTorch; texts {result['textsPerSecond']:.1f}/s; peak RSS {result['peakResidentMegabytes']:.0f} MiB")


if __name__ == "__main__":
    main()
