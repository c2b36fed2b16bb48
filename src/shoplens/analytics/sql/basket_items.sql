{#- Frequent items: products in at least :min_support of the baskets, with their support.
    Reads analytics_baskets. -#}
{% import "_common.sql" as c %}
WITH total AS (
    SELECT count(DISTINCT order_id) AS baskets FROM analytics_baskets
)
SELECT b.product_id, count(*) AS orders, t.baskets, {{ c.ratio("count(*)", "t.baskets") }} AS support
FROM analytics_baskets b
CROSS JOIN total t
GROUP BY b.product_id, t.baskets
HAVING count(*) >= :min_support * t.baskets
