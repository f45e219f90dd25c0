"""The documentation site in a real browser: headless Chromium (Debian's ``chromium`` package)
driven by selenium through Debian's ``chromedriver`` (no browser download).

The site is built by ``bash scripts/docs.sh`` (CI runs it before the tests, ``.ci/run``); a build
takes minutes, so these tests read ``docs/_build/html`` and skip when it is absent -- except under
CI (``CI=true``), where a missing build or browser is a failure. What they check:

* every internal link of every page (``href`` and ``src`` within the site, with ``#fragment``
  anchors) points at a file that exists and an id that the target page defines -- parsed from the
  HTML files, independently of the browser;
* in the browser: the home page and an API page load, show their headings and mathematics
  (MathJax), and are saved as screenshots ``docs/_build/screenshot_home.png`` and
  ``docs/_build/screenshot_api.png``;
* search works: the search page, driven by Sphinx's JavaScript index, lists the API entry of
  ``solve`` for the query "solve" and nothing for a nonsense word.
"""

from __future__ import annotations

import html.parser
import os
import posixpath
import shutil
import tempfile
import urllib.parse

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "docs", "_build")
HTML = os.path.join(BUILD, "html")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
IN_CI = os.environ.get("CI", "").lower() == "true"


def _require(condition: bool, why: str) -> None:
  if not condition:
    if IN_CI:
      pytest.fail(why + " (CI builds the site with scripts/docs.sh and installs chromium)")
    pytest.skip(why)


def _require_site() -> None:
  _require(
    os.path.exists(os.path.join(HTML, "index.html")),
    "no built site: run `bash scripts/docs.sh` first",
  )


class _Links(html.parser.HTMLParser):
  """Collects link targets and element ids of one HTML page."""

  def __init__(self):
    super().__init__()
    self.links: list[str] = []
    self.ids: set[str] = set()

  def handle_starttag(self, tag, attrs):
    a = dict(attrs)
    if a.get("id"):
      self.ids.add(a["id"])
    if tag == "a" and a.get("name"):
      self.ids.add(a["name"])
    for key in ("href", "src"):
      if a.get(key) and not (tag == "link" and a.get("rel") in ("preload",)):
        self.links.append(a[key])


def _pages() -> dict[str, _Links]:
  pages = {}
  for dirpath, _, files in os.walk(HTML):
    for f in files:
      if f.endswith(".html") and not os.path.relpath(dirpath, HTML).startswith("_static"):
        path = os.path.join(dirpath, f)
        parser = _Links()
        with open(path, encoding="utf-8") as fh:
          parser.feed(fh.read())
        pages[os.path.relpath(path, HTML).replace(os.sep, "/")] = parser
  return pages


def test_no_internal_link_is_broken():
  _require_site()
  pages = _pages()
  assert len(pages) > 50, f"only {len(pages)} pages: the API reference is missing"
  broken, checked = [], 0
  for page, parsed in pages.items():
    for link in parsed.links:
      url = urllib.parse.urlsplit(link)
      if url.scheme or url.netloc or link.startswith(("mailto:", "javascript:", "data:")):
        continue  # external: not this site's to check (and there is no network)
      target = (
        page
        if not url.path
        else posixpath.normpath(
          posixpath.join(posixpath.dirname(page), urllib.parse.unquote(url.path))
        )
      )
      if target.endswith("/") or os.path.isdir(os.path.join(HTML, target)):
        target = posixpath.join(target, "index.html")
      checked += 1
      if target.startswith("..") or not os.path.exists(os.path.join(HTML, target)):
        broken.append(f"{page}: {link} (no file {target})")
      elif url.fragment and target.endswith(".html"):
        ids = pages[target].ids if target in pages else set()
        if urllib.parse.unquote(url.fragment) not in ids:
          broken.append(f"{page}: {link} (no id #{url.fragment} in {target})")
  assert checked > 1000, f"only {checked} internal links found"
  assert not broken, f"{len(broken)} broken internal links, e.g.:\n" + "\n".join(broken[:20])


