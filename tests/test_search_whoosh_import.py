"""kbapp imports Whoosh without ``urllib.request``, ``asyncio`` and Whoosh's English
morphology (kbapp.search.whoosh_import), and leaves every one of them importable as usual,
afterwards and meanwhile by other threads. Each check runs in a fresh Python process: this one
has imported them already."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import whoosh
from search_helpers import DOCS, populate

from kbapp.search import SearchIndex, whoosh_fixes, whoosh_import
from kbapp.workspace import Workspace

KBAPP = Path(__file__).resolve().parent.parent / "kbapp"

#: What Whoosh's import pulls in that kbapp's search never uses.
UNUSED = ("urllib.request", "http.client", "email", "ssl", "asyncio", "cached_property",
          "whoosh.lang.morph_en")  # fmt: skip


def run(code: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


AFTER_IMPORT = """
import sys, tempfile, pathlib
import kbapp.search
unused = sys.argv[1].split(",")
print("LOADED", [name for name in unused if name in sys.modules])

# the real modules, complete, where any later import looks for them
import urllib, urllib.request
assert urllib.request is sys.modules["urllib.request"] is urllib.request
assert pathlib.Path(urllib.request.__file__).parts[-2:] == ("urllib", "request.py"), urllib.request
assert callable(urllib.request.urlopen) and urllib.request.Request and urllib.request.build_opener
import cached_property
assert cached_property.threaded_cached_property, cached_property
import whoosh.lang.morph_en
assert whoosh.lang.morph_en._partitions and whoosh.lang.morph_en.__file__

# the names Whoosh kept call the real functions
import whoosh.compat, whoosh.query.terms
source = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
source.write_text("fetched")
target, _headers = whoosh.compat.urlretrieve(source.as_uri(), str(source.with_suffix(".out")))
assert pathlib.Path(target).read_text() == "fetched"
assert {"add", "adding"} <= set(whoosh.query.terms.variations("added"))
assert whoosh.query.terms.variations("added") == whoosh.lang.morph_en.variations("added")
print("OK")
"""


def test_importing_kbapp_search_loads_none_of_the_unused_modules_and_leaves_them_real() -> None:
    out = run(AFTER_IMPORT, ",".join(UNUSED)).splitlines()
    assert out == ["LOADED []", "OK"]


ALREADY_IMPORTED = """
import sys
import urllib.request, cached_property, asyncio
real = sys.modules["urllib.request"], sys.modules["cached_property"]
import kbapp.search, whoosh.compat, whoosh.reading
assert (sys.modules["urllib.request"], sys.modules["cached_property"]) == real
assert whoosh.compat.urlretrieve is urllib.request.urlretrieve
assert isinstance(whoosh.reading.SegmentReader.__dict__["deleted_docs_set"],
                  cached_property.cached_property)
print("OK")
"""


def test_modules_imported_before_kbapp_search_are_the_ones_whoosh_gets() -> None:
    assert run(ALREADY_IMPORTED).split() == ["OK"]


ANOTHER_THREAD = """
import builtins, importlib.machinery, pathlib, sys, threading
python_import = builtins.__import__
got = {}

def other_thread():
    from urllib.request import Request, urlopen
    import cached_property
    from whoosh.lang.morph_en import variations
    got["urllib"] = sys.modules["urllib.request"].__file__, callable(urlopen), Request.__name__
    got["cached_property"] = hasattr(cached_property, "threaded_cached_property")
    got["morph_en"] = sorted(variations("added"))[:2]

class MeanwhileImport:
    # while kbapp imports whoosh.reading (its stand-ins in place), another thread imports the
    # three modules: before the module's code runs (a finder runs under the global import
    # lock, which the other thread would wait for)
    def find_spec(self, name, path=None, target=None):
        if name != "whoosh.reading" or got:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        spec.loader = Meanwhile(spec.loader)
        return spec

class Meanwhile:
    def __init__(self, loader):
        self.loader = loader
    def create_module(self, spec):
        return self.loader.create_module(spec)
    def exec_module(self, module):
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join(60)
        self.loader.exec_module(module)

