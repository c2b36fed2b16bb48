"""Reviews in English and Chinese whose text expresses known aspect sentiments.

For every sold line the customer's experience is drawn per aspect from the product's hidden traits
and the order's facts: quality from the product's quality, size/fit from its fit bias (sized products
only), value from quality against the price actually paid, delivery from the order's delivery days,
service only after a return or a late parcel, packaging and looks from the product. Each aspect's
sentiment is -1, 0 or +1. A review mentions the aspects that stood out (strong sentiments more
often); its rating is 3.9 + a weighted sum of the mentioned sentiments (negative ones weigh
1.6 times more) + noise, rounded to 1–5, so
ratings follow the aspects. Extreme experiences are reviewed more often. The text says exactly the
mentioned sentiments (phrases.py), in the customer's language, with noise on a share of reviews.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import pandas as pd

from shoplens.data.synth.catalog import Catalog
from shoplens.data.synth.config import SimulatorConfig
from shoplens.data.synth.customers import Population
from shoplens.data.synth.ids import ids
from shoplens.data.synth.orders import SIZED, Sales
from shoplens.data.synth.phrases import (
    ASPECTS,
    EN,
    EN_CLOSERS,
    EN_EMOJI,
    EN_INTENSIFIERS,
    EN_MISSPELLINGS,
    EN_OPENERS,
    EN_SOFTENERS,
    EN_TITLES,
    EN_VERBS,
    ZH,
    ZH_ADVERBS,
    ZH_CLOSERS,
    ZH_EMOJI,
    ZH_OPENERS,
    ZH_TITLES,
)

WEIGHTS = np.array([1.0, 0.8, 0.6, 0.45, 0.6, 0.25, 0.5])  # rating weight per aspect, in ASPECTS order
MENTION = np.array([0.7, 0.65, 0.35, 0.3, 0.8, 0.12, 0.3])  # base chance to mention an aspect
RATING_BASE = 3.9
NEGATIVE_WEIGHT = 1.6  # a bad experience costs more stars than a good one earns (J-shaped ratings)
ZH_NO_TAI = ("正好", "标准", "准", "正", "合身", "合适", "公道")  # adjectives that do not take 太…了


@dataclass
class Reviews:
    reviews: pd.DataFrame
    aspects: pd.DataFrame  # truth: review_id, aspect, sentiment, detail
    truth: pd.DataFrame  # per review: order, line, latent score


def _sign(z: np.ndarray, threshold: float) -> np.ndarray:
    return np.where(z > threshold, 1, np.where(z < -threshold, -1, 0))


def _experience(rng: np.random.Generator, lines: pd.DataFrame, catalog: Catalog, delivery: np.ndarray,
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sentiment (lines × aspects), whether each aspect applies, and the fit direction (-1 small, +1 large)."""
    n = len(lines)
    p = lines["product"].to_numpy()
    paid = (lines["quantity"] * lines["unit_price"] - lines["discount"]).to_numpy() / lines["quantity"].to_numpy()
    days = delivery[lines["order"].to_numpy()]
    returned = lines["returned"].to_numpy()
    fit = catalog.fit_bias[p] + rng.normal(0, 0.5, n)
    sentiment = np.column_stack([
        _sign(catalog.quality[p] + rng.normal(0, 0.8, n), 0.45),
        np.where(np.abs(fit) < 0.35, 1, np.where(np.abs(fit) > 0.9, -1, 0)),
        _sign(0.6 * catalog.quality[p] - 2.5 * np.log(paid / catalog.list_price[p]) + rng.normal(0, 0.7, n) - 0.1, 0.5),
        np.where(days <= 2, 1, np.where(days >= 8, -1, 0)),
        _sign(rng.normal(0.1, 1.0, n), 0.4),
        _sign(catalog.packaging[p] + rng.normal(0, 0.7, n), 0.6),
        _sign(catalog.looks[p] + rng.normal(0, 0.7, n), 0.6),
    ])
    applies = np.ones((n, len(ASPECTS)), dtype=bool)
    applies[:, 1] = SIZED[catalog.leaf[p]]
    applies[:, 4] = returned | (days >= 8)
    return sentiment, applies, np.where(fit < 0, -1, 1)


