"""The `joinedup` command line: a thin typer shell over the service functions."""

import typer

app = typer.Typer(no_args_is_help=True, help="joinedup: federated Customer Centric Action on Need")
