"""Finding 5, Python side: CoverageOverlapError.overlap_count is the total
over every overlapping entity while the example_* attributes describe one
entity; the stubs document each attribute so (the C error will later carry
the per-entity counts too)."""
import ast
import os

import pytest

import timeseries_table_format as ttf
from conftest import NVDA_CSV, PYTHON_DIR

STUBS = os.path.join(PYTHON_DIR, "timeseries_table_format", "__init__.pyi")
OVERLAP_ATTRS = {"segment_path", "overlap_count", "example_entity_identity", "example_bucket",
                 "example_bucket_range", "entity", "bucket", "bucket_range", "entity_count",
                 "entity_overlap_count"}


def stub_docs(class_name):
    """{attribute: docstring} of a class in the stubs."""
    tree = ast.parse(open(STUBS).read())
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == class_name)
    docs = {}
    for node, after in zip(cls.body, cls.body[1:] + [None]):
        if isinstance(node, ast.AnnAssign):
            doc = after.value.value if isinstance(after, ast.Expr) and \
                isinstance(after.value, ast.Constant) else None
            docs[node.target.id] = doc
    return docs


@pytest.fixture
def two_symbols(tmp_path):
    """NVDA and AMD, 240 hourly buckets each, in one CSV appended once."""
    lines = open(NVDA_CSV).read().splitlines()
    path = tmp_path / "two.csv"
    path.write_text("\n".join(lines + [l.replace(",NVDA,", ",AMD,") for l in lines[1:]]) + "\n")
    t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "ov"), time_column="ts",
                                   bucket="1h", entity_columns=["symbol"])
    t.append_csv(str(path))
    return t, str(path)


def test_finding_5_overlap_count_is_the_total_over_all_entities(two_symbols):
    t, path = two_symbols
    with pytest.raises(ttf.CoverageOverlapError) as info:
        t.append_csv(path)
    e = info.value
    assert e.overlap_count == 480                      # 240 per symbol, 2 symbols
    assert e.example_entity_identity in ({"symbol": "AMD"}, {"symbol": "NVDA"})
    assert e.entity == "symbol=" + e.example_entity_identity["symbol"]
    assert e.example_bucket == e.bucket == (1 << 63) + 1717200000 // 3600
    assert e.example_bucket_range == e.bucket_range == \
        "[2024-06-01T00:00:00Z, 2024-06-01T01:00:00Z)"
    assert e.entity_count == 2                         # AMD and NVDA
    assert e.entity_overlap_count == 240               # the first entity's own pairs
    assert e.segment_path is None
    assert t.version() == 2


def test_finding_5_stubs_document_every_overlap_attribute(two_symbols):
    docs = stub_docs("CoverageOverlapError")
    assert set(docs) == OVERLAP_ATTRS
    assert all(docs[a] for a in OVERLAP_ATTRS), [a for a in OVERLAP_ATTRS if not docs[a]]
    assert "summed over ALL overlapping entities" in docs["overlap_count"]
    assert "2**63" in docs["example_bucket"]
    t, path = two_symbols
    with pytest.raises(ttf.CoverageOverlapError) as info:
        t.append_csv(path)
    assert all(hasattr(info.value, a) for a in OVERLAP_ATTRS)
