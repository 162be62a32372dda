"""Architecture rules that code review alone would let slip."""

from __future__ import annotations

import ast
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent.parent
CONTACT_CENTER = {
    "contactcenter",
    "accounts",
    "calls",
    "agents",
    "recordings",
    "virtual_numbers",
    "campaigns",
    "conftest",
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_the_sandbox_imports_nothing_from_the_contact_center() -> None:
    offenders = {
        str(path.relative_to(BASE_DIR)): sorted(imported_modules(path) & CONTACT_CENTER)
        for path in (BASE_DIR / "voice_sandbox").rglob("*.py")
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_only_the_voice_package_talks_to_the_voice_api() -> None:
    # Other apps use contactcenter.voice; none builds Vonage requests or JWTs of its own.
    offenders = []
    for app in ("accounts", "calls", "agents", "recordings", "virtual_numbers", "campaigns"):
        for path in (BASE_DIR / app).rglob("*.py"):
            if "tests" in path.parts:
                continue
            text = path.read_text()
            if "api.nexmo.com" in text or "import jwt" in text or "import vonage" in text:
                offenders.append(str(path.relative_to(BASE_DIR)))
    assert offenders == []
