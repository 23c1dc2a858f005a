"""The demo catalog's shape: category tree, attribute definitions, brands, product lines, price levels, rules."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class Attr:
    """An attribute definition and how the seed draws its values (`choices`; a list type draws a subset)."""

    name: str
    type: str
    choices: tuple[Any, ...]
    required: bool = False
    closed: bool = False  # allowed_values enforced
    facetable: bool = True


@dataclass(frozen=True)
class Leaf:
    path: str
    name: str
    brands: tuple[str, ...]
    lines: tuple[str, ...]
    model: str  # A: capital letter, 9: digit, anything else literally
    median_price: float
    price_sigma: float
    spec: str  # formatted with the product's attributes
    noun: str
    weight: int  # share of the catalog
    attrs: tuple[Attr, ...] = ()


@dataclass(frozen=True)
class Branch:
    path: str
    name: str
    attrs: tuple[Attr, ...] = ()


@dataclass(frozen=True)
class SeedRule:
    category_path: str | None
    field: str
    min_length: int | None = None
    weight: Decimal = Decimal(1)


COLORS = ("black", "white", "silver", "grey", "blue", "red", "green", "beige", "navy")
SHOE_SIZES = (36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46)
CLOTHING_SIZES = ("XS", "S", "M", "L", "XL", "XXL")
RESOLUTIONS = ("HD", "Full HD", "4K UHD", "8K UHD")

BRANCHES: tuple[Branch, ...] = (
    Branch("electronics", "Electronics", (Attr("warranty_years", "number", (1, 2, 3)),)),
    Branch("electronics/tv-video", "TV & Video"),
    Branch("electronics/computers", "Computers"),
    Branch("electronics/mobile", "Mobile"),
    Branch("home", "Home"),
    Branch("home/kitchen", "Kitchen"),
    Branch("home/furniture", "Furniture", (Attr("color", "string", COLORS, required=True),
                                           Attr("material", "string", ("oak", "walnut", "steel", "fabric",
                                                                        "leather", "mesh"), required=True))),
    Branch("home/appliances", "Appliances", (Attr("energy_class", "string", ("A", "B", "C", "D"), closed=True),)),
    Branch("fashion", "Fashion", (Attr("gender", "string", ("women", "men", "unisex"), closed=True),)),
    Branch("fashion/shoes", "Shoes", (Attr("size", "number", SHOE_SIZES, required=True),
                                      Attr("color", "string", COLORS, required=True),
                                      Attr("material", "string", ("leather", "mesh", "suede", "canvas",
                                                                   "synthetic"), required=True))),
    Branch("fashion/clothing", "Clothing", (Attr("size", "string", CLOTHING_SIZES, required=True, closed=True),
                                            Attr("color", "string", COLORS, required=True),
                                            Attr("material", "string", ("cotton", "organic cotton", "denim",
                                                                         "polyester", "wool")))),
    Branch("fashion/accessories", "Accessories", (Attr("color", "string", COLORS, required=True),)),
    Branch("sports", "Sports & Outdoors"),
    Branch("sports/fitness", "Fitness"),
    Branch("sports/cycling", "Cycling"),
    Branch("sports/outdoor", "Outdoor"),
)

LEAVES: tuple[Leaf, ...] = (
    Leaf("electronics/tv-video/televisions", "Televisions",
         ("Samsung", "LG", "Sony", "TCL", "Hisense", "Panasonic", "Philips"),
         ("Crystal", "Vision", "Neo", "Prime", "Ultra", "Bravia"), "AA99A99A", 650, 0.6,
         '{screen_size}" {resolution} {panel} TV', "smart TV", 9,
         (Attr("screen_size", "number", (32, 43, 50, 55, 65, 75, 85), required=True),
          Attr("resolution", "string", RESOLUTIONS, required=True, closed=True),
          Attr("panel", "string", ("LED", "QLED", "OLED", "Mini LED"), closed=True),
          Attr("refresh_rate", "number", (60, 100, 120, 144)),
          Attr("smart_tv", "boolean", (True, True, False)))),
    Leaf("electronics/tv-video/projectors", "Projectors", ("Epson", "BenQ", "Optoma", "ViewSonic", "XGIMI"),
         ("Home Cinema", "EcoBright", "Halo", "Mogo"), "AA-9999", 700, 0.5,
         "{resolution} Projector {brightness_lumens} lm", "projector", 2,
         (Attr("resolution", "string", RESOLUTIONS[:3], required=True, closed=True),
          Attr("brightness_lumens", "number", (1500, 2200, 3000, 3600, 4000), required=True))),
    Leaf("electronics/tv-video/soundbars", "Soundbars", ("Sonos", "Bose", "Samsung", "JBL", "Yamaha", "Sony"),
         ("Arc", "Beam", "Bar", "Cinema", "Smart"), "AA999A", 300, 0.55, "{channels} Soundbar", "soundbar", 3,
         (Attr("channels", "string", ("2.0", "2.1", "3.1", "5.1", "7.1.4"), required=True, closed=True),
          Attr("wireless", "boolean", (True, False)))),
    Leaf("electronics/computers/laptops", "Laptops", ("Lenovo", "Dell", "HP", "Apple", "Asus", "Acer", "MSI"),
         ("ThinkPad", "XPS", "Envy", "ZenBook", "Swift", "Inspiron", "Vivobook"), "A99-9999A", 1100, 0.45,
         '{screen_size}" {ram_gb}GB {storage_gb}GB', "laptop", 7,
         (Attr("screen_size", "number", (13.3, 14, 15.6, 16, 17.3), required=True),
          Attr("ram_gb", "number", (8, 16, 32, 64), required=True),
          Attr("storage_gb", "number", (256, 512, 1024, 2048), required=True),
          Attr("processor", "string", ("Intel Core i5", "Intel Core i7", "AMD Ryzen 5", "AMD Ryzen 7",
                                       "Apple M3"), required=True))),
    Leaf("electronics/computers/monitors", "Monitors", ("Dell", "LG", "Samsung", "Asus", "BenQ", "AOC"),
         ("UltraSharp", "UltraGear", "Odyssey", "ProArt", "Gaming"), "A99A99A", 320, 0.5,
         '{screen_size}" {resolution} {refresh_rate}Hz Monitor', "monitor", 4,
         (Attr("screen_size", "number", (24, 27, 32, 34, 49), required=True),
          Attr("resolution", "string", RESOLUTIONS[1:3], required=True, closed=True),
          Attr("refresh_rate", "number", (60, 75, 144, 165, 240)))),
    Leaf("electronics/computers/tablets", "Tablets", ("Apple", "Samsung", "Lenovo", "Microsoft", "Xiaomi"),
         ("Tab", "Pad", "Surface", "Air", "Pro"), "AA-A9999", 450, 0.45, '{screen_size}" {storage_gb}GB',
         "tablet", 3,
         (Attr("screen_size", "number", (8.3, 10.9, 11, 12.4, 12.9), required=True),
          Attr("storage_gb", "number", (64, 128, 256, 512), required=True),
          Attr("color", "string", COLORS[:4]))),
    Leaf("electronics/mobile/smartphones", "Smartphones",
         ("Apple", "Samsung", "Google", "Xiaomi", "OnePlus", "Motorola", "Nothing"),
         ("iPhone", "Galaxy", "Pixel", "Redmi", "Nord", "Edge", "Phone"), "AA-A999A", 700, 0.5,
         "{storage_gb}GB {color}", "smartphone", 8,
         (Attr("storage_gb", "number", (128, 256, 512, 1024), required=True),
          Attr("color", "string", COLORS[:6], required=True),
          Attr("screen_size", "number", (6.1, 6.4, 6.7, 6.8)),
          Attr("network", "list", ("5G", "4G", "Wi-Fi 6", "NFC", "eSIM")))),
    Leaf("electronics/mobile/headphones", "Headphones", ("Sony", "Bose", "Sennheiser", "JBL", "Apple", "Jabra"),
         ("WH", "QuietComfort", "Momentum", "Tune", "Elite", "Studio"), "AA-9999A", 150, 0.7,
         "{type} Headphones", "pair of headphones", 5,
         (Attr("type", "string", ("over-ear", "on-ear", "in-ear"), required=True, closed=True),
          Attr("wireless", "boolean", (True, True, False)),
          Attr("noise_cancelling", "boolean", (True, False)))),
    Leaf("electronics/mobile/smartwatches", "Smartwatches", ("Apple", "Samsung", "Garmin", "Fitbit", "Amazfit"),
         ("Watch", "Forerunner", "Fenix", "Sense", "GTR"), "A9999-9", 300, 0.5, "{case_size_mm}mm {color}",
         "smartwatch", 3,
         (Attr("case_size_mm", "number", (40, 41, 42, 44, 45, 46), required=True),
          Attr("color", "string", COLORS[:5]))),
    Leaf("home/kitchen/coffee-machines", "Coffee Machines",
         ("De'Longhi", "Nespresso", "Philips", "Breville", "Krups", "Siemens", "Jura"),
         ("Magnifica", "Dinamica", "Vertuo", "Barista", "EQ", "Lattego"), "AAA999.99", 250, 0.7,
         "{type} Coffee Machine", "coffee machine", 4,
         (Attr("type", "string", ("espresso", "drip", "capsule", "bean-to-cup"), required=True, closed=True),
          Attr("capacity_l", "number", (0.8, 1.1, 1.4, 1.8)),
          Attr("color", "string", COLORS[:4]))),
    Leaf("home/kitchen/blenders", "Blenders", ("Vitamix", "Ninja", "KitchenAid", "Braun", "Philips"),
         ("Ascent", "Professional", "PowerBlend", "Artisan"), "A99999", 90, 0.6, "{power_w}W Blender",
         "blender", 2,
         (Attr("power_w", "number", (600, 800, 1000, 1200, 1500), required=True),
          Attr("capacity_l", "number", (1.0, 1.5, 2.0)))),
    Leaf("home/kitchen/cookware", "Cookware", ("Le Creuset", "Tefal", "WMF", "Lodge", "Fissler", "All-Clad"),
         ("Signature", "Ingenio", "Profi", "Classic", "D3"), "A99999", 120, 0.65, "{material} {pieces}-Piece Set",
         "cookware set", 3,
         (Attr("material", "string", ("stainless steel", "cast iron", "nonstick", "copper"), required=True,
               closed=True),
          Attr("pieces", "number", (1, 3, 5, 8, 10)))),
    Leaf("home/furniture/sofas", "Sofas", ("IKEA", "West Elm", "Article", "Burrow", "Made"),
         ("Kivik", "Harmony", "Timber", "Nomad", "Haven"), "AA-9999", 1200, 0.45, "{seats}-Seat Sofa", "sofa", 2,
         (Attr("seats", "number", (2, 3, 4), required=True),)),
    Leaf("home/furniture/desks", "Desks", ("IKEA", "Flexispot", "Fully", "Herman Miller", "Steelcase"),
         ("Bekant", "Jarvis", "Motion", "Renew", "Migration"), "AA9999", 350, 0.6, "{width_cm}cm Desk", "desk", 2,
         (Attr("width_cm", "number", (100, 120, 140, 160, 180), required=True),
          Attr("height_adjustable", "boolean", (True, False)))),
    Leaf("home/furniture/office-chairs", "Office Chairs", ("Herman Miller", "Steelcase", "Secretlab", "IKEA",
                                                           "Haworth"),
         ("Aeron", "Leap", "Titan", "Markus", "Zody"), "AA-9999", 280, 0.7, "Office Chair", "office chair", 2,
         (Attr("adjustable_arms", "boolean", (True, False)),)),
    Leaf("home/appliances/vacuum-cleaners", "Vacuum Cleaners", ("Dyson", "iRobot", "Roborock", "Shark", "Miele"),
         ("V15", "Roomba", "S8", "Stratos", "Complete"), "AA9999", 250, 0.6, "{type} Vacuum", "vacuum cleaner", 3,
         (Attr("type", "string", ("cordless", "robot", "canister", "upright"), required=True, closed=True),)),
    Leaf("home/appliances/washing-machines", "Washing Machines", ("Bosch", "Miele", "Samsung", "LG", "Electrolux"),
         ("Serie 6", "W1", "EcoBubble", "AI DD", "PerfectCare"), "AAA99A99", 700, 0.35, "{capacity_kg}kg Washer",
         "washing machine", 2,
         (Attr("capacity_kg", "number", (7, 8, 9, 10, 11), required=True),
          Attr("energy_class", "string", ("A", "B", "C", "D"), required=True, closed=True))),
    Leaf("fashion/shoes/running-shoes", "Running Shoes", ("Nike", "Adidas", "Asics", "Brooks", "Hoka", "Saucony"),
         ("Pegasus", "Ultraboost", "Gel-Nimbus", "Ghost", "Clifton", "Ride"), "99 AA9999", 130, 0.3,
         "Running Shoe {color}", "running shoe", 6,
         (Attr("drop_mm", "number", (4, 6, 8, 10, 12)),)),
    Leaf("fashion/shoes/sneakers", "Sneakers", ("Nike", "Adidas", "New Balance", "Puma", "Vans", "Converse"),
         ("Air Max", "Samba", "574", "Suede", "Old Skool", "Chuck 70"), "AA9999-999", 100, 0.35, "Sneaker {color}",
         "sneaker", 6),
    Leaf("fashion/shoes/boots", "Boots", ("Dr. Martens", "Timberland", "Blundstone", "UGG", "Clarks"),
         ("1460", "Premium", "Chelsea", "Classic", "Desert"), "A9999-99", 170, 0.35, "Boot {color}", "boot", 3,
         (Attr("waterproof", "boolean", (True, False)),)),
    Leaf("fashion/clothing/t-shirts", "T-Shirts", ("Uniqlo", "Levi's", "H&M", "Patagonia", "Carhartt", "Gap"),
         ("Essential", "Supima", "Original", "Organic", "Heavyweight"), "A9999-99", 25, 0.45, "T-Shirt {color} {size}",
         "t-shirt", 6),
    Leaf("fashion/clothing/jeans", "Jeans", ("Levi's", "Wrangler", "Lee", "Diesel", "G-Star"),
         ("501", "Texas", "Rider", "Larkee", "3301"), "99A-9999", 80, 0.35, "Jeans {fit} {color} {size}",
         "pair of jeans",
         4, (Attr("fit", "string", ("slim", "regular", "straight", "relaxed"), required=True, closed=True),)),
    Leaf("fashion/clothing/jackets", "Jackets", ("The North Face", "Patagonia", "Columbia", "Arc'teryx", "Fjallraven"),
         ("Nuptse", "Torrentshell", "Beta", "Greenland", "Powder"), "AA9999", 220, 0.5, "Jacket {color} {size}",
         "jacket", 3, (Attr("waterproof", "boolean", (True, False)),)),
    Leaf("fashion/accessories/backpacks", "Backpacks", ("Osprey", "Herschel", "Fjallraven", "Samsonite", "Eastpak"),
         ("Daylite", "Kanken", "Little America", "Padded", "Guardian"), "A9999", 90, 0.5, "Backpack {capacity_l}L",
         "backpack", 3, (Attr("capacity_l", "number", (16, 20, 25, 30, 40), required=True),)),
    Leaf("fashion/accessories/sunglasses", "Sunglasses", ("Ray-Ban", "Oakley", "Persol", "Maui Jim", "Tom Ford"),
         ("Wayfarer", "Holbrook", "Aviator", "Clubmaster", "Frogskins"), "AA9999", 160, 0.45, "Sunglasses {color}",
         "pair of sunglasses", 2, (Attr("polarized", "boolean", (True, False)),)),
    Leaf("sports/fitness/yoga-mats", "Yoga Mats", ("Manduka", "Lululemon", "Liforme", "Gaiam", "JadeYoga"),
         ("PRO", "The Mat", "Travel", "Premium", "Harmony"), "A999-99", 70, 0.5, "Yoga Mat {thickness_mm}mm",
         "yoga mat", 2, (Attr("thickness_mm", "number", (3, 4, 5, 6, 8), required=True),
                         Attr("color", "string", COLORS))),
    Leaf("sports/fitness/dumbbells", "Dumbbells", ("Bowflex", "PowerBlock", "Rogue", "Domyos", "NordicTrack"),
         ("SelectTech", "Elite", "Hex", "Adjustable", "Pro"), "A9999", 120, 0.7, "Dumbbell {weight_kg}kg",
         "dumbbell", 2, (Attr("weight_kg", "number", (2, 5, 10, 20, 24, 40), required=True),)),
    Leaf("sports/cycling/bikes", "Bikes", ("Trek", "Specialized", "Giant", "Cannondale", "Canyon", "Cube"),
         ("Domane", "Rockhopper", "Talon", "Topstone", "Grail", "Nuroad"), "AL 9 A999", 1400, 0.55,
         "{wheel_size} Bike {frame_size}", "bike", 3,
         (Attr("frame_size", "string", ("XS", "S", "M", "L", "XL"), required=True, closed=True),
          Attr("wheel_size", "string", ('27.5"', '29"', "700c"), required=True, closed=True))),
    Leaf("sports/cycling/helmets", "Helmets", ("Giro", "Bell", "POC", "Specialized", "Kask"),
         ("Syntax", "Z20", "Ventral", "Align", "Protone"), "A999-99", 110, 0.5, "Helmet {size}", "helmet", 2,
         (Attr("size", "string", ("S", "M", "L"), required=True, closed=True),
          Attr("mips", "boolean", (True, False)))),
    Leaf("sports/outdoor/tents", "Tents", ("MSR", "Big Agnes", "Nemo", "Coleman", "Vaude", "Hilleberg"),
         ("Hubba", "Copper Spur", "Dagger", "Sundome", "Nammatj"), "A9 A999", 380, 0.6,
         "{capacity_persons}-Person {season} Tent", "tent", 2,
         (Attr("capacity_persons", "number", (1, 2, 3, 4, 6), required=True),
          Attr("season", "string", ("3-season", "4-season"), required=True, closed=True))),
)

# The catalog-wide defaults (also installed by migration 0002), then category overrides that show
# inheritance and weights.
RULES: tuple[SeedRule, ...] = (
    SeedRule(None, "brand"),
    SeedRule(None, "description", min_length=50),
    SeedRule(None, "images"),
    SeedRule(None, "price"),
    SeedRule(None, "category"),
    SeedRule("electronics", "description", min_length=80),
    SeedRule("fashion", "images", min_length=2, weight=Decimal(2)),
)

WAREHOUSES: tuple[tuple[str, str], ...] = (
    ("CMH", "Central DC, Columbus OH"),
    ("EWR", "East Coast DC, Newark NJ"),
    ("RNO", "West Coast DC, Reno NV"),
)

DESCRIPTION_SENTENCES: tuple[str, ...] = (
    "The {brand} {line} {noun} combines thoughtful design with everyday reliability.",
    "Built to last, it comes with a {warranty}-year manufacturer warranty and responsive support.",
    "Reviewers praise its build quality, and it is backed by {brand}'s trusted service network.",
    "Setup takes minutes and the intuitive controls make it easy to use from day one.",
    "Every detail, from the materials to the finish, has been refined for comfort and performance.",
    "Ships in recyclable packaging; free returns within 30 days.",
    "A versatile {noun} that fits equally well at home, at work or on the go.",
    "Compared with the previous generation it is lighter, quieter and more efficient.",
)

APPAREL_SIZES = ("S", "M", "L", "XL")
APPAREL_SIZES_WIDE = ("XS", "S", "M", "L", "XL", "XXL")
PHONE_STORAGE_GB = (128, 256, 512, 1024)


@dataclass(frozen=True)
class VariantModel:
    """A kind of model the demo catalog sells as a product group: its leaf, the axes its variants differ on, the
    values each axis is drawn from, and what a value adds to the model's base price."""

    leaf_path: str
    titles: tuple[str, ...]  # the group name ends with one of them
    axes: tuple[str, ...]
    weight: int  # share of the groups
    colors: tuple[int, int]  # how many colors a model comes in (at least, at most)
    surcharge: dict[Any, Decimal]  # by axis value; values not listed add nothing


# Apparel in sizes x colors, phones in storage x colors: the XL and XXL cuts take more fabric, and every storage
# step costs about what the big brands charge for it.
VARIANT_MODELS: tuple[VariantModel, ...] = (
    VariantModel("fashion/clothing/t-shirts", ("Crew Neck T-Shirt", "V-Neck T-Shirt", "Pocket T-Shirt"),
                 ("color", "size"), 4, (4, 6), {"XL": Decimal(2), "XXL": Decimal(4)}),
    VariantModel("fashion/clothing/jackets", ("Zip Hoodie", "Pullover Hoodie", "Fleece Jacket"),
                 ("color", "size"), 2, (4, 6), {"XL": Decimal(5), "XXL": Decimal(10)}),
    VariantModel("electronics/mobile/smartphones", ("Smartphone", "5G Smartphone"), ("storage_gb", "color"), 4, (3, 5),
                 {256: Decimal(100), 512: Decimal(250), 1024: Decimal(450)}),
)
