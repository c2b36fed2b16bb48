"""What a shop analyst needs from the dashboard, checked in Debian's Chromium on the demo shop (every capability run):
product titles instead of ids, the shop's currency beside money, a period filter that recomputes the numbers
(equal to a DuckDB query for that period), CSV downloads equal to the table shown, product pickers, labelled
forecast axes, and Chinese quotes drawn with a CJK font. One uvicorn server and one browser for the module.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import shoplens as sl
from shoplens.serve import create_app, create_key
from shoplens.views import VOID_STATUSES
from tests.browser import chromium, offline
from tests.conftest import copy_workspace
from tests.serve.conftest import running_server

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Locator, Page

pytestmark = pytest.mark.browser

HAN = re.compile(r"[\u3400-\u9fff]")
CJK_FONTS = re.compile(r"noto sans cjk|noto serif cjk|source han|wenquanyi|wqy|pingfang|microsoft yahei|hiragino|"
                       r"droid sans fallback|ar pl|simsun|simhei", re.IGNORECASE)
SALE = (f"coalesce(lower(status), '') NOT IN ({', '.join(repr(s) for s in VOID_STATUSES)}) "
        "AND coalesce(total_amount, 0) >= 0")
PERIOD = (dt.date(2024, 3, 1), dt.date(2024, 5, 31))


@dataclass(frozen=True)
class Analyst:
    url: str
    ws: sl.Workspace
    context: BrowserContext

    def sql(self, query: str, params: list[Any] | None = None) -> list[tuple]:
        # the workspace's own connection: the server in this process may hold one open (a request still
        # answering), and DuckDB refuses a second connection to the file with another configuration
        with self.ws.connect() as con:
            return con.execute(query, params or []).fetchall()

    def titles(self) -> dict[str, str]:
        return dict(self.sql("SELECT product_id, title FROM products"))


@pytest.fixture(scope="module")
def analyst(demo_shop: sl.Workspace, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Analyst]:
    ws = copy_workspace(demo_shop, tmp_path_factory.mktemp("analyst"))  # the key is a write
    key = create_key(ws, "read", "analyst")
    with running_server(create_app(ws.path)) as url, chromium() as browser:
        context = browser.new_context(accept_downloads=True)
        context.set_default_timeout(10_000)
        offline(context, url)
        sign_in = context.new_page()
        sign_in.goto(f"{url}/?key={key}")
        assert sign_in.url == url + "/"
        sign_in.close()
        yield Analyst(url, ws, context)


@pytest.fixture
def page(analyst: Analyst) -> Iterator[Page]:
    tab = analyst.context.new_page()
    yield tab
    tab.close()


def open_page(page: Page, analyst: Analyst, path: str) -> Page:
    answer = page.goto(analyst.url + path)
    assert answer is not None and answer.status == 200, (path, answer and answer.status)
    return page


def number(text: str) -> float:
    """A number as the dashboard writes it: '1,234.50 USD', '12.5%', '—' (None)."""
    cleaned = re.sub(r"[^0-9.+\-]", "", text.replace(",", ""))
    return float(cleaned)


def column(table: Locator, name: str) -> list[str]:
    return [t.strip() for t in table.locator(f'tbody td[data-column="{name}"]').all_inner_texts()]


# -- product titles ------------------------------------------------------------------------------------------
def test_products_show_titles_with_the_id_on_hover(page: Page, analyst: Analyst) -> None:
    titles = analyst.titles()
    open_page(page, analyst, "/forecast")
    charts = page.locator("figure.forecast")
    assert charts.count() > 0
    for figure in charts.all():
        product = figure.locator("figcaption [title]").first
        assert product.inner_text().strip() == titles[product.get_attribute("title")]
    plan = page.get_by_test_id("plan")
    cells = plan.locator('tbody td[data-column="unique_id"]')
    assert cells.count() > 0
    for cell in cells.all():
        assert cell.inner_text().strip() == titles[cell.get_attribute("title")]
    open_page(page, analyst, "/pricing")
    for table in ("elasticities", "suggestions"):
        cells = page.get_by_test_id(table).locator('tbody td[data-column="product_id"]')
        assert cells.count() > 0, table
        for cell in cells.all():
            assert cell.inner_text().strip() == titles[cell.get_attribute("title")]


# -- currency ------------------------------------------------------------------------------------------------
def test_money_carries_the_shop_currency(page: Page, analyst: Analyst) -> None:
    currency = analyst.ws.config.currency
    open_page(page, analyst, "/analytics/segments")
    revenue = column(page.get_by_test_id("segments"), "revenue")
    assert revenue and all(cell.endswith(currency) for cell in revenue), revenue
    stored = dict(analyst.sql("SELECT segment, revenue FROM analytics_rfm_segments"))
    segments = column(page.get_by_test_id("segments"), "segment")
    assert [round(number(v), 2) for v in revenue] == [round(stored[s], 2) for s in segments]
    open_page(page, analyst, "/analytics/cohorts")
    cohort_revenue = column(page.get_by_test_id("cohorts"), "revenue")
    assert cohort_revenue and all(cell.endswith(currency) for cell in cohort_revenue), cohort_revenue
    assert currency in page.locator("section", has=page.get_by_test_id("heatmap")).last.locator("h2").inner_text()


# -- the period filter ---------------------------------------------------------------------------------------
def apply_period(page: Page, start: dt.date, end: dt.date) -> None:
    form = page.get_by_test_id("period")
    form.locator('input[name="from"]').fill(start.isoformat())
    form.locator('input[name="to"]').fill(end.isoformat())
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert f"from={start.isoformat()}" in page.url and f"to={end.isoformat()}" in page.url


def test_period_filter_recomputes_the_kpis(page: Page, analyst: Analyst) -> None:
    open_page(page, analyst, "/analytics/kpis")
    table = page.get_by_test_id("kpis")
    every_month = column(table, "period")
    apply_period(page, *PERIOD)
    months = column(table, "period")
    assert months != every_month and months == ["2024-05", "2024-04", "2024-03"]
    expected = analyst.sql(f"""SELECT strftime(order_ts, '%Y-%m'), count(*), round(sum(total_amount), 2)
                               FROM orders WHERE {SALE} AND CAST(order_ts AS DATE) BETWEEN ? AND ?
                               GROUP BY 1 ORDER BY 1 DESC""", list(PERIOD))
    shown = list(zip(months, map(number, column(table, "orders")), map(number, column(table, "revenue")), strict=True))
    assert shown == [(m, float(n), round(float(r), 2)) for m, n, r in expected]


def test_period_filter_recomputes_segments_and_forecast_history(page: Page, analyst: Analyst) -> None:
    open_page(page, analyst, "/analytics/segments")
    all_time = sum(map(number, column(page.get_by_test_id("segments"), "revenue")))
    apply_period(page, *PERIOD)
    table = page.get_by_test_id("segments")
    revenue = sum(map(number, column(table, "revenue")))
    customers = sum(map(number, column(table, "customers")))
    (sold, buyers), = analyst.sql(f"""SELECT round(sum(total_amount), 2), count(DISTINCT customer_id) FROM orders
                                      WHERE {SALE} AND customer_id IS NOT NULL
                                        AND CAST(order_ts AS DATE) BETWEEN ? AND ?""", list(PERIOD))
    assert revenue != pytest.approx(all_time) and revenue == pytest.approx(float(sold), abs=0.05)
    assert customers == buyers
    open_page(page, analyst, f"/forecast?from={PERIOD[0]}&to={PERIOD[1]}")
    plan = page.get_by_test_id("plan")
    products = [c.get_attribute("title") for c in plan.locator('tbody td[data-column="unique_id"]').all()]
    units = dict(analyst.sql("SELECT product_id, sum(units) FROM daily_sales WHERE day BETWEEN ? AND ? "
                             "GROUP BY 1", list(PERIOD)))
    assert list(map(number, column(plan, "units_sold"))) == [float(units.get(p, 0)) for p in products]


def test_csv_download_equals_the_table_shown(page: Page, analyst: Analyst) -> None:
    open_page(page, analyst, f"/analytics/segments?from={PERIOD[0]}&to={PERIOD[1]}")
    rows = read_download(page, "segments")
    table = page.get_by_test_id("segments")
    assert [r["segment"] for r in rows] == column(table, "segment")
    assert [float(r["customers"]) for r in rows] == list(map(number, column(table, "customers")))
    assert [round(float(r["revenue"]), 2) for r in rows] == list(map(number, column(table, "revenue")))
    open_page(page, analyst, "/forecast")
    rows = read_download(page, "plan")
    plan = page.get_by_test_id("plan")
    cells = plan.locator('tbody td[data-column="unique_id"]').all()
    assert [(r["unique_id"], r["title"]) for r in rows] == [(c.get_attribute("title"), c.inner_text().strip())
                                                           for c in cells]


def read_download(page: Page, table: str) -> list[dict[str, str]]:
    link = page.get_by_test_id(f"csv-{table}")
    response = page.request.get(link.evaluate("a => a.href"))
    assert response.status == 200 and response.headers["content-type"].startswith("text/csv")
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename.endswith(".csv") and table in download.suggested_filename
    with Path(download.path()).open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


# -- forecast charts and pickers -----------------------------------------------------------------------------
def test_forecast_picker_offers_every_product_and_labels_the_axes(page: Page, analyst: Analyst) -> None:
    titles = analyst.titles()
    open_page(page, analyst, "/forecast")
    forecast = [r[0] for r in analyst.sql("SELECT DISTINCT unique_id FROM forecast_daily")]
    picker = page.get_by_test_id("product-picker").locator('select[name="product"]')
    offered = picker.locator("option[value]:not([value=''])")
    assert sorted(o.get_attribute("value") for o in offered.all()) == sorted(forecast)
    shown = {f.get_attribute("data-testid") for f in page.locator("figure.forecast").all()}
    chosen = next(p for p in sorted(forecast) if f"forecast-{p}" not in shown)  # beyond the best sellers
    picker.select_option(chosen)
    with page.expect_navigation():
        page.get_by_test_id("product-picker").locator("button[type=submit]").click()
    figure = page.get_by_test_id(f"forecast-{chosen}")
    assert figure.locator("figcaption").inner_text().startswith(titles[chosen])
    axes = figure.locator("svg text.axis-title").all_text_contents()  # SVG text has no innerText
    assert "units per day" in axes and "date" in axes
    ticks = figure.locator("svg text.tick").all_text_contents()
    assert "0" in ticks and any(re.fullmatch(r"\d{4}-\d{2}-\d{2}", t) for t in ticks)


# -- reviews: contents, one product at a time, Chinese text ------------------------------------------------
def test_reviews_page_has_contents_and_one_product_at_a_time(page: Page, analyst: Analyst) -> None:
    open_page(page, analyst, "/reviews")
    for link in page.locator("nav.toc a").all():
        target = link.get_attribute("href")
        assert target.startswith("#") and page.locator(target).count() == 1, target
    assert page.locator('[data-testid="product-aspects"]').count() == 1
    picker = page.get_by_test_id("product-picker").locator('select[name="product"]')
    products = [r[0] for r in analyst.sql("SELECT DISTINCT key FROM reviews_aspect_summary WHERE level = 'product'")]
    assert picker.locator("option").count() == len(products)
    chosen = sorted(products)[-1]
    picker.select_option(chosen)
    with page.expect_navigation():
        page.get_by_test_id("product-picker").locator("button[type=submit]").click()
    shown = page.locator('[data-testid="product-aspects"]')
    assert shown.count() == 1 and shown.get_attribute("data-product") == chosen
    assert shown.locator("h3").inner_text().strip() == analyst.titles()[chosen]


def test_period_filter_recomputes_reviews_over_time(page: Page, analyst: Analyst) -> None:
    open_page(page, analyst, f"/reviews?from={PERIOD[0]}&to={PERIOD[1]}")
    points = page.get_by_test_id("sentiment-chart").locator("circle title").all_text_contents()
    shown = sorted({(t[:7], int(re.search(r"of ([\d,]+) reviews", t).group(1).replace(",", ""))) for t in points})
    expected = analyst.sql("""SELECT strftime(review_ts, '%Y-%m'), count(*) FROM reviews_predictions
                              WHERE CAST(review_ts AS DATE) BETWEEN ? AND ? GROUP BY 1 ORDER BY 1""", list(PERIOD))
    assert shown == [(month, n) for month, n in expected] and len(shown) == 3


def test_chinese_quote_renders_with_a_cjk_font(page: Page, analyst: Analyst) -> None:
    products = analyst.sql("""SELECT key FROM reviews_aspect_summary WHERE level = 'product'
                              AND regexp_matches(positive_quotes || negative_quotes, '[\u4e00-\u9fff]')
                              ORDER BY key LIMIT 1""")
    assert products, "the demo shop has Chinese reviews"
    open_page(page, analyst, f"/reviews?product={products[0][0]}")
    quote = page.locator("blockquote.quote", has_text=HAN).first
    family = quote.evaluate("q => getComputedStyle(q).fontFamily")
    assert CJK_FONTS.search(family), family  # the style names CJK fonts, not only the system default
    fonts = platform_fonts(page, analyst.context, quote)
    han = len(HAN.findall(quote.inner_text()))
    cjk_glyphs = sum(f["glyphCount"] for f in fonts if CJK_FONTS.search(f["familyName"]))
    assert cjk_glyphs >= han, fonts  # every Chinese character drawn with a CJK font, none as a box
    assert not any("last resort" in f["familyName"].lower() for f in fonts), fonts


def platform_fonts(page: Page, context: BrowserContext, element: Locator) -> list[dict[str, Any]]:
    """The fonts Chromium used to draw the element's text (DevTools Protocol, CSS.getPlatformFontsForNode)."""
    element.evaluate("node => node.setAttribute('data-font-probe', '1')")
    cdp = context.new_cdp_session(page)
    try:
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument")
        node = cdp.send("DOM.querySelector", {"nodeId": root["root"]["nodeId"], "selector": "[data-font-probe]"})
        return cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})["fonts"]
    finally:
        cdp.detach()


