"""The shop's FAQ, its policies and product questions answered from the product's own attributes.

Product answers are derived from the catalog's ``attributes`` (material, sizes, features, warranty,
weight), so an assistant that answers from the catalog can be checked against them. No answer contains
an e-mail address or phone number (ingest would mask it).
"""

from __future__ import annotations

import json
import random
import re

import numpy as np
import pandas as pd

from shoplens.data.synth.catalog import Catalog
from shoplens.data.synth.ids import ids

ADJECTIVE_FEATURE = re.compile(r"washable|safe|free|certified|tested|compatible|organic|friendly|resistant|"
                               r"roasted|comedogenic|formula")
FAQ: tuple[tuple[str, str], ...] = (
    ("How long does delivery take?", "Orders within the country arrive in 2–4 working days; international orders "
     "take 5–10 working days. You get a tracking link by e-mail as soon as the parcel leaves our warehouse."),
    ("How much does shipping cost?", "Shipping is free on orders over 50 in your currency; below that a flat fee of "
     "4.95 applies. Express delivery costs 9.95."),
    ("Can I change or cancel my order?", "You can change or cancel an order within one hour of placing it from "
     "'My orders'. After that it is being packed and can only be returned once delivered."),
    ("How do I track my order?", "Open 'My orders' and choose 'Track parcel', or use the link in your shipping "
     "confirmation e-mail."),
    ("Which payment methods do you accept?", "We accept major credit and debit cards, PayPal, Apple Pay, Google Pay, "
     "Alipay and WeChat Pay."),
    ("Do you ship internationally?", "Yes, we ship to the United States, Canada, the United Kingdom, most of the "
     "European Union, Australia, mainland China, Taiwan and Singapore."),
    ("How do I apply a discount code?", "Enter the code in the 'Discount code' field at checkout. One code per "
     "order; codes cannot be combined with sitewide sale prices unless stated."),
    ("My item arrived damaged. What should I do?", "We are sorry! Send us a photo from 'My orders' > 'Report a "
     "problem' within 14 days and we will send a replacement or refund you in full, return shipping included."),
    ("How do I find my size?", "Each clothing and shoe page has a size guide with measurements in centimetres. If "
     "you are between sizes, reviews often say whether an item runs small or large."),
    ("Do you restock sold-out items?", "Most items are restocked within 2–3 weeks. Use 'Notify me' on the product "
     "page to get an e-mail when it is back."),
    ("Can I buy a gift card?", "Yes, digital gift cards from 10 to 500 are available and never expire."),
    ("How do I create an account?", "Choose 'Sign up' at the top of any page. An account lets you track orders, "
     "save a wishlist and check out faster."),
    ("What data do you keep about me, and can I delete it?", "We keep your account details, orders and reviews to "
     "run the shop, and browsing data for 13 months. You can download or erase your data at any time in "
     "'Account' > 'Privacy'; erasure is completed within 30 days."),
    ("Do you use cookies?", "We use necessary cookies to run the shop and, only with your consent, analytics and "
     "marketing cookies. You can change your choice in 'Cookie settings'."),
    ("退货需要多长时间处理？", "我们收到退货后会在3个工作日内处理，退款会在5到10个工作日内原路返回。"),
    ("可以开发票吗？", "可以。在“我的订单”中选择“申请发票”，电子发票会发送到您的邮箱。"),
    ("国际运费怎么算？", "国际订单满50免运费，不满50收取固定运费9.95。配送时间一般为5到10个工作日。"),
    ("商品有质量问题怎么办？", "请在收货后14天内在“我的订单”中上传照片申请售后，我们会为您换货或全额退款。"),
    ("如何修改收货地址？", "下单后一小时内可以在“我的订单”中修改地址，之后订单进入打包流程，无法修改。"),
)

