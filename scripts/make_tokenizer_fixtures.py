#!/usr/bin/env python3
"""Writes the reference fixtures for the CLIP tokenizer tests, and the HTML entity table.

Outputs (paths relative to the repository root):

- Tests/CLIPEncoderTests/Fixtures/tokenizer/corpus.json: strings with the token ids that
  OpenAI's CLIP tokenizer gives them (`[SOT] tokens [EOT]`, zero-padded to 77 by the reference;
  stored without the padding zeros).
- Tests/CLIPEncoderTests/Fixtures/tokenizer/bpe_simple_vocab_16e6.txt.gz: the merges file
  (MIT-licensed data), copied from the installed open_clip package.
- Sources/CLIPEncoder/Tokenizer/HTMLEntityTable.swift: the HTML5 named character references
  and the numeric-reference replacement table (WHATWG data, as Python's `html` module has it),
  which the Swift text cleaner needs to unescape HTML exactly like the reference.

The reference is OpenAI's `simple_tokenizer.py` (the `clip` package). It is not installed
here; open_clip ships a copy as `open_clip/tokenizer.py`, loaded by file path because
`import open_clip` needs torchvision. That copy differs from OpenAI's in three ways, which
this script undoes so the ids are OpenAI's:

1. its special tokens are spelled `<start_of_text>` / `<end_of_text>` (OpenAI:
   `<|startoftext|>` / `<|endoftext|>`), which changes how those literal strings in the
   input are split;
2. its whitespace cleaning is `" ".join(text.split())` (OpenAI: `regex.sub(r"\\s+", " ", text)`
   then `strip()`), which differ on U+001C..U+001F;
3. it always truncates over-long input (OpenAI raises unless `truncate=True`).

The script prints how many corpus strings the unmodified open_clip copy and transformers'
`CLIPTokenizer` (built from the same merges) tokenise differently (informational).

Run: python3 scripts/make_tokenizer_fixtures.py   (needs torch, ftfy, regex, open_clip, transformers)
"""

import gzip
import html
import html.entities
import importlib.util
import json
import os
import random
import shutil
import site
import sys
import tempfile

import ftfy
import regex

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "Tests", "CLIPEncoderTests", "Fixtures", "tokenizer")
ENTITY_SWIFT = os.path.join(ROOT, "Sources", "CLIPEncoder", "Tokenizer", "HTMLEntityTable.swift")
CONTEXT_LENGTH = 77


def find_open_clip_dir():
    for base in site.getsitepackages() + [site.getusersitepackages()]:
        candidate = os.path.join(base, "open_clip")
        if os.path.exists(os.path.join(candidate, "tokenizer.py")):
            return candidate
    sys.exit("open_clip/tokenizer.py not found in site-packages")


def load_module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------------------------------------
# The reference tokenizer: open_clip's SimpleTokenizer with OpenAI's special tokens and cleaning.
# ---------------------------------------------------------------------------------------------

OPENAI_PATTERN = (
    r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""
)


class OpenAIReference:
    """OpenAI's CLIP tokenizer, assembled from open_clip's copy (see the module docstring)."""

    def __init__(self, module, bpe_path, fix_encoding=True):
        self.module = module
        self.tokenizer = module.SimpleTokenizer(bpe_path)
        tokenizer = self.tokenizer
        # 1. OpenAI's special tokens: same ids (49406, 49407), OpenAI's spelling.
        for old, new in (("<start_of_text>", "<|startoftext|>"), ("<end_of_text>", "<|endoftext|>")):
            token_id = tokenizer.encoder.pop(old)
            tokenizer.encoder[new] = token_id
            tokenizer.decoder[token_id] = new
        tokenizer.cache = {"<|startoftext|>": "<|startoftext|>", "<|endoftext|>": "<|endoftext|>"}
        tokenizer.pat = regex.compile(OPENAI_PATTERN, regex.IGNORECASE)
        # 2. OpenAI's cleaning (optionally without ftfy's mojibake repair).
        self.fix_encoding = fix_encoding
        tokenizer.clean_fn = self.clean
        self.sot = tokenizer.sot_token_id
        self.eot = tokenizer.eot_token_id

    def clean(self, text):
        text = ftfy.fix_text(text, fix_encoding=self.fix_encoding)
        text = html.unescape(html.unescape(text))
        text = text.strip()
        text = regex.sub(r"\s+", " ", text).strip()
        return text.lower()

    def encode(self, text):
        return self.tokenizer.encode(text)

    def tokenize(self, text, truncate):
        """OpenAI's `clip.tokenize` for one string: a padded list, or ValueError when too long."""
        tokens = [self.sot] + self.encode(text) + [self.eot]
        if len(tokens) > CONTEXT_LENGTH:
            if not truncate:
                raise ValueError(f"Input {text} is too long for context length {CONTEXT_LENGTH}")
            tokens = tokens[:CONTEXT_LENGTH]
            tokens[-1] = self.eot
        return tokens + [0] * (CONTEXT_LENGTH - len(tokens))


