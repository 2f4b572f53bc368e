"""Fixtures for the writer-corpus test (test_corpus.py): the corpus and its
manifest (see compat_support.py), the CLI, and the tables started by each
"base" file (a day-1 file of one writer), made once per session and copied
by each test that appends into them.
"""

import pytest

from compat_support import BIN, Cli, append_args, cleanup, corpus_dir, create_table, manifest


def pytest_generate_tests(metafunc):
    if "cross" in metafunc.fixturenames:
        pairs = [(f, c) for f in manifest()["files"] for c in f["cross"]]
        metafunc.parametrize("entry,cross", pairs,
                             ids=[f"{c['base']}<-{f['file']}" for f, c in pairs])
    elif "entry" in metafunc.fixturenames:
        files = manifest()["files"]
        metafunc.parametrize("entry", files, ids=[f["file"] for f in files])


def pytest_unconfigure(config):
    cleanup()


@pytest.fixture(scope="session")
def cli():
    if not BIN.exists():
        pytest.fail(f"tstable binary not found at {BIN}: build it or set TSTABLE_BIN")
    return Cli()


@pytest.fixture(scope="session")
def corpus():
    return corpus_dir(), manifest()


@pytest.fixture(scope="session")
def base_tables(tmp_path_factory, cli, corpus):
    """base name -> a table folder holding that base file, made on first use.
    A base that can't be made fails every test using it, with the reason."""
    folder, man = corpus
    root = tmp_path_factory.mktemp("bases")
    made = {}

    def get(name):
        if name not in made:
            base = man["bases"][name]
            entry = next(f for f in man["files"] if f["file"] == base["file"])
            ds = man["datasets"][entry["dataset"]]
            table = root / name
            create_table(cli, table, ds)
            r = cli(*append_args(table, folder / entry["file"], entry["format"]))
            made[name] = (table, r)
        table, r = made[name]
        if r.returncode != 0:
            message = r.stderr.replace(str(folder), "<CORPUS>").replace(str(table), "<BASE>")
            pytest.fail(f"base table {name} could not be started from "
                        f"{man['bases'][name]['file']}: {message.strip()}")
        return table

    return get