POLICIES: tuple[tuple[str, str], ...] = (
    ("What is your return policy?", "Return policy: unused items in their original condition can be returned "
     "within 30 days of delivery for a full refund. Sale items can be returned within 14 days. Underwear, "
     "opened beauty products and personalised items cannot be returned for hygiene reasons. Refunds go to the "
     "original payment method within 10 working days of receiving the return."),
    ("What does the warranty cover?", "Warranty policy: electronics and home products carry the manufacturer's "
     "warranty stated on the product page (12 to 36 months) against defects in materials and workmanship. It "
     "does not cover normal wear, accidents or misuse. Claims are made through 'My orders' with the order number."),
    ("How do price adjustments work?", "Price policy: if an item you bought is reduced within 7 days of delivery, "
     "we refund the difference once on request. Sitewide sale events (Black Friday, summer and new-year sales) "
     "are excluded."),
    ("How do you protect my personal data?", "Privacy policy: we process personal data only to run the shop, "
     "deliver orders, prevent fraud and, with consent, for marketing. Data are stored in the EU and encrypted "
     "at rest. You may access, correct, export or erase your data at any time."),
    ("What are your shipping terms?", "Shipping policy: orders placed before 14:00 on a working day leave the "
     "warehouse the same day. Risk passes to you on delivery. Customs duties for international orders are "
     "included in the price at checkout."),
    ("退换货政策是什么？", "退换货政策：商品在签收后30天内、未使用且包装完好可以无理由退货；促销商品为14天。"
     "贴身衣物、已拆封的美妆产品不支持退货。"),
)


def _product_questions(r: random.Random, title: str, attrs: dict, category: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    material, colour = attrs["material"], attrs["colour"]
    out.append((r.choice(("What is it made of?", "What material is this?", "Is this real " + material + "?")),
                r.choice((f"It is made of {material}.", f"{material.capitalize()}, according to the maker.",
                          f"Yes, the main material is {material}."))))
    sizes = attrs["sizes"]
    if sizes:
        ask = r.choice(("XXL", "XS", "L", "46", "36", "M", "42"))
        has = ask in sizes
        out.append((f"Does it come in size {ask}?",
                     f"Yes, {ask} is available." if has else
                     f"No, sizes run from {sizes[0]} to {sizes[-1]}."))
    features = attrs["features"]
    asked = r.choice(features)
    if ADJECTIVE_FEATURE.search(asked):  # "machine washable", "fragrance-free": a property, not a part
        out.append((f"Is it {asked}?", r.choice((f"Yes, it is {asked}.", f"Yes — {asked}."))))
    else:
        out.append((r.choice((f"Does it have {asked}?", f"Does this come with {asked}?")),
                    r.choice((f"Yes, it has {asked}.", f"Yes, {asked} is included."))))
    if "machine washable" in features or "dishwasher safe" in features:
        out.append(("Can I put it in the washing machine or dishwasher?", "Yes, it is "
                    + ("machine washable." if "machine washable" in features else "dishwasher safe.")))
    if attrs["warranty_months"]:
        out.append(("How long is the warranty?", f"{attrs['warranty_months']} months from delivery."))
    out.append((r.choice(("How heavy is it?", "What does it weigh?")), f"About {attrs['weight_g']} g."))
    out.append((f"Is the {colour} darker in person?", r.choice(("It looks the same as in the photos.",
                                                               "Slightly darker in daylight, but close.",
                                                               "No, the colour is true to the pictures."))))
    if category.startswith("Grocery"):
        out.append(("是有机的吗？", "是的，有机认证。" if "organic" in features else "不是有机产品。"))
    r.shuffle(out)
    return out[: r.randint(1, 3)]


def build_qa(rng: np.random.Generator, catalog: Catalog, share_with_questions: float = 0.35) -> pd.DataFrame:
    r = random.Random(int(rng.integers(2**62)))
    rows: list[tuple[str | None, str, str, str]] = [(None, q, a, "faq") for q, a in FAQ]
    rows += [(None, q, a, "policy") for q, a in POLICIES]
    products = catalog.products
    chosen = np.flatnonzero(rng.random(len(products)) < share_with_questions)
    for i in chosen:
        attrs = json.loads(products["attributes"].iat[i])
        for q, a in _product_questions(r, products["title"].iat[i], attrs, products["category"].iat[i]):
            rows.append((products["product_id"].iat[i], q, a, "product_qa"))
    qa = pd.DataFrame(rows, columns=["product_id", "question", "answer", "source"])
    qa.insert(0, "qa_id", ids("Q", np.arange(1, len(qa) + 1), 6))
    return qa
