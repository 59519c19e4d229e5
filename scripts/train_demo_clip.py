"""Train the small CLIP model used by the built-in demo (Fashion-MNIST, CPU, seeded).

The model is a Hugging Face ``CLIPModel`` (standard key names, saved as float16 safetensors)
with a 28x28 / patch-4 vision tower and a short-context text tower over CLIP's full BPE
vocabulary. It is trained from scratch with a contrastive loss on the 60k clean training images
of Fashion-MNIST paired with captions "<template> <class name>", then evaluated zero-shot on the
clean test split and under the deterministic shifts of ``demo_shifts.py``.

Requirements (pip): ``torch==2.13.* (CPU)``, ``transformers==5.24.*``, ``numpy``, ``safetensors``,
``open-clip-torch`` (only its ``tokenizer.py`` and ``bpe_simple_vocab_16e6.txt.gz`` are used; the
tokenizer needs ``ftfy`` and ``regex``). Data: the Debian package ``dataset-fashion-mnist``
(gzipped IDX files under ``/usr/share/datasets/fashion-mnist/``).

Command that produced ``Models/demo-clip`` (from the repository root)::

    python3 scripts/train_demo_clip.py --output Models/demo-clip --epochs 3 --seed 0 --threads 2

The same command with the same thread count reproduces the same weights bit for bit (checked
with ``--epochs 1`` twice; see docs/demo-model.md).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import importlib.util
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

SCRIPT_DIRECTORY = Path(__file__).resolve().parent
sys.path.insert(0, str(SCRIPT_DIRECTORY))

import demo_shifts  # noqa: E402

DATA_DIRECTORY = Path("/usr/share/datasets/fashion-mnist")

CLASS_NAMES = (
    "t-shirt", "pair of trousers", "pullover", "dress", "coat",
    "sandal", "shirt", "sneaker", "bag", "ankle boot",
)

TEMPLATES = (
    "a photo of a {}.",
    "a picture of a {}.",
    "a {} in a product photo.",
    "a grayscale photo of a {}.",
    "an image of a {}.",
    "a small photo of a {}.",
    "a low resolution photo of a {}.",
    "a photo of the {}.",
)

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

IMAGE_SIDE = 28
CONTEXT_LENGTH = 16
START_OF_TEXT = 49406
END_OF_TEXT = 49407
VOCABULARY_SIZE = 49408
MERGE_COUNT = 49152 - 256 - 2  # 48894
MAXIMUM_SHIFT_PIXELS = 2
LOGIT_SCALE_CAP = math.log(100.0)


# ----------------------------------------------------------------------------- arguments

def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, required=True, help="model directory to write")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2, help="torch threads (part of the reproducibility key)")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--weight-decay", type=float, default=0.05)
    parser.add_argument("--warmup-steps", type=int, default=100)
    parser.add_argument("--evaluate-only", action="store_true",
                        help="only re-evaluate the model already in --output (weights unchanged)")
    parser.add_argument("--train-limit", type=int, default=0, help="use only the first N training images (0: all)")
    return parser.parse_args()


# ----------------------------------------------------------------------------- data

def read_idx(path: Path) -> np.ndarray:
    """Read a gzipped IDX file (unsigned bytes) into an array of its declared shape."""
    with gzip.open(path, "rb") as handle:
        data = handle.read()
    magic = int.from_bytes(data[0:4], "big")
    if magic >> 8 != 0x08:
        raise ValueError(f"{path}: expected unsigned-byte IDX data, magic {magic:#x}")
    dimensions = magic & 0xFF
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dimensions))
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dimensions)
    if body.size != int(np.prod(shape)):
        raise ValueError(f"{path}: expected {np.prod(shape)} values, found {body.size}")
    return body.reshape(shape).copy()


def load_split(name: str) -> tuple[np.ndarray, np.ndarray]:
    images = read_idx(DATA_DIRECTORY / f"{name}-images-idx3-ubyte.gz")
    labels = read_idx(DATA_DIRECTORY / f"{name}-labels-idx1-ubyte.gz").astype(np.int64)
    return images, labels


def normalise_images(images_uint8, torch):
    """``uint8 [n, 28, 28]`` grey -> ``float32 [n, 3, 28, 28]`` RGB, CLIP mean/std."""
    x = torch.from_numpy(np.ascontiguousarray(images_uint8)).to(torch.float32) / 255.0
    x = x[:, None, :, :].expand(-1, 3, -1, -1)
    mean = torch.tensor(CLIP_MEAN, dtype=torch.float32)[None, :, None, None]
    std = torch.tensor(CLIP_STD, dtype=torch.float32)[None, :, None, None]
    return ((x - mean) / std).contiguous()


def shifted_batch(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random translation by up to 2 pixels in each direction, zero (background) fill."""
    count = len(images)
    pad = MAXIMUM_SHIFT_PIXELS
    padded = np.pad(images, ((0, 0), (pad, pad), (pad, pad)))
    offsets = rng.integers(0, 2 * pad + 1, size=(count, 2))
    out = np.empty_like(images)
    for i in range(count):
        r, c = offsets[i]
        out[i] = padded[i, r:r + IMAGE_SIDE, c:c + IMAGE_SIDE]
    return out


