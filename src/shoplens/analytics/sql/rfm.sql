{#- RFM per customer: recency (days from the last purchase to the as-of day), frequency (orders),
    monetary (money spent), each scored 1–5 by quintile cut-offs (exact discrete quantiles of the
    customers' values: no whole-table ranking), and a named segment from the R and F scores.
    Fragments: has_as_of (bool). Values: :as_of (DATE, exclusive end of the history) when has_as_of. -#}
{% import "_common.sql" as c %}
WITH sales AS (
    SELECT o.customer_id, {{ c.local_day("o.order_ts") }} AS day, coalesce(o.total_amount, 0) AS amount
    FROM orders o
    WHERE o.customer_id IS NOT NULL AND o.order_ts IS NOT NULL AND {{ c.is_sale("o") }}
),
history AS (
    SELECT * FROM sales {% if has_as_of %}WHERE day < :as_of{% endif %}
),
per_customer AS (
    -- money rounded to cents before it is scored, so equal spend gets an equal score on every engine
    SELECT customer_id, min(day) AS first_day, max(day) AS last_day, count(*) AS frequency,
           round(sum(amount), 2) AS monetary
    FROM history
    GROUP BY customer_id
),
measured AS (
    {% if has_as_of %}
    SELECT p.*, date_diff('day', p.last_day, :as_of) AS recency_days FROM per_customer p
    {% else %}
    -- as of the day after the last purchase in the data
    SELECT p.*, date_diff('day', p.last_day, b.last_day) + 1 AS recency_days
    FROM per_customer p CROSS JOIN (SELECT max(last_day) AS last_day FROM per_customer) AS b
    {% endif %}
),
cuts AS (
    SELECT {% for p in (0.2, 0.4, 0.6, 0.8) %}quantile_disc(recency_days, {{ p }}) AS r{{ loop.index }},
           quantile_disc(frequency, {{ p }}) AS f{{ loop.index }},
           quantile_disc(monetary, {{ p }}) AS m{{ loop.index }}{{ "," if not loop.last }}
           {% endfor %}
    FROM measured
),
scored AS (
    -- a score counts the cut-offs a value exceeds: equal values share a score; recent is good, so R is reversed
    SELECT m.*,
           5 - ({% for i in range(1, 5) %}CAST(m.recency_days > k.r{{ i }} AS INTEGER){{ " + " if not loop.last }}{% endfor %}) AS r_score,
           1 + {% for i in range(1, 5) %}CAST(m.frequency > k.f{{ i }} AS INTEGER){{ " + " if not loop.last }}{% endfor %} AS f_score,
           1 + {% for i in range(1, 5) %}CAST(m.monetary > k.m{{ i }} AS INTEGER){{ " + " if not loop.last }}{% endfor %} AS m_score
    FROM measured m CROSS JOIN cuts k
)
SELECT customer_id, first_day, last_day, recency_days, frequency,
       {{ c.money("monetary") }} AS monetary,
       {{ c.ratio("monetary", "frequency") }} AS avg_order_value,
       r_score, f_score, m_score,
       CAST(r_score AS VARCHAR) || CAST(f_score AS VARCHAR) || CAST(m_score AS VARCHAR) AS rfm_cell,
       CASE
           WHEN r_score = 5 AND f_score >= 4 THEN 'champions'
           WHEN r_score >= 3 AND f_score >= 4 THEN 'loyal'
           WHEN r_score >= 4 AND f_score >= 2 THEN 'potential loyalists'
           WHEN r_score >= 4 THEN 'new'
           WHEN r_score <= 2 AND f_score = 5 THEN 'can''t lose'
           WHEN f_score >= 3 THEN 'at risk'
           WHEN r_score >= 2 THEN 'hibernating'
           ELSE 'lost'
       END AS segment
FROM scored
