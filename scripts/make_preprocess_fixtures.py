#!/usr/bin/env python3
"""Writes the preprocessing fixtures: Pillow's resampling pass order, both crop-rounding rules,
and image embeddings of preprocessed files through the tiny fixture model.

Run from the repository root:  python3 scripts/make_preprocess_fixtures.py

Needs numpy, Pillow (13 or later: the pass order changed there), torch, torchvision,
transformers and safetensors. The versions used are recorded in the outputs.

Outputs, in Tests/CLIPEncoderTests/Fixtures/preprocessing/:
  *.png, *.jpg             tall, wide, odd, upscaled and downscaled pictures in RGB, grey,
                           palette and RGBA (PNG) and RGB and grey (JPEG)
  references.safetensors   U8  resize.<case>          [h, w, 3]  PIL Image.resize(BICUBIC) of the
                                                                    RGB file (pass-order cases)
                           U8  openai_bytes.<case>     [crop, crop, 3]  after Resize + CenterCrop
                           F32 openai.<case>           [3, crop, crop]  OpenAI CLIP's torchvision
                                                                    pipeline (see below)
                           U8  transformers_bytes.<case>  [crop, crop, 3]  after transformers' resize
                                                                    and center crop (PIL backend)
                           F32 transformers_pil.<case> [3, crop, crop]  CLIPImageProcessorPil
                           F32 transformers.<case>     [3, crop, crop]  CLIPImageProcessor (its
                                                                    default torchvision backend)
                           F32 embedding.openai.<case>, embedding.transformers.<case>  [1, 512]
                                 transformers' CLIPModel.get_image_features on the tiny fixture
                                 model (Fixtures/model) for the cases at its input size
  cases.json               the cases, which pass Pillow ran first for each resize case, and the
                           package versions

The OpenAI reference is openai/CLIP's `_transform` on the PIL image converted to RGB:
  Resize(size, interpolation=BICUBIC) -> CenterCrop(crop) -> ToTensor() -> Normalize(mean, std)
whose CenterCrop starts at int(round((side - crop) / 2.0)) (ties to even). transformers'
processors start at (side - crop) // 2. Pillow's pass order is read off Pillow itself: each
resize case is also computed as two single-axis resizes in both orders, and the order that
reproduces the one-call result is recorded.
"""

import json
from pathlib import Path

import numpy as np
import PIL
import torch
import torchvision
import torchvision.transforms as T
import transformers
from PIL import Image
from safetensors.numpy import save_file
from transformers import CLIPImageProcessor, CLIPImageProcessorPil, CLIPModel

from make_image_fixtures import CLIP_MEAN, CLIP_STD, alpha_ramp, scene

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "Tests" / "CLIPEncoderTests" / "Fixtures"
OUTPUT = FIXTURES / "preprocessing"
MODEL = FIXTURES / "model"


# ----------------------------------------------------------------------------------------------
# Pictures: (file name, width, height, how it is stored).

PICTURES = [
    ("tall_rgb.png", 120, 300, "RGB"),
    ("wide_rgb.png", 300, 120, "RGB"),
    ("tall_100x200.png", 100, 200, "RGB"),
    ("tall_100x150.png", 100, 150, "RGB"),
    ("odd_grey.png", 64, 97, "L"),
    ("palette.png", 90, 61, "P"),
    ("rgba.png", 45, 71, "RGBA"),
    ("tiny_rgb.jpg", 23, 31, "RGB"),
    ("photo_rgb.jpg", 500, 375, "RGB"),
    ("photo_grey.jpg", 375, 500, "L"),
    ("boundary_50x80.png", 50, 80, "RGB"),
    ("boundary_50x81.png", 50, 81, "RGB"),
]

# Pass-order cases: (case, file, output width, output height). The first five are the sizes
# measured in issue 11; the boundary pair sits on either side of Pillow's rule (the height
# loses exactly, then one more than, twice the width's loss).
RESIZE_CASES = [
    ("tall_56x140", "tall_rgb.png", 56, 140),
    ("tall_90x50", "tall_100x200.png", 90, 50),
    ("tall_150x100", "tall_100x150.png", 150, 100),
    ("wide_140x56", "wide_rgb.png", 140, 56),
    ("odd_224x339", "odd_grey.png", 224, 339),
    ("boundary_40x60_from_50x80", "boundary_50x80.png", 40, 60),
    ("boundary_40x60_from_50x81", "boundary_50x81.png", 40, 60),
    ("photo_298x224", "photo_rgb.jpg", 298, 224),
]

