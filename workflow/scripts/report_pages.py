"""Pages of the HTML report (results/report.html): what Snakemake's reporter cannot show by itself, as HTML it shows.

The reporter displays images, PDFs and HTML inline and offers every other file as a download, so the Markdown the
reports write (verdicts, tables, the claims ledger) and the protocol JSON become small self-contained HTML pages here,
each with its source file attached as a download. The pages are views: the numbers stay in the files they render.

    python report_pages.py markdown FILE... --out-dir DIR     one DIR/<stem>.html per Markdown file
    python report_pages.py json FILE --out PAGE               a JSON file, pretty-printed
    python report_pages.py environment --lock requirements.lock --json OUT.json --html OUT.html
"""

import argparse
import base64
import hashlib
import html
import json
import os
import platform
import sys
from importlib import metadata
from pathlib import Path

STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #1f2937; line-height: 1.45; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.75rem 0; }
th, td { border: 1px solid #d1d5db; padding: 0.2rem 0.5rem; vertical-align: top; }
th { background: #f3f4f6; }
tr:nth-child(even) td { background: #f9fafb; }
code, pre { font-family: ui-monospace, monospace; font-size: 0.85em; }
pre { background: #f3f4f6; padding: 0.75rem; overflow-x: auto; }
.source { font-size: 0.8rem; color: #6b7280; }
"""


def page(title: str, body: str, source: Path) -> str:
    """One self-contained page; ``source`` travels with it as a data-URI download."""
    encoded = base64.b64encode(source.read_bytes()).decode()
    download = (f'<p class="source">Rendered from <code>{html.escape(str(source))}</code> '
                f'(<a download="{html.escape(source.name)}" href="data:text/plain;charset=utf-8;base64,{encoded}">'
                f"download</a>).</p>")
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{STYLE}</style></head><body>\n{body}\n{download}\n</body></html>\n")


def markdown_page(source: Path) -> str:
    from markdown_it import MarkdownIt  # CommonMark plus pipe tables: what the reports' Markdown uses

    return page(source.stem, MarkdownIt("commonmark", {"html": False}).enable("table").render(source.read_text()),
                source)


def json_page(source: Path) -> str:
    pretty = json.dumps(json.loads(source.read_text()), indent=2, sort_keys=True, ensure_ascii=False)
    return page(source.name, f"<h1>{html.escape(source.name)}</h1>\n<pre>{html.escape(pretty)}</pre>", source)


def pinned(lock: Path) -> dict[str, str]:
    pins = {}
    for line in lock.read_text().splitlines():
        name, separator, version = line.split("#")[0].strip().partition("==")
        if separator:
            pins[canonical(name)] = version.strip()
    return pins


def canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def environment(lock: Path) -> dict:
    """The interpreter, the machine, torch's build and threads, and every installed distribution against the lock."""
    import torch

    installed = {canonical(dist.metadata["Name"]): dist.version for dist in metadata.distributions()}
    pins = pinned(lock)
    return {
        "python": sys.version.split()[0],
        "executable": sys.executable,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch": {"version": torch.__version__, "threads": torch.get_num_threads(),
                  "interop_threads": torch.get_num_interop_threads(), "cuda": torch.version.cuda,
                  "cuda_available": torch.cuda.is_available()},
        "lock": {"path": lock.name, "sha256": hashlib.sha256(lock.read_bytes()).hexdigest(),
                 "packages": len(pins),
                 "differences": {name: {"pinned": version, "installed": installed.get(name)}
                                 for name, version in sorted(pins.items())
                                 if (installed.get(name) or "").split("+")[0] != version}},  # 2.13.0+cpu is 2.13.0
        "installed": dict(sorted(installed.items())),
    }


def environment_page(facts: dict, source: Path) -> str:
    torch = facts["torch"]
    rows = [("Python", f"{facts['python']} ({facts['executable']})"), ("Platform", facts["platform"]),
            ("CPUs", facts["cpu_count"]),
            ("torch", f"{torch['version']}, {torch['threads']} intra-op / {torch['interop_threads']} inter-op threads, "
                      f"CUDA {torch['cuda'] or 'none'} (available: {torch['cuda_available']})"),
            ("Lock", f"{facts['lock']['path']}, {facts['lock']['packages']} pins, SHA-256 {facts['lock']['sha256']}")]
    differences = facts["lock"]["differences"]
    body = ["<h1>Software environment</h1>", "<table>"]
    body += [f"<tr><th>{html.escape(name)}</th><td>{html.escape(str(value))}</td></tr>" for name, value in rows]
    body += ["</table>", "<h2>Installed packages against the lock</h2>"]
    if differences:
        body += ["<table><tr><th>package</th><th>pinned</th><th>installed</th></tr>"]
        body += [f"<tr><td>{html.escape(name)}</td><td>{html.escape(versions['pinned'])}</td>"
                 f"<td>{html.escape(str(versions['installed']))}</td></tr>" for name, versions in differences.items()]
        body += ["</table>"]
    else:
        body += ["<p>Every pinned package is installed at its pinned version.</p>"]
    body += ["<h2>Installed distributions</h2>", "<table><tr><th>package</th><th>version</th></tr>"]
    body += [f"<tr><td>{html.escape(name)}</td><td>{html.escape(version)}</td></tr>"
             for name, version in facts["installed"].items()]
    body += ["</table>"]
    return page("Software environment", "\n".join(body), source)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    markdown = commands.add_parser("markdown")
    markdown.add_argument("files", nargs="+", type=Path)
    markdown.add_argument("--out-dir", type=Path, required=True)
    as_json = commands.add_parser("json")
    as_json.add_argument("file", type=Path)
    as_json.add_argument("--out", type=Path, required=True)
    env = commands.add_parser("environment")
    env.add_argument("--lock", type=Path, required=True)
    env.add_argument("--json", type=Path, required=True)
    env.add_argument("--html", type=Path, required=True)
    arguments = parser.parse_args()

    if arguments.command == "markdown":
        arguments.out_dir.mkdir(parents=True, exist_ok=True)
        for source in arguments.files:
            (arguments.out_dir / f"{source.stem}.html").write_text(markdown_page(source))
    elif arguments.command == "json":
        arguments.out.parent.mkdir(parents=True, exist_ok=True)
        arguments.out.write_text(json_page(arguments.file))
    else:
        facts = environment(arguments.lock)
        arguments.json.parent.mkdir(parents=True, exist_ok=True)
        arguments.json.write_text(json.dumps(facts, indent=2) + "\n")
        arguments.html.write_text(environment_page(facts, arguments.json))


if __name__ == "__main__":
    main()
