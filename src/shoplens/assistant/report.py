"""The report's assistant section: what it answers from (passages per kind), its intents, a few of the shop's own
questions answered with their citations, and how often the top passage was right on the shop's validation
questions."""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING

from shoplens.report import section, table_html

if TYPE_CHECKING:
    from shoplens.workspace import Workspace


@section("Customer-service assistant", order=80)
def assistant_section(ws: Workspace) -> str | None:
    from shoplens.assistant import api
    from shoplens.assistant.base import SETTINGS_FILE, AnswerConfidence
    from shoplens.assistant.steps import SAMPLES_FILE

    if not api.is_trained(ws):
        return None
    # what the section shows is in the model's settings file: no need to load its encoders and index
    folder = api.model_folder(ws)
    state = json.loads((folder / SETTINGS_FILE).read_text(encoding="utf-8"))
    confidence = AnswerConfidence.from_dict(state.get("confidence") or {})
    parts = [table_html([{"kind": kind, "passages": n} for kind, n in state["passages"].items()]),
             f"<p>Intents: {html.escape(', '.join(state['intents']))} (edit "
             "<code>assistant/intents.csv</code> and retrain).</p>"]
    if confidence.questions:
        parts.append(f"<p>On {confidence.questions:,} of the shop's own past questions (validation products, the "
                     f"question's own pair withheld), the top passage was the question's own answer "
                     f"{confidence.accuracy_at_1:.0%} of the time.</p>")
    samples = folder / SAMPLES_FILE
    if samples.exists():
        parts.append("<h3>Answers to the shop's frequent questions</h3>")
        for reply in json.loads(samples.read_text(encoding="utf-8")):
            cites = ", ".join(c["evidence_id"] for c in reply["citations"][:3])
            parts.append(f"<p><b>{html.escape(reply['question'])}</b><br>"
                         f"{html.escape(reply['text']).replace(chr(10), '<br>')}<br>"
                         f"<small>evidence: {html.escape(cites or 'none')}</small></p>")
    return "\n".join(parts)