def _mentions(rng: np.random.Generator, sentiment: np.ndarray, applies: np.ndarray) -> np.ndarray:
    prob = np.clip(MENTION[None, :] * np.where(sentiment != 0, 1.6, 0.5), 0, 0.95)
    mentioned = applies & (rng.random(sentiment.shape) < prob)
    mentioned[~mentioned.any(axis=1), 0] = True  # every review says something about quality at least
    return mentioned


def build_reviews(rng: np.random.Generator, sales: Sales, pop: Population, catalog: Catalog, config: SimulatorConfig,
                  start: pd.Timestamp) -> Reviews:
    lines = sales.lines[sales.lines["status"] == "completed"].reset_index(drop=True)
    delivery = sales.order_truth["delivery_days"].to_numpy()
    sentiment, applies, fit_direction = _experience(rng, lines, catalog, delivery)
    mentioned = _mentions(rng, sentiment, applies)
    said = sentiment * mentioned
    score = (RATING_BASE + (said * WEIGHTS * np.where(said < 0, NEGATIVE_WEIGHT, 1.0)).sum(axis=1)
             - 0.3 * lines["returned"].to_numpy()
             + rng.normal(0, 0.5, len(lines)))
    rating = np.clip(np.round(score), 1, 5).astype(np.int64)
    # People write about extreme experiences more often than about ordinary ones.
    prob = np.clip(config.review_rate * (0.6 + 0.5 * np.abs(said).sum(axis=1)), 0, 0.9)
    day = lines["day"].to_numpy() + delivery[lines["order"].to_numpy()] + rng.integers(1, 26, len(lines))
    customer = lines["customer"].to_numpy()
    chosen = np.flatnonzero((rng.random(len(lines)) < prob) & (day < config.days) & (day < pop.churn_day[customer]))
    seconds = day[chosen] * 86_400 + rng.integers(6 * 3600, 24 * 3600, len(chosen))
    ts = start + pd.to_timedelta(seconds, unit="s")
    order = np.lexsort((chosen, ts.asi8))
    chosen, ts = chosen[order], ts[order]
    review_ids = ids("V", np.arange(1, len(chosen) + 1), 7)
    text_rng = random.Random(int(rng.integers(2**62)))
    noise = config.difficulty.text_noise
    titles, bodies = [], []
    language = pop.language[customer[chosen]]
    product = lines["product"].to_numpy()[chosen]
    for i, row in enumerate(chosen):
        aspects = [(a, int(sentiment[row, a]), int(fit_direction[row])) for a in np.flatnonzero(mentioned[row])]
        text_rng.shuffle(aspects)
        writer = _write_zh if language[i] == "zh" else _write_en
        title, body = writer(text_rng, aspects, int(rating[row]), catalog.nouns[product[i]], noise)
        titles.append(title)
        bodies.append(body)
    reviews = pd.DataFrame({
        "review_id": review_ids, "product_id": catalog.products["product_id"].to_numpy()[product],
        "customer_id": pop.ids[customer[chosen]], "rating": rating[chosen], "title": titles, "body": bodies,
        "review_ts": ts.tz_localize("UTC"), "language": language, "verified": True, "source": "simulator",
    })
    rows, cols = np.nonzero(mentioned[chosen])
    detail = np.where(cols == 1, np.where(fit_direction[chosen][rows] < 0, "small", "large"), None)
    detail = np.where((cols == 1) & (sentiment[chosen][rows, cols] == -1), detail, None)
    aspects = pd.DataFrame({"review_id": review_ids[rows], "aspect": np.array(ASPECTS)[cols],
                            "sentiment": sentiment[chosen][rows, cols], "detail": detail})
    truth = pd.DataFrame({"review_id": review_ids, "order_id": lines["order_id"].to_numpy()[chosen],
                          "line_no": lines["line_no"].to_numpy()[chosen], "latent_score": score[chosen],
                          "returned": lines["returned"].to_numpy()[chosen]})
    return Reviews(reviews, aspects, truth)


