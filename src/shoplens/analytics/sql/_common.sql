{#- Macros shared by the analyses. Globals (set by shoplens.analytics.queries): void_statuses, refund_statuses. -#}

{#- An order that sold something: not void, and not a refund (refunds are orders with a negative total). -#}
{% macro is_sale(o) -%}
(coalesce(lower({{ o }}.status), '') NOT IN ({{ void_statuses }}) AND coalesce({{ o }}.total_amount, 0) >= 0)
{%- endmacro %}

{#- Money refunded by an order: the negative total of a return, or the whole total of a sale marked refunded. -#}
{% macro refund_amount(o) -%}
(CASE WHEN {{ o }}.total_amount < 0 AND coalesce(lower({{ o }}.status), '') NOT IN ({{ void_statuses }})
      THEN -{{ o }}.total_amount
      WHEN {{ is_sale(o) }} AND lower({{ o }}.status) IN ({{ refund_statuses }}) THEN {{ o }}.total_amount
      ELSE 0 END)
{%- endmacro %}

{#- Money in an output: rounded to cents, as a double (the engine rules). -#}
{% macro money(x) -%}
CAST(round({{ x }}, 2) AS DOUBLE)
{%- endmacro %}

{#- A ratio that is NULL rather than an error when the denominator is 0. -#}
{% macro ratio(numerator, denominator) -%}
(CAST({{ numerator }} AS DOUBLE) / CASE WHEN {{ denominator }} = 0 THEN NULL ELSE {{ denominator }} END)
{%- endmacro %}

{#- The shop-local calendar day of a UTC timestamp. -#}
{% macro local_day(ts) -%}
CAST(shop_time({{ ts }}) AS DATE)
{%- endmacro %}

{#- The integers 0 … 999 (months, periods), without engine-specific series functions. -#}
{% macro numbers() -%}
(SELECT d1.n + 10 * d2.n + 100 * d3.n AS n
 FROM (VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)) AS d1(n)
 CROSS JOIN (VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)) AS d2(n)
 CROSS JOIN (VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)) AS d3(n))
{%- endmacro %}
