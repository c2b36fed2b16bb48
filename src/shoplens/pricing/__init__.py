"""Price elasticity, price optimisation and price tests (docs/pricing.md).

```python
from shoplens.pricing import ElasticityModel, PriceOptimizer, plan_price_test
model = ElasticityModel().fit(ws)                         # per product and category, with intervals
plan = PriceOptimizer(margin_floor=0.15).optimize(model)  # suggested prices with their expected effect
test = plan_price_test(model, ["P00001"], price_change=0.05)
```

Heavy modules (LightGBM for the DML estimator) load only when used, so importing this package is cheap.
"""

from __future__ import annotations

from shoplens._imports import lazy_exports

_EXPORTS = {
    "ElasticityModel": "shoplens.pricing.model",
    "PriceOptimizer": "shoplens.pricing.optimize",
    "PriceSuggestions": "shoplens.pricing.optimize",
    "check_constraints": "shoplens.pricing.optimize",
    "PricePanel": "shoplens.pricing.panel",
    "build_panel": "shoplens.pricing.panel",
    "panel_from_workspace": "shoplens.pricing.panel",
    "cross_price_effects": "shoplens.pricing.cross",
    "plan_price_test": "shoplens.pricing.experiments",
    "analyze_price_test": "shoplens.pricing.experiments",
    "PriceTestPlan": "shoplens.pricing.experiments",
    "PriceTestResult": "shoplens.pricing.experiments",
    "identification_report": "shoplens.pricing.identify",
    "available_stock": "shoplens.pricing.inputs",
    "compare_uplift": "shoplens.pricing.evaluation",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_exports(__name__, _EXPORTS)