# ---------------------------------------------------------------------------------------------
# The corpus.
# ---------------------------------------------------------------------------------------------

OXFORD_PETS = [
    "Abyssinian", "american bulldog", "american pit bull terrier", "basset hound", "beagle",
    "Bengal", "Birman", "Bombay", "boxer", "British Shorthair", "chihuahua", "Egyptian Mau",
    "english cocker spaniel", "english setter", "german shorthaired", "great pyrenees",
    "havanese", "japanese chin", "keeshond", "leonberger", "Maine Coon", "miniature pinscher",
    "newfoundland", "Persian", "pomeranian", "pug", "Ragdoll", "Russian Blue", "saint bernard",
    "samoyed", "scottish terrier", "shiba inu", "Siamese", "Sphynx", "staffordshire bull terrier",
    "wheaten terrier", "yorkshire terrier",
]

DTD = [
    "banded", "blotchy", "braided", "bubbly", "bumpy", "chequered", "cobwebbed", "cracked",
    "crosshatched", "crystalline", "dotted", "fibrous", "flecked", "freckled", "frilly", "gauzy",
    "grid", "grooved", "honeycombed", "interlaced", "knitted", "lacelike", "lined", "marbled",
    "matted", "meshed", "paisley", "perforated", "pitted", "pleated", "polka-dotted", "porous",
    "potholed", "scaly", "smeared", "spiralled", "sprinkled", "stained", "stratified", "striped",
    "studded", "swirly", "veined", "waffled", "woven", "wrinkled", "zigzagged",
]

EUROSAT = [
    "Annual Crop Land", "Forest", "Herbaceous Vegetation Land", "Highway or Road",
    "Industrial Buildings", "Pasture Land", "Permanent Crop Land", "Residential Buildings",
    "River", "Sea or Lake",
]

FLOWERS = [
    "pink primrose", "hard-leaved pocket orchid", "canterbury bells", "sweet pea",
    "english marigold", "tiger lily", "moon orchid", "bird of paradise", "monkshood",
    "globe thistle", "snapdragon", "colt's foot", "king protea", "spear thistle", "yellow iris",
    "globe-flower", "purple coneflower", "peruvian lily", "balloon flower",
    "giant white arum lily", "fire lily", "pincushion flower", "fritillary", "red ginger",
    "grape hyacinth", "corn poppy", "prince of wales feathers", "stemless gentian", "artichoke",
    "sweet william", "carnation", "garden phlox", "love in the mist", "mexican aster",
    "alpine sea holly", "ruby-lipped cattleya", "cape flower", "great masterwort", "siam tulip",
    "lenten rose", "barbeton daisy", "daffodil", "sword lily", "poinsettia", "bolero deep blue",
    "wallflower", "marigold", "buttercup", "oxeye daisy", "common dandelion", "petunia",
    "wild pansy", "primula", "sunflower", "pelargonium", "bishop of llandaff", "gaura",
    "geranium", "orange dahlia", "pink-yellow dahlia?", "cautleya spicata", "japanese anemone",
    "black-eyed susan", "silverbush", "californian poppy", "osteospermum", "spring crocus",
    "bearded iris", "windflower", "tree poppy", "gazania", "azalea", "water lily", "rose",
    "thorn apple", "morning glory", "passion flower", "lotus", "toad lily", "anthurium",
    "frangipani", "clematis", "hibiscus", "columbine", "desert-rose", "tree mallow", "magnolia",
    "cyclamen", "watercress", "canna lily", "hippeastrum", "bee balm", "ball moss", "foxglove",
    "bougainvillea", "camellia", "mallow", "mexican petunia", "bromelia", "blanket flower",
    "trumpet creeper", "blackberry lily",
]

FOOD = [
    "apple pie", "baby back ribs", "baklava", "beef carpaccio", "beef tartare", "beet salad",
    "beignets", "bibimbap", "bread pudding", "breakfast burrito", "bruschetta", "caesar salad",
    "cannoli", "caprese salad", "carrot cake", "ceviche", "cheese plate", "cheesecake",
    "chicken curry", "chicken quesadilla", "chicken wings", "chocolate cake", "chocolate mousse",
    "churros", "clam chowder", "club sandwich", "crab cakes", "creme brulee", "croque madame",
    "cup cakes", "deviled eggs", "donuts", "dumplings", "edamame", "eggs benedict", "escargots",
    "falafel", "filet mignon", "fish and chips", "foie gras", "french fries",
    "french onion soup", "french toast", "fried calamari", "fried rice", "frozen yogurt",
    "garlic bread", "gnocchi", "greek salad", "grilled cheese sandwich", "grilled salmon",
    "guacamole", "gyoza", "hamburger", "hot and sour soup", "hot dog", "huevos rancheros",
    "hummus", "ice cream", "lasagna", "lobster bisque", "lobster roll sandwich",
    "macaroni and cheese", "macarons", "miso soup", "mussels", "nachos", "omelette",
    "onion rings", "oysters", "pad thai", "paella", "pancakes", "panna cotta", "peking duck",
    "pho", "pizza", "pork chop", "poutine", "prime rib", "pulled pork sandwich", "ramen",
    "ravioli", "red velvet cake", "risotto", "samosa", "sashimi", "scallops", "seaweed salad",
    "shrimp and grits", "spaghetti bolognese", "spaghetti carbonara", "spring rolls", "steak",
    "strawberry shortcake", "sushi", "tacos", "takoyaki", "tiramisu", "tuna tartare", "waffles",
]

