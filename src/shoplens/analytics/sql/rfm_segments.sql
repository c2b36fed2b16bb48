{#- Size, revenue share and profile of each RFM segment (every segment listed, empty ones with 0).
    Reads analytics_rfm. -#}
{% import "_common.sql" as c %}
WITH segments AS (
    SELECT * FROM (VALUES (1, 'champions'), (2, 'loyal'), (3, 'potential loyalists'), (4, 'new'),
                          (5, 'at risk'), (6, 'can''t lose'), (7, 'hibernating'), (8, 'lost')) AS s(rank, segment)
),
totals AS (
    SELECT count(*) AS customers, sum(monetary) AS revenue FROM analytics_rfm
),
per_segment AS (
    SELECT segment, count(*) AS customers, sum(monetary) AS revenue, sum(recency_days) AS recency_days,
           sum(frequency) AS frequency
    FROM analytics_rfm
    GROUP BY segment
)
SELECT s.rank, s.segment, coalesce(p.customers, 0) AS customers,
       {{ c.ratio("coalesce(p.customers, 0)", "t.customers") }} AS customer_share,
       {{ c.money("coalesce(p.revenue, 0)") }} AS revenue,
       {{ c.ratio("coalesce(p.revenue, 0)", "t.revenue") }} AS revenue_share,
       {{ c.ratio("p.recency_days", "p.customers") }} AS avg_recency_days,
       {{ c.ratio("p.frequency", "p.customers") }} AS avg_frequency,
       {{ c.ratio("p.revenue", "p.customers") }} AS avg_monetary
FROM segments s
CROSS JOIN totals t
LEFT JOIN per_segment p ON p.segment = s.segment
