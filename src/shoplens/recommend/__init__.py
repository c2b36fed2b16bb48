"""Recommendations: baselines, collaborative, sequential, text-aware and knowledge-graph-aware models,
explanations, serving.

```python
import shoplens as sl
from shoplens.recommend import SessionEASE
ws = sl.Workspace.open("shop")
model = SessionEASE().fit(ws)                  # the interactions view and the products table
model.recommend("C000042", k=5)               # rank, product_id, title, score, reason
model.similar("P00017", k=5)                  # similar products, with the reason
AutoRecommender().fit(ws).chosen_              # the candidate that scored best on validation
```

Importing this package is cheap: torch (SASRec, TextHybrid's encoder) and implicit (ALS, BPR) load only
when such a model is fitted or loaded. See docs/recommend.md.
"""

from __future__ import annotations

from shoplens.recommend.auto import AutoRecommender
from shoplens.recommend.base import Recommender
from shoplens.recommend.content import CategoryPopularity, ContentFactorMap, TagProfile, TextHybrid, TfidfKNN
from shoplens.recommend.factor import ALS, BPR
from shoplens.recommend.kg import KGHybrid
from shoplens.recommend.models import EASE, ItemKNN, Popularity, SessionEASE
from shoplens.recommend.related import bought_together, similar_items
from shoplens.recommend.sasrec import SASRec
from shoplens.recommend.spark_als import SparkALS
from shoplens.recommend.splits import cold_item_split, leave_one_out, stratified_split, temporal_split

__all__ = [
           "ALS",
           "BPR",
           "EASE",
           "AutoRecommender",
           "CategoryPopularity",
           "ContentFactorMap",
           "ItemKNN",
           "KGHybrid",
           "Popularity",
           "Recommender",
           "SASRec",
           "SessionEASE",
           "SparkALS",
           "TagProfile",
           "TextHybrid",
           "TfidfKNN",
           "bought_together",
           "cold_item_split",
           "leave_one_out",
           "similar_items",
           "stratified_split",
           "temporal_split",
]
