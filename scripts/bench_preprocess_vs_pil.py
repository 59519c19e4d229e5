#!/usr/bin/env python3
"""Decoding + CLIP preprocessing: PIL + torchvision against `upadapter bench preprocess`, side by
side in one run, on the same folder of images.

    python3 scripts/bench_preprocess_vs_pil.py --images /tmp/bench-jpegs --generate 1000 \\
        --upadapter .build/release/upadapter

--generate N writes N synthetic JPEGs of --generate-size (500x375 by default; quality 90, 4:2:0,
photographic shading, edges and noise) into an empty or missing folder first. The reference is openai/CLIP's `_transform`
on each file: Image.open -> Resize(224, BICUBIC) -> CenterCrop(224) -> convert("RGB") ->
ToTensor -> Normalize, one image at a time on one thread (torch.set_num_threads(1)), in one
process, which is how a single DataLoader worker runs it. The median of --repeats passes is
reported after a warm-up pass, for both sides; the ratio is ours / PIL's images per second.

--pipelines times each named preprocessing pipeline against its upstream instead, per core
(one thread on both sides), the two sides alternating --rounds times in the same run so that a
shared machine's load hits both: openai against open_clip's eval transform, transformers-pil
against transformers' CLIPImageProcessorPil, transformers against CLIPImageProcessor (its
torchvision backend), each on Image.open(path) and one image per call.

--jpeg-decoding draft times the opt-in draft mode on both sides: PIL calls
image.draft("RGB", (size, size)) right after opening each file (libjpeg-turbo then decodes JPEGs
reduced by 2, 4 or 8 where both sides stay at least `size`), and upadapter runs with
`--jpeg-decoding draft`, whose pixels equal PIL's draft pipeline (tests). It also prints the
accuracy cost: the cropped pixels of PIL's draft pipeline against its full one, per sample
(0-255 levels), over the first --accuracy-images files.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import PIL
import torch
import torchvision
from PIL import Image
from torchvision import transforms as T

MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)


def generate(folder, count, width=500, height=375, seed=0):
    folder.mkdir(parents=True, exist_ok=True)
    if any(folder.iterdir()):
        raise SystemExit(f"{folder} is not empty; --generate writes into an empty folder only")
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    u, v = x / (width - 1), y / (height - 1)
    for index in range(count):
        phase = rng.uniform(0, 6.28, size=3)
        image = np.stack([
            128 + 100 * np.sin(3 * u + 2 * v + phase[0]),
            128 + 90 * np.cos(4 * v - u + phase[1]),
            128 + 80 * np.sin(5 * (u - v) + phase[2]),
        ], axis=-1)
        for _ in range(6):
            cx, cy, radius = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(20, 120)
            image[(x - cx) ** 2 + (y - cy) ** 2 < radius ** 2] = rng.uniform(0, 255, size=3)
        image += rng.normal(0, 8, size=image.shape)
        pixels = np.clip(np.rint(image), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"image_{index:05d}.jpg", quality=90)


def image_files(folder):
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))


def cropped(size, crop):
    """openai/CLIP's transform up to the crop: a PIL image in, the RGB crop out."""
    return T.Compose([
        T.Resize(size, interpolation=T.InterpolationMode.BICUBIC),
        T.CenterCrop(crop),
        lambda image: image.convert("RGB"),
    ])


