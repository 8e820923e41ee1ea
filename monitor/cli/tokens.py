"""`vigil tokens`: create, list and revoke API tokens; a secret is printed once and never stored."""

from __future__ import annotations

import typer
from rich.table import Table

from monitor.cli.common import console, sessions

app = typer.Typer(help="API tokens.", no_args_is_help=True)


@app.command()
def create(name: str = typer.Argument(..., help="Who or what uses it (shown in audits and labels)."),
           role: str = typer.Option("viewer", help="viewer, analyst or admin."),
           country: str | None = typer.Option(None, help="Limit it to one country (ISO code).")) -> None:
    """Create a token and print its secret, this once."""
    from monitor.tokens import TokenError, create_token

    with sessions().begin() as session:
        try:
            token, secret = create_token(session, name, role, country)
        except TokenError as exc:
            raise typer.BadParameter(str(exc)) from None
        token_id = token.id
    console.print(f"Token {token_id} ({role}{', ' + country.upper() if country else ''}) created. "
                  "Its secret, shown only now:")
    typer.echo(secret)


@app.command("list")
def list_() -> None:
    """List tokens (never their secrets)."""
    from monitor.tokens import list_tokens

    table = Table("id", "name", "role", "country", "created", "last used", "revoked")
    with sessions()() as session:
        for t in list_tokens(session):
            table.add_row(str(t.id), t.name, t.role, t.country or "all", f"{t.created_at:%Y-%m-%d %H:%M}",
                          f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "-",
                          f"{t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "-")
    console.print(table)


@app.command()
def revoke(token_id: int = typer.Argument(..., help="Token id (from `vigil tokens list`).")) -> None:
    """Revoke a token: it stops working at once."""
    from monitor.tokens import TokenError, revoke_token

    with sessions().begin() as session:
        try:
            revoke_token(session, token_id)
        except TokenError as exc:
            raise typer.BadParameter(str(exc)) from None
    console.print(f"Token {token_id} revoked.")
