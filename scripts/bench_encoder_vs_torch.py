#!/usr/bin/env python3
"""Images/s and texts/s of the CLIP towers, and peak memory: PyTorch (CPU, float32) against
`upadapter bench encoder`, on the same model directory, batch size and thread count. A Hugging Face folder runs on
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
import resource
import subprocess
import time

import torch
from transformers import CLIPModel

ROOT = pathlib.Path(__file__).resolve().parent.parent


def load_encoders(model_dir):
    """The image and text encoders of the folder, the image size and the context length:
    open_clip's CLIP for an open_clip folder, transformers' CLIPModel for a Hugging Face one."""
    folder = pathlib.Path(model_dir)
    if (folder / "open_clip_config.json").exists():
        import open_clip
        from safetensors.torch import load_file
        cfg = json.loads((folder / "open_clip_config.json").read_text())["model_cfg"]
        model = open_clip.CLIP(**{k: v for k, v in cfg.items() if k != "quick_gelu"}, quick_gelu=cfg.get("quick_gelu", False))
        model.load_state_dict(load_file(str(folder / "open_clip_model.safetensors")))
        model.eval()
        return model.encode_image, model.encode_text, cfg["vision_cfg"]["image_size"], cfg["text_cfg"].get("context_length", 77)
    model = CLIPModel.from_pretrained(model_dir).eval()
    return ((lambda pixels: model.get_image_features(pixel_values=pixels)),
            (lambda tokens: model.get_text_features(input_ids=tokens)),
            model.config.vision_config.image_size, model.config.text_config.max_position_embeddings)


def per_second(encode, inputs, batch, repeats):
    times = []
    with torch.inference_mode():
        encode(inputs)  # warm-up
        for _ in range(repeats):
            start = time.perf_counter()
            encode(inputs)
            times.append(time.perf_counter() - start)
    return batch / sorted(times)[len(times) // 2]


def torch_rates(model_dir, batch, repeats, threads):
    """(images/s, texts/s) of PyTorch; texts are full-length token sequences, as upadapter's are padded."""
    torch.set_num_threads(threads)
    encode_image, encode_text, size, context = load_encoders(model_dir)
    generator = torch.Generator().manual_seed(5)
    pixels = torch.randn(batch, 3, size, size, generator=generator)
    tokens = torch.randint(1, 40000, (batch, context), generator=generator)
    tokens[:, 0], tokens[:, -1] = 49406, 49407
    return per_second(encode_image, pixels, batch, repeats), per_second(encode_text, tokens, batch, repeats)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--devices", default="cpu,opencl")
    parser.add_argument("--binary", default=str(ROOT / ".build/release/upadapter"))
    args = parser.parse_args()

    reference, reference_texts = torch_rates(args.model, args.batch, args.repeats, args.threads)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"PyTorch {torch.__version__} CPU float32, {args.threads} threads, batch {args.batch}: {reference:.2f} images/s, "
          f"{reference_texts:.2f} texts/s; peak RSS {peak:.0f} MiB (the Python process, model and libraries included)")
    for device in args.devices.split(","):
        output = subprocess.run(
            [args.binary, "bench", "encoder", "--model", args.model, "--device", device, "--batch", str(args.batch),
             "--repeats", str(args.repeats), "--json"], check=True, capture_output=True, text=True).stdout
        result = json.loads(output)
        ours = result["imagesPerSecond"]
        print(f"upadapter {device} ({result['deviceDescription']}): {ours:.2f} images/s, "
              f"{ours / reference:.2f}x PyTorch; texts {result['textsPerSecond']:.1f}/s, "
              f"{result['textsPerSecond'] / reference_texts:.2f}x PyTorch; class prompts {result['promptsPerSecond']:.1f}/s "
              f"(padded to the context, run to the last end-of-text token); peak RSS {result['peakResidentMegabytes']:.0f} MiB")


if __name__ == "__main__":
    main()
