{#- The baskets that can hold a frequent itemset of three or more items: their frequent items, one row per
    order and product. Reads analytics_baskets and analytics_basket_items. -#}
WITH frequent_lines AS (
    SELECT b.order_id, b.product_id
    FROM analytics_baskets b
    JOIN analytics_basket_items f ON f.product_id = b.product_id
),
large AS (
    SELECT order_id FROM frequent_lines GROUP BY order_id HAVING count(*) >= 3
)
SELECT l.order_id, l.product_id
FROM frequent_lines l
JOIN large g ON g.order_id = l.order_id
