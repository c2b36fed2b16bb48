{#- Features of every customer with a purchase before :cutoff (a DATE, shop time; history is every day
    before it), for the churn model: RFM, tenure, purchase rhythm, recent activity, returns, products
    and click-stream activity; and the label: whether they bought in [:cutoff, :horizon_end). -#}
{% import "_common.sql" as c %}
WITH sales AS (
    SELECT o.order_id, o.customer_id, {{ c.local_day("o.order_ts") }} AS day, coalesce(o.total_amount, 0) AS amount,
           coalesce(o.n_items, 0) AS units
    FROM orders o
    WHERE o.customer_id IS NOT NULL AND o.order_ts IS NOT NULL AND {{ c.is_sale("o") }}
),
history AS (
    SELECT * FROM sales WHERE day < :cutoff
),
per_customer AS (
    SELECT customer_id, min(day) AS first_day, max(day) AS last_day, count(*) AS orders,
           count(DISTINCT day) AS purchase_days, sum(amount) AS monetary, sum(units) AS units,
           count(*) FILTER (WHERE date_diff('day', day, :cutoff) <= 30) AS orders_30d,
           count(*) FILTER (WHERE date_diff('day', day, :cutoff) <= 90) AS orders_90d,
           count(*) FILTER (WHERE date_diff('day', day, :cutoff) <= 365) AS orders_365d,
           sum(CASE WHEN date_diff('day', day, :cutoff) <= 90 THEN amount ELSE 0 END) AS monetary_90d
    FROM history
    GROUP BY customer_id
),
refunds AS (
    SELECT o.customer_id, count(*) AS refunds
    FROM orders o
    WHERE o.customer_id IS NOT NULL AND {{ c.refund_amount("o") }} > 0 AND {{ c.local_day("o.order_ts") }} < :cutoff
    GROUP BY o.customer_id
),
products AS (
    SELECT h.customer_id, count(DISTINCT i.product_id) AS distinct_products
    FROM history h
    JOIN order_items i ON i.order_id = h.order_id
    GROUP BY h.customer_id
),
activity AS (
    SELECT e.customer_id,
           count(DISTINCT e.session_id) FILTER (WHERE date_diff('day', {{ c.local_day("e.event_ts") }}, :cutoff) <= 30) AS sessions_30d,
           count(*) FILTER (WHERE e.event_type = 'view' AND date_diff('day', {{ c.local_day("e.event_ts") }}, :cutoff) <= 30) AS views_30d,
           count(*) FILTER (WHERE e.event_type = 'add_to_cart' AND date_diff('day', {{ c.local_day("e.event_ts") }}, :cutoff) <= 30) AS carts_30d,
           min(date_diff('day', {{ c.local_day("e.event_ts") }}, :cutoff)) AS days_since_event
    FROM events e
    WHERE e.customer_id IS NOT NULL AND e.event_ts IS NOT NULL AND {{ c.local_day("e.event_ts") }} < :cutoff
    GROUP BY e.customer_id
),
future AS (
    SELECT customer_id, count(*) AS orders_after
    FROM sales
    WHERE day >= :cutoff AND day < :horizon_end
    GROUP BY customer_id
)
SELECT p.customer_id,
       date_diff('day', p.last_day, :cutoff) AS recency_days,
       date_diff('day', p.first_day, :cutoff) AS tenure_days,
       p.orders, p.purchase_days,
       {{ c.money("p.monetary") }} AS monetary,
       {{ c.ratio("p.monetary", "p.orders") }} AS avg_order_value,
       {{ c.ratio("p.units", "p.orders") }} AS avg_units,
       {{ c.ratio("date_diff('day', p.first_day, p.last_day)", "p.purchase_days - 1") }} AS avg_days_between,
       p.orders_30d, p.orders_90d, p.orders_365d,
       {{ c.money("p.monetary_90d") }} AS monetary_90d,
       coalesce(r.refunds, 0) AS refunds,
       coalesce(d.distinct_products, 0) AS distinct_products,
       coalesce(a.sessions_30d, 0) AS sessions_30d, coalesce(a.views_30d, 0) AS views_30d,
       coalesce(a.carts_30d, 0) AS carts_30d, a.days_since_event,
       coalesce(f.orders_after, 0) AS orders_after,
       f.orders_after IS NULL AS churned
FROM per_customer p
LEFT JOIN refunds r ON r.customer_id = p.customer_id
LEFT JOIN products d ON d.customer_id = p.customer_id
LEFT JOIN activity a ON a.customer_id = p.customer_id
LEFT JOIN future f ON f.customer_id = p.customer_id
