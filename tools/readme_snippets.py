#!/usr/bin/env python3
"""Checks that every README code block marked `<!-- snippet: PATH -->` is
quoted word for word from PATH (a file CI builds and runs), so the README's
examples cannot drift from code that works. Lines are compared with their
indentation stripped; the block must appear as consecutive lines of PATH.
Exits 1 naming the first block that is not found, or when no block is marked.

  tools/readme_snippets.py [README.md]
"""
import pathlib
import re
import sys

MARK = re.compile(r"^<!-- snippet: (\S+) -->$")


def marked_blocks(lines):
    """(line number, path, block lines) for each marked fenced block."""
    for i, line in enumerate(lines):
        m = MARK.match(line.strip())
        if not m:
            continue
        if i + 1 >= len(lines) or not lines[i + 1].startswith("```"):
            raise SystemExit(f"readme_snippets: line {i + 1}: a snippet mark must be followed by a ``` block")
        end = next((j for j in range(i + 2, len(lines)) if lines[j].startswith("```")), None)
        if end is None:
            raise SystemExit(f"readme_snippets: line {i + 2}: the ``` block is not closed")
        yield i + 1, m.group(1), lines[i + 2:end]


def quoted_in(block, source):
    want = [l.strip() for l in block]
    have = [l.strip() for l in source]
    return any(have[k:k + len(want)] == want for k in range(len(have) - len(want) + 1))


def main():
    readme = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "README.md")
    root = readme.resolve().parent
    lines = readme.read_text(encoding="utf-8").splitlines()
    count = 0
    for line_no, path, block in marked_blocks(lines):
        source = root / path
        if not source.is_file():
            raise SystemExit(f"readme_snippets: {readme}:{line_no}: {path} does not exist")
        if not block or not quoted_in(block, source.read_text(encoding="utf-8").splitlines()):
            raise SystemExit(f"readme_snippets: {readme}:{line_no}: the block below is not quoted word for word "
                             f"from {path}; update one or the other")
        count += 1
    if count == 0:
        raise SystemExit(f"readme_snippets: {readme} marks no snippet")
    print(f"readme_snippets: {count} README block(s) found word for word in the files CI runs")


if __name__ == "__main__":
    main()
