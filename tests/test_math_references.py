"""Every citation of the math reference in the code resolves: docs/MATH.md exists and holds each cited section."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MATH = ROOT / "docs" / "MATH.md"
#: a citation: "docs/MATH.md section 2", "docs/MATH.md sections 2, 8 and 11", "docs/MATH.md §1.3", "docs/MATH.md §2"
CITATION = re.compile(r"(docs/)?MATH(?:\.md)?,? *(?:sections?|§) *((?:\d+(?:\.\d+)?(?:, *| and | *& *| or |/)?)+)")


def sections() -> set[str]:
    """The section numbers of docs/MATH.md's headings ("2", "1.3", ...)."""
    return set(re.findall(r"^#{2,4} (\d+(?:\.\d+)?)[. ]", MATH.read_text(), re.M))


def citations() -> list[tuple[str, int, str, bool]]:
    """(file, line, section, written with its folder) of every citation in the package, pages, app and README."""
    files = [*ROOT.glob("optexec/**/*.py"), *ROOT.glob("pages/*.py"), ROOT / "app.py", ROOT / "README.md"]
    found = []
    for path in files:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for match in CITATION.finditer(line):
                for section in re.findall(r"\d+(?:\.\d+)?", match.group(2)):
                    found.append((str(path.relative_to(ROOT)), number, section, bool(match.group(1))))
    return found


def test_the_code_cites_sections_the_reference_has():
    known = sections()
    assert {"0", "1.3", "2", "8", "11"} <= known  # the parser reads the headings
    cited = citations()
    assert len(cited) > 100  # the parser finds the citations
    missing = [f"{file}:{line} cites section {section}" for file, line, section, _ in cited if section not in known]
    assert not missing, missing


def test_citations_in_the_code_name_the_file_where_it_is():
    bare = [f"{file}:{line}" for file, line, _, folder in citations() if not folder and file.endswith(".py")]
    assert not bare, f"write docs/MATH.md, not docs/MATH.md: {bare[:10]}"
