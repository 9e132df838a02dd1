from executions.browse.query import EXECUTION_ID_PATTERN


class ExecutionIdConverter:
    """Only UUID-shaped ids reach a view; anything else is a 404 from the URL resolver, with no upstream call."""

    regex = EXECUTION_ID_PATTERN

    def to_python(self, value: str) -> str:
        return value.lower()

    def to_url(self, value: str) -> str:
        return str(value)
