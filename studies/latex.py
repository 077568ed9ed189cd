"""LaTeX in BibTeX field values, decoded to Unicode text: ``M{\\"u}ller`` is ``Müller``.

pylatexenc decodes any LaTeX but takes about a millisecond a value, which makes a large
file take minutes. Most values hold no LaTeX, or only accents, escaped characters and
protective braces: those are decoded here, and only what is left goes to pylatexenc.
"""

import re
import unicodedata

# Values with a command or math need the (slow) LaTeX decoder; the typographic pairs and
# protective braces that most values hold at most are replaced here, as it would.
NEEDS_DECODER = re.compile(r"[\\$]")
TYPOGRAPHY = re.compile(r"---|--|``|''|~|[{}]")
TYPOGRAPHY_TEXT = {"---": "\u2014", "--": "\u2013", "``": "\u201c", "''": "\u201d", "~": " "}
# Every character the two above look for: a value without any (most values) is plain
# text, which one scan for these tells, instead of one for each.
MARKUP_CHARACTERS = r"\\${}~`'-"
MARKUP = re.compile(f"[{MARKUP_CHARACTERS}]")
# Characters LaTeX would treat as markup but BibTeX files use as plain text.
UNESCAPED_TEXT_SPECIALS = re.compile(r"(?<!\\)([%&#_])")


def _latex_decoder():
    # Imported on first use: some 50 ms that a process reading no BibTeX never spends.
    from pylatexenc.latex2text import (
        LatexNodes2Text,
        MacroTextSpec,
        get_default_latex_context_db,
    )

    context = get_default_latex_context_db()
    # What latex_escape writes, read back as the characters it stands for.
    context.add_context_category(
        "ldn-catalog",
        prepend=True,
        macros=[
            MacroTextSpec("textbraceleft", "{"),
            MacroTextSpec("textbraceright", "}"),
            MacroTextSpec("textasciicircum", "^"),
            MacroTextSpec("textasciitilde", "~"),
            MacroTextSpec("url", "%s"),
        ],
    )
    return LatexNodes2Text(latex_context=context, math_mode="verbatim")


_decoder = None


# The LaTeX that bibliographies hold in practice, decoded without pylatexenc: accents,
# escaped specials, named letters and what latex_escape writes. Anything else left over
# (another command, math) sends the value to pylatexenc.
ACCENTS = {
    '"': "\u0308",
    "'": "\u0301",
    "`": "\u0300",
    "^": "\u0302",
    "~": "\u0303",
    "=": "\u0304",
    ".": "\u0307",
    "u": "\u0306",
    "v": "\u030c",
    "H": "\u030b",
    "c": "\u0327",
    "k": "\u0328",
    "r": "\u030a",
}
ACCENTED = re.compile(
    r"""\\(?:([\"'`^~=.])\s*|([uvHckr])(?:\s+|(?=\{)))"""
    r"(?:\{\s*(\\[ij]|[A-Za-z])\s*\}|(\\[ij](?![A-Za-z])|[A-Za-z]))"
)
NAMED = {
    "textbackslash": "\ue000",
    "textbraceleft": "\ue001",
    "textbraceright": "\ue002",
    "textasciitilde": "\ue004",
    "textasciicircum": "^",
    "ss": "ß",
    "o": "ø",
    "O": "Ø",
    "aa": "å",
    "AA": "Å",
    "ae": "æ",
    "AE": "Æ",
    "oe": "œ",
    "OE": "Œ",
    "l": "ł",
    "L": "Ł",
    "i": "ı",
    "j": "ȷ",
}
NAMED_COMMAND = re.compile(r"\\([A-Za-z]+)(?![A-Za-z])(?:\{\}|\s*)")
ESCAPED = {"&": "&", "%": "%", "#": "#", "_": "_", "$": "\ue003", "{": "\ue001", "}": "\ue002"}
ESCAPED_CHARACTER = re.compile(r"\\([&%#_${}])")
# Characters that stand for themselves once decoded, kept out of the brace and tie clean-up.
PLACEHOLDERS = str.maketrans(
    {"\ue000": "\\", "\ue001": "{", "\ue002": "}", "\ue003": "$", "\ue004": "~"}
)
# The placeholders themselves, in a value: private-use characters that text copied from a
# PDF may hold, which the common path would turn into the characters they stand for.
PLACEHOLDER_CHARACTERS = re.compile("[\ue000-\ue004]")


def _accented(match):
    accent = ACCENTS[match.group(1) or match.group(2)]
    letter = match.group(3) or match.group(4)
    letter = {"\\i": "ı", "\\j": "ȷ"}.get(letter, letter)
    if letter in "ıȷ" and accent != "\u0327":
        letter = "i" if letter == "ı" else "j"
    return unicodedata.normalize("NFC", letter + accent)


def _named(match):
    return NAMED.get(match.group(1), match.group(0))


def _decode_common_latex(value):
    """``value`` decoded, or None when it holds LaTeX this function does not know (or the
    characters it uses as placeholders)."""
    if PLACEHOLDER_CHARACTERS.search(value):
        return None
    value = ESCAPED_CHARACTER.sub(lambda m: ESCAPED[m.group(1)], value)
    value = ACCENTED.sub(_accented, value)
    value = NAMED_COMMAND.sub(_named, value)
    if "\\" in value or "$" in value:
        return None
    value = TYPOGRAPHY.sub(lambda m: TYPOGRAPHY_TEXT.get(m.group(0), ""), value)
    return value.translate(PLACEHOLDERS)


def decode_latex(value):
    """A BibTeX field value as plain Unicode text: ``M{\\"u}ller`` becomes ``Müller``.

    pylatexenc decodes any LaTeX but takes about a millisecond a value; the common cases
    are decoded here first, which keeps a 10,000-entry file to seconds.
    """
    global _decoder
    if not MARKUP.search(value):  # plain text: only its spacing to normalise
        return " ".join(value.split())
    if NEEDS_DECODER.search(value):
        decoded = _decode_common_latex(value)
        if decoded is None:
            if _decoder is None:
                _decoder = _latex_decoder()
            # `%` would start a LaTeX comment and `&` an alignment: in a .bib file, text.
            decoded = _decoder.latex_to_text(UNESCAPED_TEXT_SPECIALS.sub(r"\\\1", value))
        value = decoded.replace("\xa0", " ")
    elif TYPOGRAPHY.search(value):
        value = TYPOGRAPHY.sub(lambda m: TYPOGRAPHY_TEXT.get(m.group(0), ""), value)
    return " ".join(value.split())