# -- English ----------------------------------------------------------------------------------------------

def _en_clause(r: random.Random, aspect: str, s: int, noun: str, direction: int) -> str:
    bank = EN[aspect]
    if bank.small and s == -1 and r.random() < 0.7:
        return r.choice(bank.small if direction < 0 else bank.large)
    if r.random() < 0.25:
        return r.choice(bank.idioms[s]).format(noun=noun)
    group = r.choice(bank.groups)
    subject = f"the {r.choice(group.subjects)}"
    if aspect == "quality" and r.random() < 0.2:
        subject = f"this {noun}"
    lead = r.choice(("", "", "", "honestly, ", "to be fair, ", "I have to say ", "I found that ", "overall "))
    form = r.random()
    if s == 0:
        return f"{lead}{subject} {r.choice(EN_VERBS)} {r.choice(group.neu)}"
    good, bad = (group.pos, group.neg) if s > 0 else (group.neg, group.pos)
    if form < 0.6:
        return f"{lead}{subject} {r.choice(EN_VERBS)} {r.choice(EN_INTENSIFIERS)}{r.choice(good)}"
    if form < 0.8:  # the opposite, negated: "not flimsy at all", "isn't that great"
        negation = r.choice(("isn't", "is not", "wasn't", "is definitely not", "doesn't feel"))
        tail = r.choice(("", " at all", " in the slightest")) if s > 0 else ""
        soft = "" if s > 0 else r.choice(EN_SOFTENERS)
        return f"{lead}{subject} {negation} {soft}{r.choice(bad)}{tail}"
    single = [w for w in good if " " not in w] or list(good)
    return f"{r.choice(EN_INTENSIFIERS)}{r.choice(single)} {subject.split(' ', 1)[1]}"


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


def _join_en(r: random.Random, clauses: list[tuple[str, int]]) -> str:
    """Clauses joined with a contrast ("but", "however") where the sentiment changes, else "and", "also"."""
    text, previous = "", None
    for clause, s in clauses:
        if previous is None:
            text = _capitalized(clause)
        else:
            contrast = (s > 0) != (previous > 0) and s != previous
            sep = r.choice((", but ", ". However, ", ". On the other hand, ", ", although ", ". That said, ")
                           if contrast else (". ", ", and ", ". Also, ", ". Plus, ", "; ", ". "))
            text += sep + (_capitalized(clause) if sep.endswith(". ") else clause)
        previous = s
    return text + r.choice((".", ".", ".", "!", "!!"))


def _noise_en(r: random.Random, text: str) -> str:
    ops = r.sample(("typo", "misspell", "lower", "nopunct", "shout", "emoji", "space"), k=r.randint(1, 3))
    for op in ops:
        if op == "typo":
            words = text.split(" ")
            long = [i for i, w in enumerate(words) if len(w) > 4 and w.isalpha()]
            if long:
                i = r.choice(long)
                w, k = words[i], r.randrange(1, len(words[i]) - 1)
                words[i] = r.choice((w[:k] + w[k + 1:], w[:k] + w[k + 1] + w[k] + w[k + 2:], w[:k] + w[k] + w[k:]))
                text = " ".join(words)
        elif op == "misspell":
            for right, wrong in EN_MISSPELLINGS.items():
                if right in text:
                    text = text.replace(right, wrong, 1)
                    break
        elif op == "lower":
            text = text.lower()
        elif op == "nopunct":
            text = text.rstrip(".!").replace(". ", " ", 1)
        elif op == "shout":
            text = text.rstrip(".!") + "!!!"
        elif op == "emoji":
            text += " " + r.choice(EN_EMOJI)
        else:
            text = text.replace(" ", "  ", 1)
    return text