CALTECH = [
    "face", "leopard", "motorbike", "accordion", "airplane", "anchor", "ant", "barrel", "bass",
    "beaver", "binocular", "bonsai", "brain", "brontosaurus", "buddha", "butterfly", "camera",
    "cannon", "car side", "ceiling fan", "cellphone", "chair", "chandelier", "cougar body",
    "cougar face", "crab", "crayfish", "crocodile", "crocodile head", "cup", "dalmatian",
    "dollar bill", "dolphin", "dragonfly", "electric guitar", "elephant", "emu", "euphonium",
    "ewer", "ferry", "flamingo", "flamingo head", "garfield", "gerenuk", "gramophone",
    "grand piano", "hawksbill", "headphone", "hedgehog", "helicopter", "ibis", "inline skate",
    "joshua tree", "kangaroo", "ketch", "lamp", "laptop", "llama", "lobster", "lotus", "mandolin",
    "mayfly", "menorah", "metronome", "minaret", "nautilus", "octopus", "okapi", "pagoda",
    "panda", "pigeon", "pizza", "platypus", "pyramid", "revolver", "rhino", "rooster",
    "saxophone", "schooner", "scissors", "scorpion", "sea horse", "snoopy", "soccer ball",
    "stapler", "starfish", "stegosaurus", "stop sign", "strawberry", "sunflower", "tick",
    "trilobite", "umbrella", "watch", "water lilly", "wheelchair", "wild cat", "windsor chair",
    "wrench", "yin yang",
]

UCF = [
    "Apply_Eye_Makeup", "Apply_Lipstick", "Archery", "Baby_Crawling", "Balance_Beam",
    "Band_Marching", "Baseball_Pitch", "Basketball", "Basketball_Dunk", "Bench_Press", "Biking",
    "Billiards", "Blow_Dry_Hair", "Blowing_Candles", "Body_Weight_Squats", "Bowling",
    "Boxing_Punching_Bag", "Boxing_Speed_Bag", "Breast_Stroke", "Brushing_Teeth",
    "Clean_And_Jerk", "Cliff_Diving", "Cricket_Bowling", "Cricket_Shot", "Cutting_In_Kitchen",
    "Diving", "Drumming", "Fencing", "Field_Hockey_Penalty", "Floor_Gymnastics",
    "Frisbee_Catch", "Front_Crawl", "Golf_Swing", "Haircut", "Hammer_Throw", "Hammering",
    "Handstand_Pushups", "Handstand_Walking", "Head_Massage", "High_Jump", "Horse_Race",
    "Horse_Riding", "Hula_Hoop", "Ice_Dancing", "Javelin_Throw", "Juggling_Balls", "Jump_Rope",
    "Jumping_Jack", "Kayaking", "Knitting", "Long_Jump", "Lunges", "Military_Parade", "Mixing",
    "Mopping_Floor", "Nunchucks", "Parallel_Bars", "Pizza_Tossing", "Playing_Cello",
    "Playing_Daf", "Playing_Dhol", "Playing_Flute", "Playing_Guitar", "Playing_Piano",
    "Playing_Sitar", "Playing_Tabla", "Playing_Violin", "Pole_Vault", "Pommel_Horse",
    "Pull_Ups", "Punch", "Push_Ups", "Rafting", "Rock_Climbing_Indoor", "Rope_Climbing",
    "Rowing", "Salsa_Spin", "Shaving_Beard", "Skiing", "Skijet", "Sky_Diving",
    "Soccer_Juggling", "Soccer_Penalty", "Still_Rings", "Sumo_Wrestling", "Surfing", "Swing",
    "Table_Tennis_Shot", "Tai_Chi", "Tennis_Swing", "Throw_Discus", "Trampoline_Jumping",
    "Typing", "Uneven_Bars", "Volleyball_Spiking", "Walking_With_Dog", "Wall_Pushups",
    "Writing_On_Board", "Yo_Yo",
]

