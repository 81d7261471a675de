"""The views Great Expectations renders our Data Docs with: its own, reading the templates in
``templates/data_docs/`` before its own ones, so that the pages need no network.

GX's Jinja environment looks in its package first and in a site's custom views folder only
for names it lacks, so a custom folder cannot replace a page's head or a table; a view class
named in the site's configuration can. GX imports this module (by name, from the site
configuration of :mod:`commune_reports.publish.datadocs`) only while it builds the site.
"""

from __future__ import annotations

from pathlib import Path

from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView
from jinja2 import ChoiceLoader, FileSystemLoader

TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "data_docs"


def _ours_first(view: DefaultJinjaPageView | DefaultJinjaIndexPageView) -> None:
    assert view.env.loader is not None
    view.env.loader = ChoiceLoader([FileSystemLoader(str(TEMPLATES)), view.env.loader])


class OfflinePageView(DefaultJinjaPageView):
    """Validation result and expectation suite pages."""

    def __init__(self, custom_styles_directory=None, custom_views_directory=None) -> None:
        super().__init__(custom_styles_directory, custom_views_directory)
        _ours_first(self)


class OfflineIndexPageView(DefaultJinjaIndexPageView):
    """The site's index.html."""

    def __init__(self, custom_styles_directory=None, custom_views_directory=None) -> None:
        super().__init__(custom_styles_directory, custom_views_directory)
        _ours_first(self)