# ----------------------------------------------------------------------------- tokenizer

def open_clip_directory() -> Path:
    spec = importlib.util.find_spec("open_clip")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("open-clip-torch is not installed (pip install open-clip-torch)")
    return Path(list(spec.submodule_search_locations)[0])


def load_openai_tokenizer():
    """OpenAI's BPE tokenizer, loaded from open_clip/tokenizer.py by path (no torchvision needed)."""
    path = open_clip_directory() / "tokenizer.py"
    spec = importlib.util.spec_from_file_location("openai_clip_tokenizer", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.SimpleTokenizer(bpe_path=str(open_clip_directory() / "bpe_simple_vocab_16e6.txt.gz"))


def bytes_to_unicode() -> list[str]:
    """CLIP's reversible byte -> printable character table, in byte order of the table."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) \
        + list(range(ord("®"), ord("ÿ") + 1))
    codes = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            codes.append(256 + extra)
            extra += 1
    return [chr(code) for code in codes]


def write_vocabulary_files(directory: Path) -> tuple[dict, list]:
    """Derive Hugging Face ``vocab.json`` and ``merges.txt`` from OpenAI's merges list."""
    merges_path = open_clip_directory() / "bpe_simple_vocab_16e6.txt.gz"
    lines = gzip.open(merges_path).read().decode("utf-8").split("\n")
    merges = lines[1:1 + MERGE_COUNT]
    if len(merges) != MERGE_COUNT:
        raise ValueError(f"{merges_path}: expected {MERGE_COUNT} merges, found {len(merges)}")
    characters = bytes_to_unicode()
    tokens = characters + [c + "</w>" for c in characters]
    tokens += ["".join(merge.split()) for merge in merges]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    vocabulary = {token: index for index, token in enumerate(tokens)}
    if len(vocabulary) != VOCABULARY_SIZE:
        raise ValueError(f"vocabulary has {len(vocabulary)} distinct tokens, expected {VOCABULARY_SIZE}")
    with open(directory / "vocab.json", "w", encoding="utf-8") as handle:
        json.dump(vocabulary, handle, ensure_ascii=False)
    with open(directory / "merges.txt", "w", encoding="utf-8") as handle:
        handle.write("#version: 0.2\n")
        for merge in merges:
            handle.write(merge + "\n")
    return vocabulary, merges


def tokenize(tokenizer, texts: list[str]) -> np.ndarray:
    """``[SOT] tokens [EOT]`` zero-padded to CONTEXT_LENGTH (``int64 [texts, CONTEXT_LENGTH]``)."""
    out = np.zeros((len(texts), CONTEXT_LENGTH), dtype=np.int64)
    for row, text in enumerate(texts):
        ids = [START_OF_TEXT] + tokenizer.encode(text) + [END_OF_TEXT]
        if len(ids) > CONTEXT_LENGTH:
            raise ValueError(f"caption {text!r} needs {len(ids)} tokens, context is {CONTEXT_LENGTH}")
        out[row, :len(ids)] = ids
    return out


# ----------------------------------------------------------------------------- model

def build_config():
    from transformers import CLIPConfig

    text_config = dict(
        vocab_size=VOCABULARY_SIZE, hidden_size=64, intermediate_size=256, projection_dim=64,
        num_hidden_layers=2, num_attention_heads=4, max_position_embeddings=CONTEXT_LENGTH,
        hidden_act="quick_gelu", layer_norm_eps=1e-5,
        # eos_token_id 2 selects the pooling at argmax(input_ids), i.e. at the end-of-text token
        # (the largest id), exactly as OpenAI's CLIP.
        pad_token_id=0, bos_token_id=START_OF_TEXT, eos_token_id=2,
    )
    vision_config = dict(
        hidden_size=96, intermediate_size=384, projection_dim=64, num_hidden_layers=2,
        num_attention_heads=4, num_channels=3, image_size=IMAGE_SIDE, patch_size=4,
        hidden_act="quick_gelu", layer_norm_eps=1e-5,
    )
    return CLIPConfig(text_config=text_config, vision_config=vision_config, projection_dim=64,
                      logit_scale_init_value=math.log(1 / 0.07))


def encode_images(model, pixel_values, torch):
    embeds = model.get_image_features(pixel_values=pixel_values)
    if not torch.is_tensor(embeds):
        embeds = embeds.pooler_output
    return embeds


def encode_texts(model, input_ids, torch):
    embeds = model.get_text_features(input_ids=input_ids)
    if not torch.is_tensor(embeds):
        embeds = embeds.pooler_output
    return embeds


def contrastive_loss(image_embeds, text_embeds, labels, logit_scale, torch):
    """Symmetric InfoNCE over the batch; pairs of the same class count as positives.

    ``logits[i, j] = exp(logit_scale) * cos(image_i, text_j)``; the target of row i (and of
    column i) is uniform over the batch entries with the same class as i. With one caption
    per class and template in the batch this reduces to CLIP's loss when no two entries share
    a class; treating same-class pairs as negatives would contradict the captions.
    """
    functional = torch.nn.functional
    images = functional.normalize(image_embeds, dim=-1)
    texts = functional.normalize(text_embeds, dim=-1)
    logits = logit_scale.exp() * images @ texts.t()
    same = (labels[:, None] == labels[None, :]).to(logits.dtype)
    targets = same / same.sum(dim=1, keepdim=True)
    loss_images = -(targets * functional.log_softmax(logits, dim=1)).sum(dim=1).mean()
    loss_texts = -(targets * functional.log_softmax(logits.t(), dim=1)).sum(dim=1).mean()
    return (loss_images + loss_texts) / 2


# ----------------------------------------------------------------------------- evaluation

def class_embeddings(model, caption_ids: np.ndarray, torch) -> "torch.Tensor":
    """Template ensemble: normalised mean of normalised template embeddings, ``[classes, dim]``."""
    with torch.no_grad():
        embeds = encode_texts(model, torch.from_numpy(caption_ids), torch)
        embeds = torch.nn.functional.normalize(embeds, dim=-1)
        embeds = embeds.reshape(len(CLASS_NAMES), len(TEMPLATES), -1).mean(dim=1)
        return torch.nn.functional.normalize(embeds, dim=-1)


def zero_shot_accuracy(model, classifier, images_uint8: np.ndarray, labels: np.ndarray, torch,
                       batch: int = 1000) -> float:
    correct = 0
    with torch.no_grad():
        for start in range(0, len(images_uint8), batch):
            pixels = normalise_images(images_uint8[start:start + batch], torch)
            features = torch.nn.functional.normalize(encode_images(model, pixels, torch), dim=-1)
            logits = 100.0 * features @ classifier.t()
            predicted = logits.argmax(dim=1).numpy()
            correct += int((predicted == labels[start:start + batch]).sum())
    return correct / len(images_uint8)


def evaluate_shifts(model, classifier, test_images, test_labels, torch) -> dict:
    results = {}
    for name in demo_shifts.SHIFT_NAMES:
        shifted = demo_shifts.apply_shift(name, test_images)
        results[name] = zero_shot_accuracy(model, classifier, shifted, test_labels, torch)
    return results


# ----------------------------------------------------------------------------- saving

def write_preprocessor_config(directory: Path) -> None:
    config = {
        "crop_size": IMAGE_SIDE,
        "do_center_crop": True,
        "do_convert_rgb": True,
        "do_normalize": True,
        "do_rescale": True,
        "do_resize": True,
        "image_mean": list(CLIP_MEAN),
        "image_std": list(CLIP_STD),
        "image_processor_type": "CLIPImageProcessor",
        "resample": 3,
        "rescale_factor": 1 / 255,
        "size": {"shortest_edge": IMAGE_SIDE},
    }
    with open(directory / "preprocessor_config.json", "w", encoding="utf-8") as handle:
        json.dump(config, handle, indent=2)
        handle.write("\n")


def save_model_float16(model, directory: Path, torch) -> None:
    """Write ``config.json`` and ``model.safetensors`` (float16, standard CLIPModel key names)."""
    from safetensors.torch import save_file

    state = {name: tensor.detach().to(torch.float16).contiguous()
             for name, tensor in model.state_dict().items()
             if not name.endswith("position_ids")}
    save_file(state, str(directory / "model.safetensors"), metadata={"format": "pt"})
    config = model.config.to_dict()
    config["torch_dtype"] = "float16"
    config["dtype"] = "float16"
    with open(directory / "config.json", "w", encoding="utf-8") as handle:
        json.dump(config, handle, indent=2, sort_keys=True)
        handle.write("\n")


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ----------------------------------------------------------------------------- main

def main() -> None:
    arguments = parse_arguments()
    import torch
    import transformers
    from transformers import CLIPModel

    torch.set_num_threads(arguments.threads)
    torch.set_num_interop_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(arguments.seed)
    rng = np.random.default_rng(arguments.seed)

    output = arguments.output
    output.mkdir(parents=True, exist_ok=True)
    log_lines: list[str] = []

    def log(message: str) -> None:
        print(message, flush=True)
        log_lines.append(message)

    command = "python3 scripts/train_demo_clip.py " + " ".join(sys.argv[1:])
    log(f"command: {command}")
    log(f"seed {arguments.seed}, threads {arguments.threads}, batch {arguments.batch_size}, "
        f"lr {arguments.learning_rate}, weight decay {arguments.weight_decay}, warmup {arguments.warmup_steps}")
    log(f"python {platform.python_version()}, torch {torch.__version__}, transformers {transformers.__version__}, "
        f"numpy {np.__version__}, machine {platform.machine()}")

    # Vocabulary files and captions.
    vocabulary, _ = write_vocabulary_files(output)
    tokenizer = load_openai_tokenizer()
    if tokenizer.encoder != {t.replace("<|startoftext|>", "<start_of_text>").replace("<|endoftext|>", "<end_of_text>"): i
                             for t, i in vocabulary.items()}:
        raise RuntimeError("derived vocab.json disagrees with OpenAI's tokenizer table")
    captions = [template.format(name) for name in CLASS_NAMES for template in TEMPLATES]
    caption_ids = tokenize(tokenizer, captions)  # [classes * templates, context]
    longest = int((caption_ids != 0).sum(axis=1).max())
    log(f"captions: {len(captions)} ({len(CLASS_NAMES)} classes x {len(TEMPLATES)} templates), "
        f"longest {longest} tokens of context {CONTEXT_LENGTH}")

    # Data.
    train_images, train_labels = load_split("train")
    test_images, test_labels = load_split("t10k")
    if arguments.train_limit:
        train_images = train_images[:arguments.train_limit]
        train_labels = train_labels[:arguments.train_limit]
    log(f"train {train_images.shape}, test {test_images.shape}")

    # Model.
    model = CLIPModel(build_config())
    model.train()
    parameter_count = sum(p.numel() for p in model.parameters())
    log(f"parameters: {parameter_count}")

    # Pooling check: the text tower must pool at the end-of-text token (largest id).
    with torch.no_grad():
        ids = torch.from_numpy(caption_ids[:4])
        hidden = model.text_model(input_ids=ids)
        eot_positions = (ids == END_OF_TEXT).int().argmax(dim=1)
        expected = hidden.last_hidden_state[torch.arange(len(ids)), eot_positions]
        if not torch.equal(hidden.pooler_output, expected):
            raise RuntimeError("text pooling is not at the end-of-text token")

    decay, no_decay = [], []
    for name, parameter in model.named_parameters():
        if parameter.ndim >= 2 and "embedding" not in name:
            decay.append(parameter)
        else:
            no_decay.append(parameter)
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": arguments.weight_decay},
         {"params": no_decay, "weight_decay": 0.0}],
        lr=arguments.learning_rate, betas=(0.9, 0.98), eps=1e-6,
    )
    steps_per_epoch = len(train_images) // arguments.batch_size
    total_steps = steps_per_epoch * arguments.epochs

    def learning_rate_at(step: int) -> float:
        if step < arguments.warmup_steps:
            return arguments.learning_rate * (step + 1) / arguments.warmup_steps
        progress = (step - arguments.warmup_steps) / max(1, total_steps - arguments.warmup_steps)
        return arguments.learning_rate * 0.5 * (1 + math.cos(math.pi * progress))

    all_caption_ids = torch.from_numpy(caption_ids)
    step = 0
    start_time = time.time()
    for epoch in range(arguments.epochs):
        order = rng.permutation(len(train_images))
        running_loss = 0.0
        for batch_index in range(steps_per_epoch):
            indices = order[batch_index * arguments.batch_size:(batch_index + 1) * arguments.batch_size]
            batch_labels = train_labels[indices]
            template_choice = rng.integers(0, len(TEMPLATES), size=len(indices))
            pixels = normalise_images(shifted_batch(train_images[indices], rng), torch)
            for group in optimizer.param_groups:
                group["lr"] = learning_rate_at(step)
            # Every caption is encoded once per step; each sample takes the row of its caption.
            caption_embeds = encode_texts(model, all_caption_ids, torch)
            text_embeds = caption_embeds[torch.from_numpy(batch_labels * len(TEMPLATES) + template_choice)]
            image_embeds = encode_images(model, pixels, torch)
            loss = contrastive_loss(image_embeds, text_embeds, torch.from_numpy(batch_labels),
                                    model.logit_scale, torch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                model.logit_scale.clamp_(0, LOGIT_SCALE_CAP)
            running_loss += float(loss.detach())
            step += 1
            if step % 50 == 0:
                print(f"  step {step}/{total_steps} loss {float(loss.detach()):.4f} "
                      f"scale {float(model.logit_scale.detach().exp()):.1f} {time.time() - start_time:.0f}s", flush=True)
        model.eval()
        classifier = class_embeddings(model, caption_ids, torch)
        clean_accuracy = zero_shot_accuracy(model, classifier, test_images, test_labels, torch)
        model.train()
        log(f"epoch {epoch + 1}: mean loss {running_loss / steps_per_epoch:.4f}, "
            f"logit scale {float(model.logit_scale.detach().exp()):.2f}, clean zero-shot {clean_accuracy:.4f}, "
            f"elapsed {time.time() - start_time:.0f}s")

    # Save as float16, then evaluate the saved weights (what other implementations load).
    save_model_float16(model, output, torch)
    write_preprocessor_config(output)
    log(f"training time {time.time() - start_time:.0f}s")
    evaluate_saved_model(output, caption_ids, test_images, test_labels, command, arguments.seed, log, torch)
    with open(output / "training_log.txt", "w", encoding="utf-8") as handle:
        handle.write("\n".join(log_lines) + "\n")


EVALUATION_HEADER = "zero-shot top-1 on the test split"


def evaluate_saved_model(output: Path, caption_ids: np.ndarray, test_images: np.ndarray,
                         test_labels: np.ndarray, command: str, seed: int, log, torch) -> None:
    """Zero-shot accuracy of the saved model per shift; writes ``demo_reference.json``."""
    import transformers
    from transformers import CLIPModel

    started = time.time()
    model = CLIPModel.from_pretrained(str(output), dtype=torch.float32)
    model.eval()
    classifier = class_embeddings(model, caption_ids, torch)
    accuracies = evaluate_shifts(model, classifier, test_images, test_labels, torch)
    log(f"{EVALUATION_HEADER} (saved float16 weights loaded as float32, template ensemble, logits 100 cos):")
    for name, accuracy in accuracies.items():
        log(f"  {name:20s} {accuracy:.4f}")
    model_digest = sha256_of(output / "model.safetensors")
    log(f"model.safetensors sha256 {model_digest}")
    log(f"evaluation time {time.time() - started:.0f}s")

    reference = {
        "description": "Zero-shot top-1 accuracy of this model on the Fashion-MNIST test split "
                       "(10000 images) under each shift of scripts/demo_shifts.py; class embedding = "
                       "normalised mean of the normalised template embeddings, logits 100 * cos, computed "
                       "with transformers from the saved float16 weights loaded as float32.",
        "command": command,
        "seed": seed,
        "class_names": list(CLASS_NAMES),
        "templates": list(TEMPLATES),
        "context_length": CONTEXT_LENGTH,
        "test_images": int(len(test_images)),
        "zero_shot_accuracy": {name: round(value, 4) for name, value in accuracies.items()},
        "shifted_image_sha256_first_64": demo_shifts.reference_digests(test_images),
        "caption_token_ids_first_template": {
            name: [int(t) for t in caption_ids[index * len(TEMPLATES)]] for index, name in enumerate(CLASS_NAMES)
        },
        "model_sha256": model_digest,
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__, "numpy": np.__version__},
    }
    with open(output / "demo_reference.json", "w", encoding="utf-8") as handle:
        json.dump(reference, handle, indent=2)
        handle.write("\n")


