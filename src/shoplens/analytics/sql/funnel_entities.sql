{#- One row per entity (session or customer) that did the funnel's first step: when it reached each step
    (microseconds since the epoch; NULL when it did not) and its breakdown segment.

    The funnel starts at the entity's first step-1 event in the period; each required step is the first
    event of its types at or after the previous required step and within the window from the start; an
    optional step gates nothing. The event
    types of different steps are disjoint, so no event counts twice. Sessions missing a session_id are
    rebuilt per customer: a new session after :gap_us of inactivity.
    An optional step is the first event of its types at or after the previous required step, within the
    window; it is counted, and later steps do not wait for it.
    Fragments: steps (no, types, optional, previous), entity, segment, segment_needs_customers,
    all_types, has_start, has_end. Values: :window_us, :gap_us, :start_day, :end_day. -#}
WITH
{% if entity == "session" %}
unsessioned AS (
    SELECT e.event_id, e.customer_id, e.event_type, e.event_ts, e.properties, epoch_us(e.event_ts) AS ts_us
    FROM events e
    WHERE e.session_id IS NULL AND e.customer_id IS NOT NULL AND e.event_ts IS NOT NULL
),
gaps AS (
    SELECT u.*,
           CASE WHEN ts_us - lag(ts_us) OVER (PARTITION BY customer_id ORDER BY ts_us, event_id) <= :gap_us
                THEN 0 ELSE 1 END AS starts
    FROM unsessioned u
),
rebuilt AS (
    SELECT customer_id || '~' || CAST(sum(starts) OVER (PARTITION BY customer_id ORDER BY ts_us, event_id
                                                        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS VARCHAR)
               AS entity,
           customer_id, event_type, event_ts, properties
    FROM gaps
),
located AS (
    SELECT session_id AS entity, customer_id, event_type, event_ts, properties
    FROM events
    WHERE session_id IS NOT NULL
    UNION ALL
    SELECT entity, customer_id, event_type, event_ts, properties FROM rebuilt
),
{% else %}
located AS (
    SELECT customer_id AS entity, customer_id, event_type, event_ts, properties
    FROM events
    WHERE customer_id IS NOT NULL
),
{% endif %}
step_events AS (
    SELECT e.entity, epoch_us(e.event_ts) AS ts_us,
           CASE {% for s in steps %}WHEN e.event_type IN ({{ s.types }}) THEN {{ s.no }} {% endfor %}END AS step,
           {{ segment }} AS segment
    FROM located e
    {% if segment_needs_customers %}LEFT JOIN customers c ON c.customer_id = e.customer_id{% endif %}
    WHERE e.event_ts IS NOT NULL AND e.event_type IN ({{ all_types }})
      {% if has_start %}AND e.event_ts >= :start_day{% endif %}
      {% if has_end %}AND e.event_ts < :end_day{% endif %}
),
s1 AS (
    SELECT entity, min(ts_us) AS t1, min(segment) AS segment
    FROM step_events
    WHERE step = 1
    GROUP BY entity
)
{% for s in steps[1:] %},
s{{ s.no }} AS (
    SELECT p.entity, {% if not s.optional %}p.t1, {% endif %}min(e.ts_us) AS t{{ s.no }}
    FROM s{{ s.previous }} p
    JOIN step_events e ON e.entity = p.entity AND e.step = {{ s.no }}
         AND e.ts_us >= p.t{{ s.previous }} AND e.ts_us <= p.t1 + :window_us
    GROUP BY p.entity{% if not s.optional %}, p.t1{% endif %}
)
{% endfor %}
SELECT s1.entity, coalesce(CAST(s1.segment AS VARCHAR), '(unknown)') AS segment,
       {% for s in steps %}s{{ s.no }}.t{{ s.no }}{{ ", " if not loop.last }}{% endfor %}
FROM s1
{% for s in steps[1:] %}LEFT JOIN s{{ s.no }} ON s{{ s.no }}.entity = s1.entity
{% endfor %}
