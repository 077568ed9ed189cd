"""Reading a JSON file of records: each record with its line, or one report for the file.

A JSON file is read whole or not at all, so its damage (cut short, not JSON, the wrong
shape) is reported as one entry naming the file's problem and where it is, which goes
through the import's report like any damaged entry.
"""

import json
import re

from .bibtex import ParsedEntry

WHITESPACE = " \t\r\n"
# Half of a UTF-16 pair, which JSON may spell (“\ud800”) and no text can hold.
SURROGATE = re.compile("[\ud800-\udfff]")


class WrongShape(Exception):
    """A list or an object where a record's field holds text (text_of)."""


def file_error(message, line=1):
    return [ParsedEntry("(the whole file)", line, errors=[message])]


def _skip(text, index):
    while index < len(text) and text[index] in WHITESPACE:
        index += 1
    return index


def _array_items(text, index):
    """(line, item) of each item of the array that starts at ``index``, in order, and the
    index just past the array."""
    decoder = json.JSONDecoder()
    line, counted_to = 1, 0
    index = _skip(text, index + 1)
    if index < len(text) and text[index] == "]":
        return [], index + 1
    items = []
    while True:
        line += text.count("\n", counted_to, index)
        counted_to = index
        item, index = decoder.raw_decode(text, index)
        items.append((line, item))
        index = _skip(text, index)
        if index >= len(text):
            raise json.JSONDecodeError("Expecting ',' delimiter", text, index)
        if text[index] == "]":
            return items, index + 1
        if text[index] != ",":
            raise json.JSONDecodeError("Expecting ',' delimiter", text, index)
        index = _skip(text, index + 1)


def _object_items(text, start, key):
    """The object that starts at ``start``, decoded once, with the (line, item) of each
    item of its array under ``key`` (None when that member is not an array), and the index
    just past the object. As json.loads does, the last of repeated keys counts."""
    decoder = json.JSONDecoder()
    data, items = {}, None
    index = _skip(text, start + 1)
    if text.startswith("}", index):
        return data, items, index + 1
    while True:
        if not text.startswith('"', index):
            raise json.JSONDecodeError(
                "Expecting property name enclosed in double quotes", text, index
            )
        name, index = decoder.raw_decode(text, index)
        index = _skip(text, index)
        if not text.startswith(":", index):
            raise json.JSONDecodeError("Expecting ':' delimiter", text, index)
        index = _skip(text, index + 1)
        if name == key and text.startswith("[", index):
            items, index = _array_items(text, index)
            data[name] = [item for _, item in items]
        else:
            data[name], index = decoder.raw_decode(text, index)
            if name == key:
                items = None
        index = _skip(text, index)
        if text.startswith("}", index):
            return data, items, index + 1
        if not text.startswith(",", index):
            raise json.JSONDecodeError("Expecting ',' delimiter", text, index)
        comma, index = index, _skip(text, index + 1)
        if text.startswith("}", index):
            raise json.JSONDecodeError("Illegal trailing comma before end of object", text, comma)


def count_records(text, list_key="studies"):
    """How many records load_records would give (1 for a text that is not JSON: the parser
    reports it).

    The text is decoded keeping no record's fields (of each object, only a ``list_key``
    member), which takes half the time of a full decode: the count runs in the request that
    uploads the file, and the worker decodes the file again to read it."""

    def only_the_list(pairs):
        return {key: value for key, value in pairs if key == list_key} or None

    try:
        data = json.loads(text.lstrip("\ufeff"), object_pairs_hook=only_the_list)
    except (ValueError, RecursionError):
        return 1
    if isinstance(data, dict) and isinstance(data.get(list_key), list):
        data = data[list_key]
    return len(data) if isinstance(data, list) else 1


def load_records(text, list_key=None):
    """``[(line, record)]`` of a JSON text holding an array of records (or, with
    ``list_key``, an object holding one under that key, or a single record object).

    Raises ValueError with a message for the curator when the text is not JSON.
    """
    text = text.lstrip("\ufeff")
    start = _skip(text, 0)
    try:
        if text.startswith("[", start):
            items, end = _array_items(text, start)
        elif list_key and text.startswith("{", start):
            data, items, end = _object_items(text, start, list_key)
            items = [(1, data)] if items is None else items
        else:
            return [(1, json.loads(text))]
        if _skip(text, end) < len(text):
            raise json.JSONDecodeError("Extra data", text, _skip(text, end))
        return items
    except json.JSONDecodeError as error:
        cut = " (the file may be cut short)" if error.pos >= len(text.rstrip()) else ""
        raise ValueError(
            f"not valid JSON: {error.msg.removesuffix(' at')} at line {error.lineno}, "
            f"column {error.colno}{cut}",
            error.lineno,
        ) from error
    except RecursionError as error:  # Python's decoder recurses once per level
        raise ValueError(
            "not a JSON file the catalog reads: its arrays or objects are nested thousands "
            "of levels deep (no bibliographic record is)"
        ) from error


# What the JSON formats look like, for a file of none of them.
JSON_SHAPES = (
    "a CSL JSON file is a list of items, each with a “type” and a “title”; a "
    "ClinicalTrials.gov file is a study with a “protocolSection”, or a “studies” list of "
    "them; the catalog's JSON export is a list of studies"
)


def describe(value):
    """What a JSON value is, in a few words: for the wrong-shape messages."""
    if isinstance(value, dict):
        keys = ", ".join(f"“{key}”" for key in list(value)[:5])
        return f"an object with the keys {keys}" if keys else "an empty object"
    if isinstance(value, list):
        return "a list"
    return f"the {type(value).__name__} {json.dumps(value)[:40]}"


def list_of(value):
    """A field's value that holds a list (authors, conditions); [] for none. Anything else
    raises WrongShape: a name or a condition given as text alone would be dropped."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise WrongShape(f"{describe(value)} where a list belongs")
    return value


def text_of(value):
    """A field's value as the text a ParsedEntry holds; numbers as written. A list or an
    object raises WrongShape: its Python spelling (“['a', 'b']”) is no field's text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | dict):
        raise WrongShape(
            f"{describe(value)} where text belongs: {json.dumps(value, ensure_ascii=False)[:60]}"
        )
    text = str(value)
    if not text.isascii() and (half := SURROGATE.search(text)):
        raise WrongShape(
            f"text holding “\\u{ord(half.group()):04x}”, half of a character (an unpaired "
            f"surrogate), which no text can hold: {json.dumps(text)[:60]}"
        )
    return text
