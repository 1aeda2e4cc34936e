"""Line plots as SVG files, drawn here so the benchmarks need no plotting library.

    line_plot(path, title, subtitle, x_label, y_label, series, guides=(), log_x=False, log_y=False)

series: [(name, color, [(x, y), ...])], each drawn as a solid line with dots; guides:
[(name, color, [(x, y), ...])], dashed lines without dots (a goal, a floor, a peak). Each axis
is linear from 0, or logarithmic (log_x, log_y) between round values around the data. A legend
under the plot names every line.
"""
import math
from xml.sax.saxutils import escape

WIDTH, LEFT, RIGHT, BOTTOM, LEGEND_ROW = 560, 70, 20, 50, 16


def _nice_ticks(top, count=4):
    """count + 1 round values from 0 to at least `top`."""
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    return [step * i for i in range(count + 1)]


def _log_ticks(lo, hi):
    """1-2-5 values from the one at or below lo to the one at or above hi."""
    ticks, decade = [], 10 ** math.floor(math.log10(lo))
    while not ticks or ticks[-1] < hi:
        for m in (1, 2, 5):
            value = m * decade
            if value * 1.0000001 >= lo and (not ticks or ticks[-1] < hi):
                if not ticks and value > lo:
                    ticks.append(value / (2.5 if m == 5 else 2))
                ticks.append(value)
        decade *= 10
    return ticks


def _label(value):
    return f"{value:,.0f}" if value >= 10 or value == 0 else f"{value:g}"


def line_plot(path, title, subtitle, x_label, y_label, series, guides=(), log_x=False, log_y=False):
    lines = list(series) + list(guides)
    points = [p for _, _, pts in lines for p in pts]
    xs = sorted({x for x, _ in points})
    top = 34 + 14 * len(subtitle)
    legend_height = LEGEND_ROW * len(lines) + 8
    height = top + 260 + BOTTOM + legend_height
    plot_bottom = height - BOTTOM - legend_height
    ys = [y for _, y in points if not log_y or y > 0]
    y_ticks = _log_ticks(min(ys), max(ys)) if log_y else _nice_ticks(max(ys) * 1.08)
    y_lo, y_max = (y_ticks[0], y_ticks[-1]) if log_y else (0, y_ticks[-1])
    x_lo, x_hi = (min(xs), max(xs)) if log_x else (0, max(xs) * 1.05)

    def px(x):
        share = (math.log(x / x_lo) / math.log(x_hi / x_lo)) if log_x else (x - x_lo) / (x_hi - x_lo)
        return LEFT + (WIDTH - LEFT - RIGHT) * share

    def py(y):
        share = math.log(y / y_lo) / math.log(y_max / y_lo) if log_y else y / y_max
        return plot_bottom - (plot_bottom - top) * share

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
           f'font-family="sans-serif" font-size="11">',
           f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
           f'<text x="{WIDTH / 2}" y="18" text-anchor="middle" font-size="13">{escape(title)}</text>',
           *(f'<text x="{WIDTH / 2}" y="{34 + 14 * i}" text-anchor="middle" fill="#555">{escape(line)}</text>'
             for i, line in enumerate(subtitle)),
           f'<line x1="{LEFT}" y1="{plot_bottom}" x2="{WIDTH - RIGHT}" y2="{plot_bottom}" stroke="black"/>',
           f'<line x1="{LEFT}" y1="{top}" x2="{LEFT}" y2="{plot_bottom}" stroke="black"/>',
           f'<text x="{(LEFT + WIDTH - RIGHT) / 2}" y="{plot_bottom + 34}" text-anchor="middle">{escape(x_label)}</text>',
           f'<text x="16" y="{(top + plot_bottom) / 2}" text-anchor="middle" '
           f'transform="rotate(-90 16 {(top + plot_bottom) / 2})">{escape(y_label)}</text>']
    for y in y_ticks:
        out.append(f'<line x1="{LEFT - 4}" y1="{py(y):.1f}" x2="{WIDTH - RIGHT}" y2="{py(y):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{LEFT - 6}" y="{py(y) + 4:.1f}" text-anchor="end">{_label(y)}</text>')
    for x in xs:
        out.append(f'<text x="{px(x):.1f}" y="{plot_bottom + 15}" text-anchor="middle">{x:g}</text>')
    for index, (name, color, pts) in enumerate(lines):
        guide = index >= len(series)
        style = 'stroke-dasharray="6 4" stroke-width="1.5"' if guide else 'stroke-width="2"'
        out.append(f'<polyline fill="none" stroke="{color}" {style} points="' +
                   " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in sorted(pts)) + '"/>')
        if not guide:
            out += [f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{color}"/>' for x, y in pts]
        row_y = plot_bottom + 50 + LEGEND_ROW * index
        out.append(f'<line x1="{LEFT}" y1="{row_y - 4}" x2="{LEFT + 28}" y2="{row_y - 4}" stroke="{color}" {style}/>')
        out.append(f'<text x="{LEFT + 36}" y="{row_y}">{escape(name)}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
