{#- KPIs per period (day, week or month in the shop's timezone), overall and by country, channel and
    category (the first level of the product's category path). One row per period, dimension and value.
    Customers are counted per period and value: new = their first purchase was in this period, repeat = two
    or more orders in it. Fragments: grain. -#}
{% import "_common.sql" as c %}
WITH kept_orders AS (
    SELECT o.order_id, o.customer_id, coalesce(o.country, '(unknown)') AS country,
           coalesce(o.channel, '(unknown)') AS channel,
           {% if grain == "day" %}{{ c.local_day("o.order_ts") }}{% else %}CAST(date_trunc('{{ grain }}', shop_time(o.order_ts)) AS DATE){% endif %} AS period,
           {{ c.is_sale("o") }} AS is_sale,
           CASE WHEN {{ c.is_sale("o") }} THEN o.total_amount END AS revenue,
           {{ c.refund_amount("o") }} AS refund,
           CASE WHEN {{ c.is_sale("o") }} THEN o.n_items END AS units
    FROM orders o
    WHERE o.order_ts IS NOT NULL
      AND ({{ c.is_sale("o") }} OR {{ c.refund_amount("o") }} > 0)
),
first_periods AS (
    SELECT customer_id, min(period) AS first_period
    FROM kept_orders
    WHERE is_sale AND customer_id IS NOT NULL
    GROUP BY customer_id
),
orders_in_period AS (
    -- flag the orders placed in their customer's first period (joining orders, not per-customer rows)
    SELECT k.*, coalesce(k.period = f.first_period, FALSE) AS in_first_period
    FROM kept_orders k
    LEFT JOIN first_periods f ON f.customer_id = k.customer_id
),
departments AS (
    -- the category's first level, computed once per product rather than once per line
    SELECT product_id, coalesce(split_part(category, ' > ', 1), '(unknown)') AS value FROM products
),
order_departments AS (
    -- each order's lines summed per department: sold lines (revenue, units) and returned lines (refunds)
    SELECT i.order_id, coalesce(d.value, '(unknown)') AS value,
           sum(CASE WHEN i.quantity > 0 THEN i.quantity * i.unit_price - coalesce(i.discount, 0) END) AS sold,
           sum(CASE WHEN i.quantity < 0 THEN -(i.quantity * i.unit_price - coalesce(i.discount, 0)) ELSE 0 END) AS returned,
           sum(CASE WHEN i.quantity > 0 THEN i.quantity END) AS sold_units,
           bool_or(i.quantity > 0) AS has_sold
    FROM order_items i
    LEFT JOIN departments d ON d.product_id = i.product_id
    GROUP BY i.order_id, coalesce(d.value, '(unknown)')
),
per_customer AS (
    -- one row per period, dimension, value and customer; anonymous orders (no customer) form one group
    -- per period and value: counted as orders, not as customers
    SELECT period,
           CASE WHEN grouping(country) = 0 THEN 'country' WHEN grouping(channel) = 0 THEN 'channel' ELSE 'all' END
               AS dimension,
           coalesce(country, channel, 'all') AS value, customer_id,
           count(*) FILTER (WHERE is_sale) AS orders, sum(revenue) AS revenue, sum(refund) AS refund,
           sum(units) AS units, bool_or(in_first_period) AS in_first_period
    FROM orders_in_period
    GROUP BY GROUPING SETS ((period, customer_id), (period, country, customer_id), (period, channel, customer_id))
    UNION ALL
    SELECT o.period, 'category', d.value, o.customer_id,
           count(*) FILTER (WHERE o.is_sale AND d.has_sold),
           sum(CASE WHEN o.is_sale THEN d.sold END), sum(d.returned), sum(CASE WHEN o.is_sale THEN d.sold_units END),
           bool_or(o.in_first_period)
    FROM order_departments d
    JOIN orders_in_period o ON o.order_id = d.order_id
    GROUP BY o.period, d.value, o.customer_id
),
per_value AS (
    SELECT p.period, p.dimension, p.value,
           CAST(sum(p.orders) AS BIGINT) AS orders, sum(p.revenue) AS revenue, sum(p.refund) AS refunds,
           CAST(sum(p.units) AS BIGINT) AS units,
           count(p.customer_id) FILTER (WHERE p.orders > 0) AS customers,
           count(p.customer_id) FILTER (WHERE p.orders > 0 AND p.in_first_period) AS new_customers,
           count(p.customer_id) FILTER (WHERE p.orders >= 2) AS repeat_customers
    FROM per_customer p
    GROUP BY p.period, p.dimension, p.value
)
SELECT period, '{{ grain }}' AS grain, dimension, value,
       {{ c.money("coalesce(revenue, 0)") }} AS revenue,
       {{ c.money("coalesce(refunds, 0)") }} AS refunds,
       {{ c.money("coalesce(revenue, 0) - coalesce(refunds, 0)") }} AS net_revenue,
       orders, coalesce(units, 0) AS units,
       {{ c.ratio("revenue", "orders") }} AS aov,
       customers, new_customers, customers - new_customers AS returning_customers,
       {{ c.ratio("repeat_customers", "customers") }} AS repeat_rate,
       {{ c.ratio("coalesce(refunds, 0)", "revenue") }} AS refund_rate
FROM per_value