# Preprocessing cases: (case, file, shortest edge, crop). In those marked "tie" the crop
# window's offset (side - crop) / 2 is a half, where the two rounding rules differ by a row or
# a column (cases.json records where they differ); cases at 35 pixels also go through the
# fixture model.
PREPROCESS_CASES = [
    ("tall_35", "tall_rgb.png", 35, 35),          # 35 x 87: vertical pass first
    ("wide_35", "wide_rgb.png", 35, 35),          # 87 x 35
    ("odd_grey_37", "odd_grey.png", 37, 37),      # 37 x 56: tie, grey PNG
    ("odd_grey_35", "odd_grey.png", 35, 35),      # 35 x 53
    ("palette_35", "palette.png", 35, 35),        # 51 x 35: downscale, palette PNG
    ("rgba_56", "rgba.png", 56, 56),              # 56 x 88: upscale, RGBA PNG
    ("tiny_35", "tiny_rgb.jpg", 35, 35),          # 35 x 47: upscale, JPEG, even
    ("photo_rgb_35", "photo_rgb.jpg", 35, 35),    # 46 x 35: downscale, JPEG, tie
    ("photo_grey_35", "photo_grey.jpg", 35, 35),  # 35 x 46: grey JPEG, tie
    ("photo_rgb_64", "photo_rgb.jpg", 64, 64),    # 85 x 64: tie
    ("tall_100x150_48", "tall_100x150.png", 48, 48),  # 48 x 72
    ("tall_37", "tall_rgb.png", 37, 37),          # 37 x 92: vertical pass first, tie
    ("rgba_32_crop40", "rgba.png", 32, 40),       # the crop is larger than the image: padding
]

EMBEDDING_SIZE = 35


def write_pictures():
    OUTPUT.mkdir(parents=True, exist_ok=True)
    for old in OUTPUT.iterdir():
        if old.is_file():
            old.unlink()
    for seed, (name, width, height, mode) in enumerate(PICTURES, start=40):
        rgb = scene(width, height, seed)
        if mode == "RGB":
            image = Image.fromarray(rgb)
        elif mode == "L":
            image = Image.fromarray(rgb).convert("L")
        elif mode == "P":
            image = Image.fromarray(rgb).quantize(colors=64, method=Image.Quantize.MEDIANCUT)
        elif mode == "RGBA":
            image = Image.fromarray(np.dstack([rgb, alpha_ramp(width, height, seed)]), "RGBA")
        else:
            raise SystemExit(f"unknown mode {mode}")
        if name.endswith(".jpg"):
            image.save(OUTPUT / name, quality=90)
        else:
            image.save(OUTPUT / name)


def open_rgb(name):
    with Image.open(OUTPUT / name) as image:
        return image.convert("RGB")


def resize_references(tensors):
    """PIL's one-call resize of each case, and which of the two pass orders it equals."""
    cases = []
    for case, name, width, height in RESIZE_CASES:
        image = open_rgb(name)
        one_call = np.asarray(image.resize((width, height), Image.BICUBIC))
        horizontal_first = np.asarray(
            image.resize((width, image.height), Image.BICUBIC).resize((width, height), Image.BICUBIC))
        vertical_first = np.asarray(
            image.resize((image.width, height), Image.BICUBIC).resize((width, height), Image.BICUBIC))
        if np.array_equal(horizontal_first, vertical_first):
            raise SystemExit(f"{case}: both pass orders give the same pixels; the case tells nothing")
        if np.array_equal(one_call, vertical_first):
            first = "vertical"
        elif np.array_equal(one_call, horizontal_first):
            first = "horizontal"
        else:
            raise SystemExit(f"{case}: Pillow's resize equals neither pass order")
        tensors[f"resize.{case}"] = np.ascontiguousarray(one_call)
        cases.append({"name": case, "file": name, "width": width, "height": height,
                      "input_width": image.width, "input_height": image.height, "first_pass": first})
    return cases


def openai_transform(size, crop):
    """openai/CLIP clip.py `_transform`, after its convert("RGB")."""
    return T.Compose([
        T.Resize(size, interpolation=T.InterpolationMode.BICUBIC),
        T.CenterCrop(crop),
    ]), T.Compose([T.ToTensor(), T.Normalize(CLIP_MEAN, CLIP_STD)])


