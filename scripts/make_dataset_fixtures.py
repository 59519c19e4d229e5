#!/usr/bin/env python3
"""Writes the dataset fixtures of Tests/ExperimentsTests.

Fixtures/datasets/ is a tiny data root laid out as CoOp's dataset code expects (one folder
per dataset, 1x1 PNG images), plus generic image folders and IDX files. Next to it,
Fixtures/datasets_expected.json lists, for each dataset and split, the class names and the
items (path relative to the data root, label) that a reader must produce, computed here
from what was written, following CoOp's reading rules:

- split_zhou_*.json: image path = image folder + relative path; class names by label.
- FGVC Aircraft: variants.txt gives class order; images_variant_<split>.txt lines
  "<id> <variant>"; image = images/<id>.jpg.
- ImageNet: labels follow classnames.txt (WordNet ids sorted); val is also the test split.
- ImageNet-V2: folder names are label indices; -Sketch: all classes; -A / -R: the WordNet ids
  present, in ImageNet order.
- Generic folders: classes sorted; single layout split with SplitMix64-seeded Fisher-Yates.
- IDX: big-endian magic 0x00000803 / 0x00000801, written raw and gzipped.

Run from the repository root: python3 scripts/make_dataset_fixtures.py
"""
import gzip
import json
import os
import shutil
import struct

from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "Tests", "ExperimentsTests", "Fixtures")
ROOT = os.path.join(FIXTURES, "datasets")
EXPECTED = {}
MASK64 = (1 << 64) - 1


def image(relative, color=(200, 30, 30)):
    path = os.path.join(ROOT, relative)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fmt = "JPEG" if relative.lower().endswith((".jpg", ".jpeg")) else "PNG"
    Image.new("RGB", (1, 1), color).save(path, format=fmt)


def text(relative, content):
    path = os.path.join(ROOT, relative)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(content)


def record(dataset, split, class_names, items):
    EXPECTED.setdefault(dataset, {})[split] = {
        "class_names": class_names,
        "items": [[path, label] for path, label in items],
    }


# ---------------------------------------------------------------- CoOp split-file datasets

COOP = [
    # name, dataset folder, image folder, split file, classes
    ("Caltech101", "caltech-101", "101_ObjectCategories", "split_zhou_Caltech101.json", ["face", "leopard", "motorbike"]),
    ("OxfordPets", "oxford_pets", "images", "split_zhou_OxfordPets.json", ["abyssinian", "american_bulldog", "beagle"]),
    ("StanfordCars", "stanford_cars", "", "split_zhou_StanfordCars.json", ["2000 AM General Hummer SUV", "2012 Acura RL Sedan"]),
    ("Flowers102", "oxford_flowers", "jpg", "split_zhou_OxfordFlowers.json", ["pink primrose", "hard-leaved pocket orchid"]),
    ("Food101", "food-101", "images", "split_zhou_Food101.json", ["apple_pie", "baby_back_ribs"]),
    ("SUN397", "sun397", "SUN397", "split_zhou_SUN397.json", ["abbey", "airplane cabin"]),
    ("DTD", "dtd", "images", "split_zhou_DescribableTextures.json", ["banded", "blotchy"]),
    ("EuroSAT", "eurosat", "2750", "split_zhou_EuroSAT.json", ["Annual Crop Land", "Forest"]),
    ("UCF101", "ucf101", "UCF-101-midframes", "split_zhou_UCF101.json", ["Apply_Eye_Makeup", "Archery"]),
]

for name, folder, image_folder, split_file, classes in COOP:
    split = {"train": [], "val": [], "test": []}
    counts = {"train": 3, "val": 1, "test": 2}
    for split_name, count in counts.items():
        items = []
        for label, class_name in enumerate(classes):
            for index in range(count):
                if name == "StanfordCars":
                    relative = f"cars_{'test' if split_name == 'test' else 'train'}/{split_name}_{label}_{index:05d}.jpg"
                else:
                    relative = f"{class_name.replace(' ', '_')}/{split_name}_{index:04d}.png"
                split[split_name].append([relative, label, class_name])
                on_disk = os.path.join(folder, image_folder, relative) if image_folder else os.path.join(folder, relative)
                image(on_disk)
                items.append((on_disk, label))
        record(name, split_name, classes, items)
    text(os.path.join(folder, split_file), json.dumps(split, indent=1))

