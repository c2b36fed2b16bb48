"""Vocabularies of the simulated catalog and customer base: category tree, words per department, places.

Titles and descriptions are composed from these lists (see catalog.py), so the wording varies with the
product's department, leaf category, brand, material, colour and features rather than following a few
templates.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Leaf:
    """A leaf category: its path, product nouns, price level and how products in it behave."""

    path: str  # "A > B > C"
    nouns: tuple[str, ...]
    price: float  # median list price in the shop currency
    price_sd: float = 0.45  # spread of log list price within the leaf
    sized: bool = False  # apparel and shoes: sizes, fit problems, more returns
    features: tuple[str, ...] = ()  # leaf-specific features, added to the department's generic ones
    materials: tuple[str, ...] = ()  # when set, replace the department's materials
    care: tuple[str, ...] = ()  # when set, replace the department's care notes

    @property
    def department(self) -> str:
        return self.path.split(" > ")[0]


@dataclass(frozen=True)
class Department:
    name: str
    materials: tuple[str, ...]
    features: tuple[str, ...]
    adjectives: tuple[str, ...]
    uses: tuple[str, ...]
    care: tuple[str, ...]
    # The yearly season of the department: day of year of its peak and amplitude on the log scale.
    peak_day: int
    season_amplitude: float
    zh_noun: str  # what Chinese reviews call the product


COLOURS = ("black", "white", "navy", "charcoal", "olive", "sand", "burgundy", "sky blue", "forest green",
           "graphite", "ivory", "terracotta", "slate grey", "mustard", "blush pink", "teal", "rust", "cream")

DEPARTMENTS: dict[str, Department] = {d.name: d for d in (
    Department(
        "Clothing",
        materials=("organic cotton", "merino wool", "linen", "recycled polyester", "denim", "cashmere blend",
                   "bamboo viscose", "French terry", "corduroy", "Tencel"),
        features=("breathable weave", "relaxed fit", "tailored cut", "hidden zip pockets", "reinforced seams",
                  "wrinkle-resistant finish", "stretch waistband", "moisture-wicking lining", "brushed inner face",
                  "adjustable cuffs", "machine washable", "pre-shrunk fabric"),
        adjectives=("classic", "everyday", "lightweight", "cosy", "minimalist", "vintage-inspired", "essential",
                    "relaxed", "slim", "oversized", "weekend", "heritage"),
        uses=("the office", "weekend errands", "travel days", "layering in autumn", "summer evenings",
              "casual Fridays", "long walks"),
        care=("Machine wash cold, inside out.", "Hang to dry to keep the shape.", "Iron on low heat if needed.",
              "Wash with similar colours."),
        peak_day=300, season_amplitude=0.25, zh_noun="衣服",
    ),
    Department(
        "Shoes",
        materials=("full-grain leather", "suede", "knit mesh", "canvas", "recycled rubber", "nubuck",
                   "vegan leather", "Gore-Tex membrane"),
        features=("cushioned midsole", "grippy outsole", "removable insole", "padded collar", "waterproof upper",
                  "wide toe box", "lightweight foam", "heel-to-toe drop of 8 mm", "reflective details",
                  "quick-lace system"),
        adjectives=("all-terrain", "everyday", "trail-ready", "classic", "lightweight", "rugged", "urban",
                    "cushioned", "low-profile", "retro"),
        uses=("daily runs", "city walking", "weekend hikes", "long shifts on your feet", "the gym", "travel"),
        care=("Wipe clean with a damp cloth.", "Air dry away from direct heat.", "Use a protective spray for suede."),
        peak_day=100, season_amplitude=0.2, zh_noun="鞋",
    ),
    Department(
        "Electronics",
        materials=("aluminium", "matte polycarbonate", "tempered glass", "silicone", "braided nylon",
                   "recycled plastic", "stainless steel"),
        features=("a two-year software support promise", "a recycled-plastic shell", "a USB-C port",
                  "a compact travel pouch", "a one-year replacement guarantee"),
        adjectives=("wireless", "compact", "portable", "pro", "smart", "ultra-slim", "rugged", "premium",
                    "travel-size", "next-gen"),
        uses=("the commute", "working from home", "workouts", "long flights", "gaming sessions", "the car"),
        care=("Keep the firmware up to date through the app.", "Charge with the included cable.",
              "Do not expose to temperatures above 45 °C."),
        peak_day=340, season_amplitude=0.35, zh_noun="产品",
    ),
    Department(
        "Home & Kitchen",
        materials=("cast iron", "stainless steel", "acacia wood", "stoneware", "borosilicate glass",
                   "linen", "percale cotton", "bamboo", "hard-anodised aluminium", "soy wax"),
        features=("a gift-ready box", "responsibly sourced materials", "a minimalist design", "a lifetime guarantee"),
        adjectives=("artisan", "everyday", "professional", "rustic", "Nordic", "heirloom", "modern", "cosy",
                    "chef's", "compact"),
        uses=("weeknight dinners", "family breakfasts", "a guest room", "small apartments", "slow Sundays",
              "gifting"),
        care=("Hand wash to extend its life.", "Dry thoroughly before storing.", "Season lightly with oil.",
              "Trim the wick before each use."),
        peak_day=330, season_amplitude=0.2, zh_noun="东西",
    ),
    Department(
        "Beauty",
        materials=("hyaluronic acid", "niacinamide", "shea butter", "squalane", "vitamin C", "green tea extract",
                   "ceramides", "argan oil", "aloe vera"),
        features=("fragrance-free", "dermatologist tested", "vegan formula", "non-comedogenic",
                  "recyclable packaging", "suitable for sensitive skin", "paraben-free", "fast-absorbing texture",
                  "pump dispenser", "refillable bottle"),
        adjectives=("hydrating", "gentle", "brightening", "nourishing", "daily", "restorative", "lightweight",
                    "soothing", "clarifying"),
        uses=("morning routines", "dry winter skin", "after the gym", "travel kits", "evening routines"),
        care=("Store in a cool, dry place.", "Use within 12 months of opening.", "Patch test before first use."),
        peak_day=330, season_amplitude=0.15, zh_noun="护肤品",
    ),
    Department(
        "Sports & Outdoors",
        materials=("ripstop nylon", "aluminium poles", "natural rubber", "TPE foam", "cast iron", "polyester canvas",
                   "neoprene", "carbon fibre"),
        features=("a carry strap", "a two-year guarantee", "recycled materials", "a compact storage bag"),
        adjectives=("ultralight", "expedition", "all-season", "training", "compact", "trail", "studio",
                    "weekend", "pro-grade"),
        uses=("weekend camping", "home workouts", "yoga classes", "multi-day treks", "festival season",
              "the park"),
        care=("Dry completely before packing away.", "Rinse with fresh water after use.",
              "Store away from direct sunlight."),
        peak_day=180, season_amplitude=0.45, zh_noun="装备",
    ),
    Department(
        "Grocery",
        materials=("single-origin arabica", "Ceylon black tea", "Japanese sencha", "robusta blend", "rooibos",
                   "Yunnan pu-erh", "Colombian beans", "jasmine green tea"),
        features=("fair-trade certified", "resealable bag", "organic", "small-batch", "nitrogen-flushed"),
        adjectives=("smooth", "bold", "aromatic", "everyday", "house", "reserve", "breakfast", "evening",
                    "bright"),
        uses=("slow mornings", "the office kitchen", "pour-over brewing", "afternoon breaks", "cold brew"),
        care=("Store airtight, away from light.", "Best within four weeks of opening.",
              "Brew at 90 °C for the best flavour."),
        peak_day=15, season_amplitude=0.15, zh_noun="茶叶咖啡",
    ),
)}

LEAVES: tuple[Leaf, ...] = (
    Leaf("Clothing > Women > Dresses", ("dress", "midi dress", "wrap dress", "shirt dress"), 59, sized=True,
         features=("flattering A-line", "tie waist")),
    Leaf("Clothing > Women > Tops", ("blouse", "top", "knit top", "tee"), 32, sized=True),
    Leaf("Clothing > Women > Jeans", ("jeans", "straight-leg jeans", "high-rise jeans"), 69, sized=True,
         features=("five-pocket styling",), materials=("stretch denim", "rigid denim", "organic cotton denim")),
    Leaf("Clothing > Men > Shirts", ("shirt", "oxford shirt", "flannel shirt", "polo"), 45, sized=True),
    Leaf("Clothing > Men > Jackets", ("jacket", "bomber jacket", "chore coat", "parka"), 129, sized=True,
         features=("two-way zip", "insulated lining"),
         materials=("waxed cotton", "recycled nylon", "wool blend", "canvas", "ripstop nylon")),
    Leaf("Clothing > Men > Trousers", ("chinos", "trousers", "cargo pants", "joggers"), 55, sized=True),
    Leaf("Shoes > Sports > Running Shoes", ("running shoes", "trainers", "road runners"), 110, sized=True),
    Leaf("Shoes > Casual > Sneakers", ("sneakers", "low-top sneakers", "slip-ons"), 79, sized=True),
    Leaf("Shoes > Outdoor > Hiking Boots", ("hiking boots", "trail boots", "mid boots"), 149, sized=True),
    Leaf("Electronics > Audio > Headphones", ("headphones", "earbuds", "over-ear headphones"), 89, 0.6,
         features=("Bluetooth 5.3", "active noise cancellation", "30-hour battery life", "multipoint pairing",
                   "low-latency mode", "companion app with EQ", "IPX5 water resistance"),
         materials=("matte polycarbonate", "aluminium", "memory-foam cushions", "recycled plastic")),
    Leaf("Electronics > Audio > Speakers", ("speaker", "bookshelf speaker", "party speaker"), 119, 0.6,
         features=("Bluetooth 5.3", "20-hour battery life", "stereo pairing", "IP67 water resistance",
                   "voice assistant support", "deep bass radiator"),
         materials=("aluminium", "acoustic fabric", "walnut veneer", "rubberised shell")),
    Leaf("Electronics > Accessories > Chargers", ("charger", "power bank", "charging stand"), 29, 0.5,
         features=("65 W fast charging", "two USB-C ports", "overcharge protection", "foldable plug",
                   "10,000 mAh capacity", "pass-through charging"),
         materials=("matte polycarbonate", "aluminium", "braided nylon cable", "fire-resistant plastic")),
    Leaf("Electronics > Accessories > Phone Cases", ("phone case", "folio case", "bumper case"), 19, 0.4,
         features=("raised camera lip", "drop protection to 3 m", "MagSafe compatible", "card slot",
                   "anti-yellowing finish", "wireless charging friendly"),
         materials=("silicone", "vegan leather", "TPU", "clear polycarbonate", "recycled plastic")),
    Leaf("Electronics > Wearables > Smartwatches", ("smartwatch", "fitness tracker", "sport watch"), 179, 0.5,
         features=("heart-rate tracking", "sleep tracking", "built-in GPS", "7-day battery life",
                   "always-on display", "5 ATM water resistance"),
         materials=("aluminium", "stainless steel", "titanium", "silicone strap")),
    Leaf("Home & Kitchen > Cookware > Frying Pans", ("frying pan", "skillet", "sauté pan", "wok"), 49,
         features=("non-stick coating", "oven safe to 260 °C", "induction compatible", "stay-cool handle",
                   "dishwasher safe", "pouring lips"),
         materials=("cast iron", "stainless steel", "hard-anodised aluminium", "carbon steel"),
         care=("Hand wash to extend its life.", "Dry thoroughly before storing.", "Season lightly with oil.")),
    Leaf("Home & Kitchen > Cookware > Knives", ("chef's knife", "knife set", "paring knife", "santoku"), 65,
         features=("full-tang blade", "ergonomic handle", "hand-sharpened edge", "blade guard included",
                   "balanced weight"),
         materials=("German stainless steel", "Damascus steel", "high-carbon steel", "ceramic"),
         care=("Hand wash and dry immediately.", "Hone regularly to keep the edge.")),
    Leaf("Home & Kitchen > Bedding > Duvet Covers", ("duvet cover", "bedding set", "pillowcase pair"), 79,
         features=("hidden button closure", "corner ties", "pre-washed softness", "breathable weave"),
         materials=("linen", "percale cotton", "sateen cotton", "Tencel"),
         care=("Machine wash at 40 °C.", "Tumble dry low.")),
    Leaf("Home & Kitchen > Bedding > Pillows", ("pillow", "memory foam pillow", "down-alternative pillow"), 39,
         features=("hypoallergenic fill", "removable cover", "adjustable loft", "cooling gel layer"),
         materials=("memory foam", "microfibre", "organic cotton", "bamboo"),
         care=("Wash the cover at 40 °C.", "Air the pillow regularly.")),
    Leaf("Home & Kitchen > Decor > Lamps", ("table lamp", "floor lamp", "desk lamp"), 69,
         features=("warm ambient glow", "dimmable switch", "E27 bulb fitting", "fabric shade", "touch control"),
         materials=("brushed brass", "ceramic", "oak", "matte steel", "rattan"),
         care=("Dust with a dry cloth.", "Use bulbs up to 40 W.")),
    Leaf("Home & Kitchen > Decor > Candles", ("scented candle", "candle set", "travel candle"), 22, 0.35,
         features=("natural fragrance oils", "cotton wick", "40-hour burn time", "reusable glass jar"),
         materials=("soy wax", "coconut wax", "beeswax blend"),
         care=("Trim the wick before each use.", "Never leave a burning candle unattended.")),
    Leaf("Beauty > Skincare > Moisturizers", ("moisturiser", "day cream", "night cream", "gel cream"), 28, 0.5),
    Leaf("Beauty > Skincare > Serums", ("serum", "face oil", "essence"), 34, 0.5),
    Leaf("Beauty > Hair > Shampoo", ("shampoo", "conditioner", "hair mask"), 16, 0.4),
    Leaf("Sports & Outdoors > Camping > Tents", ("tent", "two-person tent", "dome tent"), 189, 0.5,
         features=("waterproof seams", "quick-pitch frame", "two vestibules", "UV-resistant fly", "packs down small"),
         materials=("ripstop nylon", "polyester canvas", "silnylon")),
    Leaf("Sports & Outdoors > Camping > Backpacks", ("backpack", "daypack", "trekking pack"), 99, 0.5,
         features=("ventilated back panel", "hip belt with pockets", "rain cover", "hydration sleeve",
                   "adjustable torso length"),
         materials=("ripstop nylon", "recycled polyester", "waxed canvas")),
    Leaf("Sports & Outdoors > Fitness > Yoga Mats", ("yoga mat", "travel mat", "exercise mat"), 39, 0.4,
         features=("non-slip surface", "alignment lines", "6 mm cushioning", "sweat-resistant top layer"),
         materials=("natural rubber", "TPE foam", "cork", "PVC-free foam")),
    Leaf("Sports & Outdoors > Fitness > Dumbbells", ("dumbbell set", "adjustable dumbbells", "kettlebell"), 89,
         features=("adjustable weight plates", "knurled grip", "quick-change dial", "storage tray"),
         materials=("cast iron", "rubber-coated steel", "chrome steel")),
    Leaf("Grocery > Coffee & Tea > Coffee Beans", ("coffee beans", "espresso roast", "filter coffee"), 15, 0.3,
         features=("freshly roasted", "whole bean", "notes of cocoa and cherry", "low acidity"),
         materials=("single-origin arabica", "robusta blend", "Colombian beans", "Ethiopian beans")),
    Leaf("Grocery > Coffee & Tea > Tea", ("tea", "loose-leaf tea", "tea sampler"), 12, 0.3,
         features=("loose leaf", "hand-picked leaves", "floral notes", "biodegradable tea bags"),
         materials=("Ceylon black tea", "Japanese sencha", "rooibos", "Yunnan pu-erh", "jasmine green tea")),
)

CLOTHING_SIZES = ("XS", "S", "M", "L", "XL", "XXL")
SHOE_SIZES = ("36", "37", "38", "39", "40", "41", "42", "43", "44", "45", "46")

# Brand names are built from these syllables (deterministically per seed): "Norvik", "Alder & Vale" …
BRAND_STARTS = ("Nor", "Al", "Bri", "Cal", "Dun", "El", "Fen", "Gal", "Hal", "Iv", "Jun", "Kel", "Lum", "Mar",
                "Nov", "Or", "Pel", "Quin", "Ros", "Sol", "Tam", "Ul", "Ver", "Wes", "Yar", "Zen")
BRAND_ENDS = ("vik", "den", "ora", "wick", "ton", "ria", "mond", "field", "ly", "stead", "ix", "ova", "worth",
              "crest", "holm", "lo", "gate", "ara")
BRAND_SUFFIXES = ("", "", "", " Co.", " & Sons", " Studio", " Labs", " Supply", " Goods", " Works")

# (country code, weight, cities, review language). Chinese-speaking customers write in Chinese.
COUNTRIES: tuple[tuple[str, float, tuple[str, ...], str], ...] = (
    ("US", 0.30, ("New York", "Los Angeles", "Chicago", "Houston", "Seattle", "Austin", "Boston", "Denver"), "en"),
    ("CN", 0.22, ("Shanghai", "Beijing", "Shenzhen", "Hangzhou", "Chengdu", "Guangzhou", "Wuhan"), "zh"),
    ("GB", 0.12, ("London", "Manchester", "Bristol", "Leeds", "Edinburgh", "Glasgow"), "en"),
    ("DE", 0.08, ("Berlin", "Munich", "Hamburg", "Cologne", "Frankfurt"), "en"),
    ("CA", 0.07, ("Toronto", "Vancouver", "Montreal", "Calgary"), "en"),
    ("AU", 0.06, ("Sydney", "Melbourne", "Brisbane", "Perth"), "en"),
    ("SG", 0.04, ("Singapore",), "zh"),
    ("FR", 0.05, ("Paris", "Lyon", "Marseille", "Toulouse"), "en"),
    ("TW", 0.03, ("Taipei", "Kaohsiung", "Taichung"), "zh"),
    ("IE", 0.03, ("Dublin", "Cork", "Galway"), "en"),
)

CHANNELS = ("web", "app", "marketplace")
ACQUISITION = ("search", "social", "referral", "email", "direct", "affiliate")
AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
