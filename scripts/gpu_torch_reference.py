#!/usr/bin/env python3
"""PyTorch's figures on this machine's GPU, for the GPU check (scripts/gpu_check.sh).

Measures, in fp32 with TF32 off and with TF32 on:
  - image embeddings per second of the CLIP vision tower of a Hugging Face model folder (the random
    ViT-B/32 that scripts/make_random_clip.py writes), batch 64 of random pixels, the same work as
    `upadapter bench encoder` (patch convolution, 12 blocks, post-norm, projection, L2 norm);
  - torch.matmul at the given square sizes (GFLOP/s).
Writes one JSON object (--json) and prints it. Without torch or CUDA it writes
{"available": false, "reason": ...} and exits 0: the check's summary then says why.

    python3 scripts/gpu_torch_reference.py --model /tmp/clip-b32-random --json torch.json
"""
import argparse
import json
import math
import os
import struct
import sys
import time


def load_tensors(folder, torch, device, prefixes):
    """The F32 tensors of model.safetensors whose names start with one of `prefixes`."""
    path = os.path.join(folder, "model.safetensors")
    with open(path, "rb") as file:
        (length,) = struct.unpack("<Q", file.read(8))
        header = json.loads(file.read(length))
        tensors = {}
        for name, entry in header.items():
            if name == "__metadata__" or not name.startswith(prefixes):
                continue
            if entry["dtype"] != "F32":
                raise SystemExit(f"{path}: {name} is {entry['dtype']}, expected F32")
            start, end = entry["data_offsets"]
            file.seek(8 + length + start)
            data = bytearray(file.read(end - start))
            tensor = torch.frombuffer(data, dtype=torch.float32) if data else torch.zeros(0)
            tensors[name] = tensor.reshape(entry["shape"]).to(device)
    return tensors


def vision_tower(weights, config, torch):
    """A function pixels [batch, 3, size, size] -> L2-normalised image embeddings, Hugging Face CLIP's."""
    functional = torch.nn.functional
    vision = config["vision_config"]
    width, heads, layers = vision["hidden_size"], vision["num_attention_heads"], vision["num_hidden_layers"]
    patch = vision["patch_size"]
    eps = vision.get("layer_norm_eps", 1e-5)
    w = lambda name: weights["vision_model." + name]

    def norm(x, name):
        return functional.layer_norm(x, (width,), w(name + ".weight"), w(name + ".bias"), eps)

    def forward(pixels):
        batch = pixels.shape[0]
        x = functional.conv2d(pixels, w("embeddings.patch_embedding.weight"), stride=patch)
        x = x.flatten(2).transpose(1, 2)
        cls = w("embeddings.class_embedding").expand(batch, 1, width)
        x = torch.cat([cls, x], dim=1) + w("embeddings.position_embedding.weight")
        x = norm(x, "pre_layrnorm")
        tokens = x.shape[1]
        for n in range(layers):
            base = f"encoder.layers.{n}."
            h = norm(x, base + "layer_norm1")

            def project(name, value):
                return functional.linear(value, w(base + f"self_attn.{name}.weight"), w(base + f"self_attn.{name}.bias"))

            q, k, v = (project(name, h).view(batch, tokens, heads, width // heads).transpose(1, 2)
                       for name in ("q_proj", "k_proj", "v_proj"))
            attention = functional.scaled_dot_product_attention(q, k, v)
            x = x + project("out_proj", attention.transpose(1, 2).reshape(batch, tokens, width))
            h = norm(x, base + "layer_norm2")
            h = functional.linear(h, w(base + "mlp.fc1.weight"), w(base + "mlp.fc1.bias"))
            h = h * torch.sigmoid(1.702 * h)
            x = x + functional.linear(h, w(base + "mlp.fc2.weight"), w(base + "mlp.fc2.bias"))
        pooled = norm(x[:, 0], "post_layernorm")
        embedding = functional.linear(pooled, weights["visual_projection.weight"])
        return functional.normalize(embedding, dim=-1)

    return forward


def median_seconds(torch, body, repeats, warm_up=2):
    for _ in range(warm_up):
        body()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        body()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def set_tf32(torch, enabled):
    torch.backends.cuda.matmul.allow_tf32 = enabled
    torch.backends.cudnn.allow_tf32 = enabled


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="Hugging Face CLIP folder (config.json, model.safetensors)")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sizes", default="1024,4096", help="square torch.matmul sizes, comma-separated")
    parser.add_argument("--json", help="file to write the figures to")
    arguments = parser.parse_args()
    result = {"available": False}

    def finish(code=0):
        text = json.dumps(result, indent=2, sort_keys=True)
        print(text)
        if arguments.json:
            with open(arguments.json, "w") as file:
                file.write(text + "\n")
        sys.exit(code)

    try:
        import torch
    except Exception as error:  # ImportError, or a broken installation
        result["reason"] = f"no usable torch: {error}"
        finish()
    result["torch"] = torch.__version__
    if not torch.cuda.is_available():
        result["reason"] = f"torch {torch.__version__} sees no CUDA device"
        finish()
    device = torch.device("cuda")
    result.update(available=True, device=torch.cuda.get_device_name(0), cuda=torch.version.cuda, batch=arguments.batch)

    with open(os.path.join(arguments.model, "config.json")) as file:
        config = json.load(file)
    started = time.perf_counter()
    weights = load_tensors(arguments.model, torch, device, ("vision_model.", "visual_projection."))
    result["load_seconds"] = time.perf_counter() - started
    forward = vision_tower(weights, config, torch)
    size = config["vision_config"]["image_size"]
    generator = torch.Generator(device="cpu").manual_seed(5)
    pixels = torch.randn(arguments.batch, 3, size, size, generator=generator).to(device)

    result["matmul_gflops"] = {}
    result["images_per_second"] = {}
    with torch.inference_mode():
        for tf32 in (False, True):
            mode = "tf32" if tf32 else "fp32"
            set_tf32(torch, tf32)
            seconds = median_seconds(torch, lambda: forward(pixels), arguments.repeats)
            result["images_per_second"][mode] = arguments.batch / seconds
            for n in (int(text) for text in arguments.sizes.split(",") if text):
                a = torch.randn(n, n, device=device)
                b = torch.randn(n, n, device=device)
                seconds = median_seconds(torch, lambda: torch.matmul(a, b), arguments.repeats)
                result["matmul_gflops"].setdefault(mode, {})[str(n)] = 2 * math.pow(n, 3) / seconds / 1e9
        set_tf32(torch, False)
    finish()


if __name__ == "__main__":
    main()
