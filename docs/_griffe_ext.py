"""A Griffe extension for the API reference: xpgrad's docstrings as Markdown.

xpgrad's docstrings are numpydoc-ish and written for ``help()`` and doctest:
``>>>`` examples sit at the end without an ``Examples`` header, and a few use
reStructuredText roles (``:func:`name```) or ``::`` literal blocks. Rendered
as Markdown, ``>>>`` would become a triple blockquote, and a numpydoc
``Returns`` section would swallow the examples that follow it. This extension
rewrites each docstring before it is parsed:

- an ``Examples`` header is inserted before the first ``>>>`` block (Griffe
  then renders the examples as highlighted ``pycon`` code);
- ``:role:`name``` becomes ``name`` in backticks;
- a paragraph ending in ``::`` ends in ``:`` (the indented block after it is a
  Markdown code block already).

The docstrings themselves stay as they are (doctest runs them).
"""

from __future__ import annotations

import re
from typing import Any

from griffe import Extension, Object

_ROLE = re.compile(r":(?:func|class|data|meth|attr|mod|obj|exc):`~?([^`]+)`")
_HEADER = re.compile(r"^\s*Examples\s*\n\s*-{3,}\s*$", re.MULTILINE)


def to_markdown(text: str) -> str:
    """The docstring ``text`` rewritten as described in the module docstring."""
    text = _ROLE.sub(r"`\1`", text)
    lines = text.split("\n")
    out: list[str] = []
    has_header = bool(_HEADER.search(text))
    for i, line in enumerate(lines):
        stripped = line.strip()
        starts_block = stripped.startswith(">>>") and (i == 0 or not lines[i - 1].strip())
        if starts_block and not has_header:
            indent = line[: len(line) - len(line.lstrip())]
            if out and out[-1].strip():
                out.append("")
            out.extend([f"{indent}Examples", f"{indent}--------"])
            has_header = True
        if stripped.endswith("::") and not stripped.startswith(">>>") and stripped != "::":
            line = line[:-1]
        out.append(line)
    return "\n".join(out)


class DoctestMarkdown(Extension):
    """Rewrite every docstring with :func:`to_markdown` before it is parsed."""

    def on_instance(self, *, obj: Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = to_markdown(obj.docstring.value)
