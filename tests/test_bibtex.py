import bibtexparser
from bibtexparser.library import Library
from bibtexparser.model import Entry, Field
from hypothesis import given
from hypothesis import strategies as st

from studies.bibtex import (
    author_name,
    block_starts,
    entry_starts,
    latex_escape,
    page_range,
    parse_entries,
)


def test_latex_escape_keeps_ligature_pairs_as_typed():
    assert latex_escape("10--20 ``quoted''") == "10-{}-20 `{}`quoted'{}'"


def _write_title(title):
    entry = Entry("article", "k", [Field("title", latex_escape(title))])
    return bibtexparser.write_string(Library([entry]))


# U+FFFD is left out: it marks text that failed to decode, which the importer refuses as
# binary on purpose (bibtex.BINARY).
@given(
    st.text(
        alphabet=st.characters(
            codec="utf-8", exclude_categories=["Cs", "Cc"], exclude_characters="\ufffd"
        )
    )
)
def test_escaped_text_parses_back_to_the_same_text(title):
    [parsed] = parse_entries(_write_title(title))
    expected = " ".join(title.split())
    if expected:
        assert parsed.errors == []
        assert parsed.fields["title"] == expected


@given(st.text(alphabet=st.sampled_from(list("-`'?!{}\\~^%&#_$@ ,=\"ab")), min_size=1))
def test_escaped_latex_specials_parse_back(title):
    [parsed] = parse_entries(_write_title(title))
    if title.strip():
        assert parsed.fields["title"] == " ".join(title.split())


def test_entry_starts_ignore_comments_strings_and_preambles():
    text = (
        "@comment{x}\n@string{j = {J}}\n@preamble{{p}}\n"
        "@article{a, title={A}}\n  @Book (b, title={B})\nnot @misc{c,}\n"
    )
    assert entry_starts(text) == [(4, "article", "a"), (5, "book", "b")]


def test_block_starts_give_every_block_with_its_offset_and_line():
    text = "% a comment\n@string{j = {J}}\n\n@article{a, title={A}}\n  @Book (b, title={B})\n"
    blocks = block_starts(text)
    assert blocks == [
        (12, 2, "string", "j"),
        (30, 4, "article", "a"),
        (53, 5, "book", "b"),
    ]
    assert [text[offset:].lstrip()[:2] for offset, _, _, _ in blocks] == ["@s", "@a", "@B"]
    expected = [(4, "article", "a"), (5, "book", "b")]
    assert entry_starts(text, blocks) == entry_starts(text) == expected


def test_parse_entries_reads_fields_and_resolves_strings():
    text = (
        "@string{pm = {Pain Medicine}}\n"
        "@article{Younger2009,\n  title = {A {P}ilot},\n  journal = pm,\n  year = 2009\n}\n"
    )
    [entry] = parse_entries(text)
    assert (entry.key, entry.line, entry.entry_type) == ("Younger2009", 2, "article")
    assert entry.fields == {"title": "A Pilot", "journal": "Pain Medicine", "year": "2009"}
    assert entry.ok


def test_missing_comma_is_reported_not_swallowed():
    text = "@article{a,\n  title = {A} year = {2019},\n  author = {X}\n}\n"
    [entry] = parse_entries(text)
    assert entry.errors == [
        "a missing comma after the “title” field (line 2): its value swallowed “year = …”"
    ]


def test_unbalanced_braces_do_not_take_the_next_entry_with_them():
    text = "@article{a,\n  title = {A {B},\n  year = {2019}\n}\n@article{b,\n  title = {B}\n}\n"
    a, b = parse_entries(text)
    assert a.key == "a" and a.line == 1
    assert a.errors == ["unbalanced braces: 4 “{” but 3 “}”"]
    assert b.ok and b.fields["title"] == "B"


def test_duplicate_keys_and_fields():
    text = (
        "@article{a, title = {First}}\n"
        "@article{a, title = {Second}}\n"
        "@article{b, title = {One}, title = {Two}}\n"
    )
    first, second, third = parse_entries(text)
    assert first.ok
    assert second.errors == ["the key “a” is used already by the entry on line 1"]
    assert third.errors == ["a field given twice: “title”"]


BIBTEX_FRAGMENTS = [
    "@article{",
    "@misc(",
    "@comment{",
    "@string{s = ",
    "@preamble{",
    "\n@book{k,",
    "key,",
    "title = ",
    "year = ",
    "author=",
    "{",
    "}",
    "(",
    ")",
    '"',
    ",",
    "=",
    "#",
    "\\",
    "\\{",
    "\n",
    " ",
    "2019",
    "A",
    "é",
    "%",
    "@",
]


