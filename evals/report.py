"""A tiny document model that renders the same report as Markdown and as self-contained HTML.

Markdown links the PNG files that sit next to ``report.md``; HTML embeds them as base64 so
``report.html`` can be mailed or opened anywhere on its own.
"""

from __future__ import annotations

import base64
import contextlib
import html
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mcq.files import write_atomic

__all__ = ["REPORT_MARKERS", "Report", "staged_folder", "write_atomic"]


@dataclass
class _Block:
    kind: str
    text: str = ""
    rows: list[list[str]] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    align: str = ""
    level: int = 2


class Report:
    """An ordered list of headings, paragraphs, bullet lists, tables, quotes and images."""

    def __init__(self, title: str):
        self.title = title
        self.blocks: list[_Block] = []

    def heading(self, text: str, level: int = 2) -> None:
        """Add a section heading (level 2 or 3)."""
        self.blocks.append(_Block("heading", text, level=level))

    def paragraph(self, text: str) -> None:
        """Add a paragraph; ``**bold**`` and `` `code` `` are kept in both formats."""
        self.blocks.append(_Block("paragraph", text))

    def bullets(self, items: Sequence[str]) -> None:
        """Add a bullet list."""
        self.blocks.append(_Block("bullets", rows=[[item] for item in items]))

    def table(
        self, header: Sequence[str], rows: Sequence[Sequence[object]], align: str = ""
    ) -> None:
        """Add a table; ``align`` has one character per column, ``l`` or ``r`` (default ``l``)."""
        self.blocks.append(
            _Block(
                "table",
                header=[str(h) for h in header],
                rows=[[_cell(c) for c in row] for row in rows],
                align=align.ljust(len(header), "l"),
            )
        )

    def quote(self, text: str) -> None:
        """Add a block quote (a model's response)."""
        self.blocks.append(_Block("quote", text))

    def image(self, filename: str, alt: str) -> None:
        """Add a PNG that lives next to the report file."""
        self.blocks.append(_Block("image", filename, header=[alt]))

    # -- rendering ---------------------------------------------------------------------------

    def to_markdown(self) -> str:
        """Render as GitHub-flavoured Markdown."""
        out = [f"# {self.title}", ""]
        for block in self.blocks:
            if block.kind == "heading":
                out += ["#" * block.level + " " + block.text, ""]
            elif block.kind == "paragraph":
                out += [block.text, ""]
            elif block.kind == "bullets":
                out += [f"- {row[0]}" for row in block.rows] + [""]
            elif block.kind == "table":
                out.append("| " + " | ".join(_md_cell(h) for h in block.header) + " |")
                out.append("|" + "|".join("---:" if a == "r" else "---" for a in block.align) + "|")
                out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows]
                out.append("")
            elif block.kind == "quote":
                lines = block.text.splitlines() or [""]
                out += [("> " + line.strip()).rstrip() for line in lines]
                out.append("")
            elif block.kind == "image":
                out += [f"![{block.header[0]}]({block.text})", ""]
        return "\n".join(out).rstrip() + "\n"

    def to_html(self, image_dir: str | os.PathLike[str]) -> str:
        """Render as one HTML page with every image embedded as a base64 data URI."""
        image_dir = Path(image_dir)
        body: list[str] = [f"<h1>{_inline(self.title)}</h1>"]
        for block in self.blocks:
            if block.kind == "heading":
                body.append(f"<h{block.level}>{_inline(block.text)}</h{block.level}>")
            elif block.kind == "paragraph":
                body.append(f"<p>{_inline(block.text)}</p>")
            elif block.kind == "bullets":
                items = "".join(f"<li>{_inline(row[0])}</li>" for row in block.rows)
                body.append(f"<ul>{items}</ul>")
            elif block.kind == "table":
                head = "".join(f"<th>{_inline(h)}</th>" for h in block.header)
                rows = "".join(
                    "<tr>"
                    + "".join(
                        f'<td class="{"num" if a == "r" else "txt"}">{_inline(c)}</td>'
                        for c, a in zip(row, block.align, strict=False)
                    )
                    + "</tr>"
                    for row in block.rows
                )
                body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
            elif block.kind == "quote":
                body.append(f"<blockquote>{html.escape(block.text)}</blockquote>")
            elif block.kind == "image":
                data = base64.b64encode((image_dir / block.text).read_bytes()).decode("ascii")
                alt = html.escape(block.header[0], quote=True)
                body.append(
                    f'<figure><img alt="{alt}" src="data:image/png;base64,{data}"></figure>'
                )
        return (
            '<!DOCTYPE html>\n<html lang="zh-Hant">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{html.escape(self.title)}</title>\n<style>{_CSS}</style>\n</head>\n"
            "<body>\n" + "\n".join(body) + "\n</body>\n</html>\n"
        )

    def write(self, out_dir: str | os.PathLike[str], *, html_too: bool = True) -> list[Path]:
        """Write ``report.md`` (and ``report.html``) into ``out_dir`` atomically."""
        out_dir = Path(out_dir)
        written = [write_atomic(out_dir / "report.md", self.to_markdown())]
        if html_too:
            written.append(write_atomic(out_dir / "report.html", self.to_html(out_dir)))
        return written


_CSS = """
body{font-family:-apple-system,"Segoe UI","Noto Sans CJK TC","WenQuanYi Micro Hei",sans-serif;
max-width:1040px;margin:2em auto;padding:0 1em;color:#1f2328;line-height:1.5}
table{border-collapse:collapse;margin:0.8em 0}th,td{border:1px solid #d0d7de;padding:4px 9px}
th{background:#f6f8fa}td.num{text-align:right;font-variant-numeric:tabular-nums}
blockquote{white-space:pre-wrap;border-left:4px solid #d0d7de;margin:0.5em 0;padding:0.3em 1em;
color:#444;background:#fafbfc}img{max-width:100%}code{background:#f0f1f3;padding:0 3px}
figure{margin:1em 0}
"""


def _cell(value: object) -> str:
    return "" if value is None else str(value)


def _md_cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _inline(text: str) -> str:
    """Escape for HTML, then turn ``**bold**`` and `` `code` `` into tags."""
    out = html.escape(text)
    parts = out.split("`")
    for i in range(1, len(parts), 2):
        parts[i] = f"<code>{parts[i]}</code>"
    out = "".join(parts) if len(parts) % 2 == 1 else out
    pieces = out.split("**")
    if len(pieces) % 2 == 1:
        out = "".join(f"<strong>{p}</strong>" if i % 2 else p for i, p in enumerate(pieces))
    return out


#: Files that mark a folder as an earlier report, which a new report may replace whole.
REPORT_MARKERS = ("report.md", "summary.json")


@contextlib.contextmanager
def staged_folder(out: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a fresh sibling folder to write a report into; swap it in for ``out`` on success.

    A report killed half-way leaves ``out`` as it was (the old report, whole) and only a
    hidden ``.out.staging-*`` sibling behind. ``out`` is replaced only when it is missing,
    empty, or an earlier report (it holds one of :data:`REPORT_MARKERS`): a folder of other
    files raises ``FileExistsError`` rather than being deleted.
    """
    out = Path(out)
    if out.is_dir() and any(out.iterdir()) and not any((out / m).exists() for m in REPORT_MARKERS):
        raise FileExistsError(
            f"--out {out}: holds other files and no earlier report; choose an empty or new folder"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.staging-", dir=out.parent))
    try:
        yield stage
        os.chmod(stage, 0o755)  # mkdtemp creates 0700; reports are meant to be shared
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        if out.exists():
            os.replace(out, old)
        os.replace(stage, out)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