AIRCRAFT = [
    "707-320", "727-200", "737-200", "737-300", "737-400", "737-500", "737-600", "737-700",
    "737-800", "737-900", "747-100", "747-200", "747-300", "747-400", "757-200", "757-300",
    "767-200", "767-300", "767-400", "777-200", "777-300", "A300B4", "A310", "A318", "A319",
    "A320", "A321", "A330-200", "A330-300", "A340-200", "A340-300", "A340-500", "A340-600",
    "A380", "ATR-42", "ATR-72", "An-12", "BAE 146-200", "BAE 146-300", "BAE-125", "Beechcraft 1900",
    "Boeing 717", "C-130", "C-47", "CRJ-200", "CRJ-700", "CRJ-900", "Cessna 172", "Cessna 208",
    "Cessna 525", "Cessna 560", "Challenger 600", "DC-10", "DC-3", "DC-6", "DC-8", "DC-9-30",
    "DH-82", "DHC-1", "DHC-6", "DHC-8-100", "DHC-8-300", "DR-400", "Dornier 328", "E-170",
    "E-190", "E-195", "EMB-120", "ERJ 135", "ERJ 145", "Embraer Legacy 600", "Eurofighter Typhoon",
    "F-16A/B", "F/A-18", "Falcon 2000", "Falcon 900", "Fokker 100", "Fokker 50", "Fokker 70",
    "Global Express", "Gulfstream IV", "Gulfstream V", "Hawk T1", "Il-76", "L-1011", "MD-11",
    "MD-80", "MD-87", "MD-90", "Metroliner", "Model B200", "PA-28", "SR-20", "Saab 2000",
    "Saab 340", "Spitfire", "Tornado", "Tu-134", "Tu-154", "Yak-42",
]

STANFORD_CARS = [
    "AM General Hummer SUV 2000", "Acura RL Sedan 2012", "Acura TL Sedan 2012",
    "Acura TL Type-S 2008", "Acura TSX Sedan 2012", "Acura Integra Type R 2001",
    "Acura ZDX Hatchback 2012", "Aston Martin V8 Vantage Convertible 2012",
    "Aston Martin V8 Vantage Coupe 2012", "Aston Martin Virage Convertible 2012",
    "Audi RS 4 Convertible 2008", "Audi A5 Coupe 2012", "Audi TTS Coupe 2012",
    "Audi R8 Coupe 2012", "Audi V8 Sedan 1994", "Audi 100 Sedan 1994", "Audi S6 Sedan 2011",
    "BMW ActiveHybrid 5 Sedan 2012", "BMW 1 Series Convertible 2012", "BMW M3 Coupe 2012",
    "BMW X5 SUV 2007", "BMW Z4 Convertible 2012", "Bentley Continental GT Coupe 2007",
    "Bugatti Veyron 16.4 Convertible 2009", "Buick Regal GS 2012", "Cadillac SRX SUV 2012",
    "Chevrolet Corvette ZR1 2012", "Chevrolet Silverado 1500 Hybrid Crew Cab 2012",
    "Chrysler PT Cruiser Convertible 2008", "Dodge Ram Pickup 3500 Crew Cab 2010",
    "Eagle Talon Hatchback 1998", "FIAT 500 Abarth 2012", "Ferrari 458 Italia Coupe 2012",
    "Fisker Karma Sedan 2012", "Ford F-150 Regular Cab 2012", "GMC Savana Van 2012",
    "Geo Metro Convertible 1993", "HUMMER H3T Crew Cab 2010", "Honda Odyssey Minivan 2012",
    "Hyundai Veloster Hatchback 2012", "Infiniti QX56 SUV 2011", "Jaguar XK XKR 2012",
    "Jeep Wrangler SUV 2012", "Lamborghini Reventon Coupe 2008", "Land Rover LR2 SUV 2012",
    "McLaren MP4-12C Coupe 2012", "Mercedes-Benz SL-Class Coupe 2009", "Nissan Leaf Hatchback 2012",
    "Porsche Panamera Sedan 2012", "Ram C/V Cargo Van Minivan 2012",
    "Rolls-Royce Phantom Drophead Coupe Convertible 2012", "Scion xD Hatchback 2012",
    "Spyker C8 Convertible 2009", "Suzuki SX4 Sedan 2012", "Tesla Model S Sedan 2012",
    "Toyota 4Runner SUV 2012", "Volkswagen Beetle Hatchback 2012", "Volvo XC90 SUV 2007",
    "smart fortwo Convertible 2012",
]

SUN397 = [
    "abbey", "airplane cabin", "airport terminal", "alley", "amphitheater", "amusement arcade",
    "amusement park", "anechoic chamber", "apartment building outdoor", "apse indoor",
    "aquarium", "aqueduct", "arch", "archive", "arrival gate outdoor", "art gallery",
    "art school", "art studio", "assembly line", "athletic field outdoor", "atrium public",
    "attic", "auditorium", "auto factory", "badlands", "badminton court indoor",
    "baggage claim", "bakery shop", "balcony exterior", "balcony interior", "ball pit",
    "ballroom", "bamboo forest", "banquet hall", "bar", "barn", "barndoor", "baseball field",
    "basement", "basilica", "basketball court outdoor", "bathroom", "batters box", "bayou",
    "bazaar indoor", "bazaar outdoor", "beach", "beauty salon", "bedroom", "berth",
    "biology laboratory", "bistro indoor", "boardwalk", "boat deck", "boathouse", "bookstore",
    "booth indoor", "botanical garden", "bow window indoor", "bow window outdoor", "bowling alley",
    "boxing ring", "brewery indoor", "bridge", "building facade", "bullring", "burial chamber",
    "bus interior", "butchers shop", "butte", "cabin outdoor", "cafeteria", "campsite", "campus",
    "canal natural", "canal urban", "candy store", "canyon", "car interior backseat",
    "car interior frontseat", "carrousel", "casino indoor", "castle", "catacomb",
    "cathedral indoor", "cathedral outdoor", "cavern indoor", "cemetery", "chalet",
    "cheese factory", "chemistry lab", "chicken coop indoor", "chicken coop outdoor",
    "childs room", "church indoor", "church outdoor", "classroom", "clean room", "cliff",
    "cloister indoor", "closet", "clothing store", "coast", "cockpit", "coffee shop",
]

