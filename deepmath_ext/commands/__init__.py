"""One module per `deepmath` subcommand."""


def comma_separated(text: str) -> list[str]:
    """The non-empty, stripped items of a comma-separated option value ("a, b,,c" -> [a, b, c])."""
    return [item.strip() for item in text.split(",") if item.strip()]
