"""The report card as ONE self-contained HTML file that opens in a browser offline.

Everything is inline: the CSS in a ``<style>`` element, every bar an inline SVG drawn here; no
script, no web font, no image or stylesheet fetched from anywhere. :func:`network_references`
lists anything in a page that would reach the network (the lab and the tests run it on every
report written). The page depends on the card only (its date comes from the seed), so the same
seed writes the same bytes.

Written by hand: the report is a table and a few bars, which a template library or a plotting
library would only make depend on files or scripts (plotly's HTML export embeds or links a
3 MB script).

Introduced in lab 14 (Capstone).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ..validate import ArgumentTypeError, check_int, check_path, check_str
from .reportcard import GRADE_SCALE, GRADES, Measurement, ReportCard, compare

__all__ = [
    "GRADE_COLORS",
    "grade_bar_svg",
    "inline_frame",
    "network_references",
    "render_report",
    "write_report",
]

GRADE_COLORS: dict[str, str] = {"A": "#2A9D8F", "B": "#8AB17D", "C": "#EDAE49",
                                "D": "#E76F51", "F": "#D1495B", "n/a": "#8D99AE"}
"""The colour of each grade in the report (the course palette's defended/attack colours at
the ends). Introduced in lab 14 (Capstone)."""

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       margin: 24px; color: #1f2933; background: #ffffff; max-width: 1100px; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; }
h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 2px solid #e4e7eb; padding-bottom: 4px; }
p.meta { color: #52606d; margin-top: 0; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 16px 0; font-size: 0.92em; }
th { text-align: left; background: #f1f3f5; padding: 6px 8px; vertical-align: bottom; }
td { text-align: left; padding: 6px 8px; border-top: 1px solid #e4e7eb; vertical-align: top; }
td.grade { font-weight: 700; font-size: 1.3em; text-align: center; color: #ffffff;
           width: 2.2em; }
td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
.small { color: #52606d; font-size: 0.9em; }
.summary span { display: inline-block; padding: 2px 10px; margin-right: 6px; border-radius: 4px;
                color: #ffffff; font-weight: 700; }
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _x(value: float, lo: float, hi: float, width: float) -> float:
    value = min(max(value, lo), hi)
    return (value - lo) / (hi - lo) * width


def grade_bar_svg(measurement: Measurement, *, width: int = 300, height: int = 44) -> str:
    """An inline SVG of one measurement on its grade scale: the A-F bands coloured, the
    interval as a line, the value as a dot and the graded (pessimistic) end as a tick; for a
    category that does not apply, a grey box that says so.

    Introduced in lab 14 (Capstone).
    """
    if not isinstance(measurement, Measurement):
        raise ArgumentTypeError(f"measurement must be a Measurement, got "
                                f"{type(measurement).__name__}")
    width = check_int(width, "width", minimum=60)
    height = check_int(height, "height", minimum=24)
    # no xmlns: inline SVG in an HTML5 page needs none, and the page then names no URL at all
    head = (f'<svg width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{{label}}">')
    if not measurement.applicable:
        label = f"{measurement.category}: not applicable"
        return (head.format(label=_e(label))
                + f'<rect x="0" y="6" width="{width}" height="{height - 18}" fill="#e4e7eb"/>'
                + f'<text x="{width / 2:.1f}" y="{height / 2 + 1:.1f}" font-size="11" '
                  f'text-anchor="middle" fill="#52606d">not applicable</text></svg>')
    scale = measurement.scale
    lo, hi = scale.axis
    band_h = height - 18
    parts = [head.format(label=_e(f"{measurement.category}: {measurement.text()}, grade "
                                  f"{measurement.grade}"))]
    for letter, a, b in scale.bands():
        xa, xb = _x(a, lo, hi, width), _x(b, lo, hi, width)
        if xb - xa <= 0:
            continue
        parts.append(f'<rect x="{xa:.1f}" y="6" width="{xb - xa:.1f}" height="{band_h}" '
                     f'fill="{GRADE_COLORS[letter]}" fill-opacity="0.28"/>')
        if xb - xa >= 12:
            parts.append(f'<text x="{(xa + xb) / 2:.1f}" y="17" font-size="9" '
                         f'text-anchor="middle" fill="#52606d">{letter}</text>')
    y = 6 + band_h * 0.65
    xl, xh = _x(measurement.low, lo, hi, width), _x(measurement.high, lo, hi, width)
    xv, xg = _x(measurement.value, lo, hi, width), _x(measurement.graded_on, lo, hi, width)
    color = GRADE_COLORS[measurement.grade]
    parts.append(f'<line x1="{xl:.1f}" y1="{y:.1f}" x2="{max(xh, xl + 0.5):.1f}" y2="{y:.1f}" '
                 f'stroke="#1f2933" stroke-width="2"/>')
    parts.append(f'<line x1="{xg:.1f}" y1="{y - 7:.1f}" x2="{xg:.1f}" y2="{y + 7:.1f}" '
                 f'stroke="{color}" stroke-width="3"/>')
    parts.append(f'<circle cx="{xv:.1f}" cy="{y:.1f}" r="4" fill="#1f2933"/>')
    tick_y = height - 2
    for value in (lo, hi):
        anchor = "start" if value == lo else "end"
        parts.append(f'<text x="{_x(value, lo, hi, width):.1f}" y="{tick_y}" font-size="9" '
                     f'text-anchor="{anchor}" fill="#52606d">{value:g}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _details(measurement: Measurement) -> str:
    if not measurement.details:
        return ""
    items = []
    for key, value in measurement.details.items():
        shown = f"{value:.3f}" if isinstance(value, float) else str(value)
        items.append(f"{_e(key)}: {_e(shown)}")
    return f'<div class="small">{"; ".join(items)}</div>'


def _card_section(card: ReportCard) -> str:
    grades = "".join(f'<span style="background:{GRADE_COLORS[g]}">{_e(c.replace("_", " "))}: '
                     f'{_e(g)}</span>' for c, g in card.grades.items())
    rows = []
    for m in card.measurements:
        if m.applicable:
            number = (f'<td class="num">{_e(m.text())}<div class="small">metric: '
                      f'{_e(m.metric)}; graded on {m.graded_on:.3g}</div></td>')
            sample = _e(m.on)
            what = _e(m.how) + _details(m)
        else:
            number = '<td class="num">n/a</td>'
            sample = "-"
            what = "<b>Not applicable:</b> " + _e(m.reason)
        rows.append(
            f'<tr><td><b>{_e(m.category.replace("_", " "))}</b></td>'
            f'<td class="grade" style="background:{GRADE_COLORS[m.grade]}">{_e(m.grade)}</td>'
            f"{number}<td>{grade_bar_svg(m)}</td><td>{sample}</td><td>{what}</td>"
            f"<td>{_e(m.improve)}</td></tr>")
    return (f'<h2>{_e(card.name)}</h2>'
            f'<p class="meta">{_e(card.kind)} model; card of {card.date.isoformat()} '
            f"(seed {card.seed}). {_e(card.description)}</p>"
            f'<p class="summary">{grades}</p>'
            "<table><thead><tr><th>category</th><th>grade</th><th>number [95% interval]</th>"
            "<th>on the grade scale</th><th>sample</th><th>what was measured</th>"
            "<th>how to improve</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


def _frame_table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in frame.columns)
    body = "".join("<tr>" + "".join(f"<td>{_e('-' if pd.isna(v) else v)}</td>" for v in row)
                   + "</tr>" for row in frame.itertuples(index=False))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _scale_table() -> str:
    rows = []
    for metric, s in GRADE_SCALE.items():
        sign = "<=" if s.higher_is_worse else ">="
        cuts = ", ".join(f"{g} {sign} {t:g}" for g, t in zip(GRADES, s.thresholds,
                                                              strict=False))
        rows.append({"category": s.category.replace("_", " "), "metric": metric,
                     "graded on": "upper end" if s.higher_is_worse else "lower end",
                     "cut points": cuts + ", else F", "why": s.rationale})
    return _frame_table(pd.DataFrame(rows))


def render_report(cards: Sequence[ReportCard], *, title: str = "Security report card",
                  comparisons: Sequence[tuple[ReportCard, ReportCard]] = ()) -> str:
    """The HTML text of a report: a header, one section per card (its grades, a table with
    each category's number, interval, bar, sample, what was measured and how to improve), the
    grade changes of each (before, after) pair in ``comparisons``, and the grading scale.
    Self-contained: see :func:`network_references`.

    Introduced in lab 14 (Capstone).
    """
    cards = list(cards) if not isinstance(cards, ReportCard) else [cards]
    if not cards:
        raise ValueError("a report needs at least one card")
    for card in cards:
        if not isinstance(card, ReportCard):
            raise ArgumentTypeError(f"cards must be ReportCards, got {type(card).__name__}")
    title = check_str(title, "title")
    dates = sorted({c.date.isoformat() for c in cards})
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
             f"<h1>{_e(title)}</h1>",
             f'<p class="meta">{len(cards)} model(s); dated {", ".join(dates)} (from the '
             "seed, not the clock). Every grade reads the pessimistic end of its 95% "
             "interval; the grading scale is at the end.</p>"]
    for before, after in comparisons:
        parts.append(f"<h2>Grade changes: {_e(before.name)} to {_e(after.name)}</h2>")
        parts.append(_frame_table(compare(before, after)))
    parts.extend(_card_section(c) for c in cards)
    parts.append("<h2>The grading scale</h2>" + _scale_table())
    parts.append('<p class="small">Made by mlsec_helpers.capstone.reportcard (lab 14, '
                 "Capstone).</p></body></html>")
    return "\n".join(parts) + "\n"


def write_report(cards: Sequence[ReportCard] | ReportCard, path, *,
                 title: str = "Security report card",
                 comparisons: Sequence[tuple[ReportCard, ReportCard]] = ()) -> Path:
    """Write :func:`render_report` to ``path`` (UTF-8; its folder must exist) and return the
    path. Refuses to write a page that :func:`network_references` finds a reference in.

    Introduced in lab 14 (Capstone).
    """
    path = check_path(path, "path")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"the folder {path.parent} does not exist")
    if isinstance(cards, ReportCard):
        cards = [cards]
    text = render_report(cards, title=title, comparisons=comparisons)
    found = network_references(text)
    if found:  # only a card whose own texts hold a URL gets here
        raise ValueError(f"the report would reach the network: {found[:3]}")
    path.write_text(text, encoding="utf-8")
    return path


_NETWORK = [
    re.compile(r"(?i)\b(?:https?|ftp|wss?):(?://)?[^\s\"'<>)]*"),
    re.compile(r"(?i)<script\b[^>]*>"),
    re.compile(r"(?i)<(?:link|iframe|embed|object|source|img|audio|video)\b[^>]*\b(?:src|href|"
               r"data)\s*=\s*[\"']?(?!data:|#)[^\"'\s>]+"),
    re.compile(r"(?i)@import\b[^;]*"),
    re.compile(r"(?i)url\(\s*[\"']?(?!data:|#)[^)\"']*"),
    re.compile(r"(?i)\b(?:src|href)\s*=\s*[\"']?//[^\"'\s>]*"),
]


def network_references(text: str) -> list[str]:
    """Everything in an HTML page that would make a browser fetch something or run a script:
    ``http(s)://``, ``ftp:`` or ``ws(s):`` URLs, protocol-relative ``//host`` links, any
    ``<script>``, elements that load a ``src``/``href``/``data`` that is not a ``data:`` URI
    or a ``#fragment``, CSS ``@import`` and ``url(...)``. An empty list means the page is
    self-contained (the report's own SVG carries no namespace URL either: HTML5 needs none).

    Introduced in lab 14 (Capstone).
    """
    text = check_str(text, "text")
    found: list[str] = []
    for pattern in _NETWORK:
        found.extend(m.group(0) for m in pattern.finditer(text))
    return found


def inline_frame(text: str, *, height: int = 640) -> str:
    """An ``<iframe srcdoc=...>`` holding the page ``text``, to show a report inside a
    notebook (``IPython.display.HTML(inline_frame(text))``) with its own styles kept apart
    from the notebook's.

    Introduced in lab 14 (Capstone).
    """
    text = check_str(text, "text")
    height = check_int(height, "height", minimum=100)
    return (f'<iframe srcdoc="{html.escape(text, quote=True)}" style="width: 100%; '
            f'height: {height}px; border: 1px solid #e4e7eb;" sandbox=""></iframe>')