TEMPLATES = {
    "ImageNet": ["a photo of a {}."],
    "OxfordPets": ["a photo of a {}, a type of pet."],
    "Flowers102": ["a photo of a {}, a type of flower."],
    "FGVCAircraft": ["a photo of a {}, a type of aircraft."],
    "DTD": ["{} texture."],
    "EuroSAT": ["a centered satellite photo of {}."],
    "StanfordCars": ["a photo of a {}."],
    "Food101": ["a photo of {}, a type of food."],
    "SUN397": ["a photo of a {}."],
    "Caltech101": ["a photo of a {}."],
    "UCF101": ["a photo of a person doing {}."],
}

IMAGENET_ENSEMBLE = [
    "itap of a {}.", "a bad photo of the {}.", "a origami {}.", "a photo of the large {}.",
    "a {} in a video game.", "art of the {}.", "a photo of the small {}.",
]

HAND_WRITTEN = {
    "accents": [
        "café", "naïve façade", "Ærøskøbing", "São Paulo", "Zürich", "İstanbul", "Øresund",
        "crème brûlée", "Dvořák", "Łódź", "ﬁnal ﬂourish", "straße", "STRASSE", "Ĳsselmeer",
        "e\u0301cole (decomposed)", "A\u030a", "ǅemal", "Ǆ", "a\u0345", "ᾳ",
    ],
    "greek_sigma": [
        "ΣΟΦΙΑ ΟΔΟΣ", "ΣΑΣ.", "Σ", "ΑΣ'Σ", "ΟΔΟΣ-ΟΔΟΣ", "ΑΣ\u0301Β", "ΑΣ\u0301", "a.Σ",
        "ΌΣΟΙ ΕΊΝΑΙ", "Σa",
    ],
    "cjk_and_scripts": [
        "日本語のテキスト", "中文字符测试", "한국어 텍스트", "ＬＯＵＤ　ＮＯＩＳＥＳ", "Ｕﾀｰﾝ",
        "ｶﾀｶﾅ ﾊﾝｶｸ", "ﾍﾞﾙ", "\uffa1\uffa4", "ー", "مرحبا بالعالم", "שלום עולם",
        "हिन्दी पाठ", "ภาษาไทย", "Привет, мир!", "Ελληνικά", "ქართული", "አማርኛ",
        "𝒥ohn ℋancock", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "ℌ", "ｈｅｌｌｏ！", "㈱", "⑴", "①②③",
    ],
    "emoji": [
        "😀", "I ❤️ NY", "👍🏽 thumbs", "👨‍👩‍👧‍👦 family", "🇯🇵🇫🇷 flags", "1️⃣ keycap",
        "✔ done", "🏳️‍🌈", "a😀b", "🐶🐱🐭🐹🐰🦊🐻🐼",
    ],
    "digits": [
        "12345", "3.14159", "1,000,000", "2nd 3rd 4th", "٣٤٥ arabic-indic", "½ ¼ ¾",
        "Ⅻ roman", "x² + y³", "०१२ devanagari", "１２３ fullwidth", "42nd street", "0x1F",
        "F-16A/B", "A330-200",
    ],
    "punctuation": [
        "hello, world!", "what?!", "...", "--", "a/b\\c", "(parenthesised) [bracketed] {braced}",
        "@user #hashtag $100 %50 ^caret &and *star", "~tilde `backtick`", "«guillemets»",
        "„Anführungszeichen“", "it’s curly", "“double curly”", "‘single curly’", "ʼapostrophe",
        "‛reversed‟", "em—dash – en", "…ellipsis", "¿qué?", "¡hola!", "§ ¶ † ‡", "©®™",
        "<|startoftext|>", "<|endoftext|>", "a<|endoftext|>b", "<|ENDOFTEXT|>",
        "<|endoftext|><|startoftext|>", "<start_of_text>", "<end_of_text>", "<|endoftext",
        "<|ſtartoftext|>", "<b>bold</b>", "1<2>3",
    ],
    "contractions": [
        "it's", "IT'S", "Apple'S", "'S", "'s", "don't", "DON'T", "we're", "WE'RE", "they've",
        "I'm", "I'M", "we'll", "WE'LL", "he'd", "HE'D", "'south", "'s'", "''s", "rock'n'roll",
        "o'clock", "'ll'll", "'lll", "' s", "it'ſ", "IT'Ｓ", "it’s", "y'all", "'tis", "'d'",
        "'ve'", "'re'", "'m'", "ma'am",
    ],
    "whitespace": [
        "  leading and trailing  ", "many     spaces", "tabs\tand\ttabs", "new\nlines\n\n",
        "carriage\r\nreturns\r", "mixed \t\n\r\x0b\x0c whitespace", "non\u00a0breaking\u00a0space",
        "ideographic\u3000space", "line\u2028separator\u2029paragraph", "em\u2003space",
        "narrow\u202fnbsp", "zero\u200bwidth", "zero\u200dwidth\u200cjoiner", "\x1cfile\x1dgroup\x1e\x1f",
        "", " ", "\n\t ", "\u0085next line", "ogham\u1680space",
    ],
    "html": [
        "&amp;lt;b&amp;gt;", "&quot;quoted&quot;", "it&#39;s", "&amp;amp;amp;", "Tom &amp; Jerry",
        "&lt;tag&gt;", "&copy2020", "&notit;", "AT&T", "P&EACUTE;REZ", "&NTILDE; &nTILDE;",
        "BUNDESSTRA&SZLIG;E", "&#x1F600;", "&#0;", "&#128;", "&#150;", "&#13;", "&#xD800;",
        "&#99999999999;", "&#59;", "&#x3b;", "<b>&amp;amp;</b>", "&amp;amp;amp;\n<i>&amp;amp;amp;</i>",
        "<\n&amp;amp;amp;", "&Jscr;ohn &HilbertSpace;ancock", "&checkmark;", "&hellip;", "&nbsp;x",
        "&eacute&eacute;", "&amp", "&ampx", "&#x27;", "&#X27;", "&#65", "&#x41", "&unknown;",
        "&;", "&#;", "&#x;", "&amp;#8217;", "Broken text&hellip; it&#x2019;s ﬂubberiﬁc!",
        "&macr;\\_(ツ)_/&macr;", "&AMP;", "&Amp;", "&lt", "&LT;", "&gtx", "&#8203;",
        "&#x110000;", "&#1114111;", "&#65534;", "&#x80;", "&#x9F;",
    ],
    "controls": [
        "\x1b[31mred\x1b[0m text", "\x1b[1;4mbold\x1b[m", "\x00null", "bell\x07", "del\x7f",
        "\ufeffbom", "\x93quoted\x94", "a\x85b", "\x81x", "\x80 euro", "obj\ufffcrep",
        "arabic\u206acontrol", "interlinear\ufff9a\ufffbb", "music\U0001d173", "rtl\u200fmark",
        "\x1b[٣mdigits",
    ],
    "mojibake": [
        "sÃ³", "âœ” No problems", "Ã©tÃ©", "The Mona Lisa doesnÃ¢â‚¬â„¢t have eyebrows.",
        "voilÃ le travail", "Ã  bientÃ´t", "CafÃ©", "â€œquotedâ€\x9d", "Ð¿Ñ€Ð¸Ð²ÐµÑ‚",
        "l'Ã©tÃ© dernier",
    ],
}


