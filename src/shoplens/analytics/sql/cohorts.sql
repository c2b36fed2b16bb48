{#- Monthly acquisition cohorts (the month of a customer's first purchase, shop time): per cohort, segment
    and months since acquisition, active customers (retention), orders and revenue, and the repeat-purchase
    curve (customers who had placed a second order by then). Every period up to the last month of data is
    present, with zeros where nobody bought.
    Fragments: segment (SQL over customers `c`, default 'all'). -#}
{% import "_common.sql" as c %}
WITH customer_months AS (
    -- one row per customer and month with a purchase: everything below is computed from these
    SELECT o.customer_id, year(shop_time(o.order_ts)) * 12 + month(shop_time(o.order_ts)) - 1 AS month_index,
           count(*) AS orders, sum(coalesce(o.total_amount, 0)) AS revenue
    FROM orders o
    WHERE o.customer_id IS NOT NULL AND o.order_ts IS NOT NULL AND {{ c.is_sale("o") }}
    GROUP BY o.customer_id, year(shop_time(o.order_ts)) * 12 + month(shop_time(o.order_ts)) - 1
),
firsts AS (
    SELECT customer_id, min(month_index) AS cohort_index FROM customer_months GROUP BY customer_id
),
members AS (
    -- each customer's cohort, segment and the month of their second order (the first month itself when
    -- it held two orders)
    SELECT f.customer_id, f.cohort_index,
           coalesce(CAST({{ segment }} AS VARCHAR), '(unknown)') AS segment,
           CASE WHEN sum(m.orders) FILTER (WHERE m.month_index = f.cohort_index) >= 2 THEN f.cohort_index
                ELSE min(m.month_index) FILTER (WHERE m.month_index > f.cohort_index) END AS second_index
    FROM firsts f
    JOIN customer_months m ON m.customer_id = f.customer_id
    {% if segment != "'all'" %}LEFT JOIN customers c ON c.customer_id = f.customer_id{% endif %}
    GROUP BY f.customer_id, f.cohort_index, coalesce(CAST({{ segment }} AS VARCHAR), '(unknown)')
),
sizes AS (
    SELECT cohort_index, segment, count(*) AS cohort_customers FROM members GROUP BY cohort_index, segment
),
active AS (
    SELECT b.cohort_index, b.segment, m.month_index - b.cohort_index AS period,
           count(*) AS active_customers, sum(m.orders) AS orders, sum(m.revenue) AS revenue
    FROM customer_months m
    JOIN members b ON b.customer_id = m.customer_id
    GROUP BY b.cohort_index, b.segment, m.month_index - b.cohort_index
),
repeats AS (
    SELECT cohort_index, segment, second_index - cohort_index AS period, count(*) AS customers
    FROM members
    WHERE second_index IS NOT NULL
    GROUP BY cohort_index, segment, second_index - cohort_index
),
grid AS (
    SELECT z.cohort_index, z.segment, z.cohort_customers, n.n AS period
    FROM sizes z
    CROSS JOIN {{ c.numbers() }} AS n
    CROSS JOIN (SELECT max(month_index) AS last_index FROM customer_months) AS l
    WHERE z.cohort_index + n.n <= l.last_index
),
filled AS (
    SELECT g.cohort_index, g.segment, g.period, g.cohort_customers,
           coalesce(a.active_customers, 0) AS active_customers, coalesce(a.orders, 0) AS orders,
           coalesce(a.revenue, 0) AS revenue, coalesce(r.customers, 0) AS new_repeaters
    FROM grid g
    LEFT JOIN active a ON a.cohort_index = g.cohort_index AND a.segment = g.segment AND a.period = g.period
    LEFT JOIN repeats r ON r.cohort_index = g.cohort_index AND r.segment = g.segment AND r.period = g.period
),
cumulative AS (
    SELECT f.*,
           CAST(sum(new_repeaters) OVER (PARTITION BY cohort_index, segment ORDER BY period
                                         ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS BIGINT) AS repeat_customers,
           sum(revenue) OVER (PARTITION BY cohort_index, segment ORDER BY period
                              ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cumulative_revenue
    FROM filled f
)
SELECT make_date(CAST(floor(cohort_index / 12) AS INTEGER), CAST(cohort_index - 12 * floor(cohort_index / 12) AS INTEGER) + 1, 1) AS cohort,
       segment, period, cohort_customers, active_customers,
       {{ c.ratio("active_customers", "cohort_customers") }} AS retention,
       CAST(orders AS BIGINT) AS orders, {{ c.money("revenue") }} AS revenue,
       {{ c.ratio("revenue", "cohort_customers") }} AS revenue_per_customer,
       {{ c.ratio("cumulative_revenue", "cohort_customers") }} AS cumulative_revenue_per_customer,
       repeat_customers,
       {{ c.ratio("repeat_customers", "cohort_customers") }} AS repeat_rate
FROM cumulative
