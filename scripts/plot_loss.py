#!/usr/bin/env python3
"""Draws a training loss curve (loss.csv: step,loss,seconds) as a dependency-free SVG."""
import csv
import sys


def main(src: str, dst: str, window: int = 50) -> None:
    rows = [(int(float(r[0])), float(r[1])) for r in csv.reader(open(src)) if r]
    if not rows:
        sys.exit("no rows")
    smooth = []
    for i in range(len(rows)):
        chunk = rows[max(0, i - window + 1): i + 1]
        smooth.append((rows[i][0], sum(l for _, l in chunk) / len(chunk)))
    w, h, pad = 640, 320, 48
    max_step = rows[-1][0]
    lo = min(l for _, l in smooth) * 0.95
    hi = max(l for _, l in smooth[window:] or smooth) * 1.05
    x = lambda s: pad + (w - 2 * pad) * s / max(1, max_step)
    y = lambda l: h - pad - (h - 2 * pad) * (min(max(l, lo), hi) - lo) / max(1e-9, hi - lo)
    raw = " ".join(f"{x(s):.1f},{y(l):.1f}" for s, l in rows[:: max(1, len(rows) // 2000)])
    line = " ".join(f"{x(s):.1f},{y(l):.1f}" for s, l in smooth)
    ticks = "".join(
        f'<text x="{pad - 6}" y="{y(v) + 4:.1f}" text-anchor="end" font-size="11">{v:.2f}</text>'
        for v in [lo + (hi - lo) * k / 4 for k in range(5)]
    )
    svg = f'''<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<polyline points="{raw}" fill="none" stroke="#c8d3e6" stroke-width="1"/>
<polyline points="{line}" fill="none" stroke="#1f4e9c" stroke-width="2"/>
<line x1="{pad}" y1="{h - pad}" x2="{w - pad}" y2="{h - pad}" stroke="black"/>
<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{h - pad}" stroke="black"/>
{ticks}
<text x="{w / 2}" y="{h - 12}" text-anchor="middle" font-size="12">step (0 to {max_step})</text>
<text x="{pad}" y="{pad - 14}" font-size="13">v-prediction MSE (light: per step, dark: mean of {window})</text>
</svg>'''
    open(dst, "w").write(svg)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
