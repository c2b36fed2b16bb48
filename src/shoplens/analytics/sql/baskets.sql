{#- The baskets: each order's distinct products (lines with a product and a positive quantity), leaving out
    orders that sold nothing (cancelled) and refunds. An intermediate result that the basket analyses read. -#}
{% import "_common.sql" as c %}
WITH not_sold AS (
    -- few orders: an anti-join with them is far cheaper than a join with every order
    SELECT o.order_id FROM orders o WHERE NOT {{ c.is_sale("o") }}
)
SELECT DISTINCT i.order_id, i.product_id
FROM order_items i
LEFT JOIN not_sold n ON n.order_id = i.order_id
WHERE n.order_id IS NULL AND i.product_id IS NOT NULL AND coalesce(i.quantity, 1) > 0