def random_strings(count, seed):
    """Seeded random strings over a pool that exercises every branch of the cleaner."""
    rng = random.Random(seed)
    pool = (
        list("abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789")
        + list("'''''&&&;;;##xX<>|!?.,-_/\\\"()[]{}")
        + list("éÉüÜßſİıΣσςΑΩ日本語한국ＡＢ１２ｶﾞ😀👍🏽\u200d\u0301\u0345\u00a0\u3000\t\n\r")
        + ["’", "“", "”", "ﬁ", "\x1b[", "\x85", "\x93", "\ufeff", "٣", "½", "Ⅻ"]
        + ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;", "&#x27;", "&eacute", "&EACUTE;", "&copy"]
        + ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'LL"]
        + ["<|endoftext|>", "<|startoftext|>", "photo", "a photo of a", " type of "]
    )
    result = []
    for _ in range(count):
        length = rng.randint(1, 24)
        result.append("".join(rng.choice(pool) for _ in range(length)))
    return result


def long_strings():
    words = ["a"] * 74
    texts = {
        "fits_75": " ".join(["a"] * 75),       # 77 tokens with SOT and EOT: fits exactly
        "too_long_76": " ".join(["a"] * 76),   # 78 tokens: too long
        "fits_74": " ".join(words),
        "too_long_sentence": "a photo of a very long description " * 12,
        "too_long_cjk": "日本語のテキスト" * 20,
        "too_long_emoji": "😀 " * 80,
        "too_long_digits": "1234567890" * 10,
        "long_word": "supercalifragilisticexpialidocious" * 3,
        "fits_long_word": "pneumonoultramicroscopicsilicovolcanoconiosis",
    }
    return texts