# -- recommendations: how the deployed model was chosen -------------------------------------------------------
def test_recommendation_page_shows_every_candidates_validation_score(page: Page, analyst: Analyst) -> None:
    from shoplens.registry import ModelRegistry

    card = ModelRegistry(analyst.ws).card("recommend")
    selection = card.params["selection"]
    assert card.params["model"] == "auto" and len(selection) >= 4
    open_page(page, analyst, "/recommend")
    assert card.params["chosen"] in page.get_by_test_id("chosen").inner_text()
    table = page.get_by_test_id("selection")
    assert table.locator("tbody tr").count() == len(selection)
    shown = []
    for row in selection:
        cells = table.locator(f'tr[data-candidate="{row["candidate"]}"]')
        score = cells.locator('td[data-column="score"]').inner_text().strip()
        assert score == (f"{row['ndcg@10']:.4f}" if "ndcg@10" in row else "—"), row
        assert cells.locator('td[data-column="status"]').inner_text().strip() == row["status"]
        if "ndcg@10" in row:
            shown.append((row["candidate"], float(score)))
    best = max(value for _, value in shown)
    assert dict(shown)[card.params["chosen"]] == best  # the chosen candidate is the one best on validation
    assert [value for _, value in shown] == sorted((value for _, value in shown), reverse=True)  # best first


# -- the overview keeps the server's paths to itself ---------------------------------------------------------
def test_overview_names_the_workspace_without_its_path(page: Page, analyst: Analyst) -> None:
    open_page(page, analyst, "/")
    assert analyst.ws.config.name in page.get_by_test_id("workspace").inner_text()
    answers = [page.content()] + [page.request.get(analyst.url + path).text()
                                  for path in ("/api/v1/tables", "/api/v1/quarantine")]
    for answer in answers:
        assert str(analyst.ws.path) not in answer and str(analyst.ws.path.parent) not in answer