def test_every_public_name_has_an_api_entry():
  """Each name in a public package's ``__all__`` has an anchor in the API reference."""
  _require_site()
  import importlib

  ids = set()
  for page, parsed in _pages().items():
    if page.startswith("api/"):
      ids |= parsed.ids
  import pkgutil
  import dice_jax

  packages = ["dice_jax"] + [
    i.name
    for i in pkgutil.walk_packages(dice_jax.__path__, "dice_jax.")
    if i.ispkg and "._" not in i.name
  ]
  assert len(packages) >= 10, packages
  missing = []
  for pkg in packages:
    mod = importlib.import_module(pkg)
    for name in getattr(mod, "__all__", []):
      obj = getattr(mod, name)
      if type(obj).__name__ == "module":
        if f"module-{obj.__name__}" not in ids:
          missing.append(obj.__name__)
      elif f"{pkg}.{name}" not in ids:
        missing.append(f"{pkg}.{name}")
  assert not missing, f"public names without an API entry: {missing}"


@pytest.fixture(scope="module")
def browser():
  _require_site()
  _require(
    os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER),
    "chromium/chromedriver not installed (apt-get install chromium chromium-driver)",
  )
  webdriver = (
    pytest.importorskip("selenium.webdriver")
    if not IN_CI
    else __import__("selenium.webdriver", fromlist=["webdriver"])
  )
  from selenium.webdriver.chrome.options import Options
  from selenium.webdriver.chrome.service import Service

  profile = tempfile.mkdtemp(prefix="dice-jax-chromium-")
  options = Options()
  options.binary_location = CHROMIUM
  for flag in (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,900",
    f"--user-data-dir={profile}",
  ):
    options.add_argument(flag)
  driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
  driver.set_page_load_timeout(60)
  try:
    yield driver
  finally:
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def _url(page: str) -> str:
  return "file://" + os.path.join(HTML, page)


def _wait(driver, condition, timeout=30):
  from selenium.webdriver.support.ui import WebDriverWait

  return WebDriverWait(driver, timeout, poll_frequency=0.2).until(condition)


def test_home_page_renders_with_mathematics(browser):
  browser.get(_url("index.html"))
  assert browser.find_element("css selector", "article h1").text.strip().startswith("dice_jax")
  # MathJax replaced the TeX of the HQRE equation by rendered mathematics
  _wait(browser, lambda d: d.find_elements("css selector", ".MathJax_CHTML"))
  cards = browser.find_elements("css selector", ".sd-card")
  assert len(cards) == 4, f"{len(cards)} cards on the home page"
  path = os.path.join(BUILD, "screenshot_home.png")
  assert browser.save_screenshot(path)
  assert os.path.getsize(path) > 10_000


def test_api_page_renders(browser):
  browser.get(_url("api/dice_jax_solvers.html"))
  names = [e.get_attribute("id") for e in browser.find_elements("css selector", "dt.sig")]
  assert "dice_jax.solvers.solve" in names and "dice_jax.solvers.Mirror" in names, names[:10]
  # the docstring's Args section became a field list, with the argument names
  body = (
    browser.find_element("id", "dice_jax.solvers.solve")
    .find_element("xpath", "following-sibling::dd")
    .text
  )
  assert "temperature" in body and "Returns" in body
  path = os.path.join(BUILD, "screenshot_api.png")
  assert browser.save_screenshot(path)
  assert os.path.getsize(path) > 10_000


def _search(driver, query: str) -> list[str]:
  driver.get(_url("search.html") + "?q=" + urllib.parse.quote(query))
  # Sphinx's searchtools.js writes a summary line when the search has finished
  _wait(
    driver,
    lambda d: (
      d.find_elements("css selector", "p.search-summary")
      and d.find_element("css selector", "p.search-summary").text.strip()
    ),
  )
  return [a.get_attribute("href") for a in driver.find_elements("css selector", "ul.search li a")]


def test_search_finds_the_api_entry(browser):
  hits = _search(browser, "solve_sharded")
  assert any("api/dice_jax_solvers.html#dice_jax.solvers.solve_sharded" in h for h in hits), hits
  assert _search(browser, "qwxzvkjh") == []