def pil_torchvision(files, size, crop, repeats, draft):
    torch.set_num_threads(1)
    transform = T.Compose([cropped(size, crop), T.ToTensor(), T.Normalize(MEAN, STD)])

    def one_pass():
        for path in files:
            with Image.open(path) as image:
                if draft:
                    image.draft("RGB", (size, size))
                transform(image)

    one_pass()  # warm-up: page cache, allocator, lazy imports
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        one_pass()
        seconds.append(time.perf_counter() - start)
    return len(files) / sorted(seconds)[len(seconds) // 2]


def draft_cost(files, size, crop):
    """Cropped pixels of PIL's draft pipeline against its full one: per-sample differences."""
    transform = cropped(size, crop)
    differences = []
    for path in files:
        with Image.open(path) as image:
            full = np.asarray(transform(image), dtype=np.int16)
        with Image.open(path) as image:
            image.draft("RGB", (size, size))
            draft = np.asarray(transform(image), dtype=np.int16)
        differences.append(np.abs(full - draft).ravel())
    values = np.concatenate(differences)
    return {"images": len(files), "mean_abs_levels": float(values.mean()), "max_levels": int(values.max()),
            "p99_levels": float(np.percentile(values, 99)), "share_over_2_levels": float((values > 2).mean())}


def ours(upadapter, folder, size, crop, repeats, jpeg_decoding):
    command = [upadapter, "bench", "preprocess", "--folder", str(folder), "--size", str(size), "--crop", str(crop),
               "--repeats", str(repeats), "--jpeg-decoding", jpeg_decoding, "--json"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr}")
    return json.loads(result.stdout)


def upstream_transform(pipeline, size, crop):
    """The upstream callable of a named pipeline: a PIL image in, normalised values out."""
    if pipeline == "openai":
        import open_clip
        return open_clip.image_transform(size, is_train=False, mean=MEAN, std=STD)
    from transformers import CLIPImageProcessor, CLIPImageProcessorPil
    settings = {"size": {"shortest_edge": size}, "crop_size": {"height": crop, "width": crop}}
    if pipeline == "transformers-pil":
        processor = CLIPImageProcessorPil(**settings)
        return lambda image: processor(images=image, return_tensors="np")["pixel_values"]
    processor = CLIPImageProcessor(**settings)
    return lambda image: processor(images=image, return_tensors="pt")["pixel_values"]


def upstream_images_per_second(files, transform):
    torch.set_num_threads(1)
    start = time.perf_counter()
    for path in files:
        with Image.open(path) as image:
            transform(image)
    return len(files) / (time.perf_counter() - start)


def ours_pipeline(upadapter, folder, size, crop, pipeline):
    command = [upadapter, "bench", "preprocess", "--folder", str(folder), "--size", str(size), "--crop", str(crop),
               "--repeats", "1", "--threads", "1", "--preprocessing", pipeline, "--json"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr}")
    return json.loads(result.stdout)["images_per_second_one_thread"]


def pipelines(args, files):
    """Each pipeline against its upstream, one thread each, alternating; medians of the rounds."""
    rows = []
    for pipeline in ["openai", "transformers-pil", "transformers"]:
        transform = upstream_transform(pipeline, args.size, args.crop)
        upstream_images_per_second(files[:5], transform)  # warm-up
        upstream, ours_rates = [], []
        for _ in range(args.rounds):
            upstream.append(upstream_images_per_second(files, transform))
            ours_rates.append(ours_pipeline(args.upadapter, args.images, args.size, args.crop, pipeline))
        median = lambda values: sorted(values)[len(values) // 2]
        rows.append({"pipeline": pipeline, "upstream_images_per_second": median(upstream),
                     "ours_images_per_second": median(ours_rates), "ratio_per_core": median(ours_rates) / median(upstream)})
    return rows


def processor_name():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=Path, required=True, help="folder of JPEG or PNG images")
    parser.add_argument("--generate", type=int, default=0, help="first write this many JPEGs there")
    parser.add_argument("--generate-size", default="500x375", help="WIDTHxHEIGHT of the generated JPEGs")
    parser.add_argument("--jpeg-decoding", choices=["full", "draft"], default="full",
                        help="draft: PIL's image.draft on the reference side, --jpeg-decoding draft on ours")
    parser.add_argument("--accuracy-images", type=int, default=100,
                        help="files compared for the draft mode's pixel cost")
    parser.add_argument("--upadapter", default=".build/release/upadapter", help="the upadapter binary ('' to skip)")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--crop", type=int, default=224)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--pipelines", action="store_true", help="each named pipeline against its upstream, per core")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of --pipelines")
    args = parser.parse_args()

    if args.generate:
        width, height = (int(side) for side in args.generate_size.lower().split("x"))
        generate(args.images, args.generate, width, height)
    files = image_files(args.images)
    if not files:
        raise SystemExit(f"{args.images} holds no image")

    if args.pipelines:
        rows = pipelines(args, files)
        if args.json:
            print(json.dumps({"processor": processor_name(), "images": len(files), "pipelines": rows}, indent=1))
            return
        print(f"{processor_name()}; {len(files)} images; one thread each side, median of {args.rounds} alternating rounds")
        for row in rows:
            print(f"{row['pipeline']:17s} upstream {row['upstream_images_per_second']:7.1f} images/s, ours "
                  f"{row['ours_images_per_second']:7.1f} images/s: {row['ratio_per_core']:.2f}x")
        return

    result = {"processor": processor_name(), "cores": os.cpu_count(), "images": len(files),
              "pillow": PIL.__version__, "torch": torch.__version__, "torchvision": torchvision.__version__,
              "jpeg_decoding": args.jpeg_decoding,
              "pil_torchvision_images_per_second": pil_torchvision(files, args.size, args.crop, args.repeats,
                                                                   args.jpeg_decoding == "draft")}
    if args.jpeg_decoding == "draft":
        result["draft_against_full"] = draft_cost(files[:args.accuracy_images], args.size, args.crop)
    if args.upadapter:
        figures = ours(args.upadapter, args.images, args.size, args.crop, args.repeats, args.jpeg_decoding)
        result["upadapter_images_per_second_one_thread"] = figures["images_per_second_one_thread"]
        result["upadapter_decoding_only_images_per_second"] = figures["images_per_second_decoding_only"]
        result["upadapter_images_per_second_all_threads"] = figures["images_per_second_all_threads"]
        result["upadapter_threads"] = figures["threads"]
        result["ratio_per_core"] = figures["images_per_second_one_thread"] / result["pil_torchvision_images_per_second"]
    if args.json:
        print(json.dumps(result, indent=1))
        return
    print(f"{result['processor']}, {result['cores']} cores; {len(files)} images; Pillow {PIL.__version__}, "
          f"torchvision {torchvision.__version__}; JPEG decoding {args.jpeg_decoding}")
    print(f"PIL + torchvision, one thread: {result['pil_torchvision_images_per_second']:.1f} images/s")
    if "draft_against_full" in result:
        cost = result["draft_against_full"]
        print(f"draft against full decoding, cropped pixels of {cost['images']} images: mean "
              f"{cost['mean_abs_levels']:.3f} levels, 99th percentile {cost['p99_levels']:.0f}, largest "
              f"{cost['max_levels']}, {100 * cost['share_over_2_levels']:.2f} % of samples more than 2 levels apart")
    if args.upadapter:
        print(f"upadapter, one thread:         {result['upadapter_images_per_second_one_thread']:.1f} images/s "
              f"({result['ratio_per_core']:.2f}x; reading and decoding alone "
              f"{result['upadapter_decoding_only_images_per_second']:.1f} images/s)")
        print(f"upadapter, {result['upadapter_threads']} threads:          "
              f"{result['upadapter_images_per_second_all_threads']:.1f} images/s")


if __name__ == "__main__":
    sys.exit(main())
