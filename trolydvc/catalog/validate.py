"""Offline consistency checks of the YAML catalog (`trolydvc catalog validate`).

Checks: every file parses and matches the schema; the file name is ``<code>.yml`` in the
folder of its field; no duplicate codes; no alias (accent-insensitive) claimed by two
procedures or equal to another procedure's name; links are well-formed http(s) URLs, and
relative form links point to files that exist in the catalog. No network access.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from trolydvc.catalog.schema import Procedure
from trolydvc.catalog.search import index_text
from trolydvc.catalog.store import field_slug, load_dir_with_paths

_CODE_RE = re.compile(r"^\d\.\d{6}$")


@dataclass
class Issue:
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def _url_ok(url: str) -> bool:
    try:
        parsed = urlparse(url)
    except ValueError:
        return False
    return (
        parsed.scheme in ("http", "https")
        and bool(parsed.netloc)
        and "." in parsed.netloc
        and not re.search(r"\s", url)
    )


def check_links(proc: Procedure, root: Path, where: str) -> list[Issue]:
    issues: list[Issue] = []
    links: list[tuple[str, str]] = []
    if proc.source_url:
        links.append(("source_url", proc.source_url))
    if proc.online.submit_url:
        links.append(("online.submit_url", proc.online.submit_url))
    for i, doc in enumerate(proc.documents):
        if doc.form_url:
            links.append((f"documents[{i}].form_url", doc.form_url))
    for name, url in links:
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", url):
            if not _url_ok(url):
                issues.append(Issue(where, f"{name}: malformed URL {url!r}"))
        elif url.startswith(("/", "..")) or "://" in url:
            issues.append(Issue(where, f"{name}: malformed link {url!r}"))
        elif not (root / url).is_file():
            issues.append(Issue(where, f"{name}: missing file {url!r}"))
    if not proc.source_url:
        issues.append(Issue(where, "no source_url"))
    return issues


def validate_catalog(root: Path) -> tuple[int, list[Issue]]:
    """Returns (number of procedures loaded, issues)."""
    issues: list[Issue] = []
    if not root.is_dir():
        return 0, [Issue(str(root), "catalog directory not found")]
    loaded, errors = load_dir_with_paths(root)
    issues += [Issue(str(e.path.relative_to(root)), e.message) for e in errors]
    stray = [p for p in root.rglob("*.yaml") if p.is_file()]
    issues += [Issue(str(p.relative_to(root)), "use the .yml extension") for p in stray]
    by_code: dict[str, list[str]] = defaultdict(list)
    alias_owner: dict[str, set[str]] = defaultdict(set)
    name_owner: dict[str, set[str]] = defaultdict(set)
    for path, proc in loaded:
        rel = str(path.relative_to(root))
        by_code[proc.code].append(rel)
        if not _CODE_RE.match(proc.code):
            issues.append(Issue(rel, f"invalid code {proc.code!r}"))
        if path.stem != proc.code:
            issues.append(Issue(rel, f"file name does not match code {proc.code}"))
        if path.parent.name != field_slug(proc.field):
            issues.append(Issue(rel, f"should be in folder {field_slug(proc.field)}/"))
        name_owner[index_text(proc.name)].add(proc.code)
        seen_alias: set[str] = set()
        for alias in proc.aliases:
            key = index_text(alias)
            if not key:
                issues.append(Issue(rel, f"empty alias {alias!r}"))
                continue
            if key in seen_alias:
                issues.append(Issue(rel, f"alias listed twice: {alias!r}"))
            seen_alias.add(key)
            alias_owner[key].add(proc.code)
        issues += check_links(proc, root, rel)
    for code, rels in sorted(by_code.items()):
        if len(rels) > 1:
            issues.append(Issue(code, f"duplicate code in {', '.join(rels)}"))
    for key, owners in sorted(alias_owner.items()):
        if len(owners) > 1:
            issues.append(Issue("aliases", f"{key!r} claimed by {', '.join(sorted(owners))}"))
        others = name_owner.get(key, set()) - owners
        if others:
            issues.append(
                Issue(
                    "aliases",
                    f"{key!r} of {', '.join(sorted(owners))} is the name of {', '.join(sorted(others))}",
                )
            )
    return len(loaded), issues
