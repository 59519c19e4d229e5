#!/usr/bin/env python3
"""Reference fixtures for the CLIP encoder, from PyTorch + transformers.

Default: writes a small random CLIP in Hugging Face format (2 layers per tower, narrow widths,
50 image tokens, the real 49,408-token vocabulary), input pixels, token ids of a few texts and
the reference image and text embeddings to Tests/CLIPEncoderTests/Fixtures/model/ (about 2 MB,
float16 weights).

    pip install torch transformers safetensors pillow ftfy regex open-clip-torch
    python3 scripts/make_fixtures.py

With --full-size DIR it writes a random-weight ViT-B/32 (or --variant b16 for ViT-B/16) model
directory of the real dimensions to DIR, with reference embeddings, for the documented
full-size comparison (not run in CI):

    python3 scripts/make_fixtures.py --full-size /tmp/clip-b32-random
    swift build -c release && .build/release/upadapter compare-reference --model /tmp/clip-b32-random
"""
import argparse
import importlib.util
import json
import pathlib
import shutil
import site

import numpy as np
import torch
from safetensors.torch import save_file
from transformers import CLIPConfig, CLIPModel

ROOT = pathlib.Path(__file__).resolve().parent.parent
TEXTS = [
    "a photo of a dog.",
    "a diagram",
    "a centered satellite photo of Annual Crop Land.",
    "itap of a t-shirt.",
    "Ünïcödé, emoji 🐶 and   spaces",
    "a photo of a person doing Apply Eye Makeup.",
    "x",
]


def openai_tokenizer():
    """OpenAI's tokenizer as carried by open-clip-torch (loaded by path: open_clip's package
    import needs torchvision)."""
    for directory in site.getsitepackages():
        path = pathlib.Path(directory) / "open_clip" / "tokenizer.py"
        if path.exists():
            spec = importlib.util.spec_from_file_location("openai_clip_tokenizer", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module.SimpleTokenizer(), path.parent / "bpe_simple_vocab_16e6.txt.gz"
    raise SystemExit("open-clip-torch is not installed (pip install open-clip-torch ftfy regex)")


def token_ids(tokenizer, texts, context):
    result = []
    for text in texts:
        ids = [49406] + tokenizer.encode(text) + [49407]
        assert len(ids) <= context, text
        result.append(ids + [0] * (context - len(ids)))
    return torch.tensor(result, dtype=torch.long)


def build(config_kwargs, seed):
    torch.manual_seed(seed)
    config = CLIPConfig(**config_kwargs)
    model = CLIPModel(config).eval()
    # Random weights of a realistic scale everywhere (layer norms and biases included), so that
    # every parameter matters to the output.
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name.endswith("logit_scale"):
                continue
            if parameter.dim() == 1:
                base = 1.0 if "norm" in name and name.endswith("weight") else 0.0
                parameter.copy_(base + 0.1 * torch.randn_like(parameter))
            else:
                parameter.copy_(torch.randn_like(parameter) * (1.0 / parameter.shape[-1]) ** 0.5)
    return model


def save_model(model, directory, dtype, image_size):
    directory.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to(dtype).contiguous() for k, v in model.state_dict().items() if "position_ids" not in k}
    save_file(state, str(directory / "model.safetensors"), metadata={"format": "pt"})
    # The reference runs on exactly the weights stored (float16-rounded where stored so).
    model.load_state_dict({k: v.float() for k, v in state.items()}, strict=False)
    model.config.to_json_file(str(directory / "config.json"))
    (directory / "preprocessor_config.json").write_text(json.dumps({
        "crop_size": {"height": image_size, "width": image_size},
        "do_center_crop": True, "do_normalize": True, "do_resize": True, "do_rescale": True,
        "do_convert_rgb": True, "rescale_factor": 1 / 255,
        "image_mean": [0.48145466, 0.4578275, 0.40821073],
        "image_std": [0.26862954, 0.26130258, 0.27577711],
        "resample": 3, "size": {"shortest_edge": image_size},
        "image_processor_type": "CLIPImageProcessor",
    }, indent=2))


def write_reference(model, directory, tokenizer, image_count, image_size, seed, context):
    generator = torch.Generator().manual_seed(seed + 1)
    pixels = torch.randn(image_count, 3, image_size, image_size, generator=generator)
    ids = token_ids(tokenizer, TEXTS, context)
    with torch.no_grad():
        image_features = model.get_image_features(pixel_values=pixels)
        text_features = model.get_text_features(input_ids=ids, attention_mask=(ids != 0).long())
    image_features = getattr(image_features, "pooler_output", image_features)
    text_features = getattr(text_features, "pooler_output", text_features)
    save_file({
        "pixel_values": pixels.contiguous(),
        "input_ids": ids.to(torch.int32).contiguous(),
        "image_embeddings": image_features.contiguous(),
        "text_embeddings": text_features.contiguous(),
    }, str(directory / "reference.safetensors"), metadata={"texts": json.dumps(TEXTS)})
    print(f"image embeddings {tuple(image_features.shape)}, text embeddings {tuple(text_features.shape)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full-size", type=pathlib.Path, help="write a full-size random model here instead")
    parser.add_argument("--variant", choices=["b32", "b16"], default="b32")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    tokenizer, merges_file = openai_tokenizer()
    torch.set_num_threads(2)

    if args.full_size:
        patch = 32 if args.variant == "b32" else 16
        config = dict(
            text_config=dict(hidden_size=512, intermediate_size=2048, num_attention_heads=8, num_hidden_layers=12,
                             max_position_embeddings=77, vocab_size=49408, hidden_act="quick_gelu", eos_token_id=2),
            vision_config=dict(hidden_size=768, intermediate_size=3072, num_attention_heads=12, num_hidden_layers=12,
                               image_size=224, patch_size=patch, hidden_act="quick_gelu"),
            projection_dim=512)
        model = build(config, args.seed)
        save_model(model, args.full_size, torch.float32, 224)
        shutil.copy(merges_file, args.full_size / "bpe_simple_vocab_16e6.txt.gz")
        write_reference(model, args.full_size, tokenizer, 8, 224, args.seed, 77)
        print(f"wrote ViT-{args.variant.upper()} random model to {args.full_size}")
        return

    directory = ROOT / "Tests/CLIPEncoderTests/Fixtures/model"
    # Odd sizes: 35 px images in 5 px patches give 7 × 7 + 1 = 50 tokens; head sizes 16 and 8;
    # the text tower uses exact GELU, the vision tower QuickGELU, so both activations are checked.
    config = dict(
        text_config=dict(hidden_size=16, intermediate_size=40, num_attention_heads=2, num_hidden_layers=2,
                         max_position_embeddings=77, vocab_size=49408, hidden_act="gelu", eos_token_id=2,
                         layer_norm_eps=1e-5),
        vision_config=dict(hidden_size=48, intermediate_size=100, num_attention_heads=3, num_hidden_layers=2,
                           image_size=35, patch_size=5, hidden_act="quick_gelu", layer_norm_eps=1e-5),
        projection_dim=24)
    model = build(config, args.seed)
    save_model(model, directory, torch.float16, 35)
    link = directory / "bpe_simple_vocab_16e6.txt.gz"
    if link.exists() or link.is_symlink():
        link.unlink()
    link.symlink_to("../tokenizer/bpe_simple_vocab_16e6.txt.gz")
    write_reference(model, directory, tokenizer, 5, 35, args.seed, 77)
    total = sum(f.stat().st_size for f in directory.iterdir() if f.is_file() and not f.is_symlink())
    print(f"wrote {directory} ({total / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
