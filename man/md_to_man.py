#!/usr/bin/env python3
"""Turns a docs/ page into go-md2man input for a man page: a title block and NAME
section first, and every table whose cells are long prose turned into subsections (a man
page is read at 80 columns; a five-hundred-character cell makes a table unreadable).
Usage: md_to_man.py PAGE.md TITLE SECTION "NAME - what" VERSION > OUT.md"""
import re
import sys


def cells(line):
    return [c.strip() for c in line.strip().strip("|").split("|")]


def table_to_sections(header, rows):
    out = []
    for row in rows:
        out.append(f"### {row[0]}\n\n")
        for name, value in zip(header[1:], row[1:]):
            if value:
                out.append(f"*{name}*: {value}\n\n")
    return out


def convert(text, title, section, name, version):
    lines = text.splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]  # the page's own title: the man page has NAME instead
    out = [f"% {title} {section} \"\" \"ringgate {version}\"\n", "# NAME\n", f"{name}\n", "# DESCRIPTION\n"]
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("|") and i + 1 < len(lines) and re.match(r"^\|[-| :]+\|$", lines[i + 1].strip()):
            header = cells(line)
            rows = []
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(cells(lines[i]))
                i += 1
            out.extend(table_to_sections(header, rows))
            continue
        if line.startswith("## "):
            line = "# " + line[3:].upper()  # a page's sections become the man page's
        out.append(line + "\n")
        i += 1
    return "".join(out)


if __name__ == "__main__":
    page, title, section, name, version = sys.argv[1:6]
    with open(page, encoding="utf-8") as f:
        sys.stdout.write(convert(f.read(), title, section, name, version))