def _write_en(r: random.Random, aspects: list[tuple[int, int, int]], rating: int, noun: str,
              noise: float) -> tuple[str, str]:
    clauses = [(_en_clause(r, ASPECTS[a], s, noun, d), s) for a, s, d in aspects]
    body = _join_en(r, clauses)
    if r.random() < 0.45:
        body = r.choice(EN_OPENERS[rating]) + " " + body
    if r.random() < 0.4:
        body += " " + r.choice(EN_CLOSERS[rating])
    title = r.choice(EN_TITLES[rating])
    if r.random() < noise:
        body = _noise_en(r, body)
        if r.random() < 0.3:
            title = title.lower()
    return title, body


# -- Chinese ----------------------------------------------------------------------------------------------

def _zh_clause(r: random.Random, aspect: str, s: int, direction: int) -> str:
    bank = ZH[aspect]
    if bank.small and s == -1 and r.random() < 0.7:
        return r.choice(bank.small if direction < 0 else bank.large)
    if r.random() < 0.3:
        return r.choice(bank.idioms[s])
    group = r.choice(bank.groups)
    subject = r.choice(group.subjects)
    lead = r.choice(("", "", "", "感觉", "觉得", "说实话", "个人觉得"))
    if s == 0:
        return f"{lead}{subject}{r.choice(group.neu)}"
    good, bad = (group.pos, group.neg) if s > 0 else (group.neg, group.pos)
    form = r.random()
    if form < 0.55:
        return f"{lead}{subject}{r.choice(ZH_ADVERBS)}{r.choice(good)}"
    if form < 0.7:
        return f"{lead}{subject}太{r.choice([a for a in good if a not in ZH_NO_TAI] or good)}了"
    negatable = [a for a in bad if not a.startswith("不")] or list(bad)  # never "不不准"
    if s > 0:  # "一点也不差": the negative adjective negated
        return f"{lead}{subject}{r.choice(('一点也不', '并不', '完全不', '一点都不'))}{r.choice(negatable)}"
    return f"{lead}{subject}{r.choice(('不怎么', '不是很', '没有想象中那么', '不太'))}{r.choice(negatable)}"


def _join_zh(r: random.Random, clauses: list[tuple[str, int]]) -> str:
    text, previous = "", None
    for clause, s in clauses:
        if previous is None:
            text = clause
        elif s < previous:
            text += r.choice(("，但是", "，不过", "，就是", "。可惜", "，只是")) + clause
        elif s > previous:
            text += r.choice(("，但是", "，不过", "。好在", "，还好")) + clause
        else:
            text += r.choice(("，", "，而且", "，另外", "。", "，还有", "；")) + clause
        previous = s
    return text + r.choice(("。", "。", "！", "！！"))


def _noise_zh(r: random.Random, text: str) -> str:
    ops = r.sample(("de", "comma", "shout", "emoji", "dear", "space"), k=r.randint(1, 3))
    for op in ops:
        if op == "de" and "的" in text:
            text = text.replace("的", r.choice(("得", "地")), 1)
        elif op == "comma":
            text = text.replace("。", "，", 1)
        elif op == "shout":
            text = text.rstrip("。！") + "！！！"
        elif op == "emoji":
            text += r.choice(ZH_EMOJI)
        elif op == "dear":
            text = r.choice(("亲们，", "姐妹们，", "说真的，")) + text
        else:
            text = text.replace("，", " ", 1)
    return text


def _write_zh(r: random.Random, aspects: list[tuple[int, int, int]], rating: int, noun: str,
              noise: float) -> tuple[str, str]:
    clauses = [(_zh_clause(r, ASPECTS[a], s, d), s) for a, s, d in aspects]
    body = _join_zh(r, clauses)
    if r.random() < 0.45:
        body = r.choice(ZH_OPENERS[rating]) + body
    if r.random() < 0.4:
        body += r.choice(ZH_CLOSERS[rating])
    title = r.choice(ZH_TITLES[rating])
    if r.random() < noise:
        body = _noise_zh(r, body)
    return title, body
