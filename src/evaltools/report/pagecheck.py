"""The last check before a page is written: nothing loads from elsewhere, nothing runs.

Every published page (a report, a failure page, the index) must be one
self-contained file that a funder can open offline and that runs nothing. The page
is parsed (``html.parser``) and its real elements, attributes and CSS are checked:
text that merely mentions ``url(`` or `` src=`` (a parameter value, an escaped name)
is fine, while markup that would load or run is refused. Where HTML parsers are
known to disagree with browsers (markup inside comments, CDATA sections and SVG
``<style>`` elements), such markup is refused too, and a last search of the raw page
for script-like tags and event handlers catches what a parser might miss.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from evaltools.core.errors import PrivacyError

__all__ = ["NotSelfContainedError", "check_self_contained"]


class NotSelfContainedError(PrivacyError, ValueError):
    """A rendered page would load something from outside the file, or run something."""


class _PageScan(HTMLParser):
    """Collects what in a parsed page would load from elsewhere or run (see check_self_contained)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._open: list[str] = []  # elements whose text is raw (style) or foreign (svg, math)
        self._style: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._element(tag, attrs)
        if tag in ("style", "svg", "math"):
            self._open.append(tag)
        if tag == "style":
            self._style = []

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._element(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._open:
            if tag == "style":
                self._css("".join(self._style), "a <style> element")
                if any(t in ("svg", "math") for t in self._open[: self._open.index(tag)]):
                    if "<" in "".join(self._style):
                        self.found.append("markup inside an SVG/MathML <style> element")
            while self._open and self._open.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        if self._open and self._open[-1] == "style":
            self._style.append(data)

    def handle_comment(self, data: str) -> None:
        if "<" in data or ">" in data:  # browsers and parsers disagree on where such a comment ends
            self.found.append("markup inside an HTML comment")

    def unknown_decl(self, data: str) -> None:
        if "<" in data or ">" in data:
            self.found.append("markup inside a CDATA section")

    def close(self) -> None:
        super().close()
        if self._open and self._open[-1] == "style":  # an unclosed <style>
            self._css("".join(self._style), "a <style> element")

    def _element(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _REFUSED_ELEMENTS:
            self.found.append(f"a <{tag}> element")
        for name, value in attrs:
            value = value or ""
            url = _url(value)
            if name.startswith("on"):
                self.found.append(f"an event-handler attribute ({name} on <{tag}>)")
            elif url.startswith(_SCRIPT_SCHEMES):
                self.found.append(f"a script URL ({name} on <{tag}>)")
            elif name.endswith("srcset"):  # candidates are split at commas, which data: URIs contain
                self.found.append(f"a {name} attribute (on <{tag}>)")
            elif name in _LOADING_ATTRS and not url.startswith("data:"):
                self.found.append(f"a {name} attribute that is not a data: URI (on <{tag}>)")
            elif name in ("href", "xlink:href"):
                if tag in ("a", "area") and url.startswith("data:"):
                    self.found.append(f"a data: link (on <{tag}>)")
                elif tag not in ("a", "area") and not url.startswith(("data:", "#")):
                    self.found.append(f"a {name} attribute that is not a data: URI or #fragment (on <{tag}>)")
            elif name == "style":
                self._css(value, f"a style attribute (on <{tag}>)")
            elif name in _SVG_PAINT_ATTRS:
                self._css(value, f"a {name} attribute (on <{tag}>)")
            elif name == "http-equiv" and value.strip().lower() == "refresh":
                self.found.append("a <meta http-equiv=refresh>")

    def _css(self, css: str, where: str) -> None:
        text = _CSS_COMMENT.sub("", _CSS_ESCAPE.sub(_css_unescape, css)).lower()
        for m in _CSS_URL.finditer(text):
            arg = m.group(1).strip().strip("'\"").strip()
            if not arg.startswith(("data:", "#")):
                self.found.append(f"a CSS url() that is not a data: URI in {where}")
        if "@import" in text:
            self.found.append(f"a CSS @import in {where}")
        for m in _CSS_IMAGE_SET.finditer(text):
            if any(not (a or b).strip().startswith("data:") for a, b in _CSS_STRING.findall(m.group(1))):
                self.found.append(f"a CSS image-set() that is not a data: URI in {where}")
        if _CSS_ACTIVE.search(text):
            self.found.append(f"a CSS expression or binding in {where}")


# Elements that load or run something whatever their attributes.
_REFUSED_ELEMENTS = {"script", "iframe", "frame", "frameset", "object", "embed", "applet", "base",
                     "link", "portal", "fencedframe"}
# Attributes that make a browser fetch their URL when the page is shown.
_LOADING_ATTRS = {"src", "data", "poster", "background", "lowsrc", "dynsrc",
                  "codebase", "classid", "archive", "longdesc", "manifest", "ping", "action", "formaction"}
# SVG presentation attributes whose value may be a CSS url()
_SVG_PAINT_ATTRS = {"fill", "stroke", "filter", "mask", "clip-path", "marker", "marker-start",
                    "marker-mid", "marker-end", "cursor"}
_SCRIPT_SCHEMES = ("javascript:", "vbscript:", "livescript:")
_CSS_ESCAPE = re.compile(r"\\([0-9a-fA-F]{1,6}\s?|[^\n0-9a-fA-F])")
_CSS_COMMENT = re.compile(r"/\*.*?(\*/|$)", re.S)
_CSS_URL = re.compile(r"(?:url|src)\(\s*([^)]*)\)?")
_CSS_IMAGE_SET = re.compile(r"image-set\(([^)]*)")
_CSS_STRING = re.compile(r""""([^"]*)"|'([^']*)'""")
_CSS_ACTIVE = re.compile(r"expression\s*\(|-moz-binding|behavior\s*:")
# A tag the parser may have missed (a parser differential): these never occur in escaped text,
# where every "<" is "&lt;". Searched with data: URIs blanked (base64 may hold "/onA=").
_DATA_URI = re.compile(r"data:[^\s\"'<>()]*", re.I)
_RAW_ACTIVE = re.compile(r"<\s*(script|iframe|frame|object|embed|applet|base|portal)\b|"
                         r"<[a-zA-Z][^<>]*?[\s/\"']on[a-zA-Z]+\s*=", re.I)


_QUOTED_VALUE = re.compile(r"""=\s*(?:"[^"<>]*"|'[^'<>]*')""")


def _url(value: str) -> str:
    """A URL as a browser reads its scheme: control characters and whitespace removed, lower case."""
    return re.sub(r"[\x00-\x20\x7f]", "", value).lower()


def _css_unescape(m: re.Match[str]) -> str:
    body = m.group(1)
    if body.strip() and all(c in "0123456789abcdefABCDEF" for c in body.strip()):
        code = int(body.strip(), 16)
        return chr(code) if 0 < code <= 0x10FFFF else "\ufffd"
    return body


def check_self_contained(page: str, where: Path | str = "report") -> None:
    """Refuse a page that would load anything from elsewhere or run anything.

    The page is parsed (``html.parser``) and its real elements, attributes and CSS
    are checked, so text that merely mentions ``url(`` or `` src=`` passes. Refused:
    ``<script>``, ``<link>``, ``<iframe>``, ``<frame>``, ``<object>``, ``<embed>``,
    ``<applet>``, ``<base>``; ``src``, ``srcset``, ``poster``, ``background``,
    ``data`` and other loading attributes that are not ``data:`` URIs; ``href`` and
    ``xlink:href`` outside links that are not ``data:`` or ``#fragment`` (SVG
    ``<image>``, ``<use>``); CSS ``url()`` (in ``<style>``, ``style=`` and SVG paint
    attributes), ``@import`` and ``image-set()`` that are not ``data:``; event-handler
    attributes (``on...``) and ``javascript:`` URLs; ``<meta http-equiv=refresh>``;
    and markup where parsers disagree (inside comments, CDATA, SVG ``<style>``).
    Links to other pages (``<a href>``) are allowed. nbconvert's template adds no
    script to the funder view, so no script is allowed.
    """
    scan = _PageScan()
    scan.feed(page)
    scan.close()
    found = list(scan.found)
    # quoted attribute values are text (an alt text may name a school "<svg onload=...>",
    # escaped); the parser above sees every real attribute
    raw = _RAW_ACTIVE.search(_QUOTED_VALUE.sub('=""', _DATA_URI.sub("data:", page)))
    if raw and not found:
        found.append("an element or event handler that the parser did not see as such")
    if found:
        shown = list(dict.fromkeys(found))
        more = f" and {len(shown) - 5} more" if len(shown) > 5 else ""
        raise NotSelfContainedError(
            f"{where}: the rendered page is not self-contained or has active content: it has "
            f"{', '.join(shown[:5])}{more}. Display figures inline (matplotlib in the notebook), "
            "do not embed scripts, and show data only through the report layer, which escapes it."
        )
