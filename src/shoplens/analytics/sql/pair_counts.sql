{#- Co-purchase pairs: pairs of frequent items bought in the same basket, in at least :min_support of the
    baskets, with support, confidence both ways and lift. Reads analytics_baskets and analytics_basket_items. -#}
{% import "_common.sql" as c %}
WITH frequent_lines AS (
    SELECT b.order_id, b.product_id
    FROM analytics_baskets b
    JOIN analytics_basket_items f ON f.product_id = b.product_id
),
pairs AS (
    SELECT a.product_id AS item_a, b.product_id AS item_b, count(*) AS orders
    FROM frequent_lines a
    JOIN frequent_lines b ON a.order_id = b.order_id AND a.product_id < b.product_id
    GROUP BY a.product_id, b.product_id
),
total AS (
    SELECT max(baskets) AS baskets FROM analytics_basket_items
)
SELECT p.item_a, p.item_b, p.orders, ia.orders AS orders_a, ib.orders AS orders_b, t.baskets,
       {{ c.ratio("p.orders", "t.baskets") }} AS support,
       {{ c.ratio("p.orders", "ia.orders") }} AS confidence_a_b,
       {{ c.ratio("p.orders", "ib.orders") }} AS confidence_b_a,
       {{ c.ratio("CAST(p.orders AS DOUBLE) * t.baskets", "CAST(ia.orders AS DOUBLE) * ib.orders") }} AS lift
FROM pairs p
CROSS JOIN total t
JOIN analytics_basket_items ia ON ia.product_id = p.item_a
JOIN analytics_basket_items ib ON ib.product_id = p.item_b
WHERE p.orders >= :min_support * t.baskets
