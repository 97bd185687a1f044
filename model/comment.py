"""A comment as it comes in, checked at the edge before anything is scored."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Mapping


class InvalidComment(ValueError):
    """A comment that cannot be scored; ``field`` names the culprit."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class Comment:
    content: str
    author: str = ""
    author_email: str = ""
    author_url: str = ""
    user_ip: str = ""
    user_agent: str = ""
    referrer: str = ""
    permalink: str = ""
    lang: str = ""
    # The value of a form field hidden from people; anything in it was typed by a bot.
    honeypot: str = ""

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> "Comment":
        """Build a comment from decoded JSON. Unknown keys are ignored; known ones must be strings of
        valid Unicode (``null`` counts as absent). Raises InvalidComment naming the first bad field."""
        if not isinstance(data, Mapping):
            raise InvalidComment("comment", "must be a JSON object")
        values = {}
        for f in FIELDS:
            value = data.get(f)
            if value is None:
                continue
            if not isinstance(value, str):
                raise InvalidComment(f, f"must be a string, not {_json_type(value)}")
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:  # JSON's "\ud800": a lone surrogate, not a character
                raise InvalidComment(f, "is not valid Unicode text (it holds a lone surrogate)") from None
            values[f] = value
        content = values.get("content", "")
        if not content.strip():
            raise InvalidComment("content", "is required and must not be empty")
        return cls(**values)


# The names of a comment's fields, in order (the service's size check and records read them too).
FIELDS = tuple(f.name for f in fields(Comment))


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
