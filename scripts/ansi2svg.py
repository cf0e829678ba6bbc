#!/usr/bin/env python3
"""Renders a terminal capture with ANSI colours (`tmux capture-pane -e -p`) as an SVG image.

Standard library only, so the README's screenshot can be regenerated anywhere tmux runs:
    python3 scripts/ansi2svg.py --width 120 < screen.ansi > assets/dashboard.svg
Handles the SGR codes tmux emits: bold, dim, underline, reverse, the 16 colours, 256-colour and
truecolour foregrounds and backgrounds. Every cell is one column (the dashboard draws no
double-width characters).
"""

import argparse
import html
import re
import sys

CELL_W, CELL_H, FONT = 8.4, 18, 14
FG, BG = "#d0d0d0", "#1c1c1c"
BASE16 = [
    "#1c1c1c", "#d75f5f", "#87af5f", "#d7af5f", "#5f87d7", "#af87d7", "#5fafaf", "#d0d0d0",
    "#767676", "#ff8787", "#afd787", "#ffd787", "#87afff", "#d7afff", "#87d7d7", "#ffffff",
]
SGR = re.compile(r"\x1b\[([0-9;:]*)m")
OTHER_ESCAPE = re.compile(r"\x1b(\[[0-9;?]*[A-Za-z]|\][^\x07]*\x07|[()][A-Z0-9])")


def colour256(n):
    if n < 16:
        return BASE16[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return "#%02x%02x%02x" % (steps[n // 36], steps[(n // 6) % 6], steps[n % 6])
    level = 8 + (n - 232) * 10
    return "#%02x%02x%02x" % (level, level, level)


class Style:
    def __init__(self):
        self.fg = self.bg = None
        self.bold = self.dim = self.underline = self.reverse = False

    def key(self):
        return (self.fg, self.bg, self.bold, self.dim, self.underline, self.reverse)

    def copy(self):
        other = Style()
        other.fg, other.bg = self.fg, self.bg
        other.bold, other.dim = self.bold, self.dim
        other.underline, other.reverse = self.underline, self.reverse
        return other

    def apply(self, params):
        codes = [int(p) if p else 0 for p in params.replace(":", ";").split(";")] or [0]
        i = 0
        while i < len(codes):
            c = codes[i]
            if c == 0:
                self.__init__()
            elif c == 1:
                self.bold = True
            elif c == 2:
                self.dim = True
            elif c == 4:
                self.underline = True
            elif c == 7:
                self.reverse = True
            elif c == 22:
                self.bold = self.dim = False
            elif c == 24:
                self.underline = False
            elif c == 27:
                self.reverse = False
            elif 30 <= c <= 37:
                self.fg = BASE16[c - 30]
            elif 90 <= c <= 97:
                self.fg = BASE16[c - 90 + 8]
            elif c == 39:
                self.fg = None
            elif 40 <= c <= 47:
                self.bg = BASE16[c - 40]
            elif 100 <= c <= 107:
                self.bg = BASE16[c - 100 + 8]
            elif c == 49:
                self.bg = None
            elif c in (38, 48) and i + 1 < len(codes):
                if codes[i + 1] == 5 and i + 2 < len(codes):
                    colour, i = colour256(codes[i + 2]), i + 2
                elif codes[i + 1] == 2 and i + 4 < len(codes):
                    colour = "#%02x%02x%02x" % tuple(codes[i + 2:i + 5])
                    i += 4
                else:
                    colour = None
                if c == 38:
                    self.fg = colour
                else:
                    self.bg = colour
            i += 1

    def colours(self):
        fg, bg = self.fg or FG, self.bg or BG
        if self.reverse:
            fg, bg = bg, fg
        return fg, bg


def runs(line):
    """Splits one captured line into (column, text, style) runs."""
    style, col, out = Style(), 0, []
    pos = 0
    for match in SGR.finditer(line):
        text = OTHER_ESCAPE.sub("", line[pos:match.start()])
        if text:
            out.append((col, text, style.copy()))
            col += len(text)
        style.apply(match.group(1))
        pos = match.end()
    text = OTHER_ESCAPE.sub("", line[pos:])
    if text:
        out.append((col, text, style.copy()))
    return out


def render(lines, width):
    height = len(lines)
    w, h = width * CELL_W + 20, height * CELL_H + 20
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0f}" height="{h:.0f}" '
        f'viewBox="0 0 {w:.0f} {h:.0f}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" '
        f'font-size="{FONT}">',
        f'<rect width="100%" height="100%" rx="6" fill="{BG}"/>',
    ]
    for row, line in enumerate(lines):
        y = 10 + row * CELL_H
        for col, text, style in runs(line):
            fg, bg = style.colours()
            x = 10 + col * CELL_W
            if bg != BG:
                parts.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{len(text) * CELL_W:.1f}" '
                    f'height="{CELL_H}" fill="{bg}"/>'
                )
            if not text.strip():
                continue
            attrs = f'fill="{fg}"'
            if style.bold:
                attrs += ' font-weight="bold"'
            if style.dim:
                attrs += ' fill-opacity="0.6"'
            if style.underline:
                attrs += ' text-decoration="underline"'
            parts.append(
                f'<text x="{x:.1f}" y="{y + CELL_H - 5}" {attrs} xml:space="preserve" '
                f'textLength="{len(text) * CELL_W:.1f}" lengthAdjust="spacingAndGlyphs">'
                f"{html.escape(text)}</text>"
            )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=0, help="columns (default: widest line)")
    args = parser.parse_args()
    lines = sys.stdin.read().rstrip("\n").split("\n")
    width = args.width or max(len(OTHER_ESCAPE.sub("", SGR.sub("", l))) for l in lines)
    sys.stdout.write(render(lines, width))


if __name__ == "__main__":
    main()
