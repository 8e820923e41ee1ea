"""`vigil demo`: the whole pipeline on generated data, with no server."""

from __future__ import annotations

import typer
from rich.table import Table

from monitor.cli.common import console
from monitor.config import get_settings
from monitor.logs import configure_logging

app = typer.Typer()


@app.command()
def demo(verbose: bool = typer.Option(False, help="Show the workers' log lines.")) -> None:
    """Run the whole pipeline on generated sample data: SQLite and an in-process Celery worker."""
    from workers.demo import run_demo

    if not verbose:
        configure_logging("WARNING", get_settings().log_json)
    result = run_demo(console)
    table = Table("country", "posts", "antisemitic", "share", title="Posts by country")
    for cc, posts, hostile in result.countries:
        table.add_row(cc, f"{posts:,}", f"{hostile:,}", f"{hostile / posts:.1%}" if posts else "-")
    console.print(table)
    st = result.status
    console.print(f"{st.posts:,} posts stored, {st.classified:,} classified, {st.errors} rejected rows recorded.")
    spikes = [a for a in result.alerts if a.kind == "spike"]
    for a in spikes:
        triggers = ", ".join(t["id"] for t in a.details.get("triggers", [])[:3]) or "-"
        categories = ", ".join(c["id"] for c in a.details.get("categories", [])[:3]) or "-"
        console.print(f"[bold]ALERT[/bold] {a.country}: antisemitic posts spiked from {a.started_on} "
                      f"(peak {a.observed:g} vs {a.expected:.1f} expected, severity {a.severity}, {a.status}); "
                      f"top triggers: {triggers}; categories: {categories}")
    if not spikes:
        console.print("No spike alert fired.")
    console.print(f"Weekly report {result.report_week}: {result.report_path}")
    console.print(f"Demo finished in {result.seconds:.1f} s. Data in {get_settings().data_dir}.")
