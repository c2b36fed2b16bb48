"""Settings of the REST service; defaults suit one shop on one machine."""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True)
class ServiceSettings:
    """Limits and timings of the service (``create_app(path, settings=...)``)."""

    max_upload_bytes: int = 512 * MIB  # an upload larger than this is refused with 413 while it streams
    max_form_field_bytes: int = 64 * 1024  # each non-file multipart field (map, format, tz)
    max_form_fields: int = 100
    default_rows: int = 100  # rows per page when ?limit= is not given
    max_rows: int = 1000  # the largest ?limit= (the schema says 1000; a lower setting refuses more with 422 too)
    retry_after_s: int = 5  # Retry-After of a 503 while the warehouse is being written
    write_wait_s: float = 30.0  # how long an upload waits for an ingest already running in this process
    session_hours: float = 12.0  # lifetime of a dashboard sign-in
    compute_budget_s: float = 5.0  # each computation (pricing/optimize, reviews/predict …) answers within it or 503
    compute_workers: int = 4  # computations running at once; more wait in line, within their budget
    max_event_batch_bytes: int = 32 * MIB  # POST /api/v1/events: a larger body is refused with 413 while it streams
    max_event_batch_events: int = 100_000  # events in one batch (one transaction)
    live_read_wait_s: float = 2.0  # GET /api/v1/events/live waits this long for an append in progress, then 503
    retrain_schedule: str | None = None  # `shoplens serve --retrain "daily 03:00"`: background retraining
    model_check_s: float = 1.0  # how often the service looks for a newly deployed model version (hot reload)
