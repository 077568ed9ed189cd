"""BibTeX in and out. The only module that imports bibtexparser.

Writing: each study becomes one entry whose field values are LaTeX-escaped UTF-8, so
that a title holding ``&``, ``%``, ``{`` or ``\\`` neither breaks the file nor changes
meaning, and Zotero, JabRef and BibTeX itself read it back as the same text.
"""

import bisect
import re
from dataclasses import dataclass
from dataclasses import field as dataclass_field

import bibtexparser
from bibtexparser.model import (
    DuplicateBlockKeyBlock,
    DuplicateFieldKeyBlock,
    Entry,
    ParsingFailedBlock,
)

from .citations import Citation
from .latex import decode_latex

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
    """(name, value) of the entry's fields, in order; empty ones left out."""
    fields = [("title", citation.title)]
    if citation.authors:
        fields.append(("author", " and ".join(citation.authors)))
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
            fields.append((name, value))
    return fields


def citation_to_bibtex(citation):
    """One BibTeX entry, keyed by the study's slug, each value LaTeX-escaped and braced.

    Written as bibtexparser writes an entry (tab indent, no trailing comma), without
    building its Library and Entry objects, which cost most of a long download's time.
    """
    body = ",\n".join(
        f"\t{name} = {{{latex_escape(value)}}}" for name, value in citation_fields(citation)
    )
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
BINARY = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")


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

    def __str__(self):
        return f"“{self.key or '(no key)'}” (line {self.line})"


def entry_starts(text):
    """(line, type, key) of every entry in ``text``, found without the parser."""
    starts, line, counted_to = [], 1, 0
    for match in ENTRY_START.finditer(text):
        line += text.count("\n", counted_to, match.start())
        counted_to = match.start()
        entry_type = match.group(1).lower()
        if entry_type not in NOT_ENTRIES:
            starts.append((line, entry_type, match.group(2)))
    return starts


def _brace_balance(text):
    depth, lowest = 0, 0
    for match in re.finditer(r"(?<!\\)[{}]", text):
        depth += 1 if match.group(0) == "{" else -1
        lowest = min(lowest, depth)
    return depth, lowest


def _unenclose(value):
    """The text of a raw field value and whatever follows its enclosure at the top level.

    ``{A} year = {2019}`` gives ``("A", "year = {2019}")``: the trailing text is the
    sign of a missing comma.
    """
    value = value.strip()
    if value.startswith("{"):
        inner = value[1:-1]
        if value.endswith("}") and "{" not in inner and "}" not in inner:
            return inner, ""  # the common case, no braces inside: no need to count them
        depth = 0
        for match in re.finditer(r"(?<!\\)[{}]", value):
            depth += 1 if match.group(0) == "{" else -1
            if depth == 0:
                return value[1 : match.start()], value[match.end() :].strip()
        return value[1:], ""
    if value.startswith('"'):
        end = value.find('"', 1)
        while end != -1 and value[:end].count("{") != value[:end].count("}"):
            end = value.find('"', end + 1)
        if end != -1:
            return value[1:end], value[end + 1 :].strip()
        return value[1:], ""
    # A bare number or an unresolved string reference: a name = inside it is still damage.
    match = SWALLOWED_FIELD.search(value)
    if match:
        return value[: match.start()].strip(), value[match.start() :]
    return value, ""


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


def _read_entry(entry, parsed):
    for field in entry.fields:
        name = field.key.strip().lower()
        text, rest = _unenclose(field.value) if isinstance(field.value, str) else (field.value, "")
        swallowed = SWALLOWED_FIELD.search(rest) if rest else None
        if swallowed:
            parsed.errors.append(
                f"a missing comma after the “{name}” field (line {field.start_line + 1}): "
                f"its value swallowed “{swallowed.group(1)} = …”"
            )
            continue
        if rest:
            parsed.errors.append(
                f"unexpected text after the value of “{name}” (line {field.start_line + 1})"
            )
            continue
        text = str(text)
        if BINARY.search(text):
            parsed.errors.append(f"the “{name}” field holds binary data or control characters")
            continue
        if "{" in text or "}" in text:
            depth, lowest = _brace_balance(text)
            if depth or lowest < 0:
                parsed.errors.append(f"unbalanced braces in the “{name}” field")
                continue
        parsed.fields[name] = decode_latex(text)


def _source_of(block, lines, start_lines):
    """The text of a block from its first line to the line before the next entry.

    ``lines`` is the file's text split into lines and ``start_lines`` the sorted line
    numbers of its entries, both computed once: a file can hold many damaged blocks.
    """
    first = block.start_line + 1
    following = bisect.bisect_right(start_lines, first)
    end = start_lines[following] - 1 if following < len(start_lines) else None
    return "\n".join(lines[first - 1 : end])


def parse_entries(text):
    """Every entry of a BibTeX text as a ParsedEntry, in file order.

    The entries are those an independent scan of the text finds (any `@type{` at the start
    of a line except @comment, @string and @preamble), so that an entry the parser lost to
    the damage before it is still reported rather than silently dropped.
    """
    from bibtexparser.middlewares import ResolveStringReferencesMiddleware

    library = bibtexparser.parse_string(
        text, parse_stack=[ResolveStringReferencesMiddleware(allow_inplace_modification=True)]
    )
    starts = entry_starts(text)
    lines = start_lines = None
    found = []
    for block in library.blocks:
        if isinstance(block, Entry):
            parsed = ParsedEntry(block.key, block.start_line + 1, block.entry_type.lower())
            _read_entry(block, parsed)
        elif isinstance(block, DuplicateBlockKeyBlock) and isinstance(
            block.ignore_error_block, Entry
        ):
            # Read it like any entry; the key check below reports the repeated key.
            entry = block.ignore_error_block
            parsed = ParsedEntry(entry.key, entry.start_line + 1, entry.entry_type.lower())
            _read_entry(entry, parsed)
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

    read_lines = {parsed.line for parsed in found}
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
    entries = sorted(found, key=lambda parsed: parsed.line)
    first_lines = {}
    for parsed in entries:
        if not parsed.entry_type:
            parsed.errors.insert(0, "no entry type after “@”")
        if not parsed.key:
            parsed.errors.insert(0, "no citation key")
            continue
        first = first_lines.setdefault(parsed.key.lower(), parsed.line)
        if first != parsed.line:
            parsed.errors.insert(
                0, f"the key “{parsed.key}” is used already by the entry on line {first}"
            )
    return entries