@given(st.lists(st.sampled_from(BIBTEX_FRAGMENTS), max_size=40).map("".join))
def test_any_text_gives_a_report_for_every_entry(text):
    entries = parse_entries(text)
    reported = {entry.line for entry in entries}
    assert {line for line, _, _ in entry_starts(text)} <= reported
    for entry in entries:
        assert entry.ok or all(isinstance(error, str) and error for error in entry.errors)


def test_concatenation_and_string_chains_resolve():
    text = (
        '@string{m5 = "five"}\n'
        '@STRING{m6 = m5 # " and six"}\n'
        "@string{m7 = {Seven: } # M6}\n"
        '@article{a, title = "Part one " # m5, journal = m7 # {!}, month = jan, year = 20 # 19}\n'
    )
    [entry] = parse_entries(text)
    assert entry.ok
    assert entry.fields == {
        "title": "Part one five",
        "journal": "Seven: five and six!",
        "month": "January",
        "year": "2019",
    }


def test_undefined_string_names_are_reported_per_entry():
    text = (
        '@string{m5 = "five"}\n'
        "@article{a, title = m99999 # m5}\n"
        '@article{b, title = "Part one " # j}\n'
        "@string{broken = nothere # m5}\n"
        "@article{c, title = broken}\n"
        "@article{d, title = m5}\n"
    )
    a, b, c, d = parse_entries(text)
    assert a.errors == [
        "the “title” field cannot be read: it uses “m99999”, which no @string before it defines"
    ]
    assert b.errors == [
        "the “title” field cannot be read: it uses “j”, which no @string before it defines"
    ]
    assert c.errors == [
        "the “title” field cannot be read: the @string “broken” it uses could not be read"
    ]
    assert d.ok and d.fields["title"] == "five"


def test_strings_carry_over_between_chunks(monkeypatch):
    monkeypatch.setattr("studies.bibtex.CHUNK_BLOCKS", 2)
    text = '@string{j = "Journal"}\n' + "".join(
        f"@article{{k{n}, title = {{T{n}}}, journal = j}}\n" for n in range(5)
    )
    text += "@article{k0, title = {Again}}\n"
    entries = parse_entries(text)
    assert [entry.line for entry in entries] == [2, 3, 4, 5, 6, 7]
    assert [entry.fields.get("journal") for entry in entries[:5]] == ["Journal"] * 5
    assert entries[5].errors == ["the key “k0” is used already by the entry on line 2"]


def test_plain_and_marked_up_values_read_alike_in_chunks_of_any_size(monkeypatch):
    text = (
        "@article{a, title = {Plain  title\n   on two lines}, pages = {1--9},\n"
        "  author = {Smith, J. and  Jones, K.}, note = {{Braced} {words}}}\n"
        '@article{b, title = "Quoted  title", journal = {M{\\"u}ller \\& Co}, year = 2019}\n'
        "@article{c, title = {Bad \x01 value}}\n"
    )
    expected = [
        {
            "title": "Plain title on two lines",
            "pages": "1\u20139",
            "author": ["Smith, J.", "Jones, K."],
            "note": "Braced words",
        },
        {"title": "Quoted title", "journal": "Müller & Co", "year": "2019"},
        {},
    ]
    for size in (1, 2, 500):
        monkeypatch.setattr("studies.bibtex.CHUNK_BLOCKS", size)
        entries = parse_entries(text)
        assert [entry.fields for entry in entries] == expected
        assert [entry.line for entry in entries] == [1, 4, 5]
        assert entries[2].errors == ["the “title” field holds binary data or control characters"]


def test_author_names_split_outside_braces():
    text = '@article{a, title = {T}, author = {{Smith and Sons} and M{\\"u}ller, J. and {WHO}}}'
    [entry] = parse_entries(text)
    assert entry.fields["author"] == ["Smith and Sons", "Müller, J.", "WHO"]


def test_corporate_and_multi_word_authors_are_braced():
    assert author_name("Smith and Sons Ltd") == "{Smith and Sons Ltd}"
    assert author_name("World Health Organization") == "{World Health Organization}"
    assert author_name("Müller, J.") == "Müller, J."
    assert author_name("Cochrane") == "Cochrane"


def test_page_ranges_are_written_with_two_hyphens():
    assert page_range("100\u2013110") == "100--110"
    assert page_range("100--110") == "100--110"
    assert page_range("e1234") == "e1234"
