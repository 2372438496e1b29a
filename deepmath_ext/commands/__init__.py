"""One module per `deepmath` subcommand."""