def build_corpus(zero_shot_metadata):
    entries = []

    def add(category, text):
        entries.append({"category": category, "text": text})

    datasets = {
        "OxfordPets": OXFORD_PETS, "DTD": DTD, "EuroSAT": EUROSAT, "Flowers102": FLOWERS,
        "Food101": FOOD, "Caltech101": CALTECH, "UCF101": UCF, "FGVCAircraft": AIRCRAFT,
        "StanfordCars": STANFORD_CARS, "SUN397": SUN397,
        "ImageNet": list(zero_shot_metadata.IMAGENET_CLASSNAMES),
    }
    for name, classes in datasets.items():
        for template in TEMPLATES[name]:
            for classname in classes:
                add("prompt_" + name, template.format(classname))
    for classname in list(zero_shot_metadata.IMAGENET_CLASSNAMES)[:40]:
        for template in IMAGENET_ENSEMBLE:
            add("prompt_ImageNet_ensemble", template.format(classname))
    for category, texts in HAND_WRITTEN.items():
        for text in texts:
            add(category, text)
    for name, text in long_strings().items():
        add("long_" + name, text)
    for text in random_strings(300, seed=20240601):
        add("random", text)
    return entries


# ---------------------------------------------------------------------------------------------
# Hugging Face files and the transformers comparison (informational).
# ---------------------------------------------------------------------------------------------


