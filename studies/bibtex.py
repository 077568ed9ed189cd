"""BibTeX in and out. The only module that imports bibtexparser.

Writing: each study becomes one entry whose field values are LaTeX-escaped UTF-8, so
that a title holding ``&``, ``%``, ``{`` or ``\\`` neither breaks the file nor changes
meaning, and Zotero, JabRef and BibTeX itself read it back as the same text.
"""

import bisect
import calendar
import re
from dataclasses import dataclass
from dataclasses import field as dataclass_field

import bibtexparser
from bibtexparser.model import (
    DuplicateBlockKeyBlock,
    DuplicateFieldKeyBlock,
    Entry,
    ParsingFailedBlock,
    String,
)

from .citations import Citation
from .latex import MARKUP_CHARACTERS, decode_latex

# LaTeX's special characters and how to write each as text.
LATEX_ESCAPES = {
    "\\": r"\textbackslash{}",
    # BibTeX counts every brace, escaped or not, so braces are written as commands.
    "{": r"\textbraceleft{}",
    "}": r"\textbraceright{}",
    "%": r"\%",
    "&": r"\&",
    "#": r"\#",
    "_": r"\_",
    "$": r"\$",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
LATEX_SPECIALS = re.compile("|".join(re.escape(c) for c in LATEX_ESCAPES))
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Character pairs LaTeX reads as one typographic character (`--` is an en dash, `` `` ``
# an opening quote); an empty group between the two keeps them as typed.
LIGATURES = re.compile(r"(?<=-)(?=-)|(?<=`)(?=`)|(?<=')(?=')|(?<=[?!])(?=`)")
# Most values hold nothing the three above change: one scan for a character and one for
# each pair find those, and spare them three substitutions.
SPECIAL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\\{}%&#_$~^]")


def latex_escape(text):
    text = str(text)
    if not (
        SPECIAL_CHARACTERS.search(text)
        or "--" in text
        or "``" in text
        or "''" in text
        or "?`" in text
        or "!`" in text
    ):
        return " ".join(text.split())
    text = CONTROL_CHARACTERS.sub("", text)
    text = " ".join(text.split())
    text = LATEX_SPECIALS.sub(lambda m: LATEX_ESCAPES[m.group(0)], text)
    return LIGATURES.sub("{}", text)


def entry_type(citation):
    if citation.journal and citation.design not in ("registered_trial",):
        return "article"
    return "misc"


def citation_fields(citation):
    """(name, value as BibTeX text) of the entry's fields, in order; empty ones left out."""
    fields = [("title", latex_escape(citation.title))]
    if citation.authors:
        fields.append(("author", " and ".join(author_name(name) for name in citation.authors)))
    for name, value in (
        ("journal", citation.journal),
        ("year", citation.year),
        ("volume", citation.volume),
        ("number", citation.issue),
        ("pages", citation.pages),
        ("doi", citation.doi),
        ("pmid", citation.pmid),
        ("pmcid", citation.pmcid),
        ("url", citation.url),
        ("note", f"Trial registration: {citation.registry_id}" if citation.registry_id else ""),
        ("keywords", ", ".join(citation.keywords)),
    ):
        if value:
            fields.append((name, page_range(value) if name == "pages" else latex_escape(value)))
    return fields


def author_name(name):
    """One name of an author list; a corporate or multi-word name (no "Last, First"), or one
    holding " and ", is protected with braces so that BibTeX reads it back as one name."""
    escaped = latex_escape(name)
    if NAME_SEPARATOR.search(name) or ("," not in name and len(name.split()) > 1):
        return "{" + escaped + "}"
    return escaped


def page_range(pages):
    """Pages with ranges as BibTeX writes them, ``--`` (an en dash on reading)."""
    return latex_escape(pages.replace("\u2013", "--")).replace("-{}-", "--")


def citation_to_bibtex(citation):
    """One BibTeX entry, keyed by the study's slug, each value braced.

    Written as bibtexparser writes an entry (tab indent, no trailing comma), without
    building its Library and Entry objects, which cost most of a long download's time.
    """
    body = ",\n".join(f"\t{name} = {{{value}}}" for name, value in citation_fields(citation))
    return f"@{entry_type(citation)}{{{citation.key},\n{body}\n}}\n"


def study_to_bibtex(study):
    return citation_to_bibtex(Citation.from_study(study))


# Reading ---------------------------------------------------------------------------------
#
# The parser reports damage instead of guessing: each `@entry` of a file becomes one
# ParsedEntry, either with decoded field values or with the reasons it cannot be trusted.

# An entry starts at the beginning of a line; @comment, @string and @preamble are not entries.
ENTRY_START = re.compile(r"^[ \t]*@[ \t]*([A-Za-z]\w*)[ \t]*[{(][ \t]*([^,\s{}()]*)", re.MULTILINE)
NOT_ENTRIES = {"comment", "string", "preamble"}
# A field name followed by `=`: inside a value, the sign of a missing comma.
SWALLOWED_FIELD = re.compile(r"(?<![\w\\])([A-Za-z][\w-]*)\s*=")
BINARY_CHARACTERS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd"
BINARY = re.compile(f"[{BINARY_CHARACTERS}]")
# A value holding none of these (most do not) is plain text: nothing to check in it and
# nothing to decode but its spacing. One scan instead of one for each.
NOT_PLAIN = re.compile(f"[{BINARY_CHARACTERS}{MARKUP_CHARACTERS}]")


@dataclass
class ParsedEntry:
    """One `@entry` of a BibTeX file: its decoded fields, or what is wrong with it."""

    key: str
    line: int
    entry_type: str = ""
    fields: dict = dataclass_field(default_factory=dict)
    errors: list = dataclass_field(default_factory=list)

    @property
    def ok(self):
        return not self.errors

    def add_fields(self, fields):
        """Keep each field a reader gives (text, or a list: the authors' names, the keywords
        of a format that gives one a line), or say why it cannot be trusted."""
        for name, value in fields.items():
            if any(BINARY.search(text) for text in (value if isinstance(value, list) else [value])):
                self.errors.append(f"the “{name}” field holds binary data or control characters")
            else:
                self.fields[name] = value

    def __str__(self):
        return f"“{self.key or '(no key)'}” (line {self.line})"


def block_starts(text):
    """(offset, line, type, key) of every block of ``text`` (an `@type{` at the start of a
    line, @comment, @string and @preamble included), found without the parser."""
    starts, line, counted_to = [], 1, 0
    for match in ENTRY_START.finditer(text):
        line += text.count("\n", counted_to, match.start())
        counted_to = match.start()
        starts.append((match.start(), line, match.group(1).lower(), match.group(2)))
    return starts


def entry_starts(text, blocks=None):
    """(line, type, key) of every entry in ``text`` (of ``blocks``, its block_starts, if
    given), found without the parser."""
    blocks = block_starts(text) if blocks is None else blocks
    return [(line, kind, key) for _, line, kind, key in blocks if kind not in NOT_ENTRIES]


def count_entries(text):
    """How many entries ``text`` holds (as entry_starts finds them), without keeping them."""
    return sum(1 for match in ENTRY_START.finditer(text) if match[1].lower() not in NOT_ENTRIES)


def _brace_balance(text):
    depth, lowest = 0, 0
    for match in re.finditer(r"(?<!\\)[{}]", text):
        depth += 1 if match.group(0) == "{" else -1
        lowest = min(lowest, depth)
    return depth, lowest


# A bare word of a field value: a number or the name of an @string.
BARE_WORD = re.compile(r'[^\s#{}",=()]+')
# BibTeX's styles define the months; a file may use them without an @string.
MONTHS = {name.lower()[:3]: name for name in calendar.month_name[1:]}


def _closing_brace(value, start):
    """The index of the brace closing the one at ``start``, or -1."""
    depth = 0
    for match in re.finditer(r"(?<!\\)[{}]", value[start:]):
        depth += 1 if match.group(0) == "{" else -1
        if depth == 0:
            return start + match.start()
    return -1


def _closing_quote(value, start):
    end = value.find('"', start + 1)
    while end != -1 and value[start:end].count("{") != value[start:end].count("}"):
        end = value.find('"', end + 1)
    return end


def _pieces(value):
    """The pieces of a raw field value joined with ``#``, and whatever follows them.

    ``{Part one } # j`` gives ``([("text", "Part one "), ("name", "j")], "")``;
    ``{A} year = {2019}`` gives ``([("text", "A")], "year = {2019}")``: the trailing text is
    the sign of a missing comma.
    """
    pieces, position, length = [], 0, len(value)
    while True:
        while position < length and value[position].isspace():
            position += 1
        if position >= length:
            break
        first = value[position]
        if first in '{"':
            end = (_closing_brace if first == "{" else _closing_quote)(value, position)
            if end == -1:  # never closed: the rest is the value
                pieces.append(("text", value[position + 1 :]))
                position = length
                break
            pieces.append(("text", value[position + 1 : end]))
            position = end + 1
        else:
            match = BARE_WORD.match(value, position)
            if not match:
                break
            pieces.append(("name", match.group(0)))
            position = match.end()
        while position < length and value[position].isspace():
            position += 1
        if position < length and value[position] == "#":
            position += 1
            continue
        break
    return pieces, value[position:].strip()


def _resolve(value, strings):
    """(text, rest, error) of a raw field value: ``#`` joined, @string names replaced.

    ``strings`` maps the case-folded names of the file's @strings so far to their text, or
    to None when the @string itself could not be resolved.
    """
    value = value.strip()
    # The common cases, one piece without inner braces or quotes: no scan needed.
    if value[:1] == "{" and value[-1:] == "}":
        inner = value[1:-1]
        if "{" not in inner and "}" not in inner:
            return inner, "", ""
    elif value.isdigit():
        return value, "", ""
    pieces, rest = _pieces(value)
    texts = []
    for kind, piece in pieces:
        if kind == "text" or piece.isdigit():
            texts.append(piece)
            continue
        name = piece.casefold()
        if name in strings:
            if strings[name] is None:
                return "", rest, f"the @string “{piece}” it uses could not be read"
            texts.append(strings[name])
        elif name in MONTHS:
            texts.append(MONTHS[name])
        else:
            return "", rest, f"it uses “{piece[:40]}”, which no @string before it defines"
    return "".join(texts), rest, ""


def _failure_reason(block, source):
    """Why the parser gave up on a block; ``source`` is the block's text up to the next entry."""
    depth, lowest = _brace_balance(source)
    if depth or lowest < 0:
        opened = len(re.findall(r"(?<!\\)\{", source))
        closed = len(re.findall(r"(?<!\\)\}", source))
        return f"unbalanced braces: {opened} “{{” but {closed} “}}”"
    reason = getattr(block.error, "abort_reason", "") or str(block.error)
    if "after a closed entry field value" in reason:
        return "a missing comma between two fields"
    if "Expected comma after entry key" in reason:
        return "no comma after the citation key"
    return f"not valid BibTeX: {reason.strip()}"


# " and " between two names of a name list, outside braces (BibTeX's rule).
NAME_SEPARATOR = re.compile(r"\s+and\s+", re.IGNORECASE)


def split_names(text):
    """The names of a BibTeX name list; ``{Smith and Sons}`` in braces stays one name."""
    if "{" not in text:
        return [name for name in NAME_SEPARATOR.split(text.strip()) if name]
    names, depth, start = [], 0, 0
    for match in re.finditer(r"(?<!\\)[{}]|\s+and\s+", text, re.IGNORECASE):
        token = match.group(0)
        if token == "{":
            depth += 1
        elif token == "}":
            depth -= 1
        elif depth == 0:
            names.append(text[start : match.start()])
            start = match.end()
    names.append(text[start:])
    return [name.strip() for name in names if name.strip()]


def _read_entry(entry, parsed, strings):
    for field in entry.fields:
        name = field.key.strip().lower()
        raw = field.value if isinstance(field.value, str) else str(field.value)
        if raw[:1] == "{" and raw[-1:] == "}" and not NOT_PLAIN.search(raw, 1, len(raw) - 1):
            # `{plain text}` (most values): what _resolve and decode_latex would give, and
            # nothing to check.
            text, rest, unresolved = raw[1:-1], "", ""
        else:
            text, rest, unresolved = _resolve(raw, strings)
            if rest or unresolved or NOT_PLAIN.search(text):
                _read_value(parsed, field, name, text, rest, unresolved)
                continue
        if name == "author":
            parsed.fields[name] = [" ".join(author.split()) for author in split_names(text)]
        else:
            parsed.fields[name] = " ".join(text.split())


def _read_value(parsed, field, name, text, rest, unresolved):
    """Check and decode a value that is not plain text."""
    swallowed = SWALLOWED_FIELD.search(rest) if rest else None
    if swallowed:
        parsed.errors.append(
            f"a missing comma after the “{name}” field (line {field.start_line + 1}): "
            f"its value swallowed “{swallowed.group(1)} = …”"
        )
        return
    if rest:
        parsed.errors.append(
            f"unexpected text after the value of “{name}” (line {field.start_line + 1})"
        )
        return
    if unresolved:
        parsed.errors.append(f"the “{name}” field cannot be read: {unresolved}")
        return
    if BINARY.search(text):
        parsed.errors.append(f"the “{name}” field holds binary data or control characters")
        return
    if "{" in text or "}" in text:
        depth, lowest = _brace_balance(text)
        if depth or lowest < 0:
            parsed.errors.append(f"unbalanced braces in the “{name}” field")
            return
    if name == "author":
        parsed.fields[name] = [decode_latex(author) for author in split_names(text)]
    else:
        parsed.fields[name] = decode_latex(text)


def _define_string(block, strings):
    """Record an @string; a chain (``@string{b = a # "x"}``) uses those defined before it."""
    text, rest, unresolved = _resolve(str(block.value), strings)
    strings[block.key.strip().casefold()] = None if rest or unresolved else text


def _source_of(block, lines, start_lines):
    """The text of a block from its first line to the line before the next entry.

    ``lines`` is the chunk's text split into lines and ``start_lines`` the sorted line
    numbers of its entries, both computed once: a file can hold many damaged blocks.
    """
    first = block.start_line + 1
    following = bisect.bisect_right(start_lines, first)
    end = start_lines[following] - 1 if following < len(start_lines) else None
    return "\n".join(lines[first - 1 : end])


# How many blocks (`@...` at the start of a line) the parser reads at a time: the parser
# keeps every block of its input, so a large file is read in chunks of this many.
CHUNK_BLOCKS = 500


def _chunks(text, blocks):
    """(text, number of its first line, its entries' (line, type, key) counted from it) of
    consecutive chunks of ``text`` (whose block_starts are ``blocks``), split before a block."""
    for first in range(0, max(len(blocks), 1), CHUNK_BLOCKS):
        following = first + CHUNK_BLOCKS
        start, line = (blocks[first][0], blocks[first][1]) if first else (0, 1)
        end = blocks[following][0] if following < len(blocks) else len(text)
        starts = entry_starts(text, blocks[first:following])
        yield text[start:end], line, [(n - line + 1, kind, key) for n, kind, key in starts]


def _parse_chunk(text, strings, starts):
    """The ParsedEntries of one chunk (whose entry_starts are ``starts``), lines counted
    from 1, in chunk order."""
    library = bibtexparser.parse_string(text, parse_stack=[])
    lines = start_lines = None
    found = []
    for block in library.blocks:
        if isinstance(block, String):
            _define_string(block, strings)
            continue
        if isinstance(block, Entry):
            parsed = ParsedEntry(block.key, block.start_line + 1, block.entry_type.lower())
            _read_entry(block, parsed, strings)
        elif isinstance(block, DuplicateBlockKeyBlock) and isinstance(
            block.ignore_error_block, Entry
        ):
            # Read it like any entry; the key check reports the repeated key.
            entry = block.ignore_error_block
            parsed = ParsedEntry(entry.key, entry.start_line + 1, entry.entry_type.lower())
            _read_entry(entry, parsed, strings)
        elif isinstance(block, DuplicateFieldKeyBlock):
            entry = block.ignore_error_block
            parsed = ParsedEntry(entry.key, entry.start_line + 1, entry.entry_type.lower())
            names = ", ".join(f"“{name}”" for name in sorted(block.duplicate_keys))
            parsed.errors.append(f"a field given twice: {names}")
        elif isinstance(block, ParsingFailedBlock):
            match = ENTRY_START.match((block.raw or "").lstrip("\n"))
            if match and match.group(1).lower() in NOT_ENTRIES:
                continue
            parsed = ParsedEntry(match.group(2) if match else "", block.start_line + 1)
            parsed.entry_type = match.group(1).lower() if match else ""
            if lines is None:
                lines, start_lines = text.splitlines(), [line for line, _, _ in starts]
            parsed.errors.append(_failure_reason(block, _source_of(block, lines, start_lines)))
        else:
            continue
        found.append(parsed)

    read_lines, read = {parsed.line for parsed in found}, len(found)
    for line, entry_type, key in starts:
        if line not in read_lines:
            found.append(
                ParsedEntry(
                    key,
                    line,
                    entry_type,
                    errors=["not read: the damage in the entry before it swallowed this entry"],
                )
            )
    if len(found) > read:  # (the parser's blocks are in file order)
        found.sort(key=lambda parsed: parsed.line)
    return found


def iter_entries(text, blocks=None):
    """Every entry of a BibTeX text as a ParsedEntry, in file order, read chunk by chunk.

    The entries are those an independent scan of the text finds (any `@type{` at the start
    of a line except @comment, @string and @preamble), so that an entry the parser lost to
    the damage before it is still reported rather than silently dropped. Only one chunk's
    parse is in memory at a time; @strings carry over from chunk to chunk. ``blocks`` is
    the text's block_starts, if the caller has them.
    """
    strings, first_lines = {}, {}
    blocks = block_starts(text) if blocks is None else blocks
    for chunk, first_line, starts in _chunks(text, blocks):
        for parsed in _parse_chunk(chunk, strings, starts):
            parsed.line += first_line - 1
            if not parsed.entry_type:
                parsed.errors.insert(0, "no entry type after “@”")
            if not parsed.key:
                parsed.errors.insert(0, "no citation key")
            else:
                first = first_lines.setdefault(parsed.key.lower(), parsed.line)
                if first != parsed.line:
                    parsed.errors.insert(
                        0, f"the key “{parsed.key}” is used already by the entry on line {first}"
                    )
            yield parsed


def parse_entries(text):
    """Every entry of a BibTeX text as a ParsedEntry, in file order (a list)."""
    return list(iter_entries(text))
