"""The simulated catalog: products with composed titles and descriptions, and their hidden traits.

Each product gets latent traits that drive the rest of the shop and are kept as truth: popularity,
price elasticity, quality (reviews), fit bias (sized products: reviews and returns), packaging and
looks-as-pictured (reviews), launch day.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from shoplens.data.synth.vocab import (
    BRAND_ENDS,
    BRAND_STARTS,
    BRAND_SUFFIXES,
    CLOTHING_SIZES,
    COLOURS,
    DEPARTMENTS,
    LEAVES,
    SHOE_SIZES,
    Department,
    Leaf,
)

ELASTICITY_RANGE = (-3.0, -0.5)


@dataclass
class Catalog:
    """The products table plus per-product arrays used by the rest of the simulation."""

    products: pd.DataFrame  # canonical columns
    truth: pd.DataFrame  # one row per product: hidden traits
    leaf: np.ndarray  # index into LEAVES per product
    department: np.ndarray  # index into DEPARTMENT_NAMES per product
    list_price: np.ndarray  # reference price of the demand curve
    elasticity: np.ndarray
    popularity: np.ndarray  # sums to 1
    launch_day: np.ndarray
    quality: np.ndarray
    fit_bias: np.ndarray
    packaging: np.ndarray
    looks: np.ndarray
    brand: np.ndarray  # brand index per product
    n_brands: int
    nouns: list[str]  # the product noun used in its title (reviews and queries refer to it)


DEPARTMENT_NAMES = tuple(DEPARTMENTS)


def pick(rng: np.random.Generator, options: tuple[str, ...] | list[str]) -> str:
    return options[int(rng.integers(len(options)))]


def _brand_names(rng: np.random.Generator, n: int) -> list[str]:
    names: set[str] = set()
    out = []
    while len(out) < n:
        name = pick(rng, BRAND_STARTS) + pick(rng, BRAND_ENDS)
        if rng.random() < 0.15:
            name = f"{name} & {pick(rng, BRAND_STARTS)}{pick(rng, BRAND_ENDS)}"
        name += pick(rng, BRAND_SUFFIXES)
        if name not in names:
            names.add(name)
            out.append(name)
    return out


def _price_ending(rng: np.random.Generator, price: float) -> float:
    """Shop-like price points: 24.99, 25.00, 24.95, 129.00 …"""
    whole = max(int(price), 1)
    return float(pick(rng, (f"{whole}.99", f"{whole}.99", f"{whole}.95", f"{whole}.00", f"{whole}.49")))


def _model_name(rng: np.random.Generator) -> str:
    word = pick(rng, ("Aero", "Flex", "Core", "Terra", "Nimbus", "Vista", "Pulse", "Drift", "Summit", "Echo",
                      "Arc", "Halo", "Tempo", "Ridge", "Luxe"))
    tail = pick(rng, ("", " 2", " 3", " Pro", " Lite", " Max", " X", " Plus", " II", " S"))
    return word + tail


def _title(rng: np.random.Generator, brand: str, dept: Department, noun: str, material: str, colour: str,
           feature: str) -> str:
    adj = pick(rng, dept.adjectives)
    model = _model_name(rng)
    feature = feature.removeprefix("a ").removeprefix("an ")
    forms = (
        f"{brand} {adj.title()} {material.title()} {noun.title()}",
        f"{brand} {noun.title()} – {feature}, {colour.title()}",
        f"{adj.capitalize()} {noun} by {brand} ({colour})",
        f"{brand} {model} {noun.title()} with {feature.capitalize()}",
        f"{material.capitalize()} {noun}, {adj}, {colour} – {brand}",
        f"{brand} {model} {adj.title()} {noun.title()}",
        f"{noun.title()} | {material.title()} | {colour.title()} | {brand}",
    )
    return pick(rng, forms)


def _description(rng: np.random.Generator, leaf: Leaf, dept: Department, brand: str, noun: str, material: str,
                 colour: str, features: list[str], sizes: list[str], warranty: int, weight: int) -> str:
    adj = pick(rng, dept.adjectives)
    use, use2 = rng.choice(len(dept.uses), size=2, replace=False)
    intros = (
        f"The {brand} {noun} is a {adj} take on a favourite, made from {material} in {colour}.",
        f"Meet the {adj} {noun} from {brand}: {material}, {colour}, and made for {dept.uses[use]}.",
        f"Designed for {dept.uses[use]}, this {noun} pairs {material} with {features[0]}.",
        f"A {adj} {noun} in {colour} {material}, built by {brand} to last.",
        f"{brand} set out to make the {noun} you reach for first. This one is {material} and {adj}.",
    )
    feature_lines = (
        f"Highlights: {', '.join(features[:-1])} and {features[-1]}." if len(features) > 1 else
        f"Highlight: {features[0]}.",
        " ".join(pick(rng, (f"It comes with {f}.", f"{f.capitalize()} as standard.", f"Expect {f}.",
                            f"You also get {f}.")) for f in features),
    )
    sentences = [pick(rng, feature_lines),
                 pick(rng, (f"Ideal for {dept.uses[use]} and {dept.uses[use2]}.",
                            f"Works just as well for {dept.uses[use2]}.",
                            f"Customers love it for {dept.uses[use]}."))]
    if sizes:
        sentences.append(pick(rng, (f"Available in sizes {sizes[0]} to {sizes[-1]}.",
                                    f"Sizes {sizes[0]}–{sizes[-1]}; see the size guide for measurements.")))
    else:
        sentences.append(pick(rng, (f"Weight: {weight} g.", f"It weighs about {weight} g.")))
    if warranty:
        sentences.append(f"Backed by a {warranty}-month warranty.")
    rng.shuffle(sentences)
    return " ".join([pick(rng, intros), *sentences, pick(rng, leaf.care or dept.care)])


def _elasticities(rng: np.random.Generator, leaf: np.ndarray) -> np.ndarray:
    """Leaf means spread over the range, products scattered around them: hierarchical, as in real shops."""
    leaf_mean = rng.uniform(-2.4, -1.1, size=len(LEAVES))
    return np.clip(leaf_mean[leaf] + rng.normal(0.0, 0.35, size=len(leaf)), *ELASTICITY_RANGE)


def build_catalog(rng: np.random.Generator, n_products: int, days: int, start: pd.Timestamp,
                  currency: str) -> Catalog:
    """Products and their hidden traits."""
    n_leaves = len(LEAVES)
    leaf = np.concatenate([np.arange(min(n_products, n_leaves)),
                           rng.integers(0, n_leaves, size=max(n_products - n_leaves, 0))])
    rng.shuffle(leaf)
    department = np.array([DEPARTMENT_NAMES.index(LEAVES[k].department) for k in leaf])
    brands_per_dept = max(4, min(12, n_products // 25))
    brand_names = _brand_names(rng, brands_per_dept * len(DEPARTMENT_NAMES))
    brand_quality = rng.normal(0.0, 0.6, size=len(brand_names))
    brand_tier = rng.normal(0.0, 0.25, size=len(brand_names))
    brand = department * brands_per_dept + rng.integers(0, brands_per_dept, size=n_products)

    base_price = np.array([LEAVES[k].price for k in leaf])
    spread = np.array([LEAVES[k].price_sd for k in leaf])
    raw_price = base_price * np.exp(brand_tier[brand] + rng.normal(0, 1, n_products) * spread * 0.7)
    list_price = np.array([_price_ending(rng, p) for p in raw_price])
    cost = np.round(list_price * rng.uniform(0.35, 0.65, size=n_products), 2)
    premium = np.log(raw_price / base_price)
    quality = brand_quality[brand] + rng.normal(0, 0.5, n_products) + 0.3 * premium
    sized = np.array([LEAVES[k].sized for k in leaf])
    fit_bias = np.where(sized, rng.normal(0, 0.6, n_products), 0.0)
    packaging = rng.normal(0.2, 0.6, n_products)
    looks = rng.normal(0.3, 0.6, n_products)
    # Cheaper products sell more; popularity is otherwise heavy-tailed (a few best sellers).
    popularity = rng.lognormal(0.0, 1.0, n_products) * (list_price / base_price) ** -0.5
    popularity /= popularity.sum()
    launched_late = rng.random(n_products) < 0.2
    launch_day = np.where(launched_late, rng.integers(0, max(int(days * 0.7), 1), n_products), 0)
    elasticity = _elasticities(rng, leaf)

    rows, nouns = [], []
    for i in range(n_products):
        lf, dept = LEAVES[leaf[i]], DEPARTMENTS[LEAVES[leaf[i]].department]
        noun, colour = pick(rng, lf.nouns), pick(rng, COLOURS)
        material = pick(rng, lf.materials or dept.materials)
        pool = list(dict.fromkeys(lf.features + dept.features))
        features = [pool[j] for j in rng.choice(len(pool), size=int(rng.integers(2, 5)), replace=False)]
        sizes = list(SHOE_SIZES if lf.department == "Shoes" else CLOTHING_SIZES) if lf.sized else []
        if sizes:
            lo = int(rng.integers(0, 2))
            sizes = sizes[lo:len(sizes) - int(rng.integers(0, 2))]
        warranty = int(pick(rng, ("12", "24", "24", "36"))) if lf.department in ("Electronics", "Home & Kitchen") else 0
        weight = int(rng.lognormal(np.log(400), 0.8))
        title = _title(rng, brand_names[brand[i]], dept, noun, material, colour, features[0])
        description = _description(rng, lf, dept, brand_names[brand[i]], noun, material, colour, features, sizes,
                                   warranty, weight)
        available = (start + pd.Timedelta(days=int(launch_day[i]))).date().isoformat()
        attributes = {"material": material, "colour": colour, "features": features, "sizes": sizes,
                      "weight_g": weight, "warranty_months": warranty, "available_from": available}
        nouns.append(noun)
        rows.append((f"P{i + 1:05d}", title, description, brand_names[brand[i]], lf.path, list_price[i], cost[i],
                     currency, json.dumps(attributes, ensure_ascii=False)))
    products = pd.DataFrame(rows, columns=["product_id", "title", "description", "brand", "category", "price",
                                           "cost", "currency", "attributes"])
    truth = pd.DataFrame({
        "product_id": products["product_id"], "category": products["category"],
        "department": [DEPARTMENT_NAMES[d] for d in department], "brand": products["brand"],
        "reference_price": list_price, "cost": cost, "elasticity": elasticity, "popularity": popularity,
        "launch_day": launch_day, "quality": quality, "fit_bias": fit_bias, "packaging": packaging,
        "looks_as_pictured": looks,
    })
    return Catalog(products, truth, leaf, department, list_price, elasticity, popularity, launch_day, quality,
                   fit_bias, packaging, looks, brand, len(brand_names), nouns)
