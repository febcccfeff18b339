"""Docs can't drift: every subcommand, option and config key is documented."""

from __future__ import annotations

import re
from pathlib import Path

from beetsplug.sonic import SonicPlugin
from beetsplug.sonic.settings import DEFAULTS

ROOT = Path(__file__).resolve().parents[1]


def _commands():
    return SonicPlugin().commands()


def test_every_subcommand_and_option_is_documented():
    text = (ROOT / "docs" / "commands.md").read_text()
    for cmd in _commands():
        assert f"## `beet {cmd.name}" in text, cmd.name
        section = text.split(f"## `beet {cmd.name}", 1)[1].split("\n## ", 1)[0]
        for opt in cmd.parser.option_list:
            for flag in opt._long_opts:
                if flag == "--help":
                    continue
                assert f"`{flag}" in section or f"{flag} " in section, f"{cmd.name} {flag}"


def test_every_config_key_is_documented():
    text = (ROOT / "docs" / "configuration.md").read_text()
    for key, value in DEFAULTS.items():
        if isinstance(value, dict):
            section = text.split(f"## `{key}:`", 1)[1]
            for sub in value:
                assert f"| `{sub}` |" in section, f"{key}.{sub}"
        else:
            assert f"| `{key}` |" in text, key


def test_readme_test_command_is_what_ci_runs():
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"^(\./dev \w+)", readme, flags=re.M)
    assert commands[:2] == ["./dev demo", "./dev test"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "./dev test" in ci


def test_docs_links_resolve():
    for md in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#:]+\.md)\)", md.read_text()):
            assert (md.parent / target).exists(), (md.name, target)


def test_every_field_is_documented():
    text = (ROOT / "docs" / "commands.md").read_text() + (ROOT / "docs" / "vibe.md").read_text()
    for field in SonicPlugin.item_types:
        assert f"`{field}`" in text, field


def test_the_vibe_rule_table_in_the_docs_is_the_code_s():
    from beetsplug.sonic.vibe.local import RULES
    from beetsplug.sonic.vibe.vocabulary import GENRES, PARENT_GENRES

    text = (ROOT / "docs" / "vibe.md").read_text()
    for pattern, category, term in RULES:
        assert f"| `{pattern.replace('|', chr(92) + '|')}` | {category} | {term} |" in text, pattern
    for genre in GENRES + PARENT_GENRES:
        assert genre in text, genre
