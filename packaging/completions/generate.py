#!/usr/bin/env python3
"""Writes bash and zsh completions for every tool from the OPTIONS sections of the man
pages in ../man (which a test checks against the tools themselves, so the completions
cannot drift either). Usage: generate.py OUTPUT_DIR (writes OUTPUT_DIR/bash/<tool> and
OUTPUT_DIR/zsh/_<tool>)."""
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
MAN = os.path.join(HERE, "..", "man")
PW_ACTIONS = ["useradd", "usermod", "userdel", "passwd", "show", "mkdb", "list"]


def options(page):
    """(word, takes_value, description) of each option of a page."""
    text = open(os.path.join(MAN, page)).read()
    body = text.split(".SH OPTIONS", 1)[1].split("\n.SH ", 1)[0]
    lines = body.splitlines()
    found = []
    for i, line in enumerate(lines[:-1]):
        if line != ".TP":
            continue
        heading = lines[i + 1]
        words = []
        for text_line in lines[i + 2:]:
            if text_line.startswith((".TP", ".SH")):
                break
            words.append(re.sub(r"^\.[A-Z]+ ?", "", text_line))
        description = re.sub(r"\\f[BIR]|\\|\"", "", " ".join(words))
        description = description.split(". ")[0].split(":")[0].rstrip(".")[:70]
        takes_value = "\\fI" in heading
        for word in re.findall(r"\\fB((?:\\-)+\w[\w-]*)\\fR", heading):
            found.append((word.replace("\\-", "-"), takes_value, description))
    return found


def bash(tool, opts):
    name = "_" + tool.replace("-", "_")
    words = " ".join(w for w, _, _ in opts)
    valued = "|".join(w for w, v, _ in opts if v) or "--no-such-option"
    first = ""
    if tool == "pure-pw":
        first = (
            '    if [ "$COMP_CWORD" -eq 1 ]; then\n'
            f'        COMPREPLY=($(compgen -W "{" ".join(PW_ACTIONS)}" -- "$cur"))\n'
            "        return\n    fi\n"
        )
    return (
        f"# bash completion for {tool} (pureftpd-rs; generated from its man page)\n"
        f"{name}() {{\n"
        '    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"\n'
        f"{first}"
        '    case "$prev" in\n'
        f"        {valued}) COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n"
        "    esac\n"
        f'    COMPREPLY=($(compgen -W "{words}" -- "$cur"))\n'
        "}\n"
        f"complete -F {name} {tool}\n"
    )


def zsh(tool, opts):
    specs = []
    for word, valued, description in opts:
        description = description.replace("'", "").replace("[", "(").replace("]", ")").replace(":", "")
        value = ":value:_files" if valued else ""
        specs.append(f"  '{word}[{description}]{value}'")
    if tool == "pure-pw":
        specs.insert(0, f"  '1:action:({' '.join(PW_ACTIONS)})'")
    spec = " \\\n".join(specs) if specs else "  '*:file:_files'"
    return f"#compdef {tool}\n# zsh completion for {tool} (pureftpd-rs; generated from its man page)\n_arguments -s \\\n{spec}\n"


def main():
    out = sys.argv[1]
    os.makedirs(os.path.join(out, "bash"), exist_ok=True)
    os.makedirs(os.path.join(out, "zsh"), exist_ok=True)
    for page in sorted(os.listdir(MAN)):
        if not page.endswith(".8"):
            continue
        tool = page[:-2]
        opts = options(page)
        with open(os.path.join(out, "bash", tool), "w") as f:
            f.write(bash(tool, opts))
        with open(os.path.join(out, "zsh", "_" + tool), "w") as f:
            f.write(zsh(tool, opts))


if __name__ == "__main__":
    main()
