#!/usr/bin/env python3
"""Writes the preprocessing fixtures: Pillow's resampling pass order, both crop-rounding rules,
and image embeddings of preprocessed files through the tiny fixture model.

Run from the repository root:  python3 scripts/make_preprocess_fixtures.py

Needs numpy, Pillow (13 or later: the pass order changed there), torch, torchvision,
transformers (5 or later: CLIPImageProcessorPil), open_clip_torch and safetensors. The versions
used are recorded in the outputs (cases.json, pipelines.json, the safetensors metadata); the
committed fixtures were made with Pillow 13.0.0, torch 2.15.0, torchvision 0.29.2,
transformers 5.25.0, open_clip 3.3.0 and numpy 2.4.6 (torch's CPU capability AVX512).

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
  mode_*.png, mode_*.jpg   one image per mode and case the named pipelines treat apart (palette
                           with and without transparency, 1-bit, 16-bit grey, RGBA with varying
                           alpha, LA, grey with tRNS, CMYK JPEG, progressive JPEG, EXIF-rotated
                           JPEG, animated PNG, tall, wide, tiny, upscaled)
  pipelines.safetensors    U8  <pipeline>.<case>            [crop, crop, 3]  the upstream's RGB bytes
                                                                              after its resize and crop
                           F32 embedding.<pipeline>.<case>  [1, 24]  CLIPModel.get_image_features of
                                 the upstream's pixel values on the tiny (random) fixture model
  pipelines.json           the pipeline cases, each image's Pillow mode, and the versions

The named pipelines and their upstreams (each run on Image.open(path) as opened):
  openai            open_clip.image_transform(size, is_train=False) (Resize, CenterCrop,
                    _convert_to_rgb, ToTensor, Normalize), checked equal to openai/CLIP's _transform
  transformers-pil  transformers' CLIPImageProcessorPil
  transformers      transformers' CLIPImageProcessor (torchvision backend, transformers >= 5)

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
import open_clip

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


# ----------------------------------------------------------------------------------------------
# Named pipelines, image mode by image mode.

def _mode_pictures():
    """(file name, how it is written) for the pipeline cases; small on purpose."""
    def rgb(width, height, seed):
        return scene(width, height, seed)

    def save(name, image, **options):
        image.save(OUTPUT / name, **options)

    pictures = []

    def add(name, mode, maker):
        pictures.append((name, mode, maker))

    add("mode_palette.png", "P", lambda: save("mode_palette.png", Image.fromarray(rgb(90, 61, 70)).quantize(
        colors=48, method=Image.Quantize.MEDIANCUT)))

    def palette_transparent():
        image = Image.fromarray(rgb(70, 50, 71)).quantize(colors=32, method=Image.Quantize.MEDIANCUT)
        alpha = bytes([0, 64, 128, 200] + [255] * 28)
        save("mode_palette_transparent.png", image, transparency=alpha)
    add("mode_palette_transparent.png", "P", palette_transparent)
    add("mode_bilevel.png", "1", lambda: save("mode_bilevel.png", Image.fromarray(rgb(77, 53, 72)).convert("L").convert("1")))

    def grey16():
        grey = rgb(60, 83, 73)[..., 0].astype(np.uint16) * 3 + 1  # 1..766: some values above 255
        save("mode_grey16.png", Image.fromarray(grey.astype(np.uint16)))
    add("mode_grey16.png", "I;16", grey16)
    add("mode_rgba.png", "RGBA", lambda: save("mode_rgba.png", Image.fromarray(
        np.dstack([rgb(45, 71, 74), alpha_ramp(45, 71, 74)]), "RGBA")))
    add("mode_la.png", "LA", lambda: save("mode_la.png", Image.fromarray(
        np.dstack([rgb(66, 47, 75)[..., 1], alpha_ramp(66, 47, 75)]), "LA")))

    def grey_transparent():
        grey = rgb(52, 44, 76)[..., 2].copy()
        grey[::5, ::3] = 17
        save("mode_grey_transparent.png", Image.fromarray(grey), transparency=17)
    add("mode_grey_transparent.png", "L", grey_transparent)

    def cmyk():
        inks = np.dstack([255 - rgb(57, 41, 77), rgb(57, 41, 78)[..., :1] // 2])
        save("mode_cmyk.jpg", Image.fromarray(inks, "CMYK"), quality=90)
    add("mode_cmyk.jpg", "CMYK", cmyk)
    add("mode_progressive.jpg", "RGB", lambda: save("mode_progressive.jpg", Image.fromarray(rgb(64, 48, 79)),
                                                    quality=88, progressive=True))

    def exif_rotated():
        exif = Image.Exif()
        exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
        save("mode_exif_rotated.jpg", Image.fromarray(rgb(48, 64, 80)), quality=90, exif=exif)
    add("mode_exif_rotated.jpg", "RGB", exif_rotated)

    def animated():
        frames = [Image.fromarray(rgb(40, 30, 81)), Image.fromarray(rgb(40, 30, 82))]
        frames[0].save(OUTPUT / "mode_animated.png", save_all=True, append_images=frames[1:], duration=100)
    add("mode_animated.png", "RGB", animated)
    add("mode_tall.png", "RGB", lambda: save("mode_tall.png", Image.fromarray(rgb(40, 130, 83))))
    add("mode_wide.png", "RGB", lambda: save("mode_wide.png", Image.fromarray(rgb(150, 37, 84))))
    add("mode_tiny.png", "RGB", lambda: save("mode_tiny.png", Image.fromarray(rgb(9, 7, 85))))
    add("mode_upscaled_grey.jpg", "L", lambda: save("mode_upscaled_grey.jpg", Image.fromarray(rgb(20, 26, 86)).convert("L"),
                                                    quality=90))
    add("mode_photo.jpg", "RGB", lambda: save("mode_photo.jpg", Image.fromarray(rgb(120, 90, 87)), quality=90))
    return pictures


# (case, file, shortest edge, crop). Cases at 35 pixels go through the fixture model too; the
# padded ones (crop larger than the resize) show each mode's padding colour.
def _pipeline_cases(pictures):
    cases = [(f"{name.split('.')[0][5:]}_35", name, 35, 35) for name, _, _ in pictures]
    cases += [("palette_pad_40", "mode_palette.png", 32, 40), ("cmyk_pad_40", "mode_cmyk.jpg", 32, 40),
              ("rgba_pad_40", "mode_rgba.png", 32, 40), ("tall_odd_37", "mode_tall.png", 37, 37)]
    return cases


def _upstream_bytes_and_values(pipeline, image, size, crop):
    """The upstream's RGB bytes after resize and crop [crop, crop, 3], and its pixel values [3, crop, crop]."""
    if pipeline == "openai":
        transform = open_clip.image_transform(size, is_train=False, mean=CLIP_MEAN, std=CLIP_STD)
        steps = transform.transforms
        # open_clip 3.x: Resize, CenterCrop, MaybeConvertMode (convert("RGB")), MaybeToTensor, Normalize.
        names = [type(step).__name__ for step in steps]
        if names != ["Resize", "CenterCrop", "MaybeConvertMode", "MaybeToTensor", "Normalize"]:
            raise SystemExit(f"open_clip's eval transform changed: {names}")
        if transform.transforms[0].size != size:
            raise SystemExit("open_clip's Resize is not the shorter side's")
        geometric = T.Compose(steps[:-2])
        cropped_image = geometric(image)
        pixels = np.ascontiguousarray(np.asarray(cropped_image))
        values = transform(image).numpy()
        # openai/CLIP's _transform: the same steps with the crop before convert("RGB").
        openai = T.Compose([T.Resize(size, interpolation=T.InterpolationMode.BICUBIC), T.CenterCrop(crop),
                            lambda picture: picture.convert("RGB"), T.ToTensor(), T.Normalize(CLIP_MEAN, CLIP_STD)])
        if crop == size and not np.array_equal(openai(image).numpy(), values):
            raise SystemExit("open_clip's and OpenAI's eval transforms differ")
        if crop != size:
            values = openai(image).numpy()
            pixels = np.ascontiguousarray(np.asarray(T.Compose([T.Resize(size, interpolation=T.InterpolationMode.BICUBIC),
                                                                T.CenterCrop(crop)])(image).convert("RGB")))
        return pixels, values.astype(np.float32)
    settings = {"size": {"shortest_edge": size}, "crop_size": {"height": crop, "width": crop}}
    processor_type = CLIPImageProcessorPil if pipeline == "transformers-pil" else CLIPImageProcessor
    tensors = "np" if pipeline == "transformers-pil" else "pt"
    values = processor_type(**settings)(images=image, return_tensors=tensors)["pixel_values"][0]
    raw = processor_type(**settings, do_rescale=False, do_normalize=False)(images=image, return_tensors=tensors)["pixel_values"][0]
    values = np.asarray(values, dtype=np.float32)
    raw = np.asarray(raw, dtype=np.float64)
    if np.any(raw != np.round(raw)) or raw.min() < 0 or raw.max() > 255:
        raise SystemExit(f"{pipeline}: the processor's unnormalised values are not bytes")
    return np.ascontiguousarray(raw.transpose(1, 2, 0).astype(np.uint8)), values


