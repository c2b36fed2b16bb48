"""Review intelligence: star rating and sentiment (English and Chinese), aspects with quotes, explanations.

```python
from shoplens.reviews import AspectModel, RatingModel

stars = RatingModel().fit(ws)                      # fine-tuned MiniLM (English) and e5-small (Chinese) stacks
stars.predict(["Lovely fabric but it runs small"])  # array([4])
stars.explain(["Lovely fabric but it runs small"])  # the words that drove it
aspects = AspectModel().fit(ws)
aspects.analyze(["质量很好，但是尺码偏小"])           # quality: positive, size/fit: negative, with quotes
```

See docs/reviews.md. Importing this package loads no model library; classes load on first use.
"""

from __future__ import annotations

from shoplens._imports import lazy_exports

_EXPORTS = {
    "RatingModel": "shoplens.reviews.models", "SentimentModel": "shoplens.reviews.models",
    "ReviewClassifier": "shoplens.reviews.models", "AspectModel": "shoplens.reviews.aspects",
    "summarize": "shoplens.reviews.aspects", "summary_sentence": "shoplens.reviews.aspects",
    "score_workspace": "shoplens.reviews.store", "load_task": "shoplens.reviews.tasks",
    "TASKS": "shoplens.reviews.tasks",
    "train": "shoplens.reviews.api", "load_deployed": "shoplens.reviews.api",
}
__all__ = sorted(_EXPORTS)


__getattr__ = lazy_exports(__name__, _EXPORTS)
