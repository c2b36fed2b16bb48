"""The store simulator: a seeded online shop with known ground truth (docs/simulator.md).

```python
from shoplens.data.synth import simulate
shop = simulate(n_customers=2_000, n_products=200, days=365, seed=0)
shop.tables["orders"]          # canonical tables, exact canonical column names
shop.truth.elasticity          # the truth the data were drawn from
shop.write(ws)                 # ingest every table, truth to ws.path / "truth"
```
"""

from __future__ import annotations

from shoplens.data.synth.bulk import BulkReport, bulk_products, write_bulk_shop, write_events, write_order_lines
from shoplens.data.synth.config import SIMULATOR_VERSION, DemandShift, Difficulty, SimulatorConfig
from shoplens.data.synth.shop import SimulatedShop, Simulator, Truth, simulate

__all__ = ["SIMULATOR_VERSION", "BulkReport", "DemandShift", "Difficulty", "SimulatedShop", "Simulator",
           "SimulatorConfig", "Truth", "bulk_products", "simulate", "write_bulk_shop", "write_events",
           "write_order_lines"]
