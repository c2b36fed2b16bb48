{#- Funnel conversion per step, overall ("all") and per breakdown segment: entities reaching each step,
    conversion from the previous required step and from the start, and the median and 90th percentile of
    the time from the start to the step (seconds; exact discrete quantiles). Reads analytics_funnel_entities.
    Fragments: steps (no, optional, previous), has_breakdown. Values: :name_<no> (step names). -#}
{% import "_common.sql" as c %}
WITH counts AS (
    SELECT {% if has_breakdown %}CASE WHEN grouping(segment) = 1 THEN 'all' ELSE segment END{% else %}segment{% endif %} AS segment,
           {% for s in steps %}count(t{{ s.no }}) AS n{{ s.no }}{% if s.no > 1 %},
           quantile_disc(t{{ s.no }} - t1, 0.5) AS median{{ s.no }},
           quantile_disc(t{{ s.no }} - t1, 0.9) AS p90_{{ s.no }}{% endif %}{{ "," if not loop.last }}
           {% endfor %}
    FROM analytics_funnel_entities
    GROUP BY {% if has_breakdown %}GROUPING SETS ((segment), ()){% else %}segment{% endif %}
)
{% for s in steps %}
SELECT segment, {{ s.no }} AS step_no, :name_{{ s.no }} AS step, {{ "TRUE" if s.optional else "FALSE" }} AS optional,
       n{{ s.no }} AS entities,
       {% if s.no == 1 %}CAST(1.0 AS DOUBLE){% else %}{{ c.ratio("n" ~ s.no, "n" ~ s.previous) }}{% endif %} AS conversion_from_previous,
       {{ c.ratio("n" ~ s.no, "n1") }} AS conversion_from_start,
       {% if s.no == 1 %}CAST(0.0 AS DOUBLE){% else %}CAST(median{{ s.no }} AS DOUBLE) / 1000000{% endif %} AS median_seconds_from_start,
       {% if s.no == 1 %}CAST(0.0 AS DOUBLE){% else %}CAST(p90_{{ s.no }} AS DOUBLE) / 1000000{% endif %} AS p90_seconds_from_start
FROM counts
{{ "UNION ALL" if not loop.last }}
{% endfor %}