# FGVC Aircraft: its own list files.
variants = ["707-320", "A300B4", "Cessna 172"]
text("fgvc_aircraft/variants.txt", "\n".join(variants) + "\n")
for split_name, count in {"train": 2, "val": 1, "test": 2}.items():
    lines, items = [], []
    for label, variant in enumerate(variants):
        for index in range(count):
            image_id = f"{1000000 + 100 * label + 10 * ['train', 'val', 'test'].index(split_name) + index}"
            lines.append(f"{image_id} {variant}")
            image(f"fgvc_aircraft/images/{image_id}.jpg")
            items.append((f"fgvc_aircraft/images/{image_id}.jpg", label))
    text(f"fgvc_aircraft/images_variant_{split_name}.txt", "\n".join(lines) + "\n")
    record("FGVCAircraft", split_name, variants, items)

# ---------------------------------------------------------------- ImageNet and variants

wnids = ["n01440764", "n01443537", "n01484850"]
names = ["tench", "goldfish", "great white shark"]
classnames_txt = "".join(f"{w} {n}\n" for w, n in zip(wnids, names))
text("imagenet/classnames.txt", classnames_txt)
for split_dir, count in {"train": 3, "val": 2}.items():
    items = []
    for label, wnid in enumerate(wnids):
        for index in range(count):
            relative = f"imagenet/images/{split_dir}/{wnid}/{wnid}_{index}.JPEG"
            image(relative)
            items.append((relative, label))
    if split_dir == "train":
        record("ImageNet", "train", names, items)
    else:
        record("ImageNet", "val", names, items)
        record("ImageNet", "test", names, items)

# ImageNet-V2: folders named by label index.
text("imagenetv2/classnames.txt", classnames_txt)
items = []
for label in range(3):
    for index in range(2):
        relative = f"imagenetv2/imagenetv2-matched-frequency-format-val/{label}/{index}abc.jpeg"
        image(relative)
        items.append((relative, label))
record("ImageNetV2", "test", names, items)

# ImageNet-Sketch: all classes.
text("imagenet-sketch/classnames.txt", classnames_txt)
items = []
for label, wnid in enumerate(wnids):
    relative = f"imagenet-sketch/images/{wnid}/sketch_{label}.JPEG"
    image(relative)
    items.append((relative, label))
record("ImageNetSketch", "test", names, items)

# ImageNet-A: a subset (classes 0 and 2), a README.txt beside the folders.
text("imagenet-adversarial/classnames.txt", classnames_txt)
text("imagenet-adversarial/imagenet-a/README.txt", "not a class\n")
items = []
for label, class_index in enumerate([0, 2]):
    relative = f"imagenet-adversarial/imagenet-a/{wnids[class_index]}/0.000_adv.jpg"
    image(relative)
    items.append((relative, label))
record("ImageNetA", "test", [names[0], names[2]], items)

# ImageNet-R: a subset (classes 1 and 2), no classnames.txt of its own (ImageNet's is used).
items = []
for label, class_index in enumerate([1, 2]):
    for index in range(2):
        relative = f"imagenet-rendition/imagenet-r/{wnids[class_index]}/art_{index}.jpg"
        image(relative)
        items.append((relative, label))
record("ImageNetR", "test", [names[1], names[2]], items)

# ---------------------------------------------------------------- generic image folders

folder_classes = ["cat", "golden_retriever", "zebra"]
for split_name, count in {"train": 2, "test": 1}.items():
    items = []
    for label, class_name in enumerate(folder_classes):
        for index in range(count):
            ext = ["png", "JPG", "jpeg"][index % 3]
            relative = f"folder_split/{split_name}/{class_name}/img{index}.{ext}"
            image(relative)
            items.append((relative, label))
    record("folder_split", split_name, folder_classes, items)
text("folder_split/train/cat/notes.txt", "not an image\n")


def splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return state, z ^ (z >> 31)


