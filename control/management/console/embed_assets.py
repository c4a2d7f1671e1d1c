#!/usr/bin/env python3
"""Writes a C++ source that defines ringgate::management::consoleAssets() from the web
console's files: embed_assets.py OUT.cpp FILE... (each served as /NAME, index.html as /)."""
import sys
from pathlib import Path

TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".png": "image/png", ".svg": "image/svg+xml"}


def main():
    out, files = Path(sys.argv[1]), [Path(f) for f in sys.argv[2:]]
    lines = ['#include "control/management/console_assets.h"', "", "namespace ringgate::management {", "",
             "namespace {"]
    for i, f in enumerate(files):
        data = f.read_bytes()
        body = ",".join(str(b) for b in data)
        lines.append(f"const unsigned char kFile{i}[] = {{{body}{',' if data else ''}0}};")
    lines += ["}  // namespace", "", "std::vector<Asset> consoleAssets() {", "    return {"]
    for i, f in enumerate(files):
        size = len(f.read_bytes())
        lines.append(f'        {{"/{f.name}", "{TYPES[f.suffix]}", '
                     f"std::string_view(reinterpret_cast<const char*>(kFile{i}), {size})}},")
    lines += ["    };", "}", "", "}  // namespace ringgate::management", ""]
    out.write_text("\n".join(lines))


if __name__ == "__main__":
    main()
