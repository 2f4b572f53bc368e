"""The python blocks of docs/guide/python.md run, in order, and their
asserts hold."""
import os
import re
import shutil

from conftest import NVDA_CSV, REPO, needs_session, write_csv

GUIDE = os.path.join(REPO, "docs", "guide", "python.md")


def python_blocks():
    return re.findall(r"```python\n(.*?)```", open(GUIDE).read(), re.S)


@needs_session
def test_guide_python_examples_run(tmp_path, monkeypatch):
    os.makedirs(tmp_path / "examples" / "data")
    shutil.copy(NVDA_CSV, tmp_path / "examples" / "data")
    write_csv(tmp_path / "amd.csv", ["ts", "symbol", "open", "high", "low", "close", "volume"],
              [[f"2024-06-11T{h:02d}:00:00Z", "AMD", 1.5, 1.5, 1.5, 1.5, 10] for h in range(24)])
    monkeypatch.chdir(tmp_path)
    blocks = python_blocks()
    assert len(blocks) >= 8
    namespace = {"__name__": "guide"}
    for i, block in enumerate(blocks):
        exec(compile(block, f"{GUIDE} block {i + 1}", "exec"), namespace)
