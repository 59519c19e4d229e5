#!/usr/bin/env python3
"""Writes the CLIPEncoder fixtures for images, preprocessing, safetensors and configurations.

Run from the repository root:  python3 scripts/make_image_fixtures.py

Needs numpy, Pillow, torch, safetensors and transformers (no torchvision: its Resize and
CenterCrop size rules are reproduced below, each citing the torchvision function it follows).

Outputs
  Tests/CLIPEncoderTests/Fixtures/images/
    *.png, *.jpg            small images in every PNG colour type and the JPEG colour spaces
    bad_*                   empty, truncated, corrupt, non-image and oversized files
    references.safetensors  U8 `decoded.<file>` [h, w, 3] = PIL Image.open(f).convert("RGB"),
                            F32 `preprocessed.<case>` [3, crop, crop] = the OpenAI CLIP pipeline,
                            U8 `draft.<file>.<side>` [h, w, 3] = the file opened, then
                            image.draft("RGB", (side, side)), then .convert("RGB") (draft mode:
                            JPEGs reduced by 2, 4 or 8 in libjpeg-turbo's inverse DCT),
                            F32 `draft_preprocessed.<case>` = the OpenAI pipeline after draft()
    cases.json              the preprocessing cases (file, shortest edge, crop) and the draft
                            cases (file, side, the size PIL decoded)
  Tests/CLIPEncoderTests/Fixtures/safetensors/
    reference.safetensors   F32 / F16 / BF16 / I64 tensors and metadata written by `safetensors`
    expected.safetensors    the same tensors converted to float32 by torch, and the float16
                            rounding of chosen float32 values by numpy
    bad_*.safetensors       corrupt headers; bad_files.json says which tensor each one names
    config_*.json, preprocessor_*.json   configuration inputs
    configurations_expected.json         how transformers resolves each of them

The reference preprocessing is OpenAI CLIP's torchvision pipeline applied to an RGB PIL image
(the dataset loaders call .convert("RGB") right after opening the file):
  Resize(size, interpolation=BICUBIC) -> CenterCrop(crop) -> ToTensor() -> Normalize(mean, std)
"""

import json
import struct
import zlib
from pathlib import Path

import warnings

import numpy as np
import torch
from PIL import Image
from safetensors.numpy import save_file as save_numpy
from safetensors.torch import save_file as save_torch

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "Tests" / "CLIPEncoderTests" / "Fixtures"
IMAGES = FIXTURES / "images"
SAFETENSORS = FIXTURES / "safetensors"

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


# ----------------------------------------------------------------------------------------------
# Synthetic pictures: smooth shading, hard edges and a little noise, so that resampling is
# exercised on both gradients and steps.