def write_hugging_face_files(bpe_path, directory, bytes_to_unicode):
    merges = gzip.open(bpe_path).read().decode("utf-8").split("\n")[1 : 49152 - 256 - 2 + 1]
    merges = [tuple(line.split()) for line in merges]
    vocab = list(bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab]
    vocab += ["".join(merge) for merge in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    with open(os.path.join(directory, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump({token: index for index, token in enumerate(vocab)}, f, ensure_ascii=False)
    with open(os.path.join(directory, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n")
    return len(vocab), len(merges), len(set(vocab)), len(set(merges))


def compare_with_transformers(entries, module, bpe_path):
    try:
        from transformers import CLIPTokenizer
    except Exception as error:  # noqa: BLE001 - informational only
        print(f"transformers comparison skipped: {error}")
        return
    with tempfile.TemporaryDirectory() as directory:
        sizes = write_hugging_face_files(bpe_path, directory, module.bytes_to_unicode)
        print(f"vocabulary {sizes[0]} tokens ({sizes[2]} distinct), {sizes[1]} merges ({sizes[3]} distinct)")
        hf = CLIPTokenizer(os.path.join(directory, "vocab.json"), os.path.join(directory, "merges.txt"))
        differences = {}
        for entry in entries:
            ours = entry["ids"]
            theirs = hf(entry["text"], truncation=True, max_length=CONTEXT_LENGTH)["input_ids"]
            if ours != theirs:
                differences.setdefault(entry["category"], []).append(entry["text"])
        total = sum(len(v) for v in differences.values())
        print(f"transformers CLIPTokenizer differs from OpenAI's on {total} of {len(entries)} strings "
              "(padding aside; informational):")
        for category, texts in sorted(differences.items()):
            print(f"  {category}: {len(texts)}, e.g. {texts[:3]!r}")


# ---------------------------------------------------------------------------------------------
# The HTML entity table for the Swift cleaner.
# ---------------------------------------------------------------------------------------------


def swift_escape(text):
    out = []
    for character in text:
        code = ord(character)
        if character in '"\\' or code < 0x20 or code > 0x7E:
            out.append("\\u{%X}" % code)
        else:
            out.append(character)
    return "".join(out)


def write_entity_table():
    invalid = {}
    # Python's html module keeps the WHATWG replacement table in a private name; read it and
    # check it against the public behaviour it produces.
    table = getattr(html, "_invalid_charrefs")
    for number, replacement in sorted(table.items()):
        assert html.unescape("&#%d;" % number) == replacement
        invalid[number] = replacement
    dropped = sorted(set(getattr(html, "_invalid_codepoints")) - set(invalid))
    for number in dropped:
        assert html.unescape("&#%d;" % number) == "", number
    # The C1 range doubles as the "sloppy windows-1252" decoding the cleaner applies to
    # stray C1 controls; verify that equivalence here.
    for byte in range(0x80, 0xA0):
        sloppy = bytes([byte]).decode("latin-1").encode("latin-1").decode("sloppy-windows-1252")
        assert sloppy == invalid[byte], (byte, sloppy, invalid[byte])

    names = sorted(html.entities.html5.items())
    lines = []
    lines.append("// Generated by scripts/make_tokenizer_fixtures.py from the WHATWG HTML5 named character")
    lines.append("// references and numeric-reference rules (as Python's `html` module carries them).")
    lines.append("// Do not edit by hand.")
    lines.append("")
    lines.append("/// HTML5 character-reference data used by ``HTMLUnescaper``.")
    lines.append("enum HTMLEntityTable {")
    lines.append("    /// Named references, one `name value...` per line, the value as hexadecimal code points;")
    lines.append("    /// names that end without `;` are the legacy forms also accepted without the semicolon.")
    lines.append("    static let namedReferences: String = \"\"\"")
    for name, value in names:
        assert all(0x21 <= ord(c) <= 0x7E for c in name), name
        lines.append("        " + name + " " + " ".join("%X" % ord(c) for c in value))
    lines.append("        \"\"\"")
    lines.append("")
    lines.append("    /// Numeric references replaced by another character (`&#128;` is `€`), as `[number: value]`.")
    lines.append("    static let numericReplacements: [UInt32: String] = [")
    for number, replacement in sorted(invalid.items()):
        lines.append("        0x%X: \"%s\"," % (number, swift_escape(replacement)))
    lines.append("    ]")
    lines.append("")
    lines.append("    /// Numeric references that decode to nothing (control characters and noncharacters).")
    lines.append("    static let droppedCodePoints: Set<UInt32> = [")
    for start in range(0, len(dropped), 8):
        lines.append("        " + " ".join("0x%X," % n for n in dropped[start : start + 8]))
    lines.append("    ]")
    lines.append("}")
    with open(ENTITY_SWIFT, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {ENTITY_SWIFT}: {len(names)} named references, {len(invalid)} replacements, "
          f"{len(dropped)} dropped code points")


def main():
    open_clip_dir = find_open_clip_dir()
    module = load_module("open_clip_tokenizer", os.path.join(open_clip_dir, "tokenizer.py"))
    zero_shot_metadata = load_module(
        "open_clip_zero_shot_metadata", os.path.join(open_clip_dir, "zero_shot_metadata.py")
    )
    bpe_source = os.path.join(open_clip_dir, "bpe_simple_vocab_16e6.txt.gz")
    os.makedirs(FIXTURES, exist_ok=True)
    bpe_path = os.path.join(FIXTURES, "bpe_simple_vocab_16e6.txt.gz")
    shutil.copyfile(bpe_source, bpe_path)

    reference = OpenAIReference(module, bpe_path)
    without_encoding_fix = OpenAIReference(module, bpe_path, fix_encoding=False)
    open_clip_tokenizer = module.SimpleTokenizer(bpe_path)

    entries = build_corpus(zero_shot_metadata)
    too_long = 0
    encoding_fix_matters = 0
    open_clip_differs = {}
    for entry in entries:
        text = entry["text"]
        entry["ids"] = reference.tokenize(text, truncate=True)
        try:
            reference.tokenize(text, truncate=False)
            entry["tooLong"] = False
        except ValueError:
            entry["tooLong"] = True
            too_long += 1
        entry["tokenCount"] = len(reference.encode(text)) + 2
        plain = without_encoding_fix.tokenize(text, truncate=True)
        if plain != entry["ids"]:
            # ftfy's heuristic mojibake repair changed the ids; the Swift cleaner does not
            # repair mojibake, so it is held to these ids instead.
            entry["idsWithoutEncodingFix"] = plain
            encoding_fix_matters += 1
        if open_clip_tokenizer([text], context_length=CONTEXT_LENGTH)[0].tolist() != entry["ids"]:
            open_clip_differs.setdefault(entry["category"], []).append(text)

    merges_text = gzip.open(bpe_path).read()
    merges_lines = merges_text.decode("utf-8").split("\n")
    # Store rows without their zero padding (each row ends with the end token, so every
    # trailing zero is padding); tests pad back to contextLength.
    for entry in entries:
        for key in ("ids", "idsWithoutEncodingFix"):
            if key in entry:
                row = entry[key]
                end = max(i for i, t in enumerate(row) if t == reference.eot) + 1
                assert all(t == 0 for t in row[end:]), entry["text"]
                entry[key] = row[:end]

    corpus = {
        "mergesFile": {
            "decompressedBytes": len(merges_text),
            "lineCount": len(merges_lines),
            "firstLine": merges_lines[0],
            "lastUsedLine": merges_lines[48894],
        },
        "reference": "OpenAI CLIP simple_tokenizer (via open_clip/tokenizer.py with OpenAI's special "
                     "tokens and whitespace cleaning), ftfy %s, regex %s" % (ftfy.__version__, regex.__version__),
        "contextLength": CONTEXT_LENGTH,
        "startOfText": reference.sot,
        "endOfText": reference.eot,
        "entries": entries,
    }
    corpus_path = os.path.join(FIXTURES, "corpus.json")
    with open(corpus_path, "w", encoding="utf-8") as f:
        json.dump(corpus, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {corpus_path}: {len(entries)} strings, {too_long} too long for {CONTEXT_LENGTH}, "
          f"{encoding_fix_matters} changed by ftfy's mojibake repair")
    print(f"unmodified open_clip tokenizer differs on {sum(map(len, open_clip_differs.values()))} strings "
          "(informational):")
    for category, texts in sorted(open_clip_differs.items()):
        print(f"  {category}: {len(texts)}, e.g. {texts[:3]!r}")

    changed_by_ftfy = sum(1 for entry in entries if ftfy.fix_text(entry["text"]) != entry["text"])
    print(f"ftfy.fix_text changes {changed_by_ftfy} of {len(entries)} strings "
          f"({encoding_fix_matters} of them through its mojibake repair)")
    write_entity_table()
    compare_with_transformers(entries, module, bpe_path)


if __name__ == "__main__":
    main()