def assign(count, test_fraction, val_fraction, seed, label):
    state = (seed * 0x100000001B3 + label) & MASK64
    order = list(range(count))
    for index in range(count - 1, 0, -1):
        state, value = splitmix64(state)
        other = value % (index + 1)
        order[index], order[other] = order[other], order[index]
    # Round half away from zero, as Swift's rounded().
    def round_half_away(x):
        return int(x + 0.5) if x >= 0 else -int(-x + 0.5)
    test_count = round_half_away(test_fraction * count)
    val_count = round_half_away(val_fraction * count)
    if test_fraction > 0 and count >= 2:
        test_count = max(test_count, 1)
    test_count = min(test_count, max(count - 1, 0))
    val_count = min(val_count, max(count - 1 - test_count, 0))
    result = ["train"] * count
    for position, file_index in enumerate(order):
        if position < test_count:
            result[file_index] = "test"
        elif position < test_count + val_count:
            result[file_index] = "val"
    return result


single_classes = ["apple", "banana"]
file_counts = [7, 5]
for label, class_name in enumerate(single_classes):
    for index in range(file_counts[label]):
        image(f"folder_single/{class_name}/{index:02d}.png")
test_fraction, val_fraction, seed = 0.3, 0.2, 7
by_split = {"train": [], "val": [], "test": []}
for label, class_name in enumerate(single_classes):
    files = sorted(f"{index:02d}.png" for index in range(file_counts[label]))
    splits = assign(len(files), test_fraction, val_fraction, seed, label)
    for file, split_name in zip(files, splits):
        by_split[split_name].append((f"folder_single/{class_name}/{file}", label))
for split_name, items in by_split.items():
    record("folder_single", split_name, single_classes, items)
EXPECTED["folder_single"]["parameters"] = {"test_fraction": test_fraction, "val_fraction": val_fraction, "seed": seed}

# ---------------------------------------------------------------- IDX

def idx_bytes(magic, dims, values):
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims) + bytes(values)


idx_dir = os.path.join(ROOT, "idx")
os.makedirs(idx_dir, exist_ok=True)
idx_expected = {}
for split_name, prefix, count in [("train", "train", 6), ("test", "t10k", 4)]:
    rows, cols = 3, 4
    pixels = [(7 * i + 13 * (split_name == "test")) % 256 for i in range(count * rows * cols)]
    labels = [(i * 3 + 1) % 5 for i in range(count)]
    images_data = idx_bytes(0x00000803, [count, rows, cols], pixels)
    labels_data = idx_bytes(0x00000801, [count], labels)
    # Gzipped in idx/, raw in idx_raw/.
    # mtime=0 and no file name in the header keep the output byte-for-byte reproducible.
    for name, data in [(f"{prefix}-images-idx3-ubyte.gz", images_data), (f"{prefix}-labels-idx1-ubyte.gz", labels_data)]:
        with open(os.path.join(idx_dir, name), "wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as f:
            f.write(data)
    os.makedirs(os.path.join(ROOT, "idx_raw"), exist_ok=True)
    with open(os.path.join(ROOT, "idx_raw", f"{prefix}-images-idx3-ubyte"), "wb") as f:
        f.write(images_data)
    with open(os.path.join(ROOT, "idx_raw", f"{prefix}-labels-idx1-ubyte"), "wb") as f:
        f.write(labels_data)
    idx_expected[split_name] = {"rows": rows, "columns": cols, "labels": labels,
                                "pixels": [pixels[i * rows * cols:(i + 1) * rows * cols] for i in range(count)]}
idx_expected["class_names"] = ["zero", "one", "two", "three", "four"]
EXPECTED["idx"] = idx_expected

# The real Fashion-MNIST test set, if installed: facts for the test to compare with.
fashion = "/usr/share/datasets/fashion-mnist"
if os.path.exists(os.path.join(fashion, "t10k-labels-idx1-ubyte.gz")):
    with gzip.open(os.path.join(fashion, "t10k-labels-idx1-ubyte.gz")) as f:
        raw_labels = f.read()[8:]
    with gzip.open(os.path.join(fashion, "t10k-images-idx3-ubyte.gz")) as f:
        raw_images = f.read()[16:]
    EXPECTED["fashion_mnist_test"] = {
        "count": len(raw_labels),
        "histogram": [raw_labels.count(bytes([c])) for c in range(10)],
        "first_labels": list(raw_labels[:20]),
        "first_image_pixel_sum": sum(raw_images[:784]),
        "last_image_pixel_sum": sum(raw_images[-784:]),
        "first_image_row_14": list(raw_images[14 * 28:15 * 28]),
    }

with open(os.path.join(FIXTURES, "datasets_expected.json"), "w") as f:
    json.dump(EXPECTED, f, indent=1, sort_keys=True)
    f.write("\n")