sys.meta_path.insert(0, MeanwhileImport())
import kbapp.search
assert builtins.__import__ is python_import
print(pathlib.Path(got["urllib"][0]).parts[-2:] == ("urllib", "request.py"), got["urllib"][1:],
      got["cached_property"],
      got["morph_en"])
"""


def test_another_thread_importing_them_meanwhile_gets_the_real_modules() -> None:
    out = run(ANOTHER_THREAD).strip()
    assert out == "True (True, 'Request') True ['add', 'added']"


READER = """
import sys
import kbapp.search
from whoosh import index
ix = index.open_dir(sys.argv[1])
with ix.reader() as reader:
    segment_reader = reader.leaf_readers()[0][0]
    first = segment_reader.deleted_docs_set
    assert first == frozenset() and segment_reader.deleted_docs_set is first
    assert segment_reader.__dict__["deleted_docs_set"] is first  # cached on the instance
    del segment_reader.deleted_docs_set
    again = segment_reader.deleted_docs_set
    assert again == first and again is not first  # computed afresh after del
    print("OK", type(segment_reader).__name__, reader.doc_count())
"""


def test_the_reader_cached_property_works(kb: Workspace) -> None:
    populate(kb)
    index = SearchIndex.for_workspace(kb)
    assert index.catch_up() == len(DOCS)
    out = run(READER, str(index.directory)).split()
    assert out[:2] == ["OK", "SegmentReader"] and int(out[2]) > 0


OTHER_VERSION = """
import sys
import whoosh
whoosh.__version__ = (2, 7, 6)
try:
    import kbapp.search
except Exception as exc:
    print(type(exc).__name__, "asyncio" in sys.modules, "urllib.request" in sys.modules)
"""


def test_another_whoosh_is_imported_as_it_comes_and_refused() -> None:
    assert run(OTHER_VERSION).split() == ["WhooshChanged", "True", "True"]


def test_the_stand_ins_are_for_the_pinned_whoosh_and_the_only_modules_importing_them() -> None:
    assert whoosh_import.WHOOSH_VERSION == whoosh_fixes.WHOOSH_VERSION
    assert tuple(whoosh.__version__[:3]) == whoosh_import.WHOOSH_VERSION
    package = Path(whoosh.__file__).parent
    importing = re.compile(r"^\s*(?:from|import)\s+(urllib\.request|cached_property|"
                           r"whoosh\.lang\.morph_en)\b", re.M)  # fmt: skip
    found = {
        (path.relative_to(package.parent).with_suffix("").as_posix().replace("/", "."), name)
        for path in package.rglob("*.py")
        for name in importing.findall(path.read_text(encoding="utf-8"))
    }
    # each imported under a stand-in by import_whoosh (whoosh.query imports whoosh.query.terms)
    assert found == {
        ("whoosh.compat", "urllib.request"),
        ("whoosh.reading", "cached_property"),
        ("whoosh.query.terms", "whoosh.lang.morph_en"),
    }
    assert set(whoosh_import.STAND_IN_NAMES) == {name for _module, name in found}


def test_only_kbapp_search_imports_whoosh() -> None:
    """kbapp.search's __init__ runs import_whoosh before any module of the package imports
    Whoosh; a module elsewhere importing it could come first."""
    importing = re.compile(r"^\s*(?:from|import)\s+whoosh\b", re.M)
    outside = [
        path.relative_to(KBAPP.parent).as_posix()
        for path in KBAPP.rglob("*.py")
        if importing.search(path.read_text(encoding="utf-8")) and path.parent != KBAPP / "search"
    ]
    assert outside == []
    init = (KBAPP / "search" / "__init__.py").read_text(encoding="utf-8")
    first_kbapp_search_import = re.search(r"^from kbapp\.search\.(\w+)", init, re.M)
    assert first_kbapp_search_import and first_kbapp_search_import.group(1) == "whoosh_import"
    assert init.index("import_whoosh()") < init.index("from kbapp.search.index")