def pipeline_references():
    pictures = _mode_pictures()
    for _, _, make in pictures:
        make()
    modes = {}
    for name, expected_mode, _ in pictures:
        with Image.open(OUTPUT / name) as image:
            if image.mode != expected_mode:
                raise SystemExit(f"{name} opens as {image.mode}, expected {expected_mode}")
            modes[name] = image.mode
    model = CLIPModel.from_pretrained(str(MODEL), torch_dtype=torch.float32).eval()
    tensors, cases = {}, []
    for case, name, size, crop in _pipeline_cases(pictures):
        entry = {"name": case, "file": name, "mode": modes[name], "size": size, "crop": crop}
        for pipeline in ["openai", "transformers-pil", "transformers"]:
            with Image.open(OUTPUT / name) as image:
                pixels, values = _upstream_bytes_and_values(pipeline, image, size, crop)
            if pixels.shape != (crop, crop, 3):
                raise SystemExit(f"{case} {pipeline}: bytes of shape {pixels.shape}")
            tensors[f"{pipeline}.{case}"] = pixels
            # The values must be the bytes normalised (the Swift side normalises its bytes).
            mean = np.array(CLIP_MEAN, dtype=np.float64)[:, None, None]
            std = np.array(CLIP_STD, dtype=np.float64)[:, None, None]
            if np.abs((pixels.transpose(2, 0, 1) / 255.0 - mean) / std - values).max() > 1e-5:
                raise SystemExit(f"{case} {pipeline}: values are not the normalised bytes")
            if size == EMBEDDING_SIZE and crop == EMBEDDING_SIZE:
                with torch.no_grad():
                    features = model.get_image_features(pixel_values=torch.from_numpy(values[None].copy()))
                features = getattr(features, "pooler_output", features)
                tensors[f"embedding.{pipeline}.{case}"] = features.numpy().astype(np.float32)
                entry["embedded"] = True
        entry["differs"] = {
            "openai_vs_transformers_pil": bool(np.any(tensors[f"openai.{case}"] != tensors[f"transformers-pil.{case}"])),
            "transformers_pil_vs_transformers": bool(np.any(
                tensors[f"transformers-pil.{case}"] != tensors[f"transformers.{case}"])),
        }
        cases.append(entry)
    return tensors, cases


