{#- The per-customer summary BG/NBD and Gamma-Gamma are fitted on (the CDNOW protocol of Fader, Hardie
    & Lee): purchases in the calibration period up to :end_day (a DATE, inclusive, shop time), purchases on
    the same day merged into one; frequency = repeat purchase days, recency_days = first to last
    purchase day, t_days = first purchase day to :end_day, monetary = mean value of the repeat purchase days
    (NULL without a repeat purchase). Without an end, the calibration period ends on the last purchase day.
    Fragments: has_start, has_end. Values: :end_day, :start_day (inclusive DATEs). -#}
{% import "_common.sql" as c %}
WITH days AS (
    SELECT o.customer_id, {{ c.local_day("o.order_ts") }} AS day, sum(coalesce(o.total_amount, 0)) AS amount
    FROM orders o
    WHERE o.customer_id IS NOT NULL AND o.order_ts IS NOT NULL AND {{ c.is_sale("o") }}
      {% if has_end %}AND {{ c.local_day("o.order_ts") }} <= :end_day{% endif %}
      {% if has_start %}AND {{ c.local_day("o.order_ts") }} >= :start_day{% endif %}
    GROUP BY o.customer_id, {{ c.local_day("o.order_ts") }}
),
firsts AS (
    SELECT customer_id, min(day) AS first_day, max(day) AS last_day, count(*) AS purchase_days
    FROM days
    GROUP BY customer_id
),
period_end AS (
    {% if has_end %}SELECT CAST(:end_day AS DATE) AS end_day{% else %}SELECT max(last_day) AS end_day FROM firsts{% endif %}
)
SELECT f.customer_id, f.first_day, f.last_day,
       f.purchase_days - 1 AS frequency,
       date_diff('day', f.first_day, f.last_day) AS recency_days,
       date_diff('day', f.first_day, e.end_day) AS t_days, e.end_day AS calibration_end,
       {{ c.ratio("sum(CASE WHEN d.day > f.first_day THEN d.amount END)", "f.purchase_days - 1") }} AS monetary,
       {{ c.money("sum(d.amount)") }} AS total_value
FROM firsts f
CROSS JOIN period_end e
JOIN days d ON d.customer_id = f.customer_id
GROUP BY f.customer_id, f.first_day, f.last_day, f.purchase_days, e.end_day
-- a fixed row order: the fitted parameters depend on the order the likelihood is summed in (to ~1e-5)
ORDER BY f.customer_id