def scene(width, height, seed, noise=6.0):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    u, v = x / max(width - 1, 1), y / max(height - 1, 1)
    image = np.stack([
        200 * u + 30 * np.sin(7 * v),
        180 * v + 40 * np.cos(5 * u + 2 * v),
        120 + 100 * np.sin(3 * (u + v) + seed),
    ], axis=-1)
    for _ in range(4):
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        radius = rng.uniform(0.1, 0.35) * min(width, height)
        colour = rng.uniform(0, 255, size=3)
        inside = (x - cx) ** 2 + (y - cy) ** 2 < radius ** 2
        image[inside] = colour
    image[: max(height // 6, 1), : max(width // 5, 1)] = (255, 255, 255)  # saturated corner
    image[-max(height // 7, 1):, -max(width // 6, 1):] = (0, 0, 0)         # black corner
    image += rng.normal(0, noise, size=image.shape)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def alpha_ramp(width, height, seed):
    rng = np.random.default_rng(seed + 100)
    y, x = np.mgrid[0:height, 0:width]
    alpha = (255 * x / max(width - 1, 1)).astype(np.int64)
    alpha[(y % 7) == 0] = 0                                   # fully transparent rows
    alpha += rng.integers(-10, 10, size=alpha.shape)
    return np.clip(alpha, 0, 255).astype(np.uint8)


# ----------------------------------------------------------------------------------------------
# A minimal PNG writer for the cases PIL cannot write (16-bit RGB, oversized header).

def png_chunk(kind, payload):
    body = kind + payload
    return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def png_bytes(width, height, bit_depth, colour_type, rows, extra_chunks=b"", interlaced=False):
    """A PNG of `rows` (raw sample bytes per row, filter type 0); with `interlaced`, `rows` is
    the list of Adam7 passes, each a list of rows."""
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 1 if interlaced else 0)
    if interlaced:
        raw = b"".join(b"\x00" + row for rows_of_pass in rows for row in rows_of_pass)
    else:
        raw = b"".join(b"\x00" + row for row in rows)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + extra_chunks
            + png_chunk(b"IDAT", zlib.compress(raw, 9)) + png_chunk(b"IEND", b""))


def adam7_passes(array):
    """The seven Adam7 sub-images of an [h, w, c] array (PNG specification, section 8.2)."""
    starts = [(0, 0, 8, 8), (0, 4, 8, 8), (4, 0, 8, 4), (0, 2, 4, 4), (2, 0, 4, 2), (0, 1, 2, 2), (1, 0, 2, 1)]
    passes = []
    for row0, col0, row_step, col_step in starts:
        sub = array[row0::row_step, col0::col_step]
        passes.append([row.tobytes() for row in sub] if sub.shape[0] and sub.shape[1] else [])
    return passes


# ----------------------------------------------------------------------------------------------
# The reference pipeline.

def resized_size(width, height, size):
    """torchvision.transforms.functional._compute_resized_output_size for an int size and no
    max_size: the shorter side becomes `size`, the longer int(size * long / short)."""
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = size, int(size * long / short)
    return (new_short, new_long) if width <= height else (new_long, new_short)


def center_crop(array, crop):
    """torchvision.transforms.functional.center_crop on an [h, w, c] array: zero padding
    [(crop - w) // 2, (crop - h) // 2, (crop - w + 1) // 2, (crop - h + 1) // 2] when the
    image is smaller, then top = int(round((h - crop) / 2.0)), left likewise."""
    height, width = array.shape[:2]
    if crop > width or crop > height:
        left = (crop - width) // 2 if crop > width else 0
        top = (crop - height) // 2 if crop > height else 0
        right = (crop - width + 1) // 2 if crop > width else 0
        bottom = (crop - height + 1) // 2 if crop > height else 0
        array = np.pad(array, ((top, bottom), (left, right), (0, 0)))
        height, width = array.shape[:2]
    top = int(round((height - crop) / 2.0))
    left = int(round((width - crop) / 2.0))
    return array[top:top + crop, left:left + crop]


def clip_preprocess(image, size, crop):
    """Resize (PIL bicubic on the RGB image), CenterCrop, ToTensor, Normalize."""
    image = image.convert("RGB")
    image = image.resize(resized_size(image.width, image.height, size), Image.BICUBIC)
    array = center_crop(np.asarray(image), crop)
    # ToTensor: HWC uint8 -> CHW float32 / 255; Normalize: (x - mean) / std in float32.
    tensor = torch.from_numpy(array.copy()).permute(2, 0, 1).contiguous().float().div(255)
    mean = torch.as_tensor(CLIP_MEAN, dtype=torch.float32)[:, None, None]
    std = torch.as_tensor(CLIP_STD, dtype=torch.float32)[:, None, None]
    return tensor.sub_(mean).div_(std).numpy()


# ----------------------------------------------------------------------------------------------

def make_images():
    IMAGES.mkdir(parents=True, exist_ok=True)
    for old in IMAGES.iterdir():
        if old.is_file():
            old.unlink()

    rgb = scene(64, 48, 1)
    Image.fromarray(rgb).save(IMAGES / "rgb.png")
    Image.fromarray(scene(40, 30, 2)).convert("L").save(IMAGES / "grey.png")
    grey_alpha = Image.merge("LA", (Image.fromarray(scene(30, 45, 3)).convert("L"),
                                    Image.fromarray(alpha_ramp(30, 45, 3))))
    grey_alpha.save(IMAGES / "grey_alpha.png")
    palette = Image.fromarray(scene(50, 37, 4)).quantize(colors=48, method=Image.Quantize.MEDIANCUT)
    # Palette entry 5 is transparent (a tRNS chunk); convert("RGB") ignores transparency.
    palette.save(IMAGES / "palette.png", transparency=5)
    rgba = np.dstack([scene(37, 53, 5), alpha_ramp(37, 53, 5)])
    Image.fromarray(rgba, "RGBA").save(IMAGES / "rgba.png")
    Image.fromarray(scene(20, 90, 6)).save(IMAGES / "tall.png")
    Image.fromarray(scene(300, 250, 7, noise=1.5)).save(IMAGES / "photo_300x250.png", optimize=True)

    # 16-bit RGB: arbitrary 16-bit samples (PIL keeps the high byte; libpng rounds).
    rng = np.random.default_rng(8)
    wide = scene(24, 18, 8).astype(np.uint16) * 257 + rng.integers(-200, 200, size=(18, 24, 3))
    wide = np.clip(wide, 0, 65535).astype(">u2")
    (IMAGES / "rgb16.png").write_bytes(png_bytes(24, 18, 16, 2, [row.tobytes() for row in wide]))

    # A gAMA chunk of 1.0 (linear light): PIL ignores it, so the stored samples are the pixels.
    gamma = scene(19, 13, 16)
    (IMAGES / "gamma.png").write_bytes(png_bytes(19, 13, 8, 2, [row.tobytes() for row in gamma],
                                                 extra_chunks=png_chunk(b"gAMA", struct.pack(">I", 100000))))
    # Adam7 interlacing.
    interlaced = scene(23, 17, 17)
    (IMAGES / "interlaced.png").write_bytes(png_bytes(23, 17, 8, 2, adam7_passes(interlaced), interlaced=True))

    Image.fromarray(scene(80, 60, 9)).save(IMAGES / "rgb.jpg", quality=90)
    Image.fromarray(scene(40, 50, 10)).convert("L").save(IMAGES / "grey.jpg", quality=90)
    Image.fromarray(scene(45, 35, 14)).save(IMAGES / "progressive.jpg", quality=85, progressive=True)
    Image.fromarray(scene(31, 27, 15)).save(IMAGES / "rgb444.jpg", quality=95, subsampling=0)
    # CMYK with real black: ink = 255 - colour, black from a second picture's first channel.
    cmyk = np.dstack([255 - scene(36, 28, 11), scene(36, 28, 13)[..., :1]])
    Image.fromarray(cmyk, "CMYK").save(IMAGES / "cmyk.jpg", quality=90)
    # Draft-mode inputs: a 4:2:0 photo-sized scene reduced by 1, 2, 4 and 8, and odd sides, whose
    # reduced sizes round up.
    Image.fromarray(scene(300, 250, 18)).save(IMAGES / "draft_rgb_300x250.jpg", quality=90)
    Image.fromarray(scene(257, 203, 19)).save(IMAGES / "draft_odd_257x203.jpg", quality=85)
    # A JPEG whose name says PNG: the decoder goes by the signature.
    Image.fromarray(scene(33, 21, 12)).save(IMAGES / "jpeg_named.png", format="JPEG", quality=90)

    # Files that must be refused.
    (IMAGES / "bad_empty.png").write_bytes(b"")
    (IMAGES / "bad_text.png").write_bytes(b"this is a text file, not an image\n")
    png = (IMAGES / "rgb.png").read_bytes()
    (IMAGES / "bad_truncated.png").write_bytes(png[: len(png) // 2])
    corrupt = bytearray(png)
    idat = png.index(b"IDAT")
    for offset in range(idat + 20, idat + 60):
        corrupt[offset] ^= 0x5A  # damages the compressed data and the chunk's CRC
    (IMAGES / "bad_corrupt.png").write_bytes(bytes(corrupt))
    jpeg = (IMAGES / "rgb.jpg").read_bytes()
    (IMAGES / "bad_truncated.jpg").write_bytes(jpeg[: int(len(jpeg) * 0.6)])
    (IMAGES / "bad_header.jpg").write_bytes(b"\xff\xd8\xff" + bytes(range(256)) * 2)
    # 20000 x 20000 = 400 megapixels announced, a few bytes of data.
    (IMAGES / "bad_huge.png").write_bytes(png_bytes(20000, 20000, 8, 0, [b"\x00" * 4]))
    huge_jpeg = bytearray(jpeg)
    sof = huge_jpeg.index(b"\xff\xc0")  # baseline SOF0: length(2) precision(1) height(2) width(2)
    huge_jpeg[sof + 5:sof + 9] = struct.pack(">HH", 20000, 20000)
    (IMAGES / "bad_huge.jpg").write_bytes(bytes(huge_jpeg))

    # PIL refuses the bad files too (sanity check of the fixtures).
    for name in ["bad_empty.png", "bad_text.png", "bad_truncated.png", "bad_corrupt.png",
                 "bad_truncated.jpg", "bad_header.jpg"]:
        try:
            Image.open(IMAGES / name).convert("RGB")
        except Exception:  # noqa: BLE001 - any failure is what we expect
            continue
        raise SystemExit(f"PIL decodes {name}, which should be corrupt")

    decoded_names = ["rgb.png", "grey.png", "grey_alpha.png", "palette.png", "rgba.png", "tall.png",
                     "rgb16.png", "gamma.png", "interlaced.png", "rgb.jpg", "grey.jpg", "cmyk.jpg", "jpeg_named.png", "progressive.jpg",
                     "rgb444.jpg"]
    tensors = {}
    for name in decoded_names:
        with Image.open(IMAGES / name) as image:
            tensors[f"decoded.{name}"] = np.ascontiguousarray(np.asarray(image.convert("RGB")))

    cases = [
        {"name": "rgb_32", "file": "rgb.png", "size": 32, "crop": 32},           # landscape, shrink
        {"name": "grey_48", "file": "grey.png", "size": 48, "crop": 48},         # enlarge
        {"name": "rgba_32", "file": "rgba.png", "size": 32, "crop": 32},         # odd sizes, crop tie
        {"name": "palette_32", "file": "palette.png", "size": 32, "crop": 32},
        {"name": "grey_alpha_32", "file": "grey_alpha.png", "size": 32, "crop": 32},
        {"name": "tall_32", "file": "tall.png", "size": 32, "crop": 32},         # 1:4.5 portrait
        {"name": "rgb_32_crop40", "file": "rgb.png", "size": 32, "crop": 40},    # crop needs padding
        {"name": "progressive_32", "file": "progressive.jpg", "size": 32, "crop": 32},  # JPEG input
        {"name": "photo_224", "file": "photo_300x250.png", "size": 224, "crop": 224},
    ]
    for case in cases:
        with Image.open(IMAGES / case["file"]) as image:
            tensors[f"preprocessed.{case['name']}"] = clip_preprocess(image, case["size"], case["crop"])

    # Draft mode: the side asked for sets the reduction (PIL: min(width // side, height // side),
    # then the largest of 8, 4, 2, 1 not above it); a PNG is never reduced.
    draft_cases = [
        ("draft_rgb_300x250.jpg", 200), ("draft_rgb_300x250.jpg", 100), ("draft_rgb_300x250.jpg", 60),
        ("draft_rgb_300x250.jpg", 30), ("draft_odd_257x203.jpg", 101), ("draft_odd_257x203.jpg", 25),
        ("grey.jpg", 10), ("cmyk.jpg", 7), ("progressive.jpg", 4), ("rgb444.jpg", 13), ("rgb.png", 8),
    ]
    draft_records = []
    for name, side in draft_cases:
        with Image.open(IMAGES / name) as image:
            full_size = image.size
            image.draft("RGB", (side, side))
            pixels = np.ascontiguousarray(np.asarray(image.convert("RGB")))
        tensors[f"draft.{name}.{side}"] = pixels
        draft_records.append({"file": name, "side": side, "width": full_size[0], "height": full_size[1],
                              "draft_width": pixels.shape[1], "draft_height": pixels.shape[0]})
    draft_preprocess_cases = [{"name": "draft_photo_60", "file": "draft_rgb_300x250.jpg", "size": 60, "crop": 56}]
    for case in draft_preprocess_cases:
        with Image.open(IMAGES / case["file"]) as image:
            image.draft("RGB", (case["size"], case["size"]))
            tensors[f"draft_preprocessed.{case['name']}"] = clip_preprocess(image, case["size"], case["crop"])

    save_numpy(tensors, str(IMAGES / "references.safetensors"),
               metadata={"producer": "scripts/make_image_fixtures.py"})
    (IMAGES / "cases.json").write_text(json.dumps(
        {"mean": CLIP_MEAN, "std": CLIP_STD, "cases": cases, "draft_cases": draft_records,
         "draft_preprocess_cases": draft_preprocess_cases}, indent=1) + "\n")


# ----------------------------------------------------------------------------------------------

def special_float16():
    bits = [0x0000, 0x8000, 0x0001, 0x8001, 0x03FF, 0x0400, 0x3C00, 0xBC00, 0x3555, 0x7BFF, 0xFBFF,
            0x7C00, 0xFC00, 0x7E00, 0x7C01, 0x0200, 0x4248, 0x1234]
    return np.array(bits, dtype=np.uint16).view(np.float16).reshape(3, 6)


def special_bfloat16():
    bits = [0x0000, 0x8000, 0x0001, 0x807F, 0x3F80, 0xBF80, 0x4049, 0x7F7F, 0xFF7F, 0x7F80, 0xFF80,
            0x7FC0, 0x0080, 0x3E4C]
    return torch.from_numpy(np.array(bits, dtype=np.uint16).view(np.int16)).view(torch.bfloat16).reshape(2, 7)


def rounding_cases():
    """float32 values around float16 rounding boundaries: ties, overflow, subnormals."""
    values = [0.0, -0.0, 1.0, 1.0 + 2.0 ** -11, 1.0 + 3 * 2.0 ** -11, 1.0 + 2.0 ** -11 + 2.0 ** -20,
              65504.0, 65519.0, 65520.0, 1e6, -1e6, 2.0 ** -24, 2.0 ** -25, 2.0 ** -25 * 1.0001,
              3 * 2.0 ** -25, 2.0 ** -26, 2.0 ** -14, 2.0 ** -14 - 2.0 ** -25, 1e-8, 0.1, -0.3333333,
              3.14159265, float("inf"), float("-inf"), 2.0 ** -149, 6.1e-5]
    rng = np.random.default_rng(20)
    random = np.concatenate([rng.normal(0, 1, 40), rng.normal(0, 1e-5, 20), rng.normal(0, 3e4, 20)])
    return np.concatenate([np.array(values, dtype=np.float32), random.astype(np.float32)])


def make_safetensors():
    SAFETENSORS.mkdir(parents=True, exist_ok=True)
    for old in SAFETENSORS.iterdir():
        if old.is_file():
            old.unlink()

    rng = np.random.default_rng(30)
    f32 = rng.normal(0, 1, size=(4, 5)).astype(np.float32)
    f16 = special_float16()
    bf16 = special_bfloat16()
    tensors = {
        "vision_model.embeddings.class_embedding": torch.from_numpy(f32[0].copy()),
        "text_projection.weight": torch.from_numpy(f32),
        "halves": torch.from_numpy(f16),
        "brain_floats": bf16,
        "text_model.embeddings.position_ids": torch.arange(77, dtype=torch.int64).reshape(1, 77),
        "logit_scale": torch.tensor(4.6052, dtype=torch.float32),
        "empty": torch.zeros((0, 3), dtype=torch.float32),
    }
    save_torch(tensors, str(SAFETENSORS / "reference.safetensors"),
               metadata={"format": "pt", "note": "fixture \"quoted\" \\ text"})

    cases = rounding_cases()
    warnings.filterwarnings("ignore", message="overflow encountered in cast")
    expected = {
        "vision_model.embeddings.class_embedding": f32[0].copy(),
        "text_projection.weight": f32,
        "halves": f16.astype(np.float32),
        "brain_floats": bf16.float().numpy(),
        "logit_scale": np.array(4.6052, dtype=np.float32),
        "rounding.float32": cases,
        "rounding.float16": cases.astype(np.float16),  # overflowing values become infinities
    }
    save_numpy(expected, str(SAFETENSORS / "expected.safetensors"))

    # Corrupt files, each derived from a valid two-tensor file by editing the header.
    def build(header, data, declared_length=None):
        text = json.dumps(header).encode()
        text += b" " * (-len(text) % 8)
        length = len(text) if declared_length is None else declared_length
        return struct.pack("<Q", length) + text + data

    data = np.arange(12, dtype=np.float32).tobytes()  # 48 bytes
    good = {"first": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
            "second": {"dtype": "F32", "shape": [6], "data_offsets": [24, 48]}}
    bad_files = {}

    def bad(name, content, tensor):
        (SAFETENSORS / name).write_bytes(content)
        bad_files[name] = tensor

    overlapping = json.loads(json.dumps(good))
    overlapping["second"]["data_offsets"] = [16, 40]
    overlapping["second"]["shape"] = [6]
    bad("bad_overlap.safetensors", build(overlapping, data), "second")
    out_of_range = json.loads(json.dumps(good))
    out_of_range["second"]["data_offsets"] = [24, 72]
    out_of_range["second"]["shape"] = [12]
    bad("bad_out_of_range.safetensors", build(out_of_range, data), "second")
    wrong_size = json.loads(json.dumps(good))
    wrong_size["first"]["shape"] = [2, 4]
    bad("bad_byte_size.safetensors", build(wrong_size, data), "first")
    unknown = json.loads(json.dumps(good))
    unknown["second"]["dtype"] = "F12"
    bad("bad_dtype.safetensors", build(unknown, data), "second")
    text = b'{"first": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]'
    bad("bad_json.safetensors", struct.pack("<Q", len(text)) + text + data, None)
    complete = build(good, data)
    bad("bad_truncated.safetensors", complete[: len(complete) - 10], "second")
    bad("bad_header_length.safetensors", build(good, data, declared_length=10_000), None)
    bad("bad_short.safetensors", b"\x08\x00\x00", None)
    (SAFETENSORS / "bad_files.json").write_text(json.dumps(bad_files, indent=1, sort_keys=True) + "\n")

    # The reference library refuses every one of them too.
    from safetensors import safe_open
    for name in bad_files:
        try:
            with safe_open(str(SAFETENSORS / name), framework="numpy") as handle:
                for key in handle.keys():
                    handle.get_tensor(key)
        except Exception:  # noqa: BLE001 - any failure is what we expect
            continue
        raise SystemExit(f"safetensors reads {name}, which should be corrupt")


# ----------------------------------------------------------------------------------------------

def make_configurations():
    from transformers import CLIPConfig, CLIPImageProcessor

    # openai/clip-vit-base-patch32: the library defaults with the released values spelled out.
    full = CLIPConfig(
        text_config={"hidden_size": 512, "num_attention_heads": 8, "num_hidden_layers": 12,
                     "intermediate_size": 2048, "max_position_embeddings": 77, "vocab_size": 49408},
        vision_config={"hidden_size": 768, "num_attention_heads": 12, "num_hidden_layers": 12,
                       "intermediate_size": 3072, "patch_size": 32, "image_size": 224},
        projection_dim=512,
    )
    files = {"config_vit_b32.json": full.to_json_string()}
    # Released configs often list only what differs from the defaults (here ViT-B/16 sizes).
    files["config_minimal.json"] = json.dumps(
        {"architectures": ["CLIPModel"], "model_type": "clip", "projection_dim": 512,
         "text_config": {"model_type": "clip_text_model"},
         "vision_config": {"patch_size": 16, "layer_norm_eps": 1e-6}}, indent=2)
    # The legacy layout: *_config_dict replaces *_config, completed with defaults.
    files["config_legacy_dicts.json"] = json.dumps(
        {"model_type": "clip", "projection_dim": 768, "logit_scale_init_value": 2.5,
         "text_config": {"hidden_size": 1024, "num_attention_heads": 16},
         "text_config_dict": {"hidden_size": 768, "num_attention_heads": 12, "hidden_act": "gelu"},
         "vision_config": None,
         "vision_config_dict": {"hidden_size": 1024, "num_attention_heads": 16, "num_hidden_layers": 24,
                                "intermediate_size": 4096, "patch_size": 14, "image_size": [224, 224]}},
        indent=2)
    for name, text in files.items():
        (SAFETENSORS / name).write_text(text + "\n")

    expected = {}
    for name in files:
        config = CLIPConfig.from_json_file(str(SAFETENSORS / name))
        vision, text = config.vision_config, config.text_config
        image_size = vision.image_size if isinstance(vision.image_size, int) else vision.image_size[0]
        patch_size = vision.patch_size if isinstance(vision.patch_size, int) else vision.patch_size[0]
        expected[name] = {
            "projection_dim": config.projection_dim,
            "logit_scale_init_value": config.logit_scale_init_value,
            "vision": {"hidden_size": vision.hidden_size, "intermediate_size": vision.intermediate_size,
                       "num_hidden_layers": vision.num_hidden_layers,
                       "num_attention_heads": vision.num_attention_heads, "image_size": image_size,
                       "patch_size": patch_size, "layer_norm_eps": vision.layer_norm_eps,
                       "hidden_act": vision.hidden_act, "num_channels": vision.num_channels},
            "text": {"vocab_size": text.vocab_size, "hidden_size": text.hidden_size,
                     "intermediate_size": text.intermediate_size, "num_hidden_layers": text.num_hidden_layers,
                     "num_attention_heads": text.num_attention_heads,
                     "max_position_embeddings": text.max_position_embeddings,
                     "layer_norm_eps": text.layer_norm_eps, "hidden_act": text.hidden_act},
        }

    # Inconsistent files, with the key the error must name; transformers refuses the first too.
    bad = {
        "config_bad_heads.json": ({"text_config": {"hidden_size": 500, "num_attention_heads": 8}},
                                  "text_config.hidden_size"),
        "config_bad_activation.json": ({"vision_config": {"hidden_act": "swish"}}, "vision_config.hidden_act"),
        "config_bad_type.json": ({"vision_config": {"num_hidden_layers": "twelve"}},
                                 "vision_config.num_hidden_layers"),
    }
    for name, (content, _) in bad.items():
        (SAFETENSORS / name).write_text(json.dumps(content, indent=2) + "\n")
    try:
        CLIPConfig.from_json_file(str(SAFETENSORS / "config_bad_heads.json"))
        raise SystemExit("transformers accepts config_bad_heads.json")
    except Exception as error:  # noqa: BLE001 - a validation error wrapping the ValueError
        if "not a multiple" not in str(error):
            raise
    (SAFETENSORS / "config_bad_syntax.json").write_text('{"projection_dim": 512,\n')
    bad_keys = {name: key for name, (_, key) in bad.items()}
    bad_keys["config_bad_syntax.json"] = "(file)"

    # Preprocessor configurations: today's layout and the older integer layout.
    (SAFETENSORS / "preprocessor_config.json").write_text(CLIPImageProcessor().to_json_string())
    old = {"crop_size": 336, "do_center_crop": True, "do_normalize": True, "do_resize": True,
           "feature_extractor_type": "CLIPFeatureExtractor", "image_mean": [0.5, 0.5, 0.5],
           "image_std": [0.5, 0.25, 0.125], "resample": 2, "size": 336}
    (SAFETENSORS / "preprocessor_old_layout.json").write_text(json.dumps(old, indent=2) + "\n")
    for name in ["preprocessor_config.json", "preprocessor_old_layout.json"]:
        processor = CLIPImageProcessor.from_json_file(str(SAFETENSORS / name))
        size = processor.size if isinstance(processor.size, int) else processor.size["shortest_edge"]
        crop = processor.crop_size if isinstance(processor.crop_size, int) else processor.crop_size["height"]
        expected[name] = {"image_mean": list(processor.image_mean), "image_std": list(processor.image_std),
                          "shortest_edge": size, "crop_size": crop, "resample": int(processor.resample)}
    expected["bad_keys"] = bad_keys
    (SAFETENSORS / "configurations_expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    make_images()
    make_safetensors()
    make_configurations()
    total = sum(path.stat().st_size for folder in (IMAGES, SAFETENSORS) for path in folder.iterdir())
    print(f"fixtures written: {total} bytes")
