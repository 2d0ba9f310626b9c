"""PAGE XML export (required elements of the 2019-07-15 schema) and import as training data."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from nepocr_desktop.lib.page.containers import Box, Line, Page, Word
from nepocr_desktop.lib.page.pagexml import (
    NS,
    page_to_xml,
    parse_pagexml,
    read_pagexml,
    training_pairs,
    write_pagexml,
)

P = f"{{{NS}}}"
POINTS = re.compile(r"^([0-9]+,[0-9]+ )+([0-9]+,[0-9]+)$")   # the schema's PointsType


def word(x0, y0, x1, y1) -> Word:
    b = Box(x0, y0, x1, y1)
    return Word(b, b.corners(), b)


def sample_page() -> Page:
    l1 = Line(Box(10, 10, 200, 50), Box(10, 10, 200, 50).corners(), ((10, 45), (199, 45)), Box(10, 10, 200, 50),
              [word(10, 10, 90, 50), word(110, 12, 200, 48)])
    l2 = Line(Box(12, 70, 150, 110), Box(12, 70, 150, 110).corners(), ((12, 104), (149, 104)),
              Box(12, 70, 150, 110), [word(12, 70, 150, 110)])
    return Page(300, 200, 1.5, [l1, l2])


TEXTS = [[("नमस्ते", 0.91), ("<नेपाल & \"साथी\">", 0.42)], [("घर\x07", None)]]


def test_export_has_required_elements_and_attributes():
    root = ET.fromstring(page_to_xml(sample_page(), TEXTS, "scan.jpg").encode("utf-8"))
    assert root.tag == P + "PcGts"
    meta = root.find(P + "Metadata")
    assert [c.tag for c in meta] == [P + "Creator", P + "Created", P + "LastChange"]
    assert all(c.text for c in meta)
    page = root.find(P + "Page")
    assert page.get("imageFilename") == "scan.jpg"
    assert (page.get("imageWidth"), page.get("imageHeight")) == ("300", "200")
    region = page.find(P + "TextRegion")
    assert region.get("id") and POINTS.match(region.find(P + "Coords").get("points"))
    lines = region.findall(P + "TextLine")
    assert len(lines) == 2
    ids = set()
    for line in lines:
        children = [c.tag.removeprefix(P) for c in line]
        assert children[:2] == ["Coords", "Baseline"] and children[-1] == "TextEquiv"   # schema order
        assert POINTS.match(line.find(P + "Coords").get("points"))
        assert POINTS.match(line.find(P + "Baseline").get("points"))
        ids.add(line.get("id"))
        for w in line.findall(P + "Word"):
            ids.add(w.get("id"))
            assert [c.tag.removeprefix(P) for c in w] == ["Coords", "TextEquiv"]
            assert POINTS.match(w.find(P + "Coords").get("points"))
            assert w.find(P + "TextEquiv").find(P + "Unicode") is not None
    assert len(ids) == 5 and all(i[0].isalpha() for i in ids)   # unique XML IDs
    confs = [float(te.get("conf")) for te in root.iter(P + "TextEquiv") if te.get("conf")]
    assert confs and all(0.0 <= c <= 1.0 for c in confs)


def test_text_is_escaped_utf8_and_cleaned():
    xml = page_to_xml(sample_page(), TEXTS)
    raw = xml.encode("utf-8")
    assert "नमस्ते".encode() in raw            # Devanagari stored as UTF-8, not as entities
    assert b"&lt;" in raw and b"&amp;" in raw and b"\x07" not in raw
    root = ET.fromstring(raw)
    units = [u.text for u in root.iter(P + "Unicode")]
    assert "<नेपाल & \"साथी\">" in units and "घर" in units
    line1 = root.find(f"{P}Page/{P}TextRegion/{P}TextLine")
    assert line1.find(P + "TextEquiv").find(P + "Unicode").text == "नमस्ते <नेपाल & \"साथी\">"
    assert float(line1.find(P + "TextEquiv").get("conf")) == pytest.approx(0.42)


def test_round_trip_through_the_importer(tmp_path):
    path = tmp_path / "page.xml"
    write_pagexml(path, sample_page(), TEXTS, "scan.png")
    doc = parse_pagexml(path)
    assert (doc.image_filename, doc.width, doc.height) == ("scan.png", 300, 200)
    lines = [t for t in doc.items if t.level == "line"]
    words = [t for t in doc.items if t.level == "word"]
    assert [t.text for t in lines] == ["नमस्ते <नेपाल & \"साथी\">", "घर"]
    assert [t.text for t in words] == ["नमस्ते", "<नेपाल & \"साथी\">", "घर"]
    assert [t.box for t in words] == [Box(10, 10, 90, 50), Box(110, 12, 200, 48), Box(12, 70, 150, 110)]
    assert lines[0].box == Box(10, 10, 200, 50)
    assert words[0].confidence == pytest.approx(0.91) and words[2].confidence is None
    assert read_pagexml(path) == doc.items


def test_export_without_texts_and_of_an_empty_page():
    root = ET.fromstring(page_to_xml(sample_page()).encode())
    assert root.find(f".//{P}TextEquiv") is None and len(root.findall(f".//{P}Word")) == 3
    empty = ET.fromstring(page_to_xml(Page(40, 30, 0.0, [])).encode())
    assert empty.find(P + "Page").get("imageWidth") == "40" and empty.find(f".//{P}TextRegion") is None
    assert read_pagexml(page_to_xml(sample_page()).encode()) == []   # nothing transcribed


def test_training_pairs_cut_transcribed_lines_and_words(tmp_path):
    img = np.full((200, 300), 255, np.uint8)
    img[10:50, 10:90] = 0
    Image.fromarray(img).save(tmp_path / "scan.png")
    write_pagexml(tmp_path / "scan.xml", sample_page(), TEXTS, "scan.png")
    pairs = list(training_pairs(tmp_path / "scan.xml", levels=("word",), margin=0))
    assert [t for _, t in pairs] == ["नमस्ते", "<नेपाल & \"साथी\">", "घर"]
    assert pairs[0][0].shape == (40, 80) and pairs[0][0].max() == 0   # exactly the black word
    both = list(training_pairs(tmp_path / "scan.xml", margin=0))
    assert len(both) == 5 and both[0][0].shape == (40, 190)
    half = Image.fromarray(img).resize((150, 100))          # a smaller copy: boxes are scaled
    small = list(training_pairs(tmp_path / "scan.xml", image=half, levels=("word",), margin=0))
    assert small[0][0].shape == (20, 40)


def test_foreign_page_versions_and_words_without_line_text():
    xml = """<?xml version="1.0" encoding="UTF-8"?>