def transformers_bytes(image, size, crop):
    """transformers' PIL-backend resize and center crop, as bytes: PIL bicubic resize of the
    shorter side, then numpy's crop at (side - crop) // 2 with zero padding placed
    ceil((crop - side) / 2) before the image."""
    array = np.asarray(image.resize(_shortest_edge_size(image, size), Image.BICUBIC))
    height, width = array.shape[:2]
    canvas_height, canvas_width = max(height, crop), max(width, crop)
    canvas = np.zeros((canvas_height, canvas_width, 3), dtype=np.uint8)
    top_pad, left_pad = -(-(canvas_height - height) // 2), -(-(canvas_width - width) // 2)
    canvas[top_pad:top_pad + height, left_pad:left_pad + width] = array
    top = (height - crop) // 2 + top_pad
    left = (width - crop) // 2 + left_pad
    top, left = max(top, 0), max(left, 0)
    return np.ascontiguousarray(canvas[top:top + crop, left:left + crop])


def _shortest_edge_size(image, size):
    """(width, height) with the shorter side `size` and the longer int(size * long / short)."""
    width, height = image.size
    if width <= height:
        return size, int(size * height / width)
    return int(size * width / height), size


def preprocess_references(tensors):
    cases = []
    for case, name, size, crop in PREPROCESS_CASES:
        image = open_rgb(name)
        geometric, to_tensor = openai_transform(size, crop)
        cropped = geometric(image)
        tensors[f"openai_bytes.{case}"] = np.ascontiguousarray(np.asarray(cropped))
        tensors[f"openai.{case}"] = to_tensor(cropped).numpy()

        settings = {"size": {"shortest_edge": size}, "crop_size": {"height": crop, "width": crop}}
        pil_processor = CLIPImageProcessorPil(**settings)
        pil_values = pil_processor(images=image, return_tensors="np")["pixel_values"][0].astype(np.float32)
        tensors[f"transformers_pil.{case}"] = pil_values
        expected_bytes = transformers_bytes(image, size, crop)
        # The byte-level rule above must be what the processor did (its values normalise them).
        mean = np.array(CLIP_MEAN, dtype=np.float64)[:, None, None]
        std = np.array(CLIP_STD, dtype=np.float64)[:, None, None]
        rebuilt = (expected_bytes.transpose(2, 0, 1) / 255.0 - mean) / std
        if np.abs(rebuilt - pil_values).max() > 1e-5:
            raise SystemExit(f"{case}: transformers' bytes rule does not reproduce CLIPImageProcessorPil")
        tensors[f"transformers_bytes.{case}"] = expected_bytes

        fast_processor = CLIPImageProcessor(**settings)
        tensors[f"transformers.{case}"] = (
            fast_processor(images=image, return_tensors="pt")["pixel_values"][0].numpy().astype(np.float32))
        cases.append({"name": case, "file": name, "size": size, "crop": crop,
                      "differs_between_rules": bool(np.any(tensors[f"openai_bytes.{case}"] != expected_bytes))})
    return cases


def embedding_references(tensors, cases):
    model = CLIPModel.from_pretrained(str(MODEL), torch_dtype=torch.float32).eval()
    if model.config.vision_config.image_size != EMBEDDING_SIZE:
        raise SystemExit("the fixture model's input size changed; update EMBEDDING_SIZE")
    for case in cases:
        if case["crop"] != EMBEDDING_SIZE or case["size"] != EMBEDDING_SIZE:
            continue
        case["embedded"] = True
        for rule, key in [("openai", "openai"), ("transformers", "transformers_pil")]:
            pixels = torch.from_numpy(tensors[f"{key}.{case['name']}"][None].copy())
            with torch.no_grad():
                features = model.get_image_features(pixel_values=pixels)
            features = getattr(features, "pooler_output", features)
            tensors[f"embedding.{rule}.{case['name']}"] = features.numpy().astype(np.float32)


def main():
    write_pictures()
    tensors = {}
    resize_cases = resize_references(tensors)
    preprocess_cases = preprocess_references(tensors)
    embedding_references(tensors, preprocess_cases)
    versions = {"pillow": PIL.__version__, "torch": torch.__version__, "torchvision": torchvision.__version__,
                "transformers": transformers.__version__, "numpy": np.__version__}
    metadata = {"producer": "scripts/make_preprocess_fixtures.py", **{f"{k}_version": v for k, v in versions.items()}}
    save_file(tensors, str(OUTPUT / "references.safetensors"), metadata=metadata)
    (OUTPUT / "cases.json").write_text(json.dumps(
        {"versions": versions, "mean": CLIP_MEAN, "std": CLIP_STD,
         "resize_cases": resize_cases, "preprocess_cases": preprocess_cases}, indent=1) + "\n")
    orders = ", ".join(f"{c['name']} {c['first_pass']}" for c in resize_cases)
    differing = [c["name"] for c in preprocess_cases if c["differs_between_rules"]]
    print(f"Pillow {PIL.__version__}: {orders}")
    print(f"crop rules differ on: {', '.join(differing)}")
    total = sum(path.stat().st_size for path in OUTPUT.iterdir())
    print(f"fixtures written: {total} bytes")


if __name__ == "__main__":
    main()