def main():
    write_pictures()
    tensors = {}
    resize_cases = resize_references(tensors)
    preprocess_cases = preprocess_references(tensors)
    embedding_references(tensors, preprocess_cases)
    versions = {"pillow": PIL.__version__, "torch": torch.__version__, "torchvision": torchvision.__version__,
                "transformers": transformers.__version__, "open_clip": open_clip.__version__, "numpy": np.__version__,
                "torch_cpu_capability": torch.backends.cpu.get_cpu_capability()}
    metadata = {"producer": "scripts/make_preprocess_fixtures.py", **{f"{k}_version": v for k, v in versions.items()}}
    save_file(tensors, str(OUTPUT / "references.safetensors"), metadata=metadata)
    (OUTPUT / "cases.json").write_text(json.dumps(
        {"versions": versions, "mean": CLIP_MEAN, "std": CLIP_STD,
         "resize_cases": resize_cases, "preprocess_cases": preprocess_cases}, indent=1) + "\n")
    pipeline_tensors, pipeline_cases = pipeline_references()
    save_file(pipeline_tensors, str(OUTPUT / "pipelines.safetensors"), metadata=metadata)
    (OUTPUT / "pipelines.json").write_text(json.dumps({"versions": versions, "cases": pipeline_cases}, indent=1) + "\n")
    print(f"pipeline cases: {len(pipeline_cases)} on {len({c['file'] for c in pipeline_cases})} images")
    orders = ", ".join(f"{c['name']} {c['first_pass']}" for c in resize_cases)
    differing = [c["name"] for c in preprocess_cases if c["differs_between_rules"]]
    print(f"Pillow {PIL.__version__}: {orders}")
    print(f"crop rules differ on: {', '.join(differing)}")
    total = sum(path.stat().st_size for path in OUTPUT.iterdir())
    print(f"fixtures written: {total} bytes")


if __name__ == "__main__":
    main()
