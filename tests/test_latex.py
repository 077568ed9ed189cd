import pytest
from hypothesis import given
from hypothesis import strategies as st

from studies import latex
from studies.latex import decode_latex


@pytest.mark.parametrize(
    ("source", "text"),
    [
        (r"M{\"u}ller", "Müller"),
        (r"M\"{u}ller", "Müller"),
        (r"Caf\'{e} and caf\'e", "Café and café"),
        ("pages 10--20, a---b", "pages 10–20, a—b"),
        (r"Smith \& Jones", "Smith & Jones"),
        ("{LDN} in {F}ibromyalgia", "LDN in Fibromyalgia"),
        (r"{\ss} \o{} {\aa} \c{c}", "ß ø å ç"),
        ("Crohn's  disease\n  in adults", "Crohn's disease in adults"),
        ("50% & more", "50% & more"),
        ("a~b", "a b"),
        # What latex_escape writes for LaTeX's special characters.
        (
            r"\textbackslash{} \textbraceleft{}x\textbraceright{} \textasciitilde{} "
            r"\textasciicircum{} \% \# \_ \$",
            "\\ {x} ~ ^ % # _ $",
        ),
    ],
)
def test_decode_latex(source, text):
    assert decode_latex(source) == text


def test_private_use_characters_the_decoder_uses_as_placeholders_stay_as_they_are():
    # Text copied from a PDF may hold them; they came back as \\ { } $ ~.
    for character in map(chr, range(0xE000, 0xE005)):
        assert decode_latex(rf"M{{\"u}}ller {character} \& co") == f"Müller {character} & co"


def test_common_latex_skips_pylatexenc(monkeypatch):
    monkeypatch.setattr(latex, "_decoder", None)
    assert decode_latex("A plain title: no markup, 2019.") == "A plain title: no markup, 2019."
    assert decode_latex(r"M{\"u}ller \& Fran\c{c}ois, 10--20") == "Müller & François, 10–20"
    assert latex._decoder is None
    assert decode_latex(r"\emph{Rare} markup") == "Rare markup"
    assert latex._decoder is not None


@given(st.text(alphabet=st.sampled_from(list("-`'~{} ab")), min_size=1))
def test_fast_path_agrees_with_pylatexenc(value):
    expected = " ".join(latex._latex_decoder().latex_to_text(value).replace("\xa0", " ").split())
    assert decode_latex(value) == expected


LATEX_FRAGMENTS = [
    r"\"u",
    r"{\"u}",
    r"\'{e}",
    r"\'E",
    r"\`a",
    r"\^o",
    r"\~n",
    r"\c{c}",
    r"\c c",
    r"\v{s}",
    r"\u{g}",
    r"\H{o}",
    r"\={a}",
    r"\.{z}",
    r"\r{a}",
    r"\k{a}",
    r"\'{\i}",
    r"\ss",
    r"{\ss}",
    r"\o{}",
    r"\O",
    r"\aa",
    r"\AE",
    r"\l",
    r"\&",
    r"\%",
    r"\#",
    r"\_",
    r"\$",
    r"\{",
    r"\}",
    r"\textbackslash{}",
    r"\textbraceleft{}",
    r"\textbraceright{}",
    r"\textasciitilde{}",
    r"\textasciicircum{}",
    "--",
    "---",
    "~",
    "{",
    "}",
    "``",
    "''",
    " ",
    "a",
    "Z",
    "1",
    ".",
    ",",
    "-",
    "'",
]


@given(st.lists(st.sampled_from(LATEX_FRAGMENTS), min_size=1).map("".join))
def test_common_latex_decodes_as_pylatexenc_does(value):
    expected = " ".join(latex._latex_decoder().latex_to_text(value).replace("\xa0", " ").split())
    assert decode_latex(value) == expected