<PcGts xmlns="http://schema.primaresearch.org/PAGE/gts/pagecontent/2010-03-19">
 <Metadata><Creator>x</Creator><Created>2010-01-01T00:00:00</Created>
 <LastChange>2010-01-01T00:00:00</LastChange></Metadata>
 <Page imageFilename="a.tif" imageWidth="100" imageHeight="80">
  <TextRegion id="r0"><Coords><Point x="0" y="0"/><Point x="99" y="0"/><Point x="99" y="79"/></Coords>
   <TextLine id="t0"><Coords><Point x="5" y="5"/><Point x="60" y="5"/><Point x="60" y="30"/><Point x="5" y="30"/></Coords>
    <Word id="w0"><Coords points="5,5 30,5 30,30 5,30"/>
     <TextEquiv index="1"><Unicode>नराम्रो</Unicode></TextEquiv>
     <TextEquiv index="0" conf="0.8"><Unicode>राम्रो</Unicode></TextEquiv></Word>
    <Word id="w1"><Coords points="35,5 60,5 60,30 35,30"/><TextEquiv><Unicode> दिन </Unicode></TextEquiv></Word>
   </TextLine></TextRegion></Page></PcGts>"""
    items = read_pagexml(xml.encode())
    assert [(t.level, t.text) for t in items] == [("line", "राम्रो दिन"), ("word", "राम्रो"), ("word", "दिन")]
    assert items[0].box == Box(5, 5, 60, 30) and items[1].confidence == pytest.approx(0.8)


def test_bad_documents_raise_value_error(tmp_path):
    with pytest.raises(ValueError):
        read_pagexml(b"<PcGts><Page>")
    with pytest.raises(ValueError):
        read_pagexml(b"<root/>")
