{#- Time to convert: how long converted entities took from the first step to the last, in buckets
    (every bucket listed, empty ones with 0), overall and per breakdown segment.
    Reads analytics_funnel_entities. Fragments: last (number of the last step), has_breakdown. -#}
{% import "_common.sql" as c %}
WITH buckets AS (
    SELECT * FROM (VALUES (1, 'under 1 min', 0, 60), (2, '1–5 min', 60, 300), (3, '5–15 min', 300, 900),
                          (4, '15–60 min', 900, 3600), (5, '1–6 h', 3600, 21600), (6, '6–24 h', 21600, 86400),
                          (7, '1–3 days', 86400, 259200), (8, '3–7 days', 259200, 604800),
                          (9, '7 days or more', 604800, 999999999999)) AS b(bucket_no, bucket, low_s, high_s)
),
converted AS (
    SELECT segment, CAST(t{{ last }} - t1 AS DOUBLE) / 1000000 AS seconds
    FROM analytics_funnel_entities
    WHERE t{{ last }} IS NOT NULL
),
segments AS (
    SELECT 'all' AS segment, count(*) AS converted FROM converted
    {% if has_breakdown %}
    UNION ALL
    SELECT segment, count(*) FROM converted GROUP BY segment
    {% endif %}
),
per_bucket AS (
    SELECT 'all' AS segment, b.bucket_no, count(*) AS entities
    FROM converted v JOIN buckets b ON v.seconds >= b.low_s AND v.seconds < b.high_s
    GROUP BY b.bucket_no
    {% if has_breakdown %}
    UNION ALL
    SELECT v.segment, b.bucket_no, count(*)
    FROM converted v JOIN buckets b ON v.seconds >= b.low_s AND v.seconds < b.high_s
    GROUP BY v.segment, b.bucket_no
    {% endif %}
)
SELECT s.segment, b.bucket_no, b.bucket, b.low_s AS from_seconds, coalesce(p.entities, 0) AS entities,
       {{ c.ratio("coalesce(p.entities, 0)", "s.converted") }} AS share
FROM segments s
CROSS JOIN buckets b
LEFT JOIN per_bucket p ON p.segment = s.segment AND p.bucket_no = b.bucket_no