def evaluate_only(arguments: argparse.Namespace) -> None:
    """Re-run the evaluation of an already trained model directory (weights unchanged)."""
    import torch

    torch.set_num_threads(arguments.threads)
    torch.use_deterministic_algorithms(True)
    output = arguments.output
    log_path = output / "training_log.txt"
    previous = log_path.read_text(encoding="utf-8").splitlines()
    if not previous or not previous[0].startswith("command: "):
        raise RuntimeError(f"{log_path}: expected the training command on the first line")
    training_command = previous[0][len("command: "):]
    cut = next((i for i, line in enumerate(previous) if line.startswith(EVALUATION_HEADER)), len(previous))
    log_lines = previous[:cut]

    def log(message: str) -> None:
        print(message, flush=True)
        log_lines.append(message)

    log("evaluation command: python3 scripts/train_demo_clip.py " + " ".join(sys.argv[1:]))
    tokenizer = load_openai_tokenizer()
    caption_ids = tokenize(tokenizer, [template.format(name) for name in CLASS_NAMES for template in TEMPLATES])
    test_images, test_labels = load_split("t10k")
    seed = int(training_command.split("--seed")[1].split()[0]) if "--seed" in training_command else arguments.seed
    evaluate_saved_model(output, caption_ids, test_images, test_labels, training_command, seed, log, torch)
    with open(log_path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(log_lines) + "\n")


if __name__ == "__main__":
    if "--evaluate-only" in sys.argv:
        evaluate_only(parse_arguments())
    else:
        main()
